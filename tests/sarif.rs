//! `--format sarif`: the log deserializes into typed SARIF 2.1.0 and carries every field GitHub
//! code scanning uses; fingerprints survive shifted lines.

mod common;

use common::{marked_lines, snag, write, ROUTES};
use serde_sarif::sarif::{ResultLevel, Sarif};

fn sarif(dir: &std::path::Path) -> (Sarif, serde_json::Value) {
    let out = snag(dir)
        .args(["check", "--format", "sarif", "."])
        .output()
        .expect("snag runs");
    assert_eq!(out.status.code(), Some(1), "findings mean exit 1");
    let typed: Sarif = serde_json::from_slice(&out.stdout).expect("typed SARIF");
    let raw = serde_json::from_slice(&out.stdout).expect("JSON");
    (typed, raw)
}

#[test]
fn every_required_field_is_there() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "src/routes/report files.js", ROUTES);
    let (log, raw) = sarif(tmp.path());

    assert_eq!(log.version, serde_json::json!("2.1.0"));
    assert!(log
        .schema
        .as_deref()
        .is_some_and(|s| s.contains("sarif-2.1.0")));
    assert_eq!(log.runs.len(), 1);
    let run = &log.runs[0];
    assert_eq!(
        run.column_kind,
        Some(serde_json::json!("unicodeCodePoints"))
    );
    let base = run
        .original_uri_base_ids
        .as_ref()
        .expect("originalUriBaseIds");
    let root = base["%SRCROOT%"].uri.as_deref().expect("%SRCROOT% uri");
    assert!(
        root.starts_with("file:///") && root.ends_with('/'),
        "{root}"
    );

    let driver = &run.tool.driver;
    assert_eq!(driver.name, "snag");
    assert_eq!(driver.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    let rules = driver.rules.as_ref().expect("rules");
    let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        snag::catalog::RULE_IDS,
        "every rule, in the order of `snag rules`"
    );
    for r in rules {
        assert!(
            r.name.as_deref().is_some_and(|n| !n.is_empty()),
            "{} name",
            r.id
        );
        assert!(r
            .short_description
            .as_ref()
            .is_some_and(|d| !d.text.is_empty()));
        assert!(r
            .full_description
            .as_ref()
            .is_some_and(|d| !d.text.is_empty()));
        let help = r.help.as_ref().expect("help");
        assert!(help.text.contains("## How to fix"), "{} help text", r.id);
        assert!(help
            .markdown
            .as_deref()
            .is_some_and(|m| m.contains("## Why it matters")));
        let level = r
            .default_configuration
            .as_ref()
            .and_then(|c| c.level.as_ref())
            .and_then(|l| l.as_str())
            .expect("default level");
        assert!(["error", "warning", "note"].contains(&level));
    }

    let results = run.results.as_ref().expect("results");
    assert_eq!(results.len(), 3);
    let lines: Vec<i64> = results
        .iter()
        .map(|r| {
            let loc = r.locations.as_ref().expect("locations");
            assert_eq!(loc.len(), 1, "one location per finding");
            let phys = loc[0].physical_location.as_ref().expect("physicalLocation");
            let art = phys.artifact_location.as_ref().expect("artifactLocation");
            assert_eq!(art.uri.as_deref(), Some("src/routes/report%20files.js"));
            assert_eq!(art.uri_base_id.as_deref(), Some("%SRCROOT%"));
            let region = phys.region.as_ref().expect("region");
            let (sl, sc) = (region.start_line.unwrap(), region.start_column.unwrap());
            let (el, ec) = (region.end_line.unwrap(), region.end_column.unwrap());
            assert!(
                sl >= 1 && sc >= 1 && (el, ec) > (sl, sc),
                "1-based, non-empty"
            );

            assert_eq!(r.rule_id.as_deref(), Some("sync-io"));
            let index = r.rule_index.expect("ruleIndex") as usize;
            assert_eq!(rules[index].id, "sync-io", "ruleIndex points at the rule");
            assert!(matches!(r.level, Some(ResultLevel::Warning)));
            let text = r.message.text.as_deref().expect("message text");
            assert!(
                text.contains("fs.readFileSync") && text.contains("Fix: "),
                "{text}"
            );
            let props = &r
                .properties
                .as_ref()
                .expect("properties")
                .additional_properties;
            assert!(props["hint"]
                .as_str()
                .is_some_and(|h| h.contains("fs.promises")));
            let fp = &r
                .partial_fingerprints
                .as_ref()
                .expect("partialFingerprints")["snag/v1"];
            assert_eq!(fp.len(), 16);
            sl
        })
        .collect();
    let expected: Vec<i64> = marked_lines(ROUTES).into_iter().map(|l| l as i64).collect();
    assert_eq!(lines, expected);

    // The handler the finding runs in, as a related location.
    let related = &raw["runs"][0]["results"][0]["relatedLocations"][0];
    assert_eq!(related["message"]["text"], "handler `GET /reports/:id`");
    assert_eq!(related["physicalLocation"]["region"]["startLine"], 5);

    // Exact span of the first finding: `fs.readFileSync(...)` call, end column exclusive.
    let region = &raw["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startColumn"], 16);
    assert_eq!(region["endColumn"], 77);
}

#[test]
fn fingerprints_survive_shifted_lines_and_tell_twins_apart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "routes.js", ROUTES);
    let fingerprints = |dir: &std::path::Path| -> Vec<String> {
        let (log, _) = sarif(dir);
        log.runs[0]
            .results
            .as_ref()
            .expect("results")
            .iter()
            .map(|r| r.partial_fingerprints.as_ref().expect("fp")["snag/v1"].clone())
            .collect()
    };
    let before = fingerprints(tmp.path());
    assert_eq!(before.len(), 3);
    assert_ne!(
        before[1], before[2],
        "two identical lines get two fingerprints"
    );
    let shifted = format!(
        "// header comment\n\n'use strict';\n{}",
        ROUTES.replace("  const a", "    const a")
    );
    write(tmp.path(), "routes.js", &shifted);
    assert_eq!(fingerprints(tmp.path()), before);
}

#[test]
fn report_file_matches_stdout_and_file_errors_become_notifications() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "routes.js", ROUTES);
    std::fs::write(tmp.path().join("broken.js"), b"const x = '\xff\xfe';\n").expect("write");
    let out = snag(tmp.path())
        .args([
            "check",
            "--format",
            "sarif",
            "--report",
            "sarif=out.sarif",
            ".",
        ])
        .output()
        .expect("snag runs");
    let file = std::fs::read(tmp.path().join("out.sarif")).expect("report written");
    assert_eq!(out.stdout, file);
    let log: Sarif = serde_json::from_slice(&file).expect("typed SARIF");
    let invocation = &log.runs[0].invocations.as_ref().expect("invocations")[0];
    assert!(invocation.execution_successful);
    let notes = invocation
        .tool_execution_notifications
        .as_ref()
        .expect("notifications");
    assert_eq!(notes.len(), 1);
    assert!(notes[0]
        .message
        .text
        .as_deref()
        .unwrap_or("")
        .contains("broken.js"));
}
