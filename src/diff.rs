//! Diff-aware mode: which lines a change added or modified, from `git diff --unified=0` between
//! the merge base of a revision and the working tree. Only the findings whose primary line is one
//! of them are reported; whole files are still analysed, so a handler defined outside the diff
//! still gives a call inside it its request context.
//!
//! git runs as a subprocess with an argument vector (never a shell string), with the options that
//! a user's configuration could change pinned: prefixes, colour, external diff tools, renames.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("--diff-base needs git, which could not be run: {0}")]
    NoGit(std::io::Error),
    #[error("--diff-base: {} is not inside a git repository", .0.display())]
    NotARepository(PathBuf),
    #[error("--diff-base: unknown revision `{0}` (in CI, fetch the base branch, e.g. actions/checkout with `fetch-depth: 0`)")]
    UnknownRevision(String),
    #[error("--diff-base: `{rev}` and HEAD have no merge base: {detail}")]
    NoMergeBase { rev: String, detail: String },
    #[error("--diff-base: `git {command}` failed: {detail}")]
    Git { command: String, detail: String },
}

/// Lines added or changed in the new version of each file, by path from the repository root.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ChangedLines {
    /// path -> inclusive 1-based line ranges of the new file
    files: BTreeMap<String, Vec<(usize, usize)>>,
    /// Files new to the working tree that git does not track yet: every line is new.
    untracked: Vec<String>,
}

impl ChangedLines {
    pub fn contains(&self, path: &str, line: usize) -> bool {
        self.untracked.iter().any(|p| p == path)
            || self
                .files
                .get(path)
                .is_some_and(|ranges| ranges.iter().any(|&(s, e)| s <= line && line <= e))
    }

    /// Paths with at least one added or changed line, or untracked.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files
            .keys()
            .map(String::as_str)
            .chain(self.untracked.iter().map(String::as_str))
    }

    /// Parse the output of `git diff --unified=0` (with `a/` and `b/` prefixes).
    pub fn parse(patch: &[u8]) -> ChangedLines {
        let mut out = ChangedLines::default();
        let mut current: Option<String> = None;
        // Lines of the hunk body still to skip: body lines may start with `+++ ` or `@@` too.
        let (mut old_left, mut new_left) = (0usize, 0usize);
        for line in patch.split(|&b| b == b'\n') {
            if old_left > 0 || new_left > 0 {
                match line.first() {
                    Some(b'-') => old_left = old_left.saturating_sub(1),
                    Some(b'+') => new_left = new_left.saturating_sub(1),
                    Some(b' ') => {
                        old_left = old_left.saturating_sub(1);
                        new_left = new_left.saturating_sub(1);
                    }
                    _ => {} // `\ No newline at end of file`
                }
                continue;
            }
            if line.starts_with(b"diff --git ") {
                current = None;
            } else if let Some(name) = line.strip_prefix(b"+++ ") {
                current = new_path(name);
            } else if line.starts_with(b"@@ ") {
                let Some(((_, old_count), (start, count))) = hunk_header(line) else {
                    continue;
                };
                old_left = old_count;
                new_left = count;
                if count > 0 {
                    if let Some(path) = &current {
                        out.files
                            .entry(path.clone())
                            .or_default()
                            .push((start, start + count - 1));
                    }
                }
            }
        }
        out
    }
}

/// The new path of a `+++ ` line: `None` for a deleted file.
fn new_path(name: &[u8]) -> Option<String> {
    let name = if name.first() == Some(&b'"') {
        unquote(name)?
    } else {
        // git ends the name with a tab when it contains a space (as GNU diff does).
        let name = name.strip_suffix(b"\r").unwrap_or(name);
        name.strip_suffix(b"\t").unwrap_or(name).to_vec()
    };
    if name == b"/dev/null" {
        return None;
    }
    let name = name.strip_prefix(b"b/")?;
    Some(String::from_utf8_lossy(name).into_owned())
}

/// git's C-style quoting of unusual paths: `"a/q\"uote\twith\303\251.js"`.
fn unquote(quoted: &[u8]) -> Option<Vec<u8>> {
    let inner = quoted.strip_prefix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let b = inner[i];
        i += 1;
        match b {
            b'"' => return Some(out),
            b'\\' => {
                let &e = inner.get(i)?;
                i += 1;
                match e {
                    b'a' => out.push(0x07),
                    b'b' => out.push(0x08),
                    b'f' => out.push(0x0c),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(0x0b),
                    b'0'..=b'7' => {
                        let digits = inner.get(i - 1..i + 2)?;
                        let s = std::str::from_utf8(digits).ok()?;
                        out.push(u8::from_str_radix(s, 8).ok()?);
                        i += 2;
                    }
                    other => out.push(other),
                }
            }
            _ => out.push(b),
        }
    }
    None
}

/// `@@ -12,3 +14,0 @@ context` -> ((12, 3), (14, 0)); a missing count means 1.
fn hunk_header(line: &[u8]) -> Option<((usize, usize), (usize, usize))> {
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split(' ');
    parts.next()?; // @@
    let old = range(parts.next()?.strip_prefix('-')?)?;
    let new = range(parts.next()?.strip_prefix('+')?)?;
    Some((old, new))
}

