#!/usr/bin/env bash
# Runs action.yml's steps locally (tests/action/runner.py plays the Actions runner) against a
# temporary repository with a pull-request-like branch, with simulated GITHUB_* variables, and
# checks the annotations, the job summary, the SARIF file, the outputs and the exit status per
# `fail-on`.
#
#   bash tests/action/run.sh              # uses target/debug/snag (built if needed) as snag-binary
#   SNAG_ACTION_INSTALL=1 bash tests/action/run.sh   # also builds snag with the action's own
#                                                    # `cargo install` step (a release build)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/snag-action.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

python=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install --quiet pyyaml
  python="$work/venv/bin/python"
fi

(cd "$root" && cargo build --quiet --bin snag)
snag="${CARGO_TARGET_DIR:-$root/target}/debug/snag"
case "$snag" in /*) ;; *) snag="$root/$snag" ;; esac

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
ko() { failed=$((failed + 1)); echo "FAIL $1"; }
check() { # check NAME COMMAND...
  local name=$1; shift
  if "$@" >/dev/null 2>&1; then ok "$name"; else ko "$name"; fi
}

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.com
export GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.com

# The repository: main has a legacy finding; the branch `feature` adds a route file (with a
# space in its name) and a blocking call in an existing handler.
repo="$work/repo"
mkdir -p "$repo/src"
git -C "$repo" init -q -b main
cat > "$repo/src/legacy.js" <<'JS'
const fs = require('fs');
const express = require('express');
const app = express();

app.get('/legacy', (req, res) => {
  res.send(fs.readFileSync('/etc/legacy.txt', 'utf8'));
});

app.get('/health', (req, res) => {
  res.send('ok');
});

module.exports = app;
JS
git -C "$repo" add -A && git -C "$repo" commit -qm base
base_sha=$(git -C "$repo" rev-parse HEAD)
git -C "$repo" checkout -qb feature
cat > "$repo/src/new routes.js" <<'JS'
const fs = require('fs');
const express = require('express');
const router = express.Router();

router.get('/reports/:id', (req, res) => {
  const body = fs.readFileSync(`/var/reports/${req.params.id}.json`, 'utf8');
  res.type('json').send(body);
});

module.exports = router;
JS
sed -i "s|  res.send('ok');|  const v = fs.readFileSync('/etc/version');\n  res.send('ok ' + v);|" "$repo/src/legacy.js"
git -C "$repo" add -A && git -C "$repo" commit -qm "feature: reports"

cat > "$work/pull_request.json" <<JSON
{"pull_request": {"number": 7, "title": "\$(touch $work/pwned) \`touch $work/pwned\`",
  "base": {"ref": "main", "sha": "$base_sha"}, "head": {"ref": "feature"}}}
JSON
echo '{}' > "$work/push.json"

# run_action CASE EVENT WORKSPACE INPUTS_JSON: the action's exit status in $status, its log in
# $work/CASE/log, outputs in $work/CASE/outputs.json, the job summary in $work/CASE/summary.md.
run_action() {
  local case=$1 event=$2 workspace=$3 inputs=$4
  local dir="$work/$case"
  mkdir -p "$dir/tmp"
  : > "$dir/summary.md"
  set +e
  (
    cd "$workspace"
    export GITHUB_ACTIONS=true CI=true
    export GITHUB_WORKSPACE="$workspace" GITHUB_EVENT_NAME="$event"
    export GITHUB_EVENT_PATH="$work/$event.json" GITHUB_STEP_SUMMARY="$dir/summary.md"
    export GITHUB_SERVER_URL=https://github.com GITHUB_REPOSITORY=acme/shop
    [ "$event" = pull_request ] && export GITHUB_BASE_REF=main GITHUB_HEAD_REF=feature
    export RUNNER_TEMP="$dir/tmp" RUNNER_OS=Linux RUNNER_ARCH=X64
    export SIM_ACTION_REPOSITORY=acme/snag SIM_ACTION_REF=v1
    "$python" "$here/runner.py" "$root" "$inputs" "$dir/outputs.json"
  ) > "$dir/log" 2>&1
  status=$?
  set -e
}
output() { "$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$work/$1/outputs.json" "$2"; }
sarif_results() { "$python" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"][0]["results"]))' "$1"; }

# 1. A pull request with the defaults: annotations for the changed lines only, fail-on warning.
bin="\"snag-binary\": \"$snag\""
run_action pr pull_request "$repo" "{$bin}"
check "pr: fails on warnings (exit 1)" test "$status" -eq 1
check "pr: annotation on the new file" grep -qF '::warning file=src/new routes.js,line=6,col=16,endLine=6,endColumn=77,title=snag (sync-io)::' "$work/pr/log"
check "pr: annotation on the changed line of an old file" grep -qF '::warning file=src/legacy.js,line=10,' "$work/pr/log"
check "pr: no annotation outside the diff" test "$(grep -c 'file=src/legacy.js,line=6,' "$work/pr/log")" -eq 0
check "pr: output findings=2" test "$(output pr findings)" = 2
check "pr: output sarif-file" test "$(output pr sarif-file)" = snag.sarif
check "pr: SARIF file with the whole analysis (3 results)" test "$(sarif_results "$repo/snag.sarif")" = 3
check "pr: SARIF uri relative to the root" grep -qF '"uri": "src/new%20routes.js"' "$repo/snag.sarif"
check "pr: SARIF rule links to the action's docs" grep -qF '"helpUri": "https://github.com/acme/snag/blob/v1/rules/sync-io.toml"' "$repo/snag.sarif"
check "pr: summary title" grep -qF '## snag: 2 findings' "$work/pr/summary.md"
check "pr: summary per-rule row with doc link" grep -qF '| [`sync-io`](https://github.com/acme/snag/blob/v1/rules/sync-io.toml) | Blocking I/O' "$work/pr/summary.md"
check "pr: summary top files" grep -qF '| `src/new routes.js` | 1 |' "$work/pr/summary.md"
check "pr: summary names the diff base" grep -qF "Only lines changed since \`${base_sha:0:12}\` (merge base \`${base_sha:0:12}\`) are reported; 1 finding elsewhere is not shown." "$work/pr/summary.md"
check "pr: PR title not executed" test ! -e "$work/pwned"
rm -f "$repo/snag.sarif"

# 2. fail-on decides the exit status; the outputs do not change.
for pair in error:0 never:0 warning:1 info:1; do
  level=${pair%%:*} want=${pair##*:}
  run_action "fail-$level" pull_request "$repo" "{$bin, \"fail-on\": \"$level\"}"
  check "fail-on $level: exit $want" test "$status" -eq "$want"
  check "fail-on $level: findings=2" test "$(output "fail-$level" findings)" = 2
done
run_action fail-bad pull_request "$repo" "{$bin, \"fail-on\": \"sometimes\"}"
check "fail-on sometimes: usage error (exit 2)" test "$status" -eq 2

# 3. A push: no diff base, the whole repository; a custom SARIF path; no summary.
run_action push push "$repo" "{$bin, \"sarif-file\": \"out/snag results.sarif\", \"summary\": \"false\"}"
check "push: all 3 findings" test "$(output push findings)" = 3
check "push: annotation outside any diff" grep -qF '::warning file=src/legacy.js,line=6,' "$work/push/log"
mkdir -p "$repo/out"
run_action push2 push "$repo" "{$bin, \"sarif-file\": \"out/snag results.sarif\", \"summary\": \"false\"}"
check "push: SARIF at the custom path" test "$(sarif_results "$repo/out/snag results.sarif")" = 3
check "push: no job summary when summary=false" test ! -s "$work/push2/summary.md"
rm -rf "$repo/out"

# 4. A baseline for legacy code: its findings are hidden, new ones are not.
(cd "$repo" && git stash -q -u 2>/dev/null || true)
(cd "$repo" && "$snag" check --write-baseline .snag-baseline.json . >/dev/null 2>&1)
run_action baseline push "$repo" "{$bin, \"baseline\": \".snag-baseline.json\"}"
check "baseline: nothing new, exit 0" test "$status" -eq 0
check "baseline: findings=0" test "$(output baseline findings)" = 0
check "baseline: summary says what was hidden" grep -qF "3 findings hidden by the baseline \`.snag-baseline.json\`." "$work/baseline/summary.md"
rm -f "$repo/.snag-baseline.json" "$repo/snag.sarif"

# 5. Hostile inputs stay data: a diff-base and args with shell syntax are not executed.
run_action hostile pull_request "$repo" "{$bin, \"diff-base\": \"main\$(touch $work/pwned)\", \"args\": \"--select sync-io \$(touch $work/pwned) ;touch $work/pwned\"}"
check "hostile: snag refuses the revision (exit 2)" test "$status" -eq 2
check "hostile: nothing executed" test ! -e "$work/pwned"
run_action option pull_request "$repo" "{$bin, \"diff-base\": \"--output=$work/pwned\"}"
check "hostile: an option as diff-base is refused" test "$status" -eq 2
check "hostile: no file written by git" test ! -e "$work/pwned"

# 6. Another log format: findings print, and the runner is told not to read them as commands.
run_action human pull_request "$repo" "{$bin, \"format\": \"concise\"}"
check "concise: findings in the log" grep -qF 'src/new routes.js:6:16: sync-io' "$work/human/log"
check "concise: workflow commands stopped around the output" grep -q '^::stop-commands::snag-' "$work/human/log"
check "concise: SARIF still written" test "$(sarif_results "$repo/snag.sarif")" = 3
rm -f "$repo/snag.sarif"

# 7. A shallow checkout, as actions/checkout makes by default: the action fetches the history.
git clone -q --depth 1 --branch feature "file://$repo" "$work/shallow"
run_action shallow pull_request "$work/shallow" "{$bin}"
check "shallow: history fetched, diff found (findings=2)" test "$(output shallow findings)" = 2

# 8. Optionally, the action's own install step: cargo install from the action's checkout.
if [ "${SNAG_ACTION_INSTALL:-0}" = 1 ]; then
  run_action install pull_request "$repo" '{}'
  check "install: cargo install --locked --path builds snag" grep -q '^snag ' "$work/install/log"
  check "install: then it runs (findings=2)" test "$(output install findings)" = 2
fi

if [ "$failed" -ne 0 ]; then
  for f in "$work"/*/log; do echo "--- $f"; tail -20 "$f"; done
fi
echo "action: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
