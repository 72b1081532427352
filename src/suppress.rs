//! `snag-ignore[rule-id]` comments: on the finding's line or the line above. Found by a text scan
//! so that every language shares one syntax (`// snag-ignore[sync-io]: reason`, `# snag-ignore`).
//! C#'s `#pragma warning disable snag-<rule>` ... `restore snag-<rule>` regions work too.

const MARK: &str = "snag-ignore";
const PRAGMA: &str = "#pragma warning";

/// The suppressions of one file.
#[derive(Debug, Default, Clone)]
pub struct Suppressions {
    /// (1-based line of the comment, rules or `None` for all).
    comments: Vec<(usize, Option<Vec<String>>)>,
    /// (rule, first line, last line) of `#pragma warning disable snag-<rule>` regions.
    regions: Vec<(String, usize, usize)>,
}

impl Suppressions {
    pub fn scan(source: &str) -> Suppressions {
        let mut s = Suppressions::default();
        // Both syntaxes name rules `snag-...`: most files have neither.
        if !source.contains("snag-") {
            return s;
        }
        // Open pragma regions: rule -> first line.
        let mut open: Vec<(String, usize)> = Vec::new();
        for (i, line) in source.lines().enumerate() {
            let n = i + 1;
            if let Some(at) = line.find(MARK) {
                let rest = &line[at + MARK.len()..];
                let rules =
                    rest.strip_prefix('[')
                        .and_then(|r| r.split_once(']'))
                        .map(|(ids, _)| {
                            ids.split(',')
                                .map(|s| s.trim().to_string())
                                .filter(|s| !s.is_empty())
                                .collect()
                        });
                s.comments.push((n, rules));
            } else if let Some(rest) = line.trim_start().strip_prefix(PRAGMA) {
                let rest = rest.trim();
                let (disable, ids) = if let Some(ids) = rest.strip_prefix("disable") {
                    (true, ids)
                } else if let Some(ids) = rest.strip_prefix("restore") {
                    (false, ids)
                } else {
                    continue;
                };
                let rules = ids
                    .split(',')
                    .filter_map(|id| id.split_whitespace().next())
                    .filter_map(|id| id.strip_prefix("snag-"));
                for rule in rules {
                    if disable {
                        open.push((rule.to_string(), n));
                    } else if let Some(p) = open.iter().position(|(r, _)| r == rule) {
                        let (rule, start) = open.remove(p);
                        s.regions.push((rule, start, n));
                    }
                }
            }
        }
        // A region never restored lasts to the end of the file.
        for (rule, start) in open {
            s.regions.push((rule, start, usize::MAX));
        }
        s
    }

    /// Whether a finding of `rule` at `line` is suppressed.
    pub fn covers(&self, rule: &str, line: usize) -> bool {
        self.comments.iter().any(|(l, rules)| {
            (*l == line || *l + 1 == line)
                && rules.as_ref().is_none_or(|r| r.iter().any(|id| id == rule))
        }) || self
            .regions
            .iter()
            .any(|(r, start, end)| r == rule && *start <= line && line <= *end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_line_and_line_above() {
        let s =
            Suppressions::scan("a\n// snag-ignore[sync-io]: startup only\nb\nc // snag-ignore\n");
        assert!(s.covers("sync-io", 2));
        assert!(s.covers("sync-io", 3));
        assert!(!s.covers("missing-pooling", 3));
        assert!(s.covers("missing-pooling", 4));
        assert!(!s.covers("sync-io", 1));
    }

    #[test]
    fn pragma_regions() {
        let s = Suppressions::scan(
            "a\n#pragma warning disable snag-sync-io, CS1998 // reason\nb\n    #pragma warning restore snag-sync-io\nc\n#pragma warning disable snag-sync-over-async\nd\n",
        );
        assert!(s.covers("sync-io", 3));
        assert!(!s.covers("sync-io", 5));
        assert!(!s.covers("sync-io", 1));
        assert!(!s.covers("missing-pooling", 3));
        assert!(s.covers("sync-over-async", 7));
        assert!(s.covers("sync-over-async", 1000));
    }
}
