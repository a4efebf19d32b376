"""Many machines on one Redis, with a Redis restart in the middle (a benchmark, not a test).

N "machines" (separate project directories with the same checkout name, so one Redis namespace;
each its own ``.claude/state``, logs and reconciliation journal) run M Claude sessions in parallel,
each making failing Bash calls through the real hook command (PreToolUse, then
PostToolUseFailure). Part-way through, ``redis-server`` is killed with SIGKILL, left down, and
started again (append-only file on); the hooks fall back to their files meanwhile, and what they
wrote is replayed into Redis by the next hooks and, at the end, by each machine's
``python -m lib breakers`` reader. Then it checks that Redis holds exactly what happened: breaker
failures, rate-limit calls and one event per call (``tests/redis/redis_machines.py``;
``tests/redis/test_many_machines.py`` runs a small version in CI).

    .venv/bin/python bench/redis_machines.py                      # 4 machines x 4 sessions x 10 calls
    .venv/bin/python bench/redis_machines.py --machines 8 --parallel 4 --calls 20 --down 3 --json out.json

Needs ``redis-server`` on PATH (``tests/redis/install_redis.sh``) and the ``redis`` extra in the
interpreter that runs it (``tests/run.sh`` makes such a ``.venv``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "redis"))

from redis_machines import simulate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--machines", type=int, default=4, help="project directories (default 4)")
    parser.add_argument("--parallel", type=int, default=4, help="sessions per machine at once (default 4)")
    parser.add_argument("--calls", type=int, default=10, help="failing Bash calls per session (default 10)")
    parser.add_argument(
        "--restart-at", type=float, default=0.4, help="kill Redis after this share of the hooks"
    )
    parser.add_argument("--down", type=float, default=2.0, help="seconds Redis stays down (default 2)")
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="redis-machines-") as tmp:
        report = simulate(
            Path(tmp),
            machines=args.machines,
            parallel=args.parallel,
            calls=args.calls,
            restart_at=args.restart_at,
            down_seconds=args.down,
        )
    load = [round(x, 2) for x in os.getloadavg()]
    print(
        f"{report['machines']} machines x {report['parallel']} sessions on one Redis, {os.cpu_count()} CPUs, "
        f"load {load}: {report['hooks']} hooks in {report['seconds']} s ({report['hooks_per_s']} hooks/s)"
    )
    print(
        f"Redis killed after {args.restart_at:.0%} of the hooks and down {args.down:g} s: "
        f"{report['hooks_while_down']} hooks started while it was down, {report['hooks_fell_back']} fell back, "
        f"{report['journal_records']} journal records ({report['uncertain_commits']} commits cut off after the "
        f"server may have applied them), {report['duplicate_events']} duplicate events"
    )
    for name, ok, detail in report["checks"]:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {detail}"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({**report, "load": load}, f, indent=2)
    return 0 if all(ok for _, ok, _ in report["checks"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
