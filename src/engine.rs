//! The driver: walk, then parse and lower every file in parallel (pass 1), link the models once
//! (pass 2), run the rules per file in parallel (pass 3), then suppress, select and sort.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use globset::GlobSet;
use rayon::prelude::*;
use serde::Serialize;
use tree_sitter::Parser;

use crate::catalog::Catalogs;
use crate::diagnostic::{Context, Diagnostic, Finding, LineIndex, Severity};
use crate::lang::javascript::aliases::ImportAliases;
use crate::lang::{self, chunks, LowerContext};
use crate::model::{FileModel, Language};
use crate::project::{KnownModules, Package, Project};
use crate::rules;
use crate::suppress::Suppressions;
use crate::walk::{self, Walked};

/// A file with a line longer than this is minified or generated: skipped and counted.
pub const MAX_LINE_CHARS: usize = 2000;

/// What decides which findings are reported.
pub struct Options {
    pub threads: usize,
    pub no_ignore: bool,
    pub exclude: GlobSet,
    pub enabled: Vec<&'static str>,
    pub severity: HashMap<String, Severity>,
    pub per_file_ignores: Vec<(GlobSet, Vec<String>)>,
    /// `[extend] handlers` of the configuration.
    pub handlers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileError {
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub files: usize,
    pub skipped: usize,
    pub diagnostics: usize,
    pub elapsed_ms: u128,
    /// Files whose tree has syntax errors tree-sitter recovered from (analysed anyway).
    #[serde(skip)]
    pub files_with_syntax_errors: usize,
}

pub struct Outcome {
    pub diagnostics: Vec<Diagnostic>,
    pub errors: Vec<FileError>,
    pub summary: Summary,
    /// Sources of the files with findings, for code frames.
    pub sources: HashMap<String, String>,
}

/// One file after pass 1.
enum Loaded {
    Model(Box<FileModel>, Suppressions),
    Skipped,
    Error(String),
}

/// The text of a file as snag reads it: not binary, UTF-8, BOM stripped.
pub fn decode(bytes: Vec<u8>) -> Result<String, String> {
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Err("binary file (contains NUL bytes), skipped".into());
    }
    let mut text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "not valid UTF-8 (invalid byte at offset {}), skipped",
            e.utf8_error().valid_up_to()
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

fn minified(text: &str) -> bool {
    text.len() > MAX_LINE_CHARS
        && text
            .split('\n')
            .any(|l| l.len() > MAX_LINE_CHARS && l.chars().count() > MAX_LINE_CHARS)
}

thread_local! {
    static PARSERS: RefCell<HashMap<usize, Parser>> = RefCell::new(HashMap::new());
}

/// Parse and lower one file's text.
fn load_text(path: &Path, text: &str, cx: &LowerContext) -> Loaded {
    let Some((language, mut grammar)) = lang::detect(path) else {
        return Loaded::Skipped;
    };
    if minified(text) {
        return Loaded::Skipped;
    }
    let mut key = grammar_key(path, language);
    // Flow-typed JavaScript: the TypeScript grammar reads its annotations, the JS one does not.
    let head = &text.as_bytes()[..text.len().min(2048)];
    if language == Language::JavaScript && head.windows(5).any(|w| w == b"@flow") {
        // TSX rather than TS: Flow files are often React components with JSX.
        grammar = tree_sitter_typescript::LANGUAGE_TSX.into();
        key = grammar_key(Path::new("x.tsx"), Language::TypeScript);
    }
    let parse_and_lower = |source: &str| {
        let tree = PARSERS.with(|parsers| {
            let mut parsers = parsers.borrow_mut();
            let parser = parsers.entry(key).or_insert_with(|| {
                let mut p = Parser::new();
                // Grammars are compiled in with a matching ABI: a failure here is a build defect.
                let _ = p.set_language(&grammar);
                p
            });
            parser.parse(source, None)
        })?;
        Some(lang::lower(language, tree.root_node(), source, path, cx))
    };
    let model = match chunks::split(language, text) {
        None => parse_and_lower(text),
        Some(chunks) => {
            let mut model: Option<FileModel> = None;
            for (i, piece) in chunks.pieces.iter().enumerate() {
                let (source, header) = if i == 0 {
                    (text[piece.clone()].to_string(), 0)
                } else {
                    (
                        format!("{}{}", chunks.header, &text[piece.clone()]),
                        chunks.header.len(),
                    )
                };
                let Some(part) = parse_and_lower(&source) else {
                    return Loaded::Error("the parser gave up on this file".into());
                };
                match &mut model {
                    None => model = Some(part),
                    Some(m) => m.append(part, header as u32, piece.start as u32),
                }
            }
            model
        }
    };
    let Some(model) = model else {
        return Loaded::Error("the parser gave up on this file".into());
    };
    Loaded::Model(Box::new(model), Suppressions::scan(text))
}

fn grammar_key(path: &Path, language: Language) -> usize {
    let tsx = path.extension().is_some_and(|e| e == "tsx");
    language as usize * 2 + usize::from(tsx)
}

fn load(path: &Path, cx: &LowerContext) -> Loaded {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Loaded::Error(format!("cannot read: {e}")),
    };
    match decode(bytes) {
        Ok(text) => load_text(path, &text, cx),
        Err(e) => Loaded::Error(e),
    }
}

