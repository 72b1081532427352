//! Baselines: recorded findings stay hidden when lines shift, new ones are reported, fixed ones
//! drop out when the baseline is rewritten.

mod common;

use common::{findings, snag, write, ROUTES};
use snag::baseline::Baseline;

fn check(dir: &std::path::Path, extra: &[&str]) -> (Option<i32>, Vec<(String, usize, String)>) {
    let out = snag(dir)
        .args(["check", "--format", "json"])
        .args(extra)
        .arg(".")
        .output()
        .expect("snag runs");
    (out.status.code(), findings(&out.stdout))
}

#[test]
fn round_trip_with_shifted_lines() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    write(dir, "src/routes.js", ROUTES);

    // Writing a baseline hides everything it records, and succeeds.
    let (code, shown) = check(dir, &["--write-baseline", "snag-baseline.json"]);
    assert_eq!((code, shown.len()), (Some(0), 0));
    let baseline = Baseline::read(&dir.join("snag-baseline.json")).expect("baseline");
    assert_eq!(baseline.version, 1);
    assert_eq!(baseline.findings.len(), 3);
    assert!(baseline.findings.iter().all(|e| e.path == "src/routes.js"));
    let lines: Vec<usize> = baseline.findings.iter().map(|e| e.line).collect();
    assert_eq!(lines, common::marked_lines(ROUTES));

    // Code added above and re-indented: the same findings, on other lines, stay hidden.
    let shifted = format!(
        "'use strict';\n// Reports and exports.\n\n{}",
        ROUTES.replace("  const body", "      const body")
    );
    write(dir, "src/routes.js", &shifted);
    let (code, shown) = check(dir, &["--baseline", "snag-baseline.json"]);
    assert_eq!((code, shown), (Some(0), vec![]));

    // A new finding is reported, and only it.
    let grown = shifted.replace(
        "  res.send(Buffer.concat([a, b]));",
        "  const c = fs.readFileSync('/var/exports/c.csv');\n  res.send(Buffer.concat([a, b, c]));",
    );
    write(dir, "src/routes.js", &grown);
    let (code, shown) = check(dir, &["--baseline", "snag-baseline.json"]);
    let new_line = grown
        .lines()
        .position(|l| l.contains("c.csv"))
        .expect("line")
        + 1;
    assert_eq!(code, Some(1));
    assert_eq!(
        shown,
        vec![("src/routes.js".into(), new_line, "sync-io".into())]
    );

    // A third copy of an identical line is a new finding too (occurrence index).
    let tripled = grown.replace(
        "  const b = fs.readFileSync('/var/exports/a.csv'); // finding\n",
        "  const b = fs.readFileSync('/var/exports/a.csv'); // finding\n  const b2 = fs.readFileSync('/var/exports/a.csv'); // finding\n",
    );
    write(dir, "src/other.js", &tripled);
    let (_, shown) = check(dir, &["--baseline", "snag-baseline.json"]);
    assert!(shown
        .iter()
        .all(|(p, _, _)| p == "src/routes.js" || p == "src/other.js"));
    assert_eq!(
        shown.iter().filter(|(p, _, _)| p == "src/other.js").count(),
        5,
        "another file: all new"
    );
    std::fs::remove_file(dir.join("src/other.js")).expect("rm");

    // Fixing findings and rewriting the baseline drops them from it.
    let fixed = grown.replace(
        "fs.readFileSync(`/var/reports/${req.params.id}.json`, 'utf8')",
        "reportCache.get(req.params.id)",
    );
    write(dir, "src/routes.js", &fixed);
    let (code, _) = check(
        dir,
        &[
            "--baseline",
            "snag-baseline.json",
            "--write-baseline",
            "snag-baseline.json",
        ],
    );
    assert_eq!(code, Some(0));
    let rewritten = Baseline::read(&dir.join("snag-baseline.json")).expect("baseline");
    assert_eq!(
        rewritten.findings.len(),
        3,
        "two old ones left and the new one"
    );
    assert!(rewritten.findings.iter().all(|e| !e.message.is_empty()));
    let (code, shown) = check(dir, &["--baseline", "snag-baseline.json"]);
    assert_eq!((code, shown), (Some(0), vec![]));
}

#[test]
fn baseline_fingerprints_are_the_sarif_fingerprints() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "routes.js", ROUTES);
    snag(tmp.path())
        .args(["check", "--write-baseline", "b.json", "."])
        .assert()
        .code(0);
    let baseline = Baseline::read(&tmp.path().join("b.json")).expect("baseline");
    let out = snag(tmp.path())
        .args(["check", "--format", "sarif", "."])
        .output()
        .expect("snag runs");
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let from_sarif: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["partialFingerprints"]["snag/v1"].as_str().expect("fp"))
        .collect();
    let from_baseline: Vec<&str> = baseline
        .findings
        .iter()
        .map(|e| e.fingerprint.as_str())
        .collect();
    assert_eq!(from_sarif, from_baseline);
}

#[test]
fn unreadable_or_foreign_baselines_are_usage_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "routes.js", ROUTES);
    write(tmp.path(), "v2.json", r#"{"version": 2, "findings": []}"#);
    for (file, says) in [
        ("missing.json", "cannot read baseline"),
        ("v2.json", "format version 2"),
    ] {
        let out = snag(tmp.path())
            .args(["check", "--baseline", file, "."])
            .output()
            .expect("snag runs");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn fail_on_decides_the_exit_status() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "routes.js", ROUTES);
    // sync-io findings are warnings.
    for (fail_on, code) in [("info", 1), ("warning", 1), ("error", 0), ("never", 0)] {
        snag(tmp.path())
            .args(["check", "--format", "concise", "--fail-on", fail_on, "."])
            .assert()
            .code(code);
    }
}
