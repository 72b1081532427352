//! `snag.toml` and `[tool.snag]` in `pyproject.toml` (SPEC §5): loaded, validated, merged with
//! the command line. Unknown keys and rule ids are errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::catalog::{Extensions, RULE_IDS};
use crate::diagnostic::Severity;
use crate::model::Family;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    #[serde(default)]
    pub select: Vec<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub severity: BTreeMap<String, Severity>,
    #[serde(default)]
    pub per_file_ignores: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub extend: Extend,
    /// Where the configuration was read from; relative globs are relative to its directory.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// What a team teaches snag about its own code.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Extend {
    /// Canonical names (globs) of blocking calls, for sync-io.
    #[serde(default)]
    pub blocking: Vec<String>,
    /// Canonical names of per-request clients (`new ` for constructions), for missing-pooling.
    #[serde(default)]
    pub clients: Vec<String>,
    /// Callee globs that mean a handler validates its input, for manual-validation.
    #[serde(default)]
    pub validators: Vec<String>,
    /// Extra handler registration methods (`app.route`-like) or decorators.
    #[serde(default)]
    pub handlers: Vec<String>,
}

#[derive(Deserialize)]
struct PyProject {
    tool: Option<PyTool>,
}

#[derive(Deserialize)]
struct PyTool {
    snag: Option<toml::Value>,
}

impl Config {
    /// `--config FILE`, else the nearest `snag.toml` (or `pyproject.toml` with `[tool.snag]`)
    /// upward from `start`.
    pub fn discover(explicit: Option<&Path>, start: &Path) -> Result<Config, ConfigError> {
        if let Some(path) = explicit {
            return Config::load(path);
        }
        let start = std::fs::canonicalize(start).unwrap_or_else(|_| start.to_path_buf());
        let mut dir = if start.is_dir() {
            Some(start.as_path())
        } else {
            start.parent()
        };
        while let Some(d) = dir {
            let snag = d.join("snag.toml");
            if snag.is_file() {
                return Config::load(&snag);
            }
            let py = d.join("pyproject.toml");
            if py.is_file() {
                let text = read(&py)?;
                if let Ok(PyProject {
                    tool: Some(PyTool { snag: Some(_) }),
                }) = toml::from_str::<PyProject>(&text)
                {
                    return Config::load(&py);
                }
            }
            dir = d.parent();
        }
        Ok(Config::default())
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let mut config: Config = if path.file_name().is_some_and(|n| n == "pyproject.toml") {
            let py: PyProject = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
            match py.tool.and_then(|t| t.snag) {
                Some(v) => v
                    .try_into()
                    .map_err(|e: toml::de::Error| invalid(format!("[tool.snag]: {e}")))?,
                None => Config::default(),
            }
        } else {
            toml::from_str(&text).map_err(|e| invalid(e.to_string()))?
        };
        config.validate().map_err(invalid)?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        let known = |id: &String| RULE_IDS.contains(&id.as_str());
        let ids = self
            .select
            .iter()
            .chain(&self.ignore)
            .chain(self.severity.keys())
            .chain(self.per_file_ignores.values().flatten());
        for id in ids {
            if !known(id) {
                return Err(unknown_rule(id));
            }
        }
        for g in self.exclude.iter().chain(self.per_file_ignores.keys()) {
            Glob::new(g).map_err(|e| format!("bad glob `{g}`: {e}"))?;
        }
        Ok(())
    }

    pub fn extensions(&self) -> Extensions {
        let mut ext = Extensions::default();
        for (rule, list, check) in [
            ("sync-io", &self.extend.blocking, "configured"),
            ("missing-pooling", &self.extend.clients, "configured"),
        ] {
            for pattern in list {
                for family in Family::ALL {
                    ext.apis
                        .push((rule.into(), family, pattern.clone(), check.into()));
                }
            }
        }
        ext.validators = self.extend.validators.clone();
        ext
    }

    /// Globs of `exclude`, matched against paths as the walk yields them.
    pub fn exclude_set(&self) -> GlobSet {
        build_globs(self.exclude.iter())
    }

    /// Per-file ignores as (globs, rule ids).
    pub fn per_file_ignore_sets(&self) -> Vec<(GlobSet, Vec<String>)> {
        self.per_file_ignores
            .iter()
            .map(|(g, rules)| (build_globs(std::iter::once(g)), rules.clone()))
            .collect()
    }
}

/// Globs match a path anywhere below the scanned roots (`tests/**` matches `./app/tests/x.js`).
fn build_globs<'a>(patterns: impl Iterator<Item = &'a String>) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        for variant in [p.clone(), format!("**/{p}")] {
            if let Ok(g) = Glob::new(&variant) {
                b.add(g);
            }
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

pub fn unknown_rule(id: &str) -> String {
    format!("unknown rule `{id}` (known rules: {})", RULE_IDS.join(", "))
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}