/// `path` as printed: relative to the working directory when under it, with `/` separators.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().ok();
    let rel = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .unwrap_or(path);
    let rel = rel.strip_prefix("./").unwrap_or(rel);
    let shown = rel.to_string_lossy();
    // Windows separators become `/`; on Unix a backslash is part of a file name.
    if cfg!(windows) {
        shown.replace('\\', "/")
    } else {
        shown.into_owned()
    }
}

/// The input of a check: paths to walk, or one source read from stdin.
pub enum Input {
    Paths(Vec<PathBuf>),
    Stdin { path: PathBuf, text: String },
}

pub fn run(input: Input, catalogs: &Catalogs, opts: &Options) -> Outcome {
    let started = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build();
    let work = || run_in_pool(input, catalogs, opts, started);
    match pool {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

fn run_in_pool(input: Input, catalogs: &Catalogs, opts: &Options, started: Instant) -> Outcome {
    let mut errors = Vec::new();
    let enabled = |id: &str| opts.enabled.contains(&id);
    // Drop what no rule reads as soon as a file is lowered: memory stays flat.
    let pruned = |mut loaded: Loaded, known: &KnownModules| {
        if let Loaded::Model(m, _) = &mut loaded {
            rules::prune(m, catalogs, &enabled, known);
        }
        loaded
    };
    let (loaded, walked, stdin_text) = match input {
        Input::Paths(paths) => {
            let walked = walk::walk(&paths, opts.no_ignore, &opts.exclude, opts.threads);
            let cx = LowerContext {
                aliases: ImportAliases::load(&walked.tsconfigs),
                handlers: opts.handlers.clone(),
            };
            let known = KnownModules::from_paths(&walked.sources);
            let loaded: Vec<(PathBuf, Loaded)> = walked
                .sources
                .par_iter()
                .map(|p| (p.clone(), pruned(load(p, &cx), &known)))
                .collect();
            (loaded, walked, None)
        }
        Input::Stdin { path, text } => {
            let loaded = vec![(
                path.clone(),
                pruned(
                    load_text(
                        &path,
                        &text,
                        &LowerContext {
                            handlers: opts.handlers.clone(),
                            ..LowerContext::default()
                        },
                    ),
                    &KnownModules::default(),
                ),
            )];
            let manifests = path
                .ancestors()
                .skip(1)
                .map(|d| d.join("package.json"))
                .find(|p| p.is_file())
                .into_iter()
                .collect();
            let walked = Walked {
                manifests,
                ..Walked::default()
            };
            (loaded, walked, Some((path, text)))
        }
    };
    for (path, message) in &walked.errors {
        errors.push(FileError {
            path: display_path(path),
            message: message.clone(),
        });
    }
    let mut skipped = walked.skipped;
    let mut models = Vec::new();
    let mut suppressions = Vec::new();
    for (path, l) in loaded {
        match l {
            Loaded::Model(m, s) => {
                models.push(*m);
                suppressions.push(s);
            }
            Loaded::Skipped => skipped += 1,
            Loaded::Error(message) => errors.push(FileError {
                path: display_path(&path),
                message,
            }),
        }
    }
    let packages = walked
        .manifests
        .iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(p).ok()?;
            Package::parse(p, &text)
        })
        .collect();
    let files = models.len();
    let files_with_syntax_errors = models.iter().filter(|m| m.parse_errors > 0).count();
    let project = Project::link(models, packages);

    type Placed = (Vec<Diagnostic>, Option<(String, String)>);
    let per_file: Vec<Placed> = (0..project.files.len())
        .into_par_iter()
        .map(|i| {
            let findings = rules::check_file(&project, i, catalogs, &enabled);
            if findings.is_empty() {
                return (Vec::new(), None);
            }
            let file = &project.files[i];
            let text = match &stdin_text {
                Some((p, t)) if *p == file.path => Some(t.clone()),
                _ => std::fs::read(&file.path).ok().and_then(|b| decode(b).ok()),
            };
            let Some(text) = text else {
                return (Vec::new(), None);
            };
            let diags = place(file, &text, findings, &suppressions[i], catalogs, opts);
            let shown = display_path(&file.path);
            (diags, Some((shown, text)))
        })
        .collect();
    let mut diagnostics = Vec::new();
    let mut sources = HashMap::new();
    for (d, src) in per_file {
        if !d.is_empty() {
            if let Some((p, t)) = src {
                sources.insert(p, t);
            }
        }
        diagnostics.extend(d);
    }
    diagnostics.sort_by(|a, b| {
        (&a.path, a.line, a.column, &a.rule, &a.message)
            .cmp(&(&b.path, b.line, b.column, &b.rule, &b.message))
    });
    diagnostics.dedup_by(|a, b| {
        a.path == b.path && a.line == b.line && a.column == b.column && a.rule == b.rule
    });
    errors.sort_by(|a, b| a.path.cmp(&b.path));
    Outcome {
        summary: Summary {
            files,
            skipped,
            diagnostics: diagnostics.len(),
            elapsed_ms: started.elapsed().as_millis(),
            files_with_syntax_errors,
        },
        diagnostics,
        errors,
        sources,
    }
}

