//! `--format sarif`: SARIF 2.1.0 as GitHub code scanning reads it, built from the typed
//! structures of `serde-sarif` (generated from the OASIS schema) rather than hand-written JSON.
//!
//! - `tool.driver.rules` lists every rule with its documentation (the text `snag explain` prints)
//!   so that the code scanning UI can show why a finding matters and how to fix it.
//! - A result's location is relative to the repository root (`%SRCROOT%`), as upload-sarif expects.
//! - `partialFingerprints` carries the same fingerprint as the baseline, so alerts follow a finding
//!   when lines shift, and GitHub does not open a new alert for an old finding.
//! - Columns count Unicode code points (`columnKind`), as snag's columns do.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use crate::catalog::{Catalogs, RuleFile};
use crate::diagnostic::{Diagnostic, LineIndex, Severity};
use crate::engine::Outcome;
use crate::review::Review;

pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The key of snag's fingerprint in `partialFingerprints` (versioned: a new scheme gets a new key).
pub const FINGERPRINT_KEY: &str = "snag/v1";
pub const SRCROOT: &str = "%SRCROOT%";

pub fn render(
    out: &mut dyn Write,
    outcome: &Outcome,
    review: &Review,
    catalogs: &Catalogs,
) -> io::Result<()> {
    let log = log(outcome, review, catalogs);
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// The SARIF log of one run.
pub fn log(outcome: &Outcome, review: &Review, catalogs: &Catalogs) -> Sarif {
    let rules: Vec<ReportingDescriptor> = catalogs
        .rules
        .iter()
        .map(|r| descriptor(&r.doc, review))
        .collect();
    let results: Vec<SarifResult> = outcome
        .diagnostics
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let rule_index = catalogs.rules.iter().position(|r| r.doc.id == d.rule);
            let (path, fingerprint) = match review.anchors.get(i) {
                Some(a) => (a.path.as_str(), Some(a.fingerprint.as_str())),
                None => (d.path.as_str(), None),
            };
            let mut r = result(d, rule_index, path, fingerprint);
            r.related_locations = handler_location(d, outcome, path).map(|l| vec![l]);
            r
        })
        .collect();
    let notifications: Vec<Notification> = outcome
        .errors
        .iter()
        .map(|e| {
            Notification::builder()
                .message(text(&format!("{}: {}", e.path, e.message)))
                .level(json!("warning"))
                .locations(vec![Location::builder()
                    .physical_location(
                        PhysicalLocation::builder()
                            .artifact_location(artifact(&e.path))
                            .build(),
                    )
                    .build()])
                .build()
        })
        .collect();
    let mut driver = ToolComponent::builder()
        .name("snag")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .full_name(format!("snag {}", env!("CARGO_PKG_VERSION")))
        .short_description(multiformat(env!("CARGO_PKG_DESCRIPTION"), None))
        .rules(rules)
        .build();
    driver.information_uri = review.docs_url.clone();
    let mut base_ids = BTreeMap::new();
    base_ids.insert(
        SRCROOT.to_string(),
        ArtifactLocation::builder()
            .uri(file_uri(&review.root))
            .build(),
    );
    let mut properties = BTreeMap::new();
    if let Some((rev, merge_base)) = &review.diff_base {
        properties.insert("diffBase".into(), json!(rev));
        properties.insert("mergeBase".into(), json!(merge_base));
    }
    if let Some(path) = &review.baseline {
        properties.insert("baseline".into(), json!(path.to_string_lossy()));
        properties.insert("hiddenByBaseline".into(), json!(review.hidden_by_baseline));
    }
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .original_uri_base_ids(base_ids)
        .column_kind(json!("unicodeCodePoints"))
        .invocations(vec![Invocation::builder()
            .execution_successful(true)
            .tool_execution_notifications(notifications)
            .build()])
        .results(results)
        .build();
    if !properties.is_empty() {
        run.properties = Some(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        );
    }
    Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn descriptor(doc: &RuleFile, review: &Review) -> ReportingDescriptor {
    let help = crate::cli::explain(doc);
    let mut properties = BTreeMap::new();
    if !doc.peers.is_empty() {
        properties.insert("peers".to_string(), json!(doc.peers));
    }
    let mut descriptor = ReportingDescriptor::builder()
        .id(doc.id.clone())
        .name(pascal_case(&doc.id))
        .short_description(multiformat(&doc.title, None))
        .full_description(multiformat(&flatten(&doc.summary), None))
        .help(multiformat(&help, Some(&help)))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(doc.severity)))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(vec!["backend".to_string(), "reliability".to_string()])
                .additional_properties(properties)
                .build(),
        )
        .build();
    descriptor.help_uri = review.rule_url(&doc.id);
    descriptor
}

