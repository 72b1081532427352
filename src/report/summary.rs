//! `--format markdown`: the job summary a GitHub Action writes to `$GITHUB_STEP_SUMMARY`: counts
//! per rule with links to the rules' documentation, the files with the most findings, and the
//! findings themselves (the first `MAX_LISTED`).
//!
//! Paths and messages come from the analysed code: they are escaped so that a file name cannot
//! break a table or inject HTML into the summary page.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::catalog::Catalogs;
use crate::engine::Outcome;
use crate::review::{plural, Review};

const MAX_FILES: usize = 10;
const MAX_LISTED: usize = 50;

pub fn render(
    out: &mut dyn Write,
    outcome: &Outcome,
    review: &Review,
    catalogs: &Catalogs,
) -> io::Result<()> {
    let diagnostics = &outcome.diagnostics;
    let s = &outcome.summary;
    let verdict = if diagnostics.is_empty() {
        "no findings".to_string()
    } else {
        plural(diagnostics.len(), "finding")
    };
    writeln!(out, "## snag: {verdict}\n")?;
    let mut scope = format!(
        "{} analysed ({} skipped, {} with errors) in {} ms.",
        plural(s.files, "file"),
        s.skipped,
        outcome.errors.len(),
        s.elapsed_ms
    );
    if let Some((rev, merge_base)) = &review.diff_base {
        let short = |r: &str| -> String {
            if r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit()) {
                r[..12].to_string()
            } else {
                r.to_string()
            }
        };
        scope.push_str(&format!(
            " Only lines changed since {} (merge base `{}`) are reported",
            code(&short(rev)),
            short(merge_base)
        ));
        if review.outside_diff > 0 {
            scope.push_str(&format!(
                "; {} elsewhere {} not shown",
                plural(review.outside_diff, "finding"),
                if review.outside_diff == 1 {
                    "is"
                } else {
                    "are"
                }
            ));
        }
        scope.push('.');
    }
    if let Some(path) = &review.baseline {
        let path = code(&path.to_string_lossy());
        match review.written {
            Some(n) => scope.push_str(&format!(
                " Recorded {} in the baseline {path}.",
                plural(n, "finding")
            )),
            None => scope.push_str(&format!(
                " {} hidden by the baseline {path}.",
                plural(review.hidden_by_baseline, "finding")
            )),
        }
    }
    writeln!(out, "{scope}\n")?;
    if diagnostics.is_empty() {
        return Ok(());
    }

    let mut per_rule: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut per_file: BTreeMap<&str, usize> = BTreeMap::new();
    for d in diagnostics {
        let e = per_rule.entry(d.rule.as_str()).or_default();
        match d.severity {
            crate::diagnostic::Severity::Error => e.0 += 1,
            crate::diagnostic::Severity::Warning => e.1 += 1,
            crate::diagnostic::Severity::Info => e.2 += 1,
        }
        *per_file.entry(d.path.as_str()).or_default() += 1;
    }
    writeln!(
        out,
        "| Rule | What it finds | Errors | Warnings | Notices |"
    )?;
    writeln!(out, "| --- | --- | ---: | ---: | ---: |")?;
    for (rule, (e, w, i)) in &per_rule {
        let title = catalogs
            .rule(rule)
            .map(|r| escape(&r.doc.title))
            .unwrap_or_default();
        let name = match review.rule_url(rule) {
            Some(url) => format!("[`{rule}`]({url})"),
            None => format!("`{rule}`"),
        };
        writeln!(out, "| {name} | {title} | {e} | {w} | {i} |")?;
    }
    if review.docs_url.is_none() {
        writeln!(
            out,
            "\n`snag explain <rule>` prints a rule's documentation: why it matters and how to fix it."
        )?;
    }

    let mut files: Vec<(&str, usize)> = per_file.into_iter().collect();
    files.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    writeln!(out, "\n### Top files\n")?;
    writeln!(out, "| File | Findings |")?;
    writeln!(out, "| --- | ---: |")?;
    for (path, n) in files.iter().take(MAX_FILES) {
        writeln!(out, "| {} | {n} |", code(path))?;
    }
    if files.len() > MAX_FILES {
        writeln!(
            out,
            "| and {} more | |",
            plural(files.len() - MAX_FILES, "file")
        )?;
    }

    writeln!(
        out,
        "\n<details><summary>Findings{}</summary>\n",
        if diagnostics.len() > MAX_LISTED {
            format!(" (first {MAX_LISTED} of {})", diagnostics.len())
        } else {
            String::new()
        }
    )?;
    for d in diagnostics.iter().take(MAX_LISTED) {
        let location = format!("{}:{}:{}", d.path, d.line, d.column);
        writeln!(
            out,
            "- {} **{}** {}: {}",
            code(&location),
            d.rule,
            d.severity.as_str(),
            escape(&d.message)
        )?;
        if !d.hint.is_empty() {
            writeln!(out, "  help: {}", escape(&d.hint))?;
        }
    }
    writeln!(out, "\n</details>")?;
    Ok(())
}

/// Text in a table cell or list item: one line, no table breaks, no HTML outside code spans.
/// Rule messages quote code in backticks (`fs.readFileSync`), which stays code.
fn escape(s: &str) -> String {
    let flat = s.replace(['\r', '\n'], " ").replace('|', "\\|");
    let balanced = flat.matches('`').count().is_multiple_of(2);
    let mut out = String::with_capacity(flat.len());
    for (i, part) in flat.split('`').enumerate() {
        if balanced && i % 2 == 1 {
            out.push('`');
            out.push_str(part);
            out.push('`');
        } else {
            if i > 0 && !balanced {
                out.push_str("\\`");
            }
            out.push_str(
                &part
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;"),
            );
        }
    }
    out
}

/// Inline code that holds any text (a path may contain backticks): a fence longer than any run of
/// backticks inside, and `|` escaped for tables.
fn code(s: &str) -> String {
    let flat = s.replace(['\r', '\n'], " ").replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_stays_in_its_cell() {
        assert_eq!(escape("<img src=x> | a\nb"), "&lt;img src=x&gt; \\| a b");
        assert_eq!(escape("use `a<b>` <i>"), "use `a<b>` &lt;i&gt;");
        assert_eq!(escape("odd ` <b>"), "odd \\` &lt;b&gt;");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
    }
}
