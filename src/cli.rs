//! The command line (SPEC §1): `snag check`, `snag rules`, `snag explain`.

use std::collections::HashMap;
use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{bail, Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream};

use crate::catalog::{Catalogs, RULE_IDS};
use crate::config::{unknown_rule, Config};
use crate::engine::{self, Input, Options, Outcome};
use crate::report;
use crate::review::{Review, ReviewArgs};

#[derive(Parser)]
#[command(
    name = "snag",
    version,
    about = "Finds the backend anti-patterns that make web services stall, leak connections or fail silently (JS/TS, Python, C#)."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse files and directories (default: the current directory).
    Check(Box<CheckArgs>),
    /// List the rules: id, languages, summary.
    Rules,
    /// Print a rule's documentation: what it flags, why, how to fix, examples.
    Explain {
        /// A rule id, e.g. `sync-io`.
        rule: String,
    },
    /// Print the tree-sitter syntax tree of a file (for front-end work).
    #[command(hide = true)]
    Ast { path: PathBuf },
    /// Print the model a front-end lowers a file into (for front-end work).
    #[command(hide = true)]
    Model { path: PathBuf },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Human,
    Concise,
    Json,
    JsonLines,
    /// SARIF 2.1.0, for GitHub code scanning.
    Sarif,
    /// GitHub Actions workflow commands: annotations on the pull request.
    Github,
    /// A Markdown report, for a job summary.
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Files or directories to analyse.
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    /// Only these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    select: Vec<String>,
    /// Not these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    ignore: Vec<String>,
    /// Configuration file (default: the nearest snag.toml, or pyproject.toml with [tool.snag]).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Read the source from stdin and analyse it as this path.
    #[arg(long)]
    stdin_filename: Option<PathBuf>,
    /// Exit 0 even when there are findings.
    #[arg(long)]
    exit_zero: bool,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Do not honour .gitignore and .ignore files.
    #[arg(long)]
    no_ignore: bool,
    /// When to colour human output.
    #[arg(long, value_enum, default_value = "auto")]
    color: Color,
    /// Also write the findings in FORMAT to FILE (repeatable), e.g. `--report sarif=snag.sarif`.
    #[arg(long = "report", value_name = "FORMAT=FILE", value_parser = parse_report)]
    reports: Vec<(Format, PathBuf)>,
    #[command(flatten)]
    review: ReviewArgs,
}

fn parse_report(s: &str) -> Result<(Format, PathBuf), String> {
    let (format, file) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=FILE, got `{s}`"))?;
    let format = Format::from_str(format, true)?;
    if file.is_empty() {
        return Err(format!("no file in `{s}`"));
    }
    Ok((format, PathBuf::from(file)))
}

/// Runs the command; the returned code is the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Check(args) => check(*args),
        Command::Rules => {
            let catalogs = Catalogs::load(&Default::default())?;
            let mut out = io::stdout().lock();
            for rule in &catalogs.rules {
                let langs: Vec<&str> = [
                    ("javascript/typescript", &rule.doc.javascript),
                    ("python", &rule.doc.python),
                    ("csharp", &rule.doc.csharp),
                ]
                .iter()
                .filter(|(_, s)| {
                    !s.apis.is_empty()
                        || !s.statuses.is_empty()
                        || !s.callback_sinks.is_empty()
                        || !s.promise_sources.is_empty()
                        || !s.contexts.is_empty()
                })
                .map(|(l, _)| *l)
                .collect();
                writeln!(
                    out,
                    "{:<20} {:<8} [{}]  {}",
                    rule.doc.id,
                    rule.doc.severity.as_str(),
                    langs.join(", "),
                    rule.doc.summary
                )?;
            }
            Ok(0)
        }
        Command::Explain { rule } => {
            let catalogs = Catalogs::load(&Default::default())?;
            let Some(rule) = catalogs.rule(&rule) else {
                bail!(unknown_rule(&rule));
            };
            print!("{}", explain(&rule.doc));
            Ok(0)
        }
        Command::Model { path } => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let Some((language, grammar)) = crate::lang::detect(&path) else {
                bail!("not a JS/TS, Python or C# file: {}", path.display());
            };
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&grammar)?;
            let tree = parser.parse(&text, None).context("parse failed")?;
            let model = crate::lang::lower(
                language,
                tree.root_node(),
                &text,
                &path,
                &Default::default(),
            );
            println!("{model:#?}");
            Ok(0)
        }
        Command::Ast { path } => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let Some((_, grammar)) = crate::lang::detect(&path) else {
                bail!("not a JS/TS, Python or C# file: {}", path.display());
            };
            let mut parser = tree_sitter::Parser::new();
            parser.set_language(&grammar)?;
            let tree = parser.parse(&text, None).context("parse failed")?;
            println!("{}", tree.root_node().to_sexp());
            Ok(0)
        }
    }
}

