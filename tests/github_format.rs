//! `--format github`: one workflow command per finding, which the Actions runner must read back
//! exactly, whatever the file names and messages contain.

mod common;

use std::collections::HashMap;

use common::{snag, write, ROUTES};

/// A workflow command as the runner parses it: `::name key=value,key=value::data`.
#[derive(Debug)]
struct Command {
    name: String,
    properties: HashMap<String, String>,
    data: String,
}

fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

fn unescape_property(s: &str) -> String {
    unescape_data(&s.replace("%3A", ":").replace("%2C", ","))
}

fn parse(line: &str) -> Command {
    let rest = line.strip_prefix("::").expect("starts with ::");
    let (head, data) = rest.split_once("::").expect(":: before the data");
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let properties = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').expect("key=value");
            (k.to_string(), unescape_property(v))
        })
        .collect();
    Command {
        name: name.to_string(),
        properties,
        data: unescape_data(data),
    }
}

fn commands(dir: &std::path::Path) -> Vec<Command> {
    let out = snag(dir)
        .args(["check", "--format", "github", "."])
        .output()
        .expect("snag runs");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    text.lines().map(parse).collect()
}

#[test]
fn findings_become_annotations_with_positions() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write(tmp.path(), "src/routes.js", ROUTES);
    let cmds = commands(tmp.path());
    assert_eq!(cmds.len(), 3);
    let c = &cmds[0];
    assert_eq!(c.name, "warning");
    let p = &c.properties;
    assert_eq!(p["file"], "src/routes.js");
    assert_eq!((p["line"].as_str(), p["col"].as_str()), ("6", "16"));
    assert_eq!(
        (p["endLine"].as_str(), p["endColumn"].as_str()),
        ("6", "77")
    );
    assert_eq!(p["title"], "snag (sync-io)");
    assert!(c
        .data
        .starts_with("`fs.readFileSync` blocks the event loop"));
    assert!(c.data.contains("\nhelp: use the promise API"), "{}", c.data);
}

#[test]
fn hostile_file_names_cannot_break_out() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let hostile = [
        "a,line=1,title=x:y.js",
        "100% sure.js",
        "new\nline::error::pwned.js",
        "cr\r::x.js",
    ];
    for name in hostile {
        write(tmp.path(), name, ROUTES);
    }
    let out = snag(tmp.path())
        .args(["check", "--format", "github", "."])
        .output()
        .expect("snag runs");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(
        text.lines().count(),
        3 * hostile.len(),
        "one line per finding:\n{text}"
    );
    assert!(!text.contains('\r'));
    for line in text.lines() {
        assert!(line.starts_with("::warning file="), "{line}");
        // Exactly one `::` after the command name: the data separator.
        assert_eq!(line[2..].matches("::").count(), 1, "{line}");
    }
    let mut files: Vec<String> = text
        .lines()
        .map(|l| parse(l).properties["file"].clone())
        .collect();
    files.dedup();
    let mut expected: Vec<String> = hostile.iter().map(|s| s.to_string()).collect();
    expected.sort();
    files.sort();
    assert_eq!(files, expected);
}

#[test]
fn severities_map_to_commands_and_messages_are_escaped() {
    use snag::diagnostic::{Diagnostic, Severity};
    use snag::engine::{Outcome, Summary};
    let diagnostic = |severity: Severity, message: &str| Diagnostic {
        rule: "sync-io".into(),
        check: String::new(),
        severity,
        language: "javascript".into(),
        path: "src/x,y:z.js".into(),
        line: 3,
        column: 1,
        end_line: 4,
        end_column: 2,
        message: message.into(),
        hint: "fix: it, now\r\n::error::no".into(),
        context: None,
        span: (0, 0),
        handler_span: None,
    };
    let hostile = "50% of 'a,b:c'\n::error file=x::injected";
    let outcome = Outcome {
        diagnostics: vec![
            diagnostic(Severity::Error, hostile),
            diagnostic(Severity::Warning, "w"),
            diagnostic(Severity::Info, "i"),
        ],
        errors: Vec::new(),
        summary: Summary {
            files: 1,
            skipped: 0,
            diagnostics: 3,
            elapsed_ms: 0,
            files_with_syntax_errors: 0,
        },
        sources: HashMap::new(),
    };
    let mut out = Vec::new();
    snag::report::github::render(&mut out, &outcome).expect("render");
    let text = String::from_utf8(out).expect("UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let names: Vec<String> = lines.iter().map(|l| parse(l).name).collect();
    assert_eq!(names, ["error", "warning", "notice"]);
    assert!(lines[0].starts_with(
        "::error file=src/x%2Cy%3Az.js,line=3,col=1,endLine=4,endColumn=2,title=snag (sync-io)::50%25 of 'a,b:c'%0A::error file=x::injected%0Ahelp: fix: it, now%0D%0A::error::no"
    ), "{}", lines[0]);
    let first = parse(lines[0]);
    assert_eq!(first.properties["file"], "src/x,y:z.js");
    assert_eq!(
        first.data,
        format!("{hostile}\nhelp: fix: it, now\r\n::error::no")
    );
}
