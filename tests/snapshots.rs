//! The output formats on the bundled demo service, as users see them.

use assert_cmd::Command;

fn run(format: &str) -> String {
    let out = Command::cargo_bin("snag")
        .expect("binary")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "check",
            "fixtures/demo/node",
            "--color",
            "never",
            "--format",
            format,
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "the demo has findings");
    let text = String::from_utf8(out.stdout).expect("utf-8");
    // Timings differ run to run.
    text.lines()
        .map(|l| match l.find(" in ") {
            Some(i) if l.starts_with("snag: ") && l.ends_with(" ms") => {
                let cut = l.rfind(" in ").unwrap_or(i);
                format!("{} in <elapsed> ms", &l[..cut])
            }
            _ if l.trim_start().starts_with("\"elapsed_ms\"") => "    \"elapsed_ms\": 0".into(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn human() {
    insta::assert_snapshot!(run("human"));
}

#[test]
fn concise() {
    insta::assert_snapshot!(run("concise"));
}

#[test]
fn json() {
    let text = run("json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("json");
    for key in ["version", "diagnostics", "errors", "summary"] {
        assert!(doc.get(key).is_some(), "missing {key}");
    }
    insta::assert_snapshot!(text);
}