fn range(s: &str) -> Option<(usize, usize)> {
    match s.split_once(',') {
        Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

/// A change under review: lines added or changed since the merge base of `rev` and HEAD,
/// in the working tree of the repository at `root`.
pub struct Change {
    pub merge_base: String,
    pub lines: ChangedLines,
}

fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir);
    cmd
}

fn run(cmd: &mut Command, what: &str) -> Result<Vec<u8>, DiffError> {
    let out = cmd.output().map_err(DiffError::NoGit)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(DiffError::Git {
            command: what.to_string(),
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// The top of the work tree containing `dir`.
pub fn toplevel(dir: &Path) -> Result<PathBuf, DiffError> {
    let out = git(dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .map_err(DiffError::NoGit)?;
    if !out.status.success() {
        return Err(DiffError::NotARepository(dir.to_path_buf()));
    }
    let top = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim_end_matches(['\n', '\r']));
    Ok(top.canonicalize().unwrap_or(top))
}

impl Change {
    /// What changed between the merge base of `rev` and HEAD, and the working tree of `root`.
    pub fn since(root: &Path, rev: &str) -> Result<Change, DiffError> {
        // A revision starting with `-` would be read by git as an option.
        if rev.is_empty() || rev.starts_with('-') {
            return Err(DiffError::UnknownRevision(rev.to_string()));
        }
        let resolved = git(root)
            .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
            .arg(format!("{rev}^{{commit}}"))
            .output()
            .map_err(DiffError::NoGit)?;
        if !resolved.status.success() {
            return Err(DiffError::UnknownRevision(rev.to_string()));
        }
        let commit = String::from_utf8_lossy(&resolved.stdout).trim().to_string();
        let base = git(root)
            .args(["merge-base", &commit, "HEAD"])
            .output()
            .map_err(DiffError::NoGit)?;
        if !base.status.success() {
            let detail = String::from_utf8_lossy(&base.stderr).trim().to_string();
            return Err(DiffError::NoMergeBase {
                rev: rev.to_string(),
                detail: if detail.is_empty() {
                    "unrelated histories, or a shallow clone (fetch with `fetch-depth: 0`)".into()
                } else {
                    detail
                },
            });
        }
        let merge_base = String::from_utf8_lossy(&base.stdout).trim().to_string();
        let patch = run(
            git(root).args([
                "-c",
                "core.quotePath=false",
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--no-relative",
                "--unified=0",
                "--find-renames",
                "--src-prefix=a/",
                "--dst-prefix=b/",
                &merge_base,
                "--",
            ]),
            "diff",
        )?;
        let mut lines = ChangedLines::parse(&patch);
        let others = run(
            git(root).args(["ls-files", "--others", "--exclude-standard", "-z"]),
            "ls-files",
        )?;
        lines.untracked = others
            .split(|&b| b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        Ok(Change { merge_base, lines })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "diff --git a/gone.js b/gone.js
deleted file mode 100644
index b680253..0000000
--- a/gone.js
+++ /dev/null
@@ -1 +0,0 @@
-z
diff --git a/my file.js b/my file.js
index 7898192..422c2b7 100644
--- a/my file.js\t
+++ b/my file.js\t
@@ -1,0 +2 @@ a
+b
@@ -5,2 +6,3 @@ a
-c
-d
+e
+f
+g
diff --git a/old name.js b/new name.js
similarity index 100%
rename from old name.js
rename to new name.js
diff --git \"a/q\\\"uote.js\" \"b/q\\\"uote.js\"
index 587be6b..9a48bcb 100644
--- \"a/q\\\"uote.js\"
+++ \"b/q\\\"uote.js\"
@@ -1,0 +2 @@ x
+++ y
diff --git a/new.js b/new.js
new file mode 100644
--- /dev/null
+++ b/new.js
@@ -0,0 +1,3 @@
+a
+b
+c
\\ No newline at end of file
diff --git a/del.js b/del.js
--- a/del.js
+++ b/del.js
@@ -4,2 +3,0 @@
-x
-y
";

    #[test]
    fn parses_added_changed_renamed_deleted_and_quoted() {
        let c = ChangedLines::parse(PATCH.as_bytes());
        assert!(c.contains("my file.js", 2));
        assert!(!c.contains("my file.js", 1));
        assert!(!c.contains("my file.js", 5));
        assert!((6..=8).all(|l| c.contains("my file.js", l)));
        assert!(!c.contains("my file.js", 9));
        // `+++ y` is a hunk line, not a header.
        assert!(c.contains("q\"uote.js", 2));
        assert!(!c.contains("y", 1));
        assert!((1..=3).all(|l| c.contains("new.js", l)));
        assert!(!c.contains("new name.js", 1));
        assert!(!c.contains("gone.js", 1));
        assert!(!c.contains("del.js", 3));
        let paths: Vec<&str> = c.paths().collect();
        assert_eq!(paths, ["my file.js", "new.js", "q\"uote.js"]);
    }

    #[test]
    fn unquotes_octal_escapes() {
        assert_eq!(
            new_path(b"\"b/caf\\303\\251 \\t.js\""),
            Some("caf\u{e9} \t.js".to_string())
        );
    }
}