/// Findings of one file placed at lines and columns, minus suppressed and per-file-ignored ones.
fn place(
    file: &FileModel,
    text: &str,
    findings: Vec<Finding>,
    suppressions: &Suppressions,
    catalogs: &Catalogs,
    opts: &Options,
) -> Vec<Diagnostic> {
    let index = LineIndex::new(text);
    let shown = display_path(&file.path);
    let ignored: Vec<&String> = opts
        .per_file_ignores
        .iter()
        .filter(|(g, _)| g.is_match(&shown) || g.is_match(&file.path))
        .flat_map(|(_, rules)| rules)
        .collect();
    let language = file.language.map_or("", |l| l.name());
    findings
        .into_iter()
        .filter(|f| !ignored.iter().any(|r| *r == f.rule))
        .filter_map(|f| {
            let (line, column) = index.position(f.span.start as usize);
            let (end_line, end_column) = index.position(f.span.end as usize);
            if suppressions.covers(f.rule, line) {
                return None;
            }
            let severity = opts.severity.get(f.rule).copied().unwrap_or_else(|| {
                catalogs
                    .rule(f.rule)
                    .map_or(Severity::Warning, |r| r.doc.severity)
            });
            let context = (f.function.is_some() || f.handler.is_some()).then(|| Context {
                function: f.function.clone(),
                handler: f.handler.as_ref().map(|(label, _)| label.clone()),
            });
            Some(Diagnostic {
                rule: f.rule.to_string(),
                check: f.check,
                severity,
                language: language.to_string(),
                path: shown.clone(),
                line,
                column,
                end_line,
                end_column,
                message: f.message,
                hint: f.hint,
                context,
                span: (f.span.start as usize, f.span.end as usize),
                handler_span: f
                    .handler
                    .map(|(_, s)| (s.start as usize, s.end as usize))
                    .filter(|(s, e)| e > s),
            })
        })
        .collect()
}
