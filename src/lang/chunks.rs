//! Huge files are parsed in pieces: a tree-sitter tree takes some 40 bytes per source byte, so
//! one 50 MB file would need gigabytes. A file over [`CHUNK_BYTES`] is cut at top-level
//! definitions that start a line after a blank line, and each piece is parsed with the file's
//! import lines in front of it so that names still resolve.

use std::ops::Range;

use crate::model::Language;

/// Files larger than this are parsed in pieces of about this size.
pub const CHUNK_BYTES: usize = 4 << 20;

/// The import lines to put in front of every piece after the first, and the pieces.
pub struct Chunks {
    pub header: String,
    pub pieces: Vec<Range<usize>>,
}

/// Lines that begin a top-level definition, after which a cut is safe.
fn starts_definition(language: Language, line: &str) -> bool {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| line.starts_with(p));
    match language {
        Language::Python => starts(&["def ", "async def ", "class ", "@"]),
        Language::JavaScript | Language::TypeScript => starts(&[
            "function ",
            "async function ",
            "export ",
            "class ",
            "const ",
            "let ",
            "var ",
            "module.exports",
        ]),
        // C# definitions sit inside namespaces and classes: no safe top-level cut.
        Language::CSharp => false,
    }
}

fn is_import(language: Language, line: &str) -> bool {
    match language {
        Language::Python => line.starts_with("import ") || line.starts_with("from "),
        Language::JavaScript | Language::TypeScript => {
            (line.starts_with("import ") && !line.trim_end().ends_with('{'))
                || ((line.starts_with("const ")
                    || line.starts_with("var ")
                    || line.starts_with("let "))
                    && line.contains("require(")
                    && line.trim_end().ends_with(';'))
        }
        Language::CSharp => false,
    }
}

/// `None` when the file is small enough, or has no safe place to cut.
pub fn split(language: Language, text: &str) -> Option<Chunks> {
    if text.len() <= CHUNK_BYTES {
        return None;
    }
    let mut pieces = Vec::new();
    let mut header = String::new();
    let mut start = 0;
    let mut offset = 0;
    let mut previous_blank = false;
    for line in text.split_inclusive('\n') {
        if is_import(language, line) && header.len() < 64 << 10 {
            header.push_str(line.trim_end());
            header.push('\n');
        }
        if offset - start >= CHUNK_BYTES && previous_blank && starts_definition(language, line) {
            pieces.push(start..offset);
            start = offset;
        }
        previous_blank = line.trim().is_empty();
        offset += line.len();
    }
    if pieces.is_empty() {
        return None;
    }
    pieces.push(start..text.len());
    Some(Chunks { header, pieces })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_definitions_after_blank_lines() {
        let mut text = String::from("import time\n\n");
        let body = "def f():\n    return 1\n\n\n";
        while text.len() < 2 * CHUNK_BYTES + 100 {
            text.push_str(body);
        }
        let chunks = split(Language::Python, &text).expect("split");
        assert_eq!(chunks.header, "import time\n");
        assert!(chunks.pieces.len() >= 2);
        for p in &chunks.pieces[1..] {
            assert!(text[p.clone()].starts_with("def f():"));
        }
        assert_eq!(chunks.pieces.last().map(|p| p.end), Some(text.len()));
        assert!(split(Language::Python, "def f(): pass\n").is_none());
    }
}
