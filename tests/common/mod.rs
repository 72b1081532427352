//! Shared by the pull-request tests: a realistic Express route file with findings, and a
//! temporary git repository driven through the `git` command line.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command as Process;

use assert_cmd::Command;

/// An Express router whose handlers read files synchronously: `sync-io` on the lines marked
/// `// finding`.
pub const ROUTES: &str = "const fs = require('fs');
const express = require('express');
const router = express.Router();

router.get('/reports/:id', (req, res) => {
  const body = fs.readFileSync(`/var/reports/${req.params.id}.json`, 'utf8'); // finding
  res.type('json').send(body);
});

router.get('/exports', async (req, res) => {
  const a = fs.readFileSync('/var/exports/a.csv'); // finding
  const b = fs.readFileSync('/var/exports/a.csv'); // finding
  res.send(Buffer.concat([a, b]));
});

module.exports = router;
";

/// Lines of `text` marked `// finding`, 1-based.
pub fn marked_lines(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains("// finding"))
        .map(|(i, _)| i + 1)
        .collect()
}

pub fn snag(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("snag").expect("snag binary");
    cmd.current_dir(dir);
    cmd
}

pub fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(&path, text).expect("write");
    path
}

/// `(path, line, rule)` of each finding in `--format json` output.
pub fn findings(stdout: &[u8]) -> Vec<(String, usize, String)> {
    let doc: serde_json::Value = serde_json::from_slice(stdout).expect("json output");
    doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| {
            (
                d["path"].as_str().expect("path").to_string(),
                d["line"].as_u64().expect("line") as usize,
                d["rule"].as_str().expect("rule").to_string(),
            )
        })
        .collect()
}

/// A git repository in a temporary directory, isolated from the user's git configuration.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Process::new("git")
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Ada")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Ada")
            .env("GIT_COMMITTER_EMAIL", "ada@example.com")
            .args(args)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        write(self.path(), rel, text)
    }

    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }
}
