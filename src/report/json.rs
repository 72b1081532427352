//! `--format json` (one document, SPEC §2) and `json-lines` (one diagnostic per line).

use std::io::{self, Write};

use serde::Serialize;

use crate::diagnostic::Diagnostic;
use crate::engine::{FileError, Outcome, Summary};

#[derive(Serialize)]
struct Document<'a> {
    version: &'static str,
    diagnostics: &'a [Diagnostic],
    errors: &'a [FileError],
    summary: &'a Summary,
}

pub fn document(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    let doc = Document {
        version: env!("CARGO_PKG_VERSION"),
        diagnostics: &outcome.diagnostics,
        errors: &outcome.errors,
        summary: &outcome.summary,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

pub fn lines(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    for d in &outcome.diagnostics {
        serde_json::to_writer(&mut *out, d)?;
        writeln!(out)?;
    }
    Ok(())
}
