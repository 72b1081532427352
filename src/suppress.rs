//! `snag-ignore[rule-id]` comments: on the finding's line or the line above. Found by a text scan
//! so that every language shares one syntax (`// snag-ignore[sync-io]: reason`, `# snag-ignore`).

const MARK: &str = "snag-ignore";

/// The suppressions of one file: (1-based line of the comment, rules or `None` for all).
#[derive(Debug, Default, Clone)]
pub struct Suppressions(Vec<(usize, Option<Vec<String>>)>);

impl Suppressions {
    pub fn scan(source: &str) -> Suppressions {
        if !source.contains(MARK) {
            return Suppressions::default();
        }
        let mut found = Vec::new();
        for (i, line) in source.lines().enumerate() {
            let Some(at) = line.find(MARK) else { continue };
            let rest = &line[at + MARK.len()..];
            let rules = rest
                .strip_prefix('[')
                .and_then(|r| r.split_once(']'))
                .map(|(ids, _)| {
                    ids.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                });
            found.push((i + 1, rules));
        }
        Suppressions(found)
    }

    /// Whether a finding of `rule` at `line` is suppressed.
    pub fn covers(&self, rule: &str, line: usize) -> bool {
        self.0.iter().any(|(l, rules)| {
            (*l == line || *l + 1 == line)
                && rules.as_ref().is_none_or(|r| r.iter().any(|id| id == rule))
        })
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
}
