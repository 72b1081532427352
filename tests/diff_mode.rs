//! `--diff-base REV`: only findings on lines a change added or modified are reported, for
//! committed, uncommitted and untracked changes, through renames, deletions and odd file names.

mod common;

use common::{findings, marked_lines, snag, Repo, ROUTES};

/// A second route file whose finding stays untouched on the branch.
const LEGACY: &str = "const fs = require('fs');
const express = require('express');
const app = express();

app.get('/legacy', (req, res) => {
  res.send(fs.readFileSync('/etc/legacy.txt', 'utf8')); // finding
});
";

/// A file added on the branch, unlike the others so that git cannot take it for a rename.
const ADDED: &str = "import fs from 'node:fs';
import { Router } from 'express';

export const uploads = Router();

uploads.post('/uploads/:name', async (req, res) => {
  const meta = JSON.parse(fs.readFileSync('/srv/uploads/index.json', 'utf8')); // finding
  fs.writeFileSync(`/srv/uploads/${req.params.name}`, req.body); // finding
  res.status(201).json({ size: req.body.length, known: Object.keys(meta).length });
});
";

fn diff_findings(repo: &Repo, base: &str) -> Vec<(String, usize)> {
    let out = snag(repo.path())
        .args(["check", "--format", "json", "--diff-base", base, "."])
        .output()
        .expect("snag runs");
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    findings(&out.stdout)
        .into_iter()
        .map(|(p, l, _)| (p, l))
        .collect()
}

#[test]
fn reports_only_lines_the_branch_changed() {
    let repo = Repo::new();
    repo.write("src/legacy.js", LEGACY);
    repo.write("src/modified.js", ROUTES);
    repo.write("src/old name.js", ROUTES);
    repo.write("src/moved.js", ROUTES);
    // Unlike any other file, or git would see the added file below as a rename of it.
    repo.write("src/deleted.js", "module.exports = { retired: true };\n");
    repo.commit_all("base");
    repo.git(&["checkout", "-q", "-b", "feature"]);

    // Modified: a new blocking call inside a handler defined above the hunk. The handler is
    // outside the diff, and snag still knows the call runs on the request path.
    let modified = ROUTES.replace(
        "  res.send(Buffer.concat([a, b]));",
        "  const c = fs.readFileSync('/var/exports/c.csv'); // new\n  res.send(Buffer.concat([a, b, c]));",
    );
    repo.write("src/modified.js", &modified);
    // Renamed without changes: nothing new in it.
    repo.git(&["mv", "src/old name.js", "src/new name.js"]);
    // Renamed and edited: only the edited line is new.
    std::fs::create_dir_all(repo.path().join("src/routes")).expect("mkdir");
    repo.git(&["mv", "src/moved.js", "src/routes/moved here.js"]);
    let moved = ROUTES.replace(
        "fs.readFileSync(`/var/reports/${req.params.id}.json`, 'utf8'); // finding",
        "fs.readFileSync(`/srv/reports/${req.params.id}.json`, 'utf8'); // new",
    );
    repo.write("src/routes/moved here.js", &moved);
    repo.git(&["rm", "-q", "src/deleted.js"]);
    // Added, with spaces and a quote in its path.
    repo.write("src/with space/it's \"new\" ü.js", ADDED);
    repo.commit_all("feature work");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("src/legacy.js", &format!("{LEGACY}\n// main moved on\n"));
    repo.commit_all("main moves on");
    repo.git(&["checkout", "-q", "feature"]);
    // Uncommitted and untracked changes count too.
    repo.write("src/untracked.js", LEGACY);

    let line_of = |text: &str, needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .expect("needle")
            + 1
    };
    let mut expected = vec![
        ("src/modified.js".to_string(), line_of(&modified, "// new")),
        (
            "src/routes/moved here.js".to_string(),
            line_of(&moved, "// new"),
        ),
        ("src/untracked.js".to_string(), marked_lines(LEGACY)[0]),
    ];
    for l in marked_lines(ADDED) {
        expected.push(("src/with space/it's \"new\" ü.js".to_string(), l));
    }
    expected.sort();
    let mut actual = diff_findings(&repo, "main");
    actual.sort();
    assert_eq!(actual, expected);

    // Everything, without --diff-base: the legacy finding exists and was filtered above.
    let out = snag(repo.path())
        .args(["check", "--format", "json", "."])
        .output()
        .expect("snag runs");
    let all = findings(&out.stdout);
    assert!(all.iter().any(|(p, _, _)| p == "src/legacy.js"));
    assert!(all.iter().any(|(p, _, _)| p == "src/new name.js"));

    // From a subdirectory, paths are shown relative to it and still matched from the root.
    let out = snag(&repo.path().join("src"))
        .args(["check", "--format", "json", "--diff-base", "main", "."])
        .output()
        .expect("snag runs");
    let sub = findings(&out.stdout);
    assert_eq!(sub.len(), expected.len());
    assert!(sub.iter().any(|(p, _, _)| p == "routes/moved here.js"));

    // The exit status follows what is reported: nothing changed since HEAD in tracked files but
    // the untracked one.
    std::fs::remove_file(repo.path().join("src/untracked.js")).expect("rm");
    snag(repo.path())
        .args(["check", "--diff-base", "HEAD", "."])
        .assert()
        .code(0);
}

#[test]
fn clear_errors_outside_git_and_for_unknown_revisions() {
    let tmp = tempfile::tempdir().expect("tempdir");
    common::write(tmp.path(), "a.js", ROUTES);
    let out = snag(tmp.path())
        .args(["check", "--diff-base", "main", "."])
        .output()
        .expect("snag runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not inside a git repository"), "{err}");

    let repo = Repo::new();
    repo.write("a.js", ROUTES);
    repo.commit_all("base");
    for rev in ["no-such-branch", "--output=/tmp/pwned"] {
        let out = snag(repo.path())
            .args(["check", &format!("--diff-base={rev}"), "."])
            .output()
            .expect("snag runs");
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("unknown revision"), "{err}");
    }
}