fn result(
    d: &Diagnostic,
    rule_index: Option<usize>,
    path: &str,
    fingerprint: Option<&str>,
) -> SarifResult {
    let message = if d.hint.is_empty() {
        d.message.clone()
    } else {
        format!("{}. Fix: {}", d.message, d.hint)
    };
    let region = Region::builder()
        .start_line(count(d.line))
        .start_column(count(d.column))
        .end_line(count(d.end_line))
        .end_column(count(d.end_column))
        .build();
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact(path))
                .region(region)
                .build(),
        )
        .build();
    let mut properties: BTreeMap<String, Value> = BTreeMap::new();
    properties.insert("hint".into(), json!(d.hint));
    if !d.check.is_empty() {
        properties.insert("check".into(), json!(d.check));
    }
    properties.insert("language".into(), json!(d.language));
    if let Some(c) = &d.context {
        if let Some(f) = &c.function {
            properties.insert("function".into(), json!(f));
        }
        if let Some(h) = &c.handler {
            properties.insert("handler".into(), json!(h));
        }
    }
    let mut result = SarifResult::builder()
        .rule_id(d.rule.clone())
        .level(level(d.severity))
        .message(text(&message))
        .locations(vec![location])
        .properties(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        )
        .build();
    result.rule_index = rule_index.map(|i| i as i64);
    if let Some(fp) = fingerprint {
        let mut fps = BTreeMap::new();
        fps.insert(FINGERPRINT_KEY.to_string(), fp.to_string());
        result.partial_fingerprints = Some(fps);
    }
    result
}

/// Where the handler that the finding runs in is defined, as a related location.
fn handler_location(d: &Diagnostic, outcome: &Outcome, path: &str) -> Option<Location> {
    let (start, end) = d.handler_span?;
    let handler = d.context.as_ref()?.handler.as_ref()?;
    let source = outcome.sources.get(&d.path)?;
    let index = LineIndex::new(source);
    let (line, column) = index.position(start);
    let (end_line, end_column) = index.position(end);
    let region = Region::builder()
        .start_line(count(line))
        .start_column(count(column))
        .end_line(count(end_line))
        .end_column(count(end_column))
        .build();
    let mut location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact(path))
                .region(region)
                .build(),
        )
        .message(text(&format!("handler `{handler}`")))
        .build();
    location.id = Some(1);
    Some(location)
}

/// A relative path under `%SRCROOT%`, or a `file:` URI for a path outside the repository.
fn artifact(path: &str) -> ArtifactLocation {
    if Path::new(path).is_absolute() {
        ArtifactLocation::builder()
            .uri(file_uri(Path::new(path)))
            .build()
    } else {
        ArtifactLocation::builder()
            .uri(encode_path(path))
            .uri_base_id(SRCROOT)
            .build()
    }
}

fn file_uri(path: &Path) -> String {
    let mut p = crate::fingerprint::slashes(&path.to_string_lossy());
    if !p.starts_with('/') {
        p.insert(0, '/');
    }
    if path.is_dir() && !p.ends_with('/') {
        p.push('/');
    }
    format!("file://{}", encode_path(&p))
}

/// Percent-encodes a path for a URI: everything but RFC 3986 unreserved characters and `/`.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
        Severity::Info => ResultLevel::Note,
    }
}

fn level_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn text(s: &str) -> Message {
    Message::builder().text(s.to_string()).build()
}

fn multiformat(text: &str, markdown: Option<&str>) -> MultiformatMessageString {
    let mut m = MultiformatMessageString::builder()
        .text(text.to_string())
        .build();
    m.markdown = markdown.map(str::to_string);
    m
}

fn flatten(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `sync-over-async` -> `SyncOverAsync`: SARIF's `name` is an identifier for people.
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(encode_path("src/my file#1.js"), "src/my%20file%231.js");
        assert_eq!(encode_path("caf\u{e9}.py"), "caf%C3%A9.py");
        assert_eq!(pascal_case("sync-over-async"), "SyncOverAsync");
    }
}
