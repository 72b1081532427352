//! `compilerOptions.paths` of `tsconfig.json`/`jsconfig.json`: `@server/*` -> `./server/*`, so
//! that imports through path aliases reach the files of the scanned tree.

use std::path::{Path, PathBuf};

/// The path aliases of one tsconfig: (pattern prefix, pattern has `*`, target prefixes).
#[derive(Debug, Default)]
struct Config {
    dir: PathBuf,
    paths: Vec<(String, bool, Vec<PathBuf>)>,
}

/// Every tsconfig's aliases, read before the files are lowered.
#[derive(Debug, Default)]
pub struct ImportAliases {
    configs: Vec<Config>,
}

impl ImportAliases {
    /// Reads the given tsconfig/jsconfig files; unreadable or malformed ones are ignored
    /// (they only add reach, never findings).
    pub fn load(files: &[PathBuf]) -> ImportAliases {
        let configs = files
            .iter()
            .filter_map(|f| {
                let text = std::fs::read_to_string(f).ok()?;
                parse(f.parent().unwrap_or(Path::new("")), &text)
            })
            .collect();
        ImportAliases { configs }
    }

    /// The file path (as walked, without extension) an aliased import names, if any.
    pub fn resolve(&self, file: &Path, spec: &str) -> Option<String> {
        let config = self
            .configs
            .iter()
            .filter(|c| file.starts_with(&c.dir))
            .max_by_key(|c| c.dir.components().count())?;
        for (prefix, wildcard, targets) in &config.paths {
            let rest = if *wildcard {
                spec.strip_prefix(prefix.as_str())
            } else if spec == prefix {
                Some("")
            } else {
                None
            };
            if let (Some(rest), Some(target)) = (rest, targets.first()) {
                let path = if rest.is_empty() {
                    target.clone()
                } else {
                    target.join(rest)
                };
                return Some(path.to_string_lossy().into_owned());
            }
        }
        None
    }
}

fn parse(dir: &Path, text: &str) -> Option<Config> {
    let value: serde_json::Value = serde_json::from_str(&strip_jsonc(text)).ok()?;
    let options = value.get("compilerOptions")?;
    let base = dir.join(
        options
            .get("baseUrl")
            .and_then(|b| b.as_str())
            .unwrap_or("."),
    );
    let mut paths = Vec::new();
    for (pattern, targets) in options.get("paths")?.as_object()? {
        let wildcard = pattern.ends_with('*');
        let prefix = pattern.trim_end_matches('*').to_string();
        let targets = targets
            .as_array()?
            .iter()
            .filter_map(|t| t.as_str())
            .map(|t| base.join(t.trim_end_matches('*')))
            .collect();
        paths.push((prefix, wildcard, targets));
    }
    // Longer patterns first: `@app/core/*` before `@app/*`.
    paths.sort_by_key(|(p, _, _)| std::cmp::Reverse(p.len()));
    Some(Config {
        dir: dir.to_path_buf(),
        paths,
    })
}

/// tsconfig is JSON with comments and trailing commas.
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\\' {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match (c, chars.peek()) {
            ('"', _) => {
                in_string = true;
                out.push(c);
            }
            ('/', Some('/')) => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            ('/', Some('*')) => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            (',', _) => {
                // A trailing comma: the next significant character closes the container.
                let rest: String = chars.clone().take_while(|c| c.is_whitespace()).collect();
                let after = chars.clone().nth(rest.chars().count());
                if !matches!(after, Some('}' | ']')) {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_with_comments_and_trailing_commas() {
        let text = r#"{
          // paths for the server
          "compilerOptions": {
            "baseUrl": ".", /* root */
            "paths": { "@server/*": ["./server/*"], "@shared": ["shared/index.ts"], },
          },
        }"#;
        let config = parse(Path::new("app"), text).expect("parses");
        let aliases = ImportAliases {
            configs: vec![config],
        };
        let file = Path::new("app/server/routes/x.ts");
        assert_eq!(
            aliases.resolve(file, "@server/utils/fs").as_deref(),
            Some("app/././server/utils/fs")
        );
        assert_eq!(
            aliases.resolve(file, "@shared").as_deref(),
            Some("app/./shared/index.ts")
        );
        assert_eq!(aliases.resolve(file, "express"), None);
        assert_eq!(aliases.resolve(Path::new("other/x.ts"), "@server/a"), None);
    }
}
