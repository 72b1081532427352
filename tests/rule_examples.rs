//! The examples in `rules/<id>.toml` are what `snag explain` shows: each bad example must report
//! exactly its rule, each good example nothing, so the docs cannot drift from the code.

use std::path::Path;

use assert_cmd::Command;

fn findings(path: &str, source: &str) -> Vec<String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(path);
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(&file, source).expect("write");
    let out = Command::cargo_bin("snag")
        .expect("binary")
        .args(["check", "--format", "json", "--exit-zero"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["rule"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn every_example_does_what_its_docs_say() {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut checked = 0;
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(rules).expect("rules dir").flatten() {
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let doc: toml::Value = toml::from_str(&text).expect("toml");
        let id = doc["id"].as_str().expect("id").to_string();
        for ex in doc
            .get("example")
            .and_then(|e| e.as_array())
            .cloned()
            .unwrap_or_default()
        {
            let path = ex["path"].as_str().expect("path");
            if let Some(bad) = ex.get("bad").and_then(|b| b.as_str()) {
                let got = findings(path, bad);
                if got.is_empty() || got.iter().any(|r| *r != id) {
                    problems.push(format!("{id} bad example {path}: got {got:?}"));
                }
                checked += 1;
            }
            if let Some(good) = ex.get("good").and_then(|g| g.as_str()) {
                let got = findings(path, good);
                if !got.is_empty() {
                    problems.push(format!("{id} good example {path}: got {got:?}"));
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "only {checked} examples");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
