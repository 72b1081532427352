//! `rules/<id>.toml`, embedded at build time: each rule's documentation and, per language family,
//! the API knowledge it matches the model against (blocking calls, pooled clients, validators...).

use std::collections::BTreeMap;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::diagnostic::Severity;
use crate::model::Family;

/// The rule ids, in the order `snag rules` lists them.
pub const RULE_IDS: [&str; 5] = [
    "sync-io",
    "sync-over-async",
    "missing-pooling",
    "unhandled-rejection",
    "manual-validation",
];

const SOURCES: [(&str, &str); 5] = [
    ("sync-io", include_str!("../rules/sync-io.toml")),
    (
        "sync-over-async",
        include_str!("../rules/sync-over-async.toml"),
    ),
    (
        "missing-pooling",
        include_str!("../rules/missing-pooling.toml"),
    ),
    (
        "unhandled-rejection",
        include_str!("../rules/unhandled-rejection.toml"),
    ),
    (
        "manual-validation",
        include_str!("../rules/manual-validation.toml"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("rules/{rule}.toml: {source}")]
    Toml {
        rule: String,
        source: Box<toml::de::Error>,
    },
    #[error("rules/{rule}.toml: bad pattern `{pattern}`: {source}")]
    Glob {
        rule: String,
        pattern: String,
        source: globset::Error,
    },
}

fn glob_set(rule: &str, patterns: &[String]) -> Result<GlobSet, CatalogError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        b.add(Glob::new(p).map_err(|e| CatalogError::Glob {
            rule: rule.to_string(),
            pattern: p.clone(),
            source: e,
        })?);
    }
    b.build().map_err(|e| CatalogError::Glob {
        rule: rule.to_string(),
        pattern: String::new(),
        source: e,
    })
}

/// One rule file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleFile {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub severity: Severity,
    #[serde(default)]
    pub peers: Vec<String>,
    pub why: String,
    pub fix: String,
    pub not_flagged: String,
    #[serde(default)]
    pub configuration: String,
    /// Tests and tooling are not served: the rule stays quiet there.
    #[serde(default)]
    pub skip_tooling: bool,
    /// The rule stays quiet in test files.
    #[serde(default)]
    pub skip_tests: bool,
    /// Browser UI components are not backend code: the rule stays quiet there (rules about
    /// server-only APIs need no such skip: a component file can only reach them from its
    /// server-side functions, such as `getServerSideProps`).
    #[serde(default)]
    pub skip_ui: bool,
    #[serde(default, rename = "example")]
    pub examples: Vec<Example>,
    #[serde(default)]
    pub javascript: LangSection,
    #[serde(default)]
    pub python: LangSection,
    #[serde(default)]
    pub csharp: LangSection,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// `javascript`, `typescript`, `python` or `csharp`.
    pub language: String,
    /// The file name the example is analysed as (framework detection looks at paths).
    pub path: String,
    #[serde(default)]
    pub bad: String,
    #[serde(default)]
    pub good: String,
}

