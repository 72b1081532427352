//! Python trees can be as deep as any: nested calls, nested literals handed to calls, and
//! self-referential attribute types must neither overflow the stack nor take quadratic time.

use std::time::{Duration, Instant};

use assert_cmd::Command;

#[test]
fn deep_python_does_not_overflow_or_crawl() {
    let dir = tempfile::tempdir().expect("temp dir");
    let depth = 20_000;
    // One level per line: a long line would make the file count as minified.
    let calls = format!(
        "import asyncio\nx = {}1{}\n",
        "f(\n".repeat(depth),
        ")\n".repeat(depth)
    );
    let lists = format!("f({}{})\n", "[\n".repeat(depth), "]\n".repeat(depth));
    let tasks = format!(
        "import asyncio\nasync def g():\n    {}h(){}\n",
        "asyncio.create_task(\n".repeat(3_000),
        ")\n".repeat(3_000)
    );
    let cycle = "class A:\n    def f(self):\n        self.x = self.x.y()\n        self.x.z()\n";
    for (name, text) in [
        ("calls.py", calls.as_str()),
        ("lists.py", lists.as_str()),
        ("tasks.py", tasks.as_str()),
        ("cycle.py", cycle),
    ] {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let started = Instant::now();
    let output = Command::cargo_bin("snag")
        .expect("binary")
        .args(["check", "--format", "json", "--exit-zero"])
        .arg(dir.path())
        .output()
        .expect("snag runs");
    assert!(output.status.success(), "{output:?}");
    // Debug builds are slow, but a quadratic walk of these files takes minutes.
    assert!(started.elapsed() < Duration::from_secs(30));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json output");
    assert_eq!(doc["summary"]["files"], 4, "{doc}");
    assert_eq!(
        doc["diagnostics"][0]["rule"], "unhandled-rejection",
        "{doc}"
    );
}
