"""What the guards add to a PreToolUse hook: the installed hook command, guards on vs off.

    python bench/guard_latency.py               # installs the runtime into a temp project (about a minute)
    python bench/guard_latency.py --rounds 60
    python bench/guard_latency.py --project DIR # reuse a project ./install.sh already set up

Two projects share one runtime installed by ``./install.sh``: one with the defaults, one with
``runtime.disabled_builtins = ["bash_guard", "file_guard"]``. Each round runs every case once in
each project (interleaved, so machine load hits both alike), as Claude Code runs the hook: a fresh
process, the payload on stdin. Prints p50 wall time and p50 CPU time (user + system of the child)
per case and the difference. Stdlib only; child processes run with the byte code install.sh wrote.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = os.path.join(".claude", "hooks-runtime")
OFF = '[runtime]\ndisabled_builtins = ["bash_guard", "file_guard"]\n'


def cases(project: str) -> dict[str, dict[str, object]]:
    """Tool calls Claude makes all the time (paths inside the project, harmless commands)."""
    return {
        "Read": {"tool_name": "Read", "tool_input": {"file_path": f"{project}/src/app.py"}},
        "Edit": {
            "tool_name": "Edit",
            "tool_input": {"file_path": f"{project}/src/app.py", "old_string": "a", "new_string": "b"},
        },
        "Grep": {"tool_name": "Grep", "tool_input": {"pattern": "TODO", "path": project}},
        "Bash short": {"tool_name": "Bash", "tool_input": {"command": "ls -la"}},
        "Bash chain": {
            "tool_name": "Bash",
            "tool_input": {
                "command": "cd build && rm -rf ./dist && npm ci && npm test -- --coverage 2>&1 | tee out.log"
            },
        },
        "WebFetch": {
            "tool_name": "WebFetch",
            "tool_input": {"url": "https://example.com", "prompt": "summary"},
        },
    }


def payload(project: str, call: dict[str, object]) -> bytes:
    return json.dumps(
        {
            "session_id": "bench-guards",
            "transcript_path": "/tmp/bench.jsonl",
            "cwd": project,
            "hook_event_name": "PreToolUse",
            "tool_use_id": "toolu_bench",
            **call,
        }
    ).encode()


def run_once(project: str, data: bytes, env: dict[str, str]) -> tuple[float, float]:
    """(wall ms, child CPU ms) of one hook process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [os.path.join(project, RUNTIME, "bin", "claude-hooks"), "PreToolUse"],
        input=data, capture_output=True, env={**env, "CLAUDE_PROJECT_DIR": project}, cwd=project, timeout=60,
    )  # fmt: skip
    wall = (time.perf_counter() - t0) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0 or b"Traceback" in proc.stderr:
        raise SystemExit(f"hook failed in {project}: {proc.stderr.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--project", help="a project where ./install.sh already installed the runtime")
    args = parser.parse_args(argv)

    tmp = tempfile.mkdtemp(prefix="guard-latency-")
    try:
        on = args.project or os.path.join(tmp, "on")
        if not args.project:
            os.makedirs(on)
            proc = subprocess.run(
                ["bash", os.path.join(REPO, "install.sh"), on], capture_output=True, text=True
            )
            if proc.returncode != 0:
                raise SystemExit(f"install.sh failed:\n{proc.stdout}\n{proc.stderr}")
        off = os.path.join(tmp, "off")
        os.makedirs(os.path.join(off, ".claude"))
        os.symlink(os.path.join(on, RUNTIME), os.path.join(off, RUNTIME))
        with open(os.path.join(off, ".claude", "hooks.toml"), "w") as f:
            f.write(OFF)
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("CLAUDE_")
        }
        projects = {"on": on, "off": off}
        data = {name: {c: payload(p, call) for c, call in cases(p).items()} for name, p in projects.items()}
        for _ in range(3):  # warm caches (config cache, page cache)
            for name, p in projects.items():
                for d in data[name].values():
                    run_once(p, d, env)
        samples: dict[tuple[str, str], tuple[list[float], list[float]]] = {
            (name, c): ([], []) for name in projects for c in data["on"]
        }
        for _ in range(args.rounds):
            for c in data["on"]:
                for name, p in projects.items():
                    wall, cpu = run_once(p, data[name][c], env)
                    samples[(name, c)][0].append(wall)
                    samples[(name, c)][1].append(cpu)
        print(f"guard latency: {args.rounds} interleaved rounds, p50 in ms (python {sys.version.split()[0]})")
        print(
            f"{'case':<11} {'wall on':>8} {'wall off':>9} {'added':>6}   {'cpu on':>7} {'cpu off':>8} {'added':>6}"
        )
        for c in data["on"]:
            w_on, c_on = (statistics.median(x) for x in samples[("on", c)])
            w_off, c_off = (statistics.median(x) for x in samples[("off", c)])
            print(
                f"{c:<11} {w_on:8.1f} {w_off:9.1f} {w_on - w_off:+6.1f}   {c_on:7.1f} {c_off:8.1f} {c_on - c_off:+6.1f}"
            )
        print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