/// A rule's documentation as Markdown: `snag explain`, and the help of SARIF rules.
pub fn explain(doc: &crate::catalog::RuleFile) -> String {
    let mut s = format!("# {} — {}\n\n{}\n", doc.id, doc.title, doc.summary);
    // What it flags: the catalogue, grouped by check id, per language family.
    let mut flags = String::new();
    for (family, section) in [
        ("JavaScript/TypeScript", &doc.javascript),
        ("Python", &doc.python),
        ("C#", &doc.csharp),
    ] {
        let mut by_check: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (pattern, entry) in &section.apis {
            by_check.entry(&entry.check).or_default().push(pattern);
        }
        for (check, patterns) in by_check {
            flags.push_str(&format!("- {family} `{check}`: {}\n", patterns.join(", ")));
        }
    }
    if !flags.is_empty() {
        s.push_str(&format!("\n## What it flags\n{flags}"));
    }
    let sections = [
        ("Why it matters", doc.why.as_str()),
        ("How to fix", doc.fix.as_str()),
        ("What it does not flag", doc.not_flagged.as_str()),
        ("Configuration", doc.configuration.as_str()),
    ];
    for (title, body) in sections {
        if !body.trim().is_empty() {
            s.push_str(&format!("\n## {title}\n{}\n", body.trim()));
        }
    }
    if !doc.peers.is_empty() {
        s.push_str(&format!("\n## Peer rules\n{}\n", doc.peers.join(", ")));
    }
    for ex in &doc.examples {
        s.push_str(&format!("\n## Example ({}, {})\n", ex.language, ex.path));
        if !ex.bad.is_empty() {
            s.push_str(&format!("Flagged:\n```\n{}\n```\n", ex.bad.trim()));
        }
        if !ex.good.is_empty() {
            s.push_str(&format!("Instead:\n```\n{}\n```\n", ex.good.trim()));
        }
    }
    s
}

fn check(args: CheckArgs) -> Result<i32> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let start = args
        .stdin_filename
        .clone()
        .unwrap_or_else(|| paths[0].clone());
    let config = Config::discover(args.config.as_deref(), &start)?;
    for id in args.select.iter().chain(&args.ignore) {
        if !RULE_IDS.contains(&id.as_str()) {
            bail!(unknown_rule(id));
        }
    }
    let select: Vec<&String> = if args.select.is_empty() {
        config.select.iter().collect()
    } else {
        args.select.iter().collect()
    };
    let enabled: Vec<&'static str> = RULE_IDS
        .iter()
        .copied()
        .filter(|id| select.is_empty() || select.iter().any(|s| s == id))
        .filter(|id| !args.ignore.iter().chain(&config.ignore).any(|s| s == id))
        .collect();
    let catalogs = Catalogs::load(&config.extensions())?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let opts = Options {
        threads,
        no_ignore: args.no_ignore,
        exclude: config.exclude_set(),
        enabled,
        severity: config
            .severity
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect::<HashMap<_, _>>(),
        per_file_ignores: config.per_file_ignore_sets(),
        handlers: config.extend.handlers.clone(),
    };
    let input = match &args.stdin_filename {
        Some(path) => {
            let mut bytes = Vec::new();
            io::stdin()
                .read_to_end(&mut bytes)
                .context("cannot read stdin")?;
            let text = engine::decode(bytes).map_err(|e| anyhow::anyhow!("stdin: {e}"))?;
            Input::Stdin {
                path: path.clone(),
                text,
            }
        }
        None => {
            // A broken or looping symlink exists as a link: the walk reports it as a file error.
            for p in &paths {
                if !p.exists() && std::fs::symlink_metadata(p).is_err() {
                    bail!("{}: no such file or directory", p.display());
                }
            }
            Input::Paths(paths)
        }
    };
    let mut outcome = engine::run(input, &catalogs, &opts);
    let review = Review::apply(&args.review, &mut outcome, &start)?;
    match args.format {
        Format::Human => {
            let choice = match args.color {
                Color::Always => ColorChoice::Always,
                Color::Never => ColorChoice::Never,
                Color::Auto => {
                    if io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
                        ColorChoice::Auto
                    } else {
                        ColorChoice::Never
                    }
                }
            };
            let mut out = StandardStream::stdout(choice);
            report::human::render(&mut out, &outcome, &catalogs)?;
        }
        Format::Concise => {
            let mut out = io::stdout().lock();
            report::concise(&mut out, &outcome)?;
            for e in &outcome.errors {
                eprintln!("error: {}: {}", e.path, e.message);
            }
            report::human::summary(&mut io::stderr(), &outcome)?;
        }
        Format::Json => report::json::document(&mut io::stdout().lock(), &outcome)?,
        Format::JsonLines => report::json::lines(&mut io::stdout().lock(), &outcome)?,
        Format::Sarif => {
            report::sarif::render(&mut io::stdout().lock(), &outcome, &review, &catalogs)?
        }
        Format::Github => report::github::render(&mut io::stdout().lock(), &outcome)?,
        Format::Markdown => {
            report::summary::render(&mut io::stdout().lock(), &outcome, &review, &catalogs)?
        }
    }
    if let Some(note) = review.note() {
        if matches!(
            args.format,
            Format::Human | Format::Concise | Format::Github
        ) {
            eprintln!("snag: {note}");
        }
    }
    for (format, path) in &args.reports {
        write_report(*format, path, &outcome, &review, &catalogs)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let fails = Review::fails(&outcome.diagnostics, args.review.fail_on);
    Ok(if fails && !args.exit_zero { 1 } else { 0 })
}

/// `--report FORMAT=FILE`: the same findings in another format, to a file (human without colour).
fn write_report(
    format: Format,
    path: &std::path::Path,
    outcome: &Outcome,
    review: &Review,
    catalogs: &Catalogs,
) -> Result<()> {
    let file = std::fs::File::create(path)?;
    let mut out = codespan_reporting::term::termcolor::NoColor::new(io::BufWriter::new(file));
    match format {
        Format::Human => report::human::render(&mut out, outcome, catalogs)?,
        Format::Concise => report::concise(&mut out, outcome)?,
        Format::Json => report::json::document(&mut out, outcome)?,
        Format::JsonLines => report::json::lines(&mut out, outcome)?,
        Format::Sarif => report::sarif::render(&mut out, outcome, review, catalogs)?,
        Format::Github => report::github::render(&mut out, outcome)?,
        Format::Markdown => report::summary::render(&mut out, outcome, review, catalogs)?,
    }
    out.into_inner().flush()?;
    Ok(())
}
