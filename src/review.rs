//! What a change is judged on: after the engine, findings get their identity (fingerprint.rs),
//! then the baseline (baseline.rs) and the diff (diff.rs) hide what the change did not introduce,
//! and `--fail-on` decides the exit status. Every output format then prints what is left.

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::baseline::{Baseline, BaselineError};
use crate::diagnostic::{Diagnostic, Severity};
use crate::diff::{self, Change, DiffError};
use crate::engine::Outcome;
use crate::fingerprint::{self, Anchor};

/// The options of `snag check` for pull requests and legacy code.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ReviewArgs {
    /// Report only findings on lines added or changed since the merge base of REV and HEAD
    /// (committed, staged, unstaged and untracked changes). Whole files are still analysed.
    #[arg(long, value_name = "REV")]
    pub diff_base: Option<String>,
    /// Hide the findings recorded in this baseline file (see --write-baseline).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in FILE as a baseline; they are then not reported.
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// The least severe finding that makes the exit status 1 (`never`: like --exit-zero).
    #[arg(long, value_enum, value_name = "SEVERITY", default_value = "info")]
    pub fail_on: FailOn,
    /// Base URL under which `rules/<id>.toml` are published, for rule links in SARIF and Markdown.
    #[arg(long, env = "SNAG_DOCS_URL", value_name = "URL")]
    pub docs_url: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    #[default]
    Info,
    Never,
}

impl FailOn {
    pub fn fails_on(self, severity: Severity) -> bool {
        match self {
            FailOn::Error => severity == Severity::Error,
            FailOn::Warning => severity != Severity::Info,
            FailOn::Info => true,
            FailOn::Never => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error(transparent)]
    Baseline(#[from] BaselineError),
}

/// The findings left after the baseline and the diff, with what was hidden and why.
#[derive(Debug, Default)]
pub struct Review {
    /// Parallel to `Outcome::diagnostics` after `apply`.
    pub anchors: Vec<Anchor>,
    /// The repository root that anchors and SARIF URIs are relative to.
    pub root: PathBuf,
    pub hidden_by_baseline: usize,
    pub outside_diff: usize,
    /// `--diff-base` as given, and the merge base it resolved to.
    pub diff_base: Option<(String, String)>,
    pub baseline: Option<PathBuf>,
    /// Findings recorded by `--write-baseline`.
    pub written: Option<usize>,
    pub docs_url: Option<String>,
}

impl Review {
    /// Anchor every finding of `outcome`, write or read the baseline, and drop what the baseline
    /// or the diff hides. `start` is the first analysed path (it locates the repository).
    pub fn apply(
        args: &ReviewArgs,
        outcome: &mut Outcome,
        start: &Path,
    ) -> Result<Review, ReviewError> {
        let change = match &args.diff_base {
            Some(rev) => {
                let dir = if start.is_dir() {
                    start
                } else {
                    start
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                        .unwrap_or(Path::new("."))
                };
                let root = diff::toplevel(dir)?;
                let change = Change::since(&root, rev)?;
                Some((root, rev.clone(), change))
            }
            None => None,
        };
        let root = match &change {
            Some((root, _, _)) => root.clone(),
            None => fingerprint::project_root(start),
        };
        let anchors = fingerprint::anchors(&outcome.diagnostics, &outcome.sources, &root);
        let mut review = Review {
            root,
            docs_url: args
                .docs_url
                .clone()
                .filter(|u| !u.trim().is_empty())
                .or_else(default_docs_url),
            ..Review::default()
        };
        let baseline = if let Some(path) = &args.write_baseline {
            let baseline = Baseline::of(&outcome.diagnostics, &anchors);
            baseline.write(path)?;
            review.written = Some(baseline.findings.len());
            review.baseline = Some(path.clone());
            Some(baseline)
        } else if let Some(path) = &args.baseline {
            review.baseline = Some(path.clone());
            Some(Baseline::read(path)?)
        } else {
            None
        };
        let index = baseline.as_ref().map(Baseline::index);
        let diagnostics = std::mem::take(&mut outcome.diagnostics);
        for (d, anchor) in diagnostics.into_iter().zip(anchors) {
            if index.as_ref().is_some_and(|i| i.contains(&d.rule, &anchor)) {
                review.hidden_by_baseline += 1;
            } else if change
                .as_ref()
                .is_some_and(|(_, _, c)| !c.lines.contains(&anchor.path, d.line))
            {
                review.outside_diff += 1;
            } else {
                outcome.diagnostics.push(d);
                review.anchors.push(anchor);
            }
        }
        outcome.summary.diagnostics = outcome.diagnostics.len();
        review.diff_base = change.map(|(_, rev, c)| (rev, c.merge_base));
        Ok(review)
    }

    /// Whether the findings left make the run fail.
    pub fn fails(diagnostics: &[Diagnostic], fail_on: FailOn) -> bool {
        diagnostics.iter().any(|d| fail_on.fails_on(d.severity))
    }

    /// What was hidden, in one sentence, or `None` when nothing was.
    pub fn note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let (Some(n), Some(path)) = (self.written, &self.baseline) {
            parts.push(format!(
                "recorded {} in the baseline {}",
                plural(n, "finding"),
                path.display()
            ));
        } else if let Some(path) = &self.baseline {
            parts.push(format!(
                "{} hidden by the baseline {}",
                plural(self.hidden_by_baseline, "finding"),
                path.display()
            ));
        }
        if let Some((rev, _)) = &self.diff_base {
            parts.push(format!(
                "{} outside the lines changed since {rev}",
                plural(self.outside_diff, "finding")
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    /// The page of a rule's documentation, when a docs URL is known.
    pub fn rule_url(&self, rule: &str) -> Option<String> {
        self.docs_url
            .as_ref()
            .map(|base| format!("{}/rules/{rule}.toml", base.trim_end_matches('/')))
    }
}

/// The package's repository, when Cargo.toml names one.
fn default_docs_url() -> Option<String> {
    let repo = env!("CARGO_PKG_REPOSITORY");
    (!repo.is_empty()).then(|| format!("{}/blob/main", repo.trim_end_matches('/')))
}

pub fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_thresholds() {
        use Severity::*;
        assert!(FailOn::Error.fails_on(Error) && !FailOn::Error.fails_on(Warning));
        assert!(FailOn::Warning.fails_on(Warning) && !FailOn::Warning.fails_on(Info));
        assert!(FailOn::Info.fails_on(Info));
        assert!(!FailOn::Never.fails_on(Error));
    }
}
