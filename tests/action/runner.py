#!/usr/bin/env python3
"""Runs the steps of action.yml the way the GitHub Actions runner runs a composite action.

usage: runner.py ACTION_DIR INPUTS_JSON OUTPUTS_FILE

- inputs: the action's defaults, overridden by INPUTS_JSON (unknown inputs are an error);
- `${{ inputs.* }}`, `${{ github.* }}` (github.event from $GITHUB_EVENT_PATH), `${{ runner.* }}`
  and `${{ steps.<id>.outputs.* }}` are expanded in `env:`, `with:`, `if:` and outputs;
- a `run:` step runs as `bash --noprofile --norc -eo pipefail SCRIPT` in $GITHUB_WORKSPACE with
  GITHUB_ACTION_PATH and a fresh GITHUB_OUTPUT, whose `name=value` lines become step outputs;
- `uses: actions/cache` is a cache miss; any other `uses:` is an error;
- the first failing step ends the action with its exit status, as on GitHub.

It refuses an action whose `run:` contains `${{`: expressions expanded into a script are a
script injection when they carry a branch name or a pull request title.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def lookup(ctx, path):
    value = ctx
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        else:
            return ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def condition(ctx, text):
    """`a == 'x'`, `a != 'x'`, joined by `&&`: all this action needs."""
    text = EXPR.sub(lambda m: m.group(1), str(text)).strip()
    for clause in text.split("&&"):
        m = re.fullmatch(r"\s*([\w.-]+)\s*(==|!=)\s*'([^']*)'\s*", clause)
        if not m:
            raise SystemExit(f"runner.py: unsupported if: {text!r}")
        equal = lookup(ctx, m.group(1)) == m.group(3)
        if equal != (m.group(2) == "=="):
            return False
    return True


def expand(ctx, text):
    def one(m):
        if not re.fullmatch(r"[\w.-]+", m.group(1)):
            raise SystemExit(f"runner.py: unsupported expression {m.group(0)!r}")
        return lookup(ctx, m.group(1))

    return EXPR.sub(one, str(text))


def read_outputs(path):
    outputs = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            value = []
            while i < len(lines) and lines[i] != delim:
                value.append(lines[i])
                i += 1
            i += 1
            outputs[name] = "\n".join(value)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def main():
    action_dir, inputs_json, outputs_file = sys.argv[1:4]
    with open(os.path.join(action_dir, "action.yml"), encoding="utf-8") as f:
        action = yaml.safe_load(f)
    assert action["runs"]["using"] == "composite", "a composite action"
    inputs = {k: str(v.get("default", "")) for k, v in action.get("inputs", {}).items()}
    given = json.loads(inputs_json)
    unknown = set(given) - set(inputs)
    if unknown:
        raise SystemExit(f"runner.py: unknown inputs {sorted(unknown)}")
    inputs.update({k: str(v) for k, v in given.items()})
    event = {}
    if os.environ.get("GITHUB_EVENT_PATH"):
        with open(os.environ["GITHUB_EVENT_PATH"], encoding="utf-8") as f:
            event = json.load(f)
    env = os.environ
    ctx = {
        "inputs": inputs,
        "github": {
            "action_path": action_dir,
            "action_ref": env.get("SIM_ACTION_REF", ""),
            "action_repository": env.get("SIM_ACTION_REPOSITORY", ""),
            "event_name": env.get("GITHUB_EVENT_NAME", ""),
            "event": event,
            "server_url": env.get("GITHUB_SERVER_URL", ""),
            "workspace": env.get("GITHUB_WORKSPACE", ""),
        },
        "runner": {
            "temp": env.get("RUNNER_TEMP", ""),
            "os": env.get("RUNNER_OS", ""),
            "arch": env.get("RUNNER_ARCH", ""),
        },
        "steps": {},
    }
    status = 0
    for n, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {n}")
        if "run" in step and "${{" in step["run"]:
            raise SystemExit(f"runner.py: `${{{{` inside run: of {name!r} (script injection)")
        if "if" in step and not condition(ctx, step["if"]):
            print(f"runner.py: skip {name}", file=sys.stderr)
            continue
        print(f"runner.py: {name}", file=sys.stderr)
        outputs = {}
        if "uses" in step:
            if not step["uses"].startswith("actions/cache@"):
                raise SystemExit(f"runner.py: cannot simulate {step['uses']}")
            for key, value in step.get("with", {}).items():
                expand(ctx, value)
            outputs = {"cache-hit": "false"}
        else:
            assert step.get("shell") == "bash", f"{name}: shell: bash"
            step_env = dict(os.environ)
            step_env["GITHUB_ACTION_PATH"] = action_dir
            for key, value in step.get("env", {}).items():
                step_env[key] = expand(ctx, value)
            with tempfile.TemporaryDirectory() as tmp:
                script = os.path.join(tmp, "step.sh")
                with open(script, "w", encoding="utf-8") as f:
                    f.write(step["run"])
                out_file = os.path.join(tmp, "output")
                open(out_file, "w").close()
                step_env["GITHUB_OUTPUT"] = out_file
                sys.stdout.flush()
                code = subprocess.call(
                    ["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
                    cwd=env.get("GITHUB_WORKSPACE") or None,
                    env=step_env,
                )
                outputs = read_outputs(out_file)
            if code != 0:
                status = code
        if "id" in step:
            ctx["steps"][step["id"]] = {"outputs": outputs}
        if status != 0:
            break
    result = {k: expand(ctx, v["value"]) for k, v in action.get("outputs", {}).items()}
    with open(outputs_file, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    return status


if __name__ == "__main__":
    sys.exit(main())
