//! Every fixture folder (`fixtures/<rule>/<language>/`, `fixtures/demo/<service>/`) is checked on
//! its own: each `expect: <rule>` mark must be reported on its line, and nothing unmarked may be.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

type Finding = (String, usize, String);

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Folders scanned as one project each, for one language family.
fn folders(language: &str) -> Vec<PathBuf> {
    let root = fixtures_root();
    let mut out = Vec::new();
    let Ok(rules) = std::fs::read_dir(&root) else {
        return out;
    };
    for rule in rules.flatten() {
        let dir = rule.path();
        if !dir.is_dir() {
            continue;
        }
        if dir.file_name().is_some_and(|n| n == "demo") {
            let service = match language {
                "javascript" | "typescript" => "node",
                other => other,
            };
            let d = dir.join(service);
            if d.is_dir() && !out.contains(&d) {
                out.push(d);
            }
        } else {
            let d = dir.join(language);
            if d.is_dir() {
                out.push(d);
            }
        }
    }
    out.sort();
    out
}

fn extensions(language: &str) -> &'static [&'static str] {
    match language {
        "javascript" => &["js", "mjs", "cjs", "jsx"],
        "typescript" => &["ts", "mts", "cts", "tsx"],
        "python" => &["py", "pyi"],
        _ => &["cs"],
    }
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            source_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// `// expect: sync-io, missing-pooling` or `# expect: sync-io` marks, by file and line.
fn marks(dir: &Path, language: &str) -> BTreeSet<Finding> {
    let mut files = Vec::new();
    source_files(dir, &mut files);
    let mut out = BTreeSet::new();
    for f in files {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !extensions(language).contains(&ext) {
            continue;
        }
        let text = std::fs::read_to_string(&f).expect("fixture is UTF-8");
        for (i, line) in text.lines().enumerate() {
            let Some(at) = line.find("expect:") else {
                continue;
            };
            let before = line[..at].trim_end();
            if !(before.ends_with("//") || before.ends_with('#') || before.ends_with("/*")) {
                continue;
            }
            for rule in line[at + "expect:".len()..].split(',') {
                let rule: String = rule
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '-')
                    .collect();
                if !rule.is_empty() {
                    out.insert((f.display().to_string(), i + 1, rule));
                }
            }
        }
    }
    out
}

fn findings(dir: &Path, language: &str) -> BTreeSet<Finding> {
    let output = Command::cargo_bin("snag")
        .expect("binary")
        .args(["check", "--format", "json", "--exit-zero"])
        .arg(dir)
        .output()
        .expect("snag runs");
    assert!(output.status.success(), "snag failed on {}", dir.display());
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json output");
    let mut out = BTreeSet::new();
    for d in doc["diagnostics"].as_array().expect("diagnostics") {
        if d["language"] != language {
            continue;
        }
        let path = d["path"].as_str().expect("path");
        let abs = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
        let shown = if Path::new(path).is_absolute() {
            path.to_string()
        } else {
            abs.display().to_string()
        };
        out.insert((
            shown,
            d["line"].as_u64().expect("line") as usize,
            d["rule"].as_str().expect("rule").to_string(),
        ));
    }
    out
}

fn check_language(language: &str) {
    let folders = folders(language);
    assert!(!folders.is_empty(), "no fixtures for {language}");
    let mut problems = Vec::new();
    let mut marked = 0;
    for dir in folders {
        let expected = marks(&dir, language);
        marked += expected.len();
        let actual = findings(&dir, language);
        for (f, l, r) in expected.difference(&actual) {
            problems.push(format!("missed   {f}:{l} {r}"));
        }
        for (f, l, r) in actual.difference(&expected) {
            problems.push(format!("unmarked {f}:{l} {r}"));
        }
    }
    assert!(marked > 0, "no expect marks for {language}");
    assert!(
        problems.is_empty(),
        "{} fixture mismatches for {language}:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn javascript_fixtures() {
    check_language("javascript");
}

#[test]
fn typescript_fixtures() {
    check_language("typescript");
}

#[test]
fn python_fixtures() {
    check_language("python");
}

#[test]
fn csharp_fixtures() {
    check_language("csharp");
}
