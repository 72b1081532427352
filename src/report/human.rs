//! The human format: rustc/ruff-style code frames with codespan-reporting (SPEC §4).

use std::collections::BTreeMap;
use std::io::{self, Write};

use codespan_reporting::diagnostic::{Diagnostic as Frame, Label, Severity as FrameSeverity};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor::WriteColor};

use crate::catalog::Catalogs;
use crate::diagnostic::Severity;
use crate::engine::Outcome;
use crate::model::Family;

pub fn render(out: &mut dyn WriteColor, outcome: &Outcome, catalogs: &Catalogs) -> io::Result<()> {
    let mut files = SimpleFiles::new();
    let mut ids = BTreeMap::new();
    for (path, text) in &outcome.sources {
        ids.insert(path.clone(), files.add(path.clone(), text.clone()));
    }
    let config = term::Config::default();
    for d in &outcome.diagnostics {
        let Some(&file) = ids.get(&d.path) else {
            continue;
        };
        let severity = match d.severity {
            Severity::Error => FrameSeverity::Error,
            Severity::Warning => FrameSeverity::Warning,
            Severity::Info => FrameSeverity::Note,
        };
        let mut labels = vec![Label::primary(file, d.span.0..d.span.1)];
        if let (Some((s, e)), Some(handler)) = (
            d.handler_span,
            d.context.as_ref().and_then(|c| c.handler.as_ref()),
        ) {
            if (s, e) != d.span {
                labels.push(
                    Label::secondary(file, s..e).with_message(format!("handler `{handler}`")),
                );
            }
        }
        let mut notes = vec![format!("help: {}", d.hint)];
        if let Some(rule) = catalogs.rule(&d.rule) {
            let family = match d.language.as_str() {
                "python" => Family::Python,
                "csharp" => Family::CSharp,
                _ => Family::JavaScript,
            };
            let note = &rule.section(family).note;
            let why = if note.is_empty() {
                crate::rules::first_sentence(&rule.doc.why)
            } else {
                note.clone()
            };
            notes.push(format!("note: {why}"));
        }
        let frame = Frame::new(severity)
            .with_code(d.rule.clone())
            .with_message(&d.message)
            .with_labels(labels)
            .with_notes(notes);
        term::emit(out, &config, &files, &frame).map_err(io::Error::other)?;
    }
    for e in &outcome.errors {
        writeln!(out, "error: {}: {}", e.path, e.message)?;
    }
    summary(out, outcome)
}

pub fn summary(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &outcome.diagnostics {
        *per_rule.entry(d.rule.as_str()).or_default() += 1;
    }
    let s = &outcome.summary;
    let counts = per_rule
        .iter()
        .map(|(r, n)| format!("{r}: {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let findings = match s.diagnostics {
        0 => "no findings".to_string(),
        1 => format!("1 finding ({counts})"),
        n => format!("{n} findings ({counts})"),
    };
    writeln!(
        out,
        "snag: {findings} in {} files ({} skipped, {} errors{}) in {} ms",
        s.files,
        s.skipped,
        outcome.errors.len(),
        match s.files_with_syntax_errors {
            0 => String::new(),
            n => format!(", {n} with syntax errors analysed as far as they parse"),
        },
        s.elapsed_ms
    )
}
