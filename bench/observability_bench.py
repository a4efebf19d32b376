"""Cost of observability on the hook hot path (a benchmark, not a test).

Reports:

- import time of the hot-path modules (``lib.jsonl``, ``lib.redaction``, ``lib.hook_logger``,
  ``lib.trace_manager``, ``lib.event_bus``, ``lib.observability``), each in a fresh interpreter, median
  of N runs (``-X importtime``'s cumulative figure for the module);
- ``record_invocation`` per call for a PreToolUse and a PostToolUse with a 1 MB tool output (log
  record, spans, bus events, heartbeat), p50/p95 over N calls;
- append throughput of ``JsonlWriter`` with 1 and 8 processes (records/s), and the event bus's
  positioned append (exclusive lock) with 1 and 8 processes.

    .venv/bin/python bench/observability_bench.py [--runs 20] [--calls 300] [--dir DIR]

Run with byte-code caching on (unset PYTHONDONTWRITEBYTECODE), as an installed runtime has it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

HOT_MODULES = (
    "lib.jsonl",
    "lib.redaction",
    "lib.hook_logger",
    "lib.trace_manager",
    "lib.event_bus",
    "lib.observability",
)


def import_cost(module: str, runs: int) -> float:
    """Median cumulative import time of ``module`` in microseconds."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO, env=env, check=True)  # warm .pyc
    samples = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        for line in proc.stderr.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                samples.append(int(parts[1]))
    return statistics.median(samples)


class _Inv:
    """A stand-in with the attributes of :class:`lib.runtime.Invocation`."""

    def __init__(self, directory: str, event: str, n: int, big: bool) -> None:
        self.event_name = event
        self.session_id = "5921294c-55cd-4911-91ca-88811f0d9977"
        self.tool_name = "Bash"
        self.tool_use_id = f"toolu_{n}"
        self.payload: dict[str, object] = {
            "session_id": self.session_id,
            "hook_event_name": event,
            "tool_name": "Bash",
            "tool_use_id": self.tool_use_id,
            "prompt_id": "p1",
            "tool_input": {"command": "cat big.log", "description": "read the log"},
        }
        if big:
            self.payload["tool_response"] = {"stdout": "x" * 1_000_000, "stderr": ""}
        self.payload_bytes = 1_000_100 if big else 300
        self.project_dir = directory
        self.log_dir = os.path.join(directory, "logs")
        self.state_dir = os.path.join(directory, "state")
        self.config: dict[str, object] = {}
        self.start_ns = time.time_ns()
        self.duration_ms = 2.0
        self.outcome = None
        self.exit_code = 0
        self.error = None
        self.warnings: list[str] = []
        self.handler_records = [{"name": "guard", "duration_ms": 0.2}]
        self.events: list[tuple[str, dict[str, object]]] = []
        self.log_records: list[dict[str, object]] = []
        self.correlation_id = self.tool_use_id


def record_cost(directory: str, calls: int) -> dict[str, dict[str, float]]:
    """p50/p95 milliseconds of record_invocation for a small PreToolUse and a 1 MB PostToolUse."""
    from lib.observability import record_invocation

    out = {}
    for label, event, big in (("PreToolUse", "PreToolUse", False), ("PostToolUse 1MB", "PostToolUse", True)):
        samples = []
        for n in range(calls):
            inv = _Inv(directory, event, n, big)
            t0 = time.perf_counter()
            record_invocation(inv)  # type: ignore[arg-type]
            samples.append((time.perf_counter() - t0) * 1000)
        samples.sort()
        out[label] = {"p50_ms": samples[len(samples) // 2], "p95_ms": samples[int(len(samples) * 0.95)]}
    return out


def _append_worker(path: str, count: int, positioned: bool) -> None:
    from lib.jsonl import JsonlWriter

    writer = JsonlWriter(path, max_bytes=0)
    record = {"topic": "tool.pre", "payload": {"tool_name": "Bash", "pad": "x" * 200}}
    for _ in range(count):
        if positioned:
            writer.append_positioned(lambda pos: {"id": pos, **record})
        else:
            writer.append(record)


def append_rate(directory: str, procs: int, count: int, positioned: bool) -> float:
    """Records per second with ``procs`` processes appending ``count`` records each."""
    path = os.path.join(directory, f"append-{procs}-{positioned}.jsonl")
    workers = [
        multiprocessing.Process(target=_append_worker, args=(path, count, positioned)) for _ in range(procs)
    ]
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return procs * count / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per import measurement")
    parser.add_argument("--calls", type=int, default=200, help="record_invocation calls per workload")
    parser.add_argument("--dir", help="directory for the files (default: a temporary one)")
    args = parser.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="obs-bench-")
    results: dict[str, object] = {
        "import_us": {m: import_cost(m, args.runs) for m in HOT_MODULES},
        "record_invocation": record_cost(directory, args.calls),
        "append_per_s": {
            f"{kind} x{procs}": round(append_rate(directory, procs, 2000, kind == "positioned"))
            for kind in ("shared", "positioned")
            for procs in (1, 8)
        },
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
