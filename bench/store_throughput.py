"""Throughput of the locked JSON store with 1, 4 and 16 processes (a benchmark, not a test).

Each process runs N read-modify-write transactions on one shared store (``lib.store``), the way
concurrent hook processes update ``breakers.json``. Reported per process count: transactions per
second overall, per-transaction latency (p50, p90, p99, max, which includes waiting for the lock),
and a correctness check (the counter must equal the number of transactions). Two hook-shaped
workloads follow: the breaker's PreToolUse check on a closed breaker (a lock-free read of a
``breakers.json`` holding a few other records) and a failure record (a locked write), each per
process count.

    .venv/bin/python bench/store_throughput.py                 # 1, 4, 16 processes, 200 tx each
    .venv/bin/python bench/store_throughput.py --procs 1,2,8 --transactions 500 --json out.json

Stdlib and this project only. The state directory defaults to a fresh temporary directory (pass
``--dir`` to measure another file system). Numbers depend on the disk's fsync cost.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lib.breaker.storage import JsonStoreStorage
from lib.circuit_breaker import BreakerParams, CircuitBreaker
from lib.store import open_store


def _increment(state_dir: str, n: int) -> list[float]:
    store = open_store(state_dir, "bench", lock_timeout=60)
    latencies = []
    for _ in range(n):
        t = time.perf_counter()
        with store.transaction() as state:
            count = state.get("count", 0)
            state["count"] = (count if isinstance(count, int) else 0) + 1
        latencies.append(time.perf_counter() - t)
    return latencies


def _breaker_check(state_dir: str, n: int) -> list[float]:
    breaker = CircuitBreaker(
        "Bash", BreakerParams(), storage=JsonStoreStorage.open(state_dir, lock_timeout=60), fail_open=False
    )
    latencies = []
    for _ in range(n):
        t = time.perf_counter()
        breaker.allow()
        latencies.append(time.perf_counter() - t)
    return latencies


def _breaker_failure(state_dir: str, n: int) -> list[float]:
    breaker = CircuitBreaker(
        "Bash",
        BreakerParams(max_failures=10**9),
        storage=JsonStoreStorage.open(state_dir, lock_timeout=60),
        fail_open=False,
    )
    latencies = []
    for _ in range(n):
        t = time.perf_counter()
        breaker.record_failure("Exit code 1")
        latencies.append(time.perf_counter() - t)
    return latencies


WORKLOADS = {"transaction": _increment, "breaker-check": _breaker_check, "breaker-failure": _breaker_failure}


def _worker(workload: str, state_dir: str, n: int, barrier: object, results: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    results.put(WORKLOADS[workload](state_dir, n))  # type: ignore[attr-defined]


def _pct(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def run(workload: str, procs: int, n: int, base_dir: str) -> dict[str, object]:
    """Run ``workload`` in ``procs`` processes, ``n`` operations each; return the measurements."""
    state_dir = tempfile.mkdtemp(prefix=f"{workload}-{procs}-", dir=base_dir)
    if workload == "breaker-check":  # a realistic file to read: other tools have records
        storage = JsonStoreStorage.open(state_dir)
        for tool in ("Read", "Edit", "WebFetch", "mcp__github__search"):
            CircuitBreaker(tool, storage=storage).record_failure("File does not exist.")
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(procs + 1)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(workload, state_dir, n, barrier, results)) for _ in range(procs)
    ]
    for w in workers:
        w.start()
    barrier.wait()
    start = time.perf_counter()
    latencies: list[float] = []
    for _ in workers:
        latencies.extend(results.get(timeout=600))
    elapsed = time.perf_counter() - start
    for w in workers:
        w.join()
    latencies.sort()
    total = procs * n
    out: dict[str, object] = {
        "workload": workload,
        "procs": procs,
        "ops": total,
        "seconds": round(elapsed, 4),
        "ops_per_second": round(total / elapsed, 1),
        "p50_ms": round(_pct(latencies, 0.50) * 1000, 3),
        "p90_ms": round(_pct(latencies, 0.90) * 1000, 3),
        "p99_ms": round(_pct(latencies, 0.99) * 1000, 3),
        "max_ms": round(latencies[-1] * 1000, 3),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 3),
    }
    if workload == "transaction":
        count = open_store(state_dir, "bench").read().get("count")
        out["correct"] = count == total
        out["final_count"] = count
    elif workload == "breaker-failure":
        record = JsonStoreStorage.open(state_dir).load("Bash") or {}
        out["correct"] = record.get("failures") == total
        out["final_count"] = record.get("failures")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", default="1,4,16", help="comma-separated process counts (default 1,4,16)")
    parser.add_argument("--transactions", type=int, default=200, help="operations per process (default 200)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"subset of {','.join(WORKLOADS)}")
    parser.add_argument("--dir", help="where to create the state directories (default: a temp dir)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    counts = [int(p) for p in args.procs.split(",") if p.strip()]
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS)}")
    base = args.dir or tempfile.mkdtemp(prefix="store-bench-")
    rows = []
    print(f"# {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, state under {base}")
    header = f"{'workload':<16}{'procs':>6}{'ops':>7}{'ops/s':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}  ok"
    print(header)
    for workload in workloads:
        for procs in counts:
            r = run(workload, procs, args.transactions, base)
            rows.append(r)
            ok = {True: "yes", False: "NO", None: "-"}[r.get("correct")]  # type: ignore[index]
            print(
                f"{workload:<16}{procs:>6}{r['ops']:>7}{r['ops_per_second']:>10}{r['p50_ms']:>9}"
                f"{r['p90_ms']:>9}{r['p99_ms']:>9}{r['max_ms']:>9}  {ok}"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"cpus": os.cpu_count(), "python": sys.version.split()[0], "results": rows}, f, indent=2
            )
    return 0 if all(r.get("correct", True) for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
