//! Baselines for legacy code: `--write-baseline FILE` records today's findings, `--baseline FILE`
//! hides them in later runs, so that CI fails only on new ones.
//!
//! The file is JSON, meant to be committed and reviewed:
//! ```json
//! {
//!   "version": 1,
//!   "tool": "snag 0.1.0",
//!   "findings": [
//!     { "rule": "sync-io", "path": "src/routes/reports.js", "fingerprint": "5f0c2d8e9a1b3c47",
//!       "line": 6, "message": "`fs.readFileSync` blocks the event loop ..." }
//!   ]
//! }
//! ```
//! A finding matches an entry when `rule`, `path` (from the repository root) and `fingerprint`
//! (see `fingerprint.rs`) are equal. `line` and `message` are there for the reader only: lines
//! shift when code is added above a finding and that must not bring it back. Rewriting the file
//! drops the findings that were fixed since.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::fingerprint::Anchor;

/// The format version this build reads and writes.
pub const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("cannot read baseline {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write baseline {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("baseline {}: not a snag baseline: {source}", path.display())]
    Invalid {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("baseline {}: format version {found} is not supported (this snag reads version {VERSION}); rewrite it with --write-baseline", path.display())]
    Version { path: PathBuf, found: u32 },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Baseline {
    pub version: u32,
    /// Which snag wrote it, for the reader.
    #[serde(default)]
    pub tool: String,
    pub findings: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
    /// Informational: where the finding was when the baseline was written.
    #[serde(default)]
    pub line: usize,
    /// Informational.
    #[serde(default)]
    pub message: String,
}

impl Baseline {
    /// The baseline of these findings (`anchors` parallel to `diagnostics`), sorted by path and line.
    pub fn of(diagnostics: &[Diagnostic], anchors: &[Anchor]) -> Baseline {
        let mut findings: Vec<Entry> = diagnostics
            .iter()
            .zip(anchors)
            .map(|(d, a)| Entry {
                rule: d.rule.clone(),
                path: a.path.clone(),
                fingerprint: a.fingerprint.clone(),
                line: d.line,
                message: d.message.clone(),
            })
            .collect();
        findings.sort_by(|a, b| {
            (&a.path, a.line, &a.rule, &a.fingerprint).cmp(&(
                &b.path,
                b.line,
                &b.rule,
                &b.fingerprint,
            ))
        });
        Baseline {
            version: VERSION,
            tool: format!("snag {}", env!("CARGO_PKG_VERSION")),
            findings,
        }
    }

    pub fn parse(path: &Path, text: &str) -> Result<Baseline, BaselineError> {
        #[derive(Deserialize)]
        struct Versioned {
            version: u32,
        }
        let invalid = |source| BaselineError::Invalid {
            path: path.to_path_buf(),
            source,
        };
        let v: Versioned = serde_json::from_str(text).map_err(invalid)?;
        if v.version != VERSION {
            return Err(BaselineError::Version {
                path: path.to_path_buf(),
                found: v.version,
            });
        }
        serde_json::from_str(text).map_err(invalid)
    }

    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::parse(path, &text)
    }

    pub fn to_json(&self) -> String {
        // Serializing plain strings and numbers cannot fail.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    pub fn write(&self, path: &Path) -> Result<(), BaselineError> {
        std::fs::write(path, self.to_json()).map_err(|source| BaselineError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// What `contains` looks up.
    pub fn index(&self) -> BaselineIndex<'_> {
        BaselineIndex(
            self.findings
                .iter()
                .map(|e| (e.rule.as_str(), e.path.as_str(), e.fingerprint.as_str()))
                .collect(),
        )
    }
}

pub struct BaselineIndex<'a>(HashSet<(&'a str, &'a str, &'a str)>);

impl BaselineIndex<'_> {
    pub fn contains(&self, rule: &str, anchor: &Anchor) -> bool {
        self.0
            .contains(&(rule, anchor.path.as_str(), anchor.fingerprint.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_other_versions_with_a_clear_message() {
        let err = Baseline::parse(Path::new("b.json"), r#"{"version": 2, "findings": []}"#)
            .expect_err("version 2 is unknown");
        assert!(err.to_string().contains("version 2"), "{err}");
        let err = Baseline::parse(Path::new("b.json"), "[]").expect_err("not an object");
        assert!(err.to_string().contains("not a snag baseline"), "{err}");
    }
}
