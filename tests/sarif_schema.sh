#!/usr/bin/env bash
# Validates real `snag check --format sarif` runs against the official SARIF 2.1.0 JSON schema.
#
#   bash tests/sarif_schema.sh [SCHEMA]   (default: ../shared/schemas/sarif-schema-2.1.0.json)
#
# Runs: findings with a file name needing URI escaping and an unreadable file (a notification),
# the fixtures, a diff-aware run with a baseline, and a run with no findings. Uses python3's
# `jsonschema` (installed into a temporary virtualenv) with format checks.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
schema=${1:-$root/../shared/schemas/sarif-schema-2.1.0.json}
schema=$(cd "$(dirname "$schema")" && pwd)/$(basename "$schema")
work=$(mktemp -d "${TMPDIR:-/tmp}/snag-sarif.XXXXXX")
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet jsonschema rfc3987

(cd "$root" && cargo build --quiet --bin snag)
snag="${CARGO_TARGET_DIR:-$root/target}/debug/snag"
case "$snag" in /*) ;; *) snag="$root/$snag" ;; esac

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Ada GIT_AUTHOR_EMAIL=ada@example.com
export GIT_COMMITTER_NAME=Ada GIT_COMMITTER_EMAIL=ada@example.com

repo="$work/repo"
mkdir -p "$repo/src/with space"
git -C "$repo" init -q -b main
cat > "$repo/src/with space/routes #1.js" <<'JS'
const fs = require('fs');
const express = require('express');
const router = express.Router();

router.get('/reports/:id', (req, res) => {
  res.send(fs.readFileSync(`/var/reports/${req.params.id}.json`, 'utf8'));
});
module.exports = router;
JS
git -C "$repo" add -A && git -C "$repo" commit -qm base
printf 'const x = "\xff";\n' > "$repo/src/broken.js"
sed 's|/reports/|/exports/|' "$repo/src/with space/routes #1.js" > "$repo/src/caf"$'\xc3\xa9'".js"

(cd "$repo" && "$snag" check --format sarif . > "$work/findings.sarif" || true)
(cd "$root" && "$snag" check --format sarif fixtures > "$work/fixtures.sarif" || true)
(cd "$repo" && "$snag" check --write-baseline "$work/baseline.json" src/with\ space >/dev/null || true)
(cd "$repo" && "$snag" check --format sarif --diff-base main --baseline "$work/baseline.json" . > "$work/diff.sarif" || true)
mkdir -p "$work/empty" && (cd "$work/empty" && "$snag" check --format sarif . > "$work/empty.sarif")

"$work/venv/bin/python" - "$schema" "$work"/*.sarif <<'PY'
import json, sys
import jsonschema

schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
bad = 0
for path in sys.argv[2:]:
    doc = json.load(open(path))
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    results = len(doc["runs"][0].get("results", []))
    for e in errors[:10]:
        print(f"{path}: {'/'.join(map(str, e.path))}: {e.message}")
    print(f"{'ok  ' if not errors else 'FAIL'} {path.rsplit('/', 1)[-1]}: {results} results, {len(errors)} schema errors")
    bad += bool(errors)
if bad:
    sys.exit(1)
PY
echo "sarif-schema: $(ls "$work"/*.sarif | wc -l) runs valid against $(basename "$schema")"
