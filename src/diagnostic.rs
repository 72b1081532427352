//! A finding: what the rules produce and every output format prints.

use serde::{Deserialize, Serialize};

use crate::model::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A finding as a rule reports it, with byte spans into the file.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static str,
    pub check: String,
    pub span: Span,
    pub message: String,
    pub hint: String,
    pub function: Option<String>,
    /// The handler the finding runs in: its route (or name) and where it is defined.
    pub handler: Option<(String, Span)>,
}

/// A finding placed in its file: what every format prints (SPEC §2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: String,
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub check: String,
    pub severity: Severity,
    pub language: String,
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
    pub hint: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub context: Option<Context>,
    /// Byte offsets of the primary span, for the code frame.
    #[serde(skip)]
    pub span: (usize, usize),
    /// Byte offsets and label of the handler, for a secondary label in the code frame.
    #[serde(skip)]
    pub handler_span: Option<(usize, usize)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Context {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub function: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub handler: Option<String>,
}

/// Byte offset to 1-based line and column (columns count Unicode characters).
pub struct LineIndex<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(source: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { source, starts }
    }

    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let column = self
            .source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters() {
        let index = LineIndex::new("ab\n\u{e9}t\u{e9} x\n");
        assert_eq!(index.position(0), (1, 1));
        assert_eq!(index.position(3), (2, 1));
        // "été x": the x is the 5th character but the 7th byte of the line.
        assert_eq!(index.position(3 + 6), (2, 5));
    }
}
