//! Output formats. Every format prints the same diagnostics, errors and summary.

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;
pub mod summary;

use std::io::{self, Write};

use crate::engine::Outcome;

/// `path:line:col: rule message`, one line per finding.
pub fn concise(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    for d in &outcome.diagnostics {
        writeln!(
            out,
            "{}:{}:{}: {} {}",
            d.path, d.line, d.column, d.rule, d.message
        )?;
    }
    Ok(())
}
