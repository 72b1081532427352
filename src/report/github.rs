//! `--format github`: GitHub Actions workflow commands, which the runner turns into annotations on
//! the pull request's diff:
//! `::warning file=src/a.js,line=6,col=16,endLine=6,endColumn=77,title=snag (sync-io)::message`.
//!
//! File names and messages come from the analysed repository, so from whoever opened the pull
//! request: everything is escaped as the runner's parser expects, so that a newline cannot start
//! a workflow command of its own and a `,` or `:` cannot end a property early.

use std::io::{self, Write};

use crate::diagnostic::Severity;
use crate::engine::Outcome;

pub fn render(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    for d in &outcome.diagnostics {
        let command = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut message = d.message.clone();
        if !d.hint.is_empty() {
            message.push_str("\nhelp: ");
            message.push_str(&d.hint);
        }
        writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&d.path),
            d.line,
            d.column,
            d.end_line,
            d.end_column,
            escape_property(&format!("snag ({})", d.rule)),
            escape_data(&message),
        )?;
    }
    for e in &outcome.errors {
        writeln!(
            out,
            "::warning file={},title={}::{}",
            escape_property(&e.path),
            escape_property("snag: file not analysed"),
            escape_data(&e.message)
        )?;
    }
    Ok(())
}

/// The message after `::`: `%`, CR and LF are encoded.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property value: as data, plus `:` and `,` which separate properties.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_percent_first() {
        assert_eq!(escape_data("100%\r\n::x"), "100%25%0D%0A::x");
        assert_eq!(escape_property("a,b:c%0A"), "a%2Cb%3Ac%250A");
    }
}
