//! A finding's identity across runs: its path from the repository root and a fingerprint that
//! survives unrelated edits. The baseline matches on it and SARIF carries it as a partial
//! fingerprint, so both agree on which finding is "the same one".
//!
//! fingerprint = FNV-1a 64 of `rule`, the repository path, the text of the primary line with all
//! whitespace removed, and the occurrence index of that (rule, path, line text) in the file.
//! Line numbers are deliberately not part of it: a line moving down because code was added above
//! it is still the same finding. Two identical lines with the same finding are told apart by their
//! order in the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::diagnostic::Diagnostic;

/// Where a finding lives, independent of the working directory and of line numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// `/`-separated path relative to the project root (absolute when outside it).
    pub path: String,
    /// 16 lowercase hex digits.
    pub fingerprint: String,
}

/// FNV-1a, 64 bits: small, stable across builds and platforms (unlike std's `DefaultHasher`,
/// whose output Rust does not promise to keep).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

/// The line text as fingerprinted: re-indenting or re-spacing a line keeps its identity.
pub fn normalize(line: &str) -> String {
    line.chars().filter(|c| !c.is_whitespace()).collect()
}

pub fn fingerprint(rule: &str, path: &str, normalized_line: &str, occurrence: usize) -> String {
    let mut key = Vec::with_capacity(rule.len() + path.len() + normalized_line.len() + 24);
    // NUL separators: no rule id or path contains one, so fields cannot run into each other.
    for part in [rule.as_bytes(), path.as_bytes(), normalized_line.as_bytes()] {
        key.extend_from_slice(part);
        key.push(0);
    }
    key.extend_from_slice(occurrence.to_string().as_bytes());
    format!("{:016x}", fnv1a64(&key))
}

/// The project root that paths in SARIF, baselines and diffs are relative to: the top of the git
/// work tree containing `start`, or the working directory outside git.
pub fn project_root(start: &Path) -> PathBuf {
    let dir = if start.is_dir() {
        start.to_path_buf()
    } else {
        match start.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let toplevel = Command::new("git")
        .arg("-C")
        .arg(&dir)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| PathBuf::from(s.trim_end_matches(['\n', '\r'])));
    let root = toplevel
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    root.canonicalize().unwrap_or(root)
}

/// A displayed path (relative to the working directory, or absolute) made relative to `root`.
pub fn project_path(display: &str, root: &Path) -> String {
    let shown = Path::new(display);
    let absolute = if shown.is_absolute() {
        shown.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|c| c.join(shown))
            .unwrap_or_else(|_| shown.to_path_buf())
    };
    // Canonical on both sides: temporary directories and checkouts are often behind symlinks.
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    match absolute.strip_prefix(root) {
        Ok(rel) => slashes(&rel.to_string_lossy()),
        Err(_) => slashes(display),
    }
}

/// `/` separators. Only on Windows: elsewhere a backslash is a valid character of a file name.
pub fn slashes(path: &str) -> String {
    if cfg!(windows) {
        path.replace('\\', "/")
    } else {
        path.to_string()
    }
}

/// One anchor per diagnostic, in the same order. `diagnostics` must be sorted as the engine sorts
/// them (by path, line, column), which makes occurrence indexes follow the order in the file.
pub fn anchors(
    diagnostics: &[Diagnostic],
    sources: &HashMap<String, String>,
    root: &Path,
) -> Vec<Anchor> {
    let mut paths: HashMap<&str, String> = HashMap::new();
    let mut lines: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut seen: HashMap<(String, String, String), usize> = HashMap::new();
    diagnostics
        .iter()
        .map(|d| {
            let path = paths
                .entry(d.path.as_str())
                .or_insert_with(|| project_path(&d.path, root))
                .clone();
            let file_lines = lines.entry(d.path.as_str()).or_insert_with(|| {
                sources
                    .get(&d.path)
                    .map(|s| s.lines().collect())
                    .unwrap_or_default()
            });
            let text = normalize(
                file_lines
                    .get(d.line.saturating_sub(1))
                    .copied()
                    .unwrap_or(""),
            );
            let count = seen
                .entry((d.rule.clone(), path.clone(), text.clone()))
                .or_insert(0);
            let fingerprint = fingerprint(&d.rule, &path, &text, *count);
            *count += 1;
            Anchor { path, fingerprint }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_reference_values() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn whitespace_does_not_change_identity() {
        assert_eq!(
            normalize("  const x = fs.readFileSync( 'a' );\r"),
            normalize("const x = fs.readFileSync('a');")
        );
        assert_ne!(
            fingerprint("sync-io", "a.js", "x", 0),
            fingerprint("sync-io", "a.js", "x", 1)
        );
        assert_ne!(
            fingerprint("sync-io", "a.js", "x", 0),
            fingerprint("sync-io", "b.js", "x", 0)
        );
    }
}
