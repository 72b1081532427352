//! The command line as users meet it: exit codes, bad input, configuration errors, formats.

use std::path::Path;

use assert_cmd::Command;
use tempfile::TempDir;

fn snag() -> Command {
    Command::cargo_bin("snag").expect("binary")
}

const BLOCKING_HANDLER: &str = "const fs = require('fs');\nconst express = require('express');\nconst app = express();\napp.get('/x', (req, res) => {\n  res.send(fs.readFileSync('/etc/hosts'));\n});\n";

fn project(files: &[(&str, &[u8])]) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, content).expect("write");
    }
    dir
}

fn json(dir: &Path, extra: &[&str]) -> (serde_json::Value, i32) {
    let out = snag()
        .args(["check", "--format", "json"])
        .args(extra)
        .arg(dir)
        .output()
        .expect("runs");
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (doc, out.status.code().expect("exit code"))
}

#[test]
fn findings_exit_1_and_exit_zero_exits_0() {
    let dir = project(&[("app.js", BLOCKING_HANDLER.as_bytes())]);
    let (doc, code) = json(dir.path(), &[]);
    assert_eq!(code, 1);
    let d = &doc["diagnostics"][0];
    assert_eq!(d["rule"], "sync-io");
    assert_eq!(d["line"], 5);
    assert_eq!(d["column"], 12);
    assert_eq!(d["language"], "javascript");
    assert_eq!(d["context"]["handler"], "GET /x");
    assert_eq!(doc["summary"]["files"], 1);
    let (_, code) = json(dir.path(), &["--exit-zero"]);
    assert_eq!(code, 0);
}

#[test]
fn clean_code_exits_0() {
    let dir = project(&[(
        "app.js",
        b"const fs = require('fs');\nconst config = fs.readFileSync('config.json');\n",
    )]);
    let (doc, code) = json(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["diagnostics"].as_array().expect("array").len(), 0);
}

#[test]
fn empty_directory_is_fine() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (doc, code) = json(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["summary"]["files"], 0);
}

#[test]
fn select_and_ignore() {
    let dir = project(&[("app.js", BLOCKING_HANDLER.as_bytes())]);
    let (doc, _) = json(dir.path(), &["--ignore", "sync-io"]);
    assert_eq!(doc["diagnostics"].as_array().expect("array").len(), 0);
    let (doc, _) = json(dir.path(), &["--select", "sync-io,missing-pooling"]);
    assert_eq!(doc["diagnostics"].as_array().expect("array").len(), 1);
}