/// One language family's API knowledge for one rule. Each rule reads the keys it needs.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LangSection {
    /// Canonical-name glob (`fs.*Sync`, `new pg.Client`) -> what it is.
    #[serde(default)]
    pub apis: BTreeMap<String, ApiEntry>,
    /// Which functions count: `anywhere`, `not-startup`, `request-path`, `handler`, `async`,
    /// `async-callee`, `async-helper`.
    #[serde(default)]
    pub contexts: Vec<String>,
    /// What the flagged call does to the server, for messages ("blocks the event loop"); for
    /// unhandled-rejection, what the dropped value is called ("promise", "task").
    #[serde(default)]
    pub effect: String,
    /// Why it matters in this language, for the `note:` of the human output (default: the
    /// first sentence of the rule's `why`).
    #[serde(default)]
    pub note: String,
    /// unhandled-rejection: calls that drop the promise of an async callback (`forEach`, `new Promise`).
    #[serde(default)]
    pub callback_sinks: Vec<String>,
    /// unhandled-rejection: canonical names of sources of promises besides the scanned code's async functions.
    #[serde(default)]
    pub promise_sources: Vec<String>,
    /// unhandled-rejection: packages that make a framework catch async errors when imported.
    #[serde(default)]
    pub async_error_packages: Vec<String>,
    /// unhandled-rejection: frameworks whose async handlers need a wrapper or try/catch.
    #[serde(default)]
    pub unsafe_async_frameworks: Vec<String>,
    /// manual-validation: globs over callee names that mean a schema validator is in use
    /// (`zod.*`, `*.safeParse`).
    #[serde(default)]
    pub validators: Vec<String>,
    /// manual-validation: access paths of request input (`req.body`, `request.json()`).
    #[serde(default)]
    pub request_inputs: Vec<String>,
    /// Overrides the rule's `skip-tooling` for this language (Python's scripts run per item
    /// like any code; its front-end keeps tests off the request path itself).
    #[serde(default)]
    pub skip_tooling: Option<bool>,
    /// manual-validation: the statuses that mean "bad request".
    #[serde(default)]
    pub statuses: Vec<u16>,
    /// The fix hint per check id, for checks that are not API entries.
    #[serde(default)]
    pub hints: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApiEntry {
    /// The finer-grained check id; `ignore` marks an exception to a broader pattern
    /// (`"boto3.client.*"` blocks, `"boto3.client.generate_presigned_url"` does not).
    pub check: String,
    #[serde(default)]
    pub hint: String,
    /// The peer tool's rule this entry covers (`n/no-sync`, `ASYNC251`).
    #[serde(default)]
    pub peer: String,
    /// Only when the first argument matches one of these globs (`node *`).
    #[serde(default)]
    pub first_arg: Vec<String>,
    /// Where this entry counts, when narrower than the section's `contexts`
    /// (`SemaphoreSlim.Wait` only in async code).
    #[serde(default)]
    pub contexts: Vec<String>,
}

/// A family's API list, compiled for matching canonical names.
#[derive(Debug)]
pub struct ApiSet {
    patterns: Vec<String>,
    entries: Vec<ApiEntry>,
    globs: GlobSet,
    first_args: Vec<Option<GlobSet>>,
}

impl ApiSet {
    fn compile(rule: &str, apis: &BTreeMap<String, ApiEntry>) -> Result<ApiSet, CatalogError> {
        let glob_err = |pattern: &str, source| CatalogError::Glob {
            rule: rule.to_string(),
            pattern: pattern.to_string(),
            source,
        };
        let mut builder = GlobSetBuilder::new();
        let mut first_args = Vec::new();
        for (pattern, entry) in apis {
            builder.add(Glob::new(pattern).map_err(|e| glob_err(pattern, e))?);
            first_args.push(if entry.first_arg.is_empty() {
                None
            } else {
                let mut b = GlobSetBuilder::new();
                for p in &entry.first_arg {
                    b.add(Glob::new(p).map_err(|e| glob_err(p, e))?);
                }
                Some(b.build().map_err(|e| glob_err("first-arg", e))?)
            });
        }
        Ok(ApiSet {
            patterns: apis.keys().cloned().collect(),
            entries: apis.values().cloned().collect(),
            globs: builder.build().map_err(|e| glob_err("apis", e))?,
            first_args,
        })
    }

    /// The entry for a canonical name; the most specific (longest) pattern wins.
    pub fn lookup(&self, name: &str, first_arg: Option<&str>) -> Option<&ApiEntry> {
        // Almost no callee matches: the cheap test first, the list of matches only then.
        if self.patterns.is_empty() || !self.globs.is_match(name) {
            return None;
        }
        self.globs
            .matches(name)
            .into_iter()
            .filter(|&i| match &self.first_args[i] {
                None => true,
                Some(set) => first_arg.is_some_and(|a| set.is_match(a)),
            })
            .max_by_key(|&i| self.patterns[i].len())
            .map(|i| &self.entries[i])
            .filter(|e| e.check != "ignore")
    }
}

/// A rule's documentation and its compiled per-family catalogs.
#[derive(Debug)]
pub struct RuleCatalog {
    pub doc: RuleFile,
    apis: [ApiSet; 3],
    validators: [GlobSet; 3],
    promise_sources: [GlobSet; 3],
    not_promise_sources: [GlobSet; 3],
}

impl RuleCatalog {
    pub fn section(&self, family: Family) -> &LangSection {
        match family {
            Family::JavaScript => &self.doc.javascript,
            Family::Python => &self.doc.python,
            Family::CSharp => &self.doc.csharp,
        }
    }

    pub fn apis(&self, family: Family) -> &ApiSet {
        &self.apis[family as usize]
    }

    pub fn validators(&self, family: Family) -> &GlobSet {
        &self.validators[family as usize]
    }

