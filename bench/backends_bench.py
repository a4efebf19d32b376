"""The file backend against the Redis backend (a benchmark, not a test).

Measured per backend:

- store operations in one process: a lock-free ``read()`` and a ``transaction()`` (read-modify-write),
  median and p95 in microseconds;
- throughput of N processes incrementing one counter through transactions (must not lose one);
- whole hook processes, spawned as Claude Code spawns them (``claude-hooks PreToolUse`` with the
  payload on stdin): median and p95 wall time; a hook talks to Redis through the lean hiredis
  client (:mod:`lib.backends.resp`), never importing redis-py;
- the hook with Redis down (connection refused), and with Redis frozen (SIGSTOP: connects, never
  answers), both with the file fallback: the time budget ``[backend] timeout_ms`` must bound it.

    .venv/bin/python bench/backends_bench.py                       # defaults: 20 hooks, 4 procs
    .venv/bin/python bench/backends_bench.py --hooks 50 --procs 1,4,16 --json out.json

Needs ``redis-server`` on PATH (``tests/redis/install_redis.sh``); it starts its own on a free port.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "redis"))

from redis_server import RedisServer, free_port  # noqa: E402

from lib.backends import open_state  # noqa: E402
from lib.backends.redis_client import reset_clients  # noqa: E402
from lib.config import validate_config  # noqa: E402
from lib.paths import Paths  # noqa: E402

PAYLOAD = {
    "session_id": "bench-session",
    "transcript_path": "/tmp/bench.jsonl",
    "cwd": "/tmp",
    "permission_mode": "default",
    "hook_event_name": "PreToolUse",
    "tool_name": "Bash",
    "tool_input": {"command": "echo hello"},
    "tool_use_id": "toolu_bench",
}

INCREMENT = """
import json, sys, time
from lib.backends import open_state
from lib.paths import Paths
job = json.loads(sys.argv[1])
store = open_state(Paths(job["project"]), job["config"], "bench")
store.read()
print("ready", flush=True)
sys.stdin.readline()
t0 = time.perf_counter()
for _ in range(job["n"]):
    with store.transaction() as state:
        state["n"] = int(state.get("n", 0)) + 1
print(time.perf_counter() - t0)
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def store_ops(paths: Paths, config: dict[str, object], n: int) -> dict[str, float]:
    store = open_state(paths, config, "bench-ops")
    with store.transaction() as state:
        state.update({f"key{i}": {"state": "closed", "failures": i} for i in range(20)})
    reads, writes = [], []
    for i in range(n):
        t = time.perf_counter()
        store.read()
        reads.append(time.perf_counter() - t)
        t = time.perf_counter()
        with store.transaction() as state:
            state["counter"] = i
        writes.append(time.perf_counter() - t)
    return {
        "read_p50_us": statistics.median(reads) * 1e6,
        "read_p95_us": pct(reads, 0.95) * 1e6,
        "transaction_p50_us": statistics.median(writes) * 1e6,
        "transaction_p95_us": pct(writes, 0.95) * 1e6,
    }


def throughput(project: Path, config: dict[str, object], procs: int, n: int) -> dict[str, float]:
    store = open_state(Paths(str(project)), config, "bench")
    store.clear()
    job = json.dumps({"project": str(project), "config": config, "n": n})
    children = [
        subprocess.Popen(
            [sys.executable, "-c", INCREMENT, job],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=str(REPO),
        )
        for _ in range(procs)
    ]
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    t0 = time.perf_counter()
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    for child in children:
        child.wait(timeout=600)
    elapsed = time.perf_counter() - t0
    total = store.read().get("n")
    return {"procs": procs, "tx_per_s": procs * n / elapsed, "lost": procs * n - int(total or 0)}  # type: ignore[call-overload]


def hooks(project: Path, config_text: str, count: int) -> dict[str, float]:
    (project / ".claude").mkdir(parents=True, exist_ok=True)
    (project / ".claude" / "hooks.toml").write_text(config_text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_HOOKS_")}
    env["CLAUDE_PROJECT_DIR"] = str(project)
    command = [str(Path(sys.prefix) / "bin" / "claude-hooks"), "PreToolUse"]
    data = json.dumps(PAYLOAD).encode()
    subprocess.run(command, input=data, env=env, capture_output=True, check=True)  # config cache, pyc
    times = []
    for _ in range(count):
        t = time.perf_counter()
        proc = subprocess.run(command, input=data, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
        assert proc.returncode == 0
    return {"hook_p50_ms": statistics.median(times) * 1e3, "hook_p95_ms": pct(times, 0.95) * 1e3}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hooks", type=int, default=20, help="hook processes per scenario")
    parser.add_argument("--ops", type=int, default=500, help="store operations per backend")
    parser.add_argument("--procs", default="4", help="process counts for the throughput run, e.g. 1,4,16")
    parser.add_argument("--transactions", type=int, default=200, help="transactions per process")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args()
    handlers = '[runtime]\nhandlers = ["hooks.breaker", "hooks.rate_limit"]\n'
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        server = RedisServer(base / "redis")
        server.start()
        try:
            for kind, url in (("file", "file"), ("redis", server.url)):
                project = base / kind / "project"
                project.mkdir(parents=True)
                config = validate_config({"backend": {"url": url, "fallback_to_file": False}}, environ={})
                row: dict[str, object] = store_ops(Paths(str(project)), config, args.ops)
                row["throughput"] = [
                    throughput(project, config, int(p), args.transactions) for p in args.procs.split(",")
                ]
                row.update(hooks(project, handlers + f'[backend]\nurl = "{url}"\n', args.hooks))
                results[kind] = row
                reset_clients()
            down = base / "down" / "project"
            results["redis_down_fallback"] = hooks(
                down, handlers + f'[backend]\nurl = "redis://127.0.0.1:{free_port()}/0"\n', args.hooks
            )
            frozen = base / "frozen" / "project"
            assert server.proc is not None
            os.kill(server.proc.pid, signal.SIGSTOP)
            try:
                results["redis_frozen_fallback_timeout_200ms"] = hooks(
                    frozen, handlers + f'[backend]\nurl = "{server.url}"\ntimeout_ms = 200\n', args.hooks
                )
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)
        finally:
            server.stop()
    print(json.dumps(results, indent=2, default=lambda v: round(v, 1)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