#[test]
fn unknown_rule_is_a_usage_error() {
    let dir = project(&[("app.js", BLOCKING_HANDLER.as_bytes())]);
    let out = snag()
        .args(["check", "--select", "sync-oi"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown rule `sync-oi`"));
}

#[test]
fn bad_config_exits_2_with_a_clear_message() {
    let dir = project(&[
        ("app.js", BLOCKING_HANDLER.as_bytes()),
        ("snag.toml", b"selcet = [\"sync-io\"]\n"),
    ]);
    let out = snag().arg("check").arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("snag.toml") && err.contains("selcet"), "{err}");

    let dir = project(&[
        ("app.js", BLOCKING_HANDLER.as_bytes()),
        ("snag.toml", b"ignore = [\"no-such-rule\"]\n"),
    ]);
    let out = snag().arg("check").arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown rule `no-such-rule`"));
}

#[test]
fn config_ignores_severity_and_per_file_ignores() {
    let dir = project(&[
        ("app.js", BLOCKING_HANDLER.as_bytes()),
        ("scripts/tool.js", BLOCKING_HANDLER.as_bytes()),
        (
            "snag.toml",
            b"[severity]\n\"sync-io\" = \"error\"\n[per-file-ignores]\n\"scripts/**\" = [\"sync-io\"]\n",
        ),
    ]);
    let (doc, _) = json(dir.path(), &[]);
    let diags = doc["diagnostics"].as_array().expect("array");
    assert_eq!(diags.len(), 1, "{doc}");
    assert_eq!(diags[0]["severity"], "error");
    assert!(diags[0]["path"].as_str().expect("path").ends_with("app.js"));
}

#[test]
fn pyproject_tool_snag_is_read() {
    let dir = project(&[
        ("app.js", BLOCKING_HANDLER.as_bytes()),
        (
            "pyproject.toml",
            b"[project]\nname = \"x\"\n[tool.snag]\nignore = [\"sync-io\"]\n",
        ),
    ]);
    let (doc, code) = json(dir.path(), &[]);
    assert_eq!(code, 0, "{doc}");
}

#[test]
fn extend_teaches_blocking_apis() {
    let dir = project(&[
        (
            "app.js",
            b"const store = require('@acme/store');\nconst express = require('express');\nconst app = express();\napp.get('/x', (req, res) => res.send(store.loadBlocking()));\n",
        ),
        ("snag.toml", b"[extend]\nblocking = [\"@acme/store.loadBlocking\"]\n"),
    ]);
    let (doc, _) = json(dir.path(), &[]);
    assert_eq!(doc["diagnostics"][0]["rule"], "sync-io", "{doc}");
}

#[test]
fn extend_teaches_handler_registrations() {
    let js = b"const fs = require('fs');\nconst api = require('./api');\napi.addRoute('/report', (input, output) => {\n  output.send(fs.readFileSync('/var/report.csv'));\n});\n";
    let py = b"import time\nfrom acme.web import api\n\n\n@api.endpoint('/slow')\nasync def slow():\n    time.sleep(1)\n";
    let dir = project(&[("routes.js", js), ("views.py", py)]);
    let (doc, _) = json(dir.path(), &[]);
    let before = doc["diagnostics"].as_array().expect("array").len();
    // The Python finding stands on its own (async def); the JS one needs the registration.
    assert_eq!(before, 1, "{doc}");
    let dir = project(&[
        ("routes.js", js),
        ("views.py", py),
        (
            "snag.toml",
            b"[extend]\nhandlers = [\"addRoute\", \"endpoint\"]\n",
        ),
    ]);
    let (doc, _) = json(dir.path(), &[]);
    let diags = doc["diagnostics"].as_array().expect("array");
    assert_eq!(diags.len(), 2, "{doc}");
    assert_eq!(diags[0]["context"]["handler"], "/report");
    assert!(diags[1]["context"]["handler"].is_string(), "{doc}");
}

#[test]
fn suppression_comments() {
    let source = BLOCKING_HANDLER.replace(
        "  res.send(fs",
        "  // snag-ignore[sync-io]: tiny file read once per deploy\n  res.send(fs",
    );
    let dir = project(&[("app.js", source.as_bytes())]);
    let (doc, code) = json(dir.path(), &[]);
    assert_eq!(code, 0, "{doc}");
    let other = BLOCKING_HANDLER.replace(
        "  res.send(fs",
        "  // snag-ignore[missing-pooling]\n  res.send(fs",
    );
    let dir = project(&[("app.js", other.as_bytes())]);
    let (_, code) = json(dir.path(), &[]);
    assert_eq!(code, 1);
}

#[test]
fn bad_files_are_reported_and_the_rest_is_analysed() {
    let mut binary = b"const x = 1;\0\0\0".to_vec();
    binary.extend_from_slice(&[0xff; 16]);
    let dir = project(&[
        ("app.js", BLOCKING_HANDLER.as_bytes()),
        ("latin1.js", b"// caf\xe9\nconst a = 1;\n"),
        ("blob.js", &binary),
        (
            "broken.js",
            format!("{BLOCKING_HANDLER}\nfunction (( {{ oops\n").as_bytes(),
        ),
    ]);
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        dir.path().join("missing.js"),
        dir.path().join("dangling.js"),
    )
    .expect("symlink");
    let (doc, code) = json(dir.path(), &[]);
    assert_eq!(code, 1);
    let errors: Vec<String> = doc["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| format!("{} {}", e["path"], e["message"]))
        .collect();
    let joined = errors.join("\n");
    assert!(
        joined.contains("latin1.js") && joined.contains("UTF-8"),
        "{joined}"
    );
    assert!(
        joined.contains("blob.js") && joined.contains("binary"),
        "{joined}"
    );
    #[cfg(unix)]
    assert!(joined.contains("dangling.js"), "{joined}");
    // The syntax error does not hide the finding before it.
    let rules: Vec<(String, u64)> = doc["diagnostics"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap_or("").to_string(),
                d["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert!(
        rules
            .iter()
            .any(|(p, l)| p.ends_with("broken.js") && *l == 5),
        "{rules:?}"
    );
    assert!(
        rules.iter().any(|(p, l)| p.ends_with("app.js") && *l == 5),
        "{rules:?}"
    );
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 20_000;
    let mut src = String::from("const fs = require('fs');\nconst v = ");
    // One level per line: a long line would make the file count as minified.
    src.push_str(&"(\n".repeat(depth));
    src.push('1');
    src.push_str(&")\n".repeat(depth));
    src.push_str(";\nfunction f(req, res) {\n  res.send(fs.readFileSync('x'));\n}\n");
    let finding_line = 2 * depth + 4;
    let mut calls = String::from("const g = ");
    calls.push_str(&"f(\n".repeat(depth));
    calls.push_str(&")\n".repeat(depth));
    calls.push_str(";\n");
    let mut arrows = String::from("const h = ");
    arrows.push_str(&"() =>\n".repeat(5_000));
    arrows.push_str("1;\n");
    let dir = project(&[
        ("deep.js", src.as_bytes()),
        ("calls.js", calls.as_bytes()),
        ("arrows.ts", arrows.as_bytes()),
    ]);
    let (doc, code) = json(dir.path(), &[]);
    assert_eq!(code, 1, "{doc}");
    assert_eq!(doc["summary"]["files"], 3, "{doc}");
    assert_eq!(doc["diagnostics"][0]["line"], finding_line);
}

#[test]
fn minified_files_are_skipped_and_counted() {
    let long = format!("var a = [{}];\n", "1,".repeat(3000));
    let dir = project(&[
        ("vendor.min.js", b"var x = 1;\n"),
        ("bundle.js", long.as_bytes()),
        ("app.js", BLOCKING_HANDLER.as_bytes()),
    ]);
    let (doc, _) = json(dir.path(), &[]);
    assert_eq!(doc["summary"]["skipped"], 2, "{doc}");
    assert_eq!(doc["summary"]["files"], 1);
}

#[test]
fn same_output_with_one_and_two_threads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let run = |threads: &str| {
        let out = snag()
            .args([
                "check",
                "--format",
                "json-lines",
                "--exit-zero",
                "--threads",
                threads,
            ])
            .arg(&root)
            .output()
            .expect("runs");
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let one = run("1");
    assert!(!one.is_empty());
    assert_eq!(one, run("2"));
}

#[test]
fn stdin_filename() {
    let out = snag()
        .args([
            "check",
            "--format",
            "concise",
            "--stdin-filename",
            "src/routes/x.js",
        ])
        .write_stdin(BLOCKING_HANDLER)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("src/routes/x.js:5:12: sync-io"),
        "{stdout}"
    );
}

#[test]
fn missing_path_is_an_error() {
    let out = snag()
        .args(["check", "/no/such/dir/anywhere"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn rules_and_explain() {
    let out = snag().arg("rules").output().expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "sync-io",
        "sync-over-async",
        "missing-pooling",
        "unhandled-rejection",
        "manual-validation",
    ] {
        assert!(text.contains(id), "{text}");
        let out = snag().args(["explain", id]).output().expect("runs");
        assert_eq!(out.status.code(), Some(0));
        let doc = String::from_utf8_lossy(&out.stdout);
        assert!(
            doc.contains("## Why it matters") && doc.contains("## How to fix"),
            "{doc}"
        );
    }
    let out = snag().args(["explain", "nope"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
}