    /// The promise/task sources, without the `!` exclusions (a superset, for pruning calls).
    pub fn promise_sources(&self, family: Family) -> &GlobSet {
        &self.promise_sources[family as usize]
    }

    /// Is a canonical name a source of promises/tasks (and not one of the `!` exclusions)?
    pub fn is_promise_source(&self, family: Family, name: &str) -> bool {
        self.promise_sources[family as usize].is_match(name)
            && !self.not_promise_sources[family as usize].is_match(name)
    }
}

/// Every rule's catalog, loaded once and shared read-only by the worker threads.
#[derive(Debug)]
pub struct Catalogs {
    pub rules: Vec<RuleCatalog>,
}

/// What a team's `[extend]` configuration adds to the built-in catalogs.
#[derive(Debug, Default, Clone)]
pub struct Extensions {
    /// (rule id, family, canonical-name glob, check id)
    pub apis: Vec<(String, Family, String, String)>,
    pub validators: Vec<String>,
}

impl Catalogs {
    pub fn load(ext: &Extensions) -> Result<Catalogs, CatalogError> {
        let mut rules = Vec::new();
        for (id, source) in SOURCES {
            let mut doc: RuleFile = toml::from_str(source).map_err(|e| CatalogError::Toml {
                rule: id.to_string(),
                source: Box::new(e),
            })?;
            for (rule, family, pattern, check) in &ext.apis {
                if rule == id {
                    let section = match family {
                        Family::JavaScript => &mut doc.javascript,
                        Family::Python => &mut doc.python,
                        Family::CSharp => &mut doc.csharp,
                    };
                    section.apis.insert(
                        pattern.clone(),
                        ApiEntry {
                            check: check.clone(),
                            hint: String::new(),
                            peer: String::new(),
                            first_arg: Vec::new(),
                            contexts: Vec::new(),
                        },
                    );
                }
            }
            if id == "manual-validation" {
                for s in [&mut doc.javascript, &mut doc.python, &mut doc.csharp] {
                    s.validators.extend(ext.validators.iter().cloned());
                }
            }
            let apis = [
                ApiSet::compile(id, &doc.javascript.apis)?,
                ApiSet::compile(id, &doc.python.apis)?,
                ApiSet::compile(id, &doc.csharp.apis)?,
            ];
            let sections = [&doc.javascript, &doc.python, &doc.csharp];
            let validators = [0, 1, 2].map(|i| glob_set(id, &sections[i].validators));
            // `!pattern` excludes: `*Async` is a task source, Moq's `ReturnsAsync` is not.
            let split = |i: usize, negated: bool| -> Vec<String> {
                sections[i]
                    .promise_sources
                    .iter()
                    .filter(|p| p.starts_with('!') == negated)
                    .map(|p| p.trim_start_matches('!').to_string())
                    .collect()
            };
            let not_promise_sources = [0, 1, 2].map(|i| glob_set(id, &split(i, true)));
            let promise_sources = [0, 1, 2].map(|i| glob_set(id, &split(i, false)));
            let [v0, v1, v2] = validators;
            let [p0, p1, p2] = promise_sources;
            let validators = [v0?, v1?, v2?];
            let promise_sources = [p0?, p1?, p2?];
            let [n0, n1, n2] = not_promise_sources;
            let not_promise_sources = [n0?, n1?, n2?];
            rules.push(RuleCatalog {
                doc,
                apis,
                validators,
                promise_sources,
                not_promise_sources,
            });
        }
        Ok(Catalogs { rules })
    }

    pub fn rule(&self, id: &str) -> Option<&RuleCatalog> {
        self.rules.iter().find(|r| r.doc.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_file_loads_and_names_itself() {
        let catalogs = Catalogs::load(&Extensions::default()).expect("catalogs load");
        for (rule, id) in catalogs.rules.iter().zip(RULE_IDS) {
            assert_eq!(rule.doc.id, id);
        }
    }

    #[test]
    fn longest_pattern_wins() {
        let catalogs = Catalogs::load(&Extensions::default()).expect("catalogs load");
        let sync_io = catalogs.rule("sync-io").expect("sync-io");
        let entry = sync_io
            .apis(Family::JavaScript)
            .lookup("fs.readFileSync", None)
            .expect("fs.readFileSync is blocking");
        assert_eq!(entry.check, "fs-sync-call");
        assert!(sync_io
            .apis(Family::JavaScript)
            .lookup("fs.readFile", None)
            .is_none());
    }
}
