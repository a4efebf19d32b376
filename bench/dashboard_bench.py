"""Dashboard start-up and time to first render on a large project (a benchmark, not a test).

Fills a temporary project with ``--records`` (100,000) runtime records in ``hooks.jsonl`` (the shapes the
runtime writes: sessions, prompts, Pre/Post tool calls with handler timings, denials, failures,
subagents) and one bus event per tool call in ``events.jsonl``, then, ``--runs`` times:

- **start-up**: from spawning ``python -m lib dashboard --port 0`` to the URL line (the server is
  listening; the logs are read in the background);
- **first render**: from the same spawn to the page, loaded in headless Chromium, having drawn its
  first snapshot (``body[data-rendered]``; while the backlog is read that snapshot is partial and
  the page says so);
- **complete**: from the same spawn to the page having drawn the snapshot of every record
  (``body[data-ready]``): start-up + reading the whole backlog + the snapshot + the page's work;
- **snapshot**: ``GET /api/snapshot`` on the warm server (size and time).

    .venv/bin/python bench/dashboard_bench.py [--records 100000] [--runs 3] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from lib.jsonl import JsonlWriter  # noqa: E402


def _ts(n: int) -> str:
    seconds = 1_796_500_000 + n * 0.5  # two records a second
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{int((seconds - whole) * 1e6):06d}Z"


def fill(project: str, records: int) -> tuple[int, int]:
    """Write ``records`` hook-log records and the matching bus events; returns (records, events)."""
    logs = os.path.join(project, ".claude", "logs")
    os.makedirs(logs)
    big = 1 << 39
    hooks = JsonlWriter(os.path.join(logs, "hooks.jsonl"), max_bytes=big)
    bus = JsonlWriter(os.path.join(logs, "events.jsonl"), max_bytes=big)
    out: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    n = 0
    call = 0
    session = 0
    handlers = [
        {"name": "guards.bash", "duration_ms": 2.1},
        {"name": "guards.files", "duration_ms": 0.6},
        {"name": "breaker.check", "duration_ms": 0.2},
        {"name": "rate_limit.check", "duration_ms": 0.3},
    ]
    while n < records:
        sid = f"bench-session-{session:05d}"
        session += 1

        def add(
            event: str,
            tool: str | None = None,
            use_id: str | None = None,
            *,
            sid: str = sid,
            **fields: object,
        ) -> None:
            nonlocal n
            rec: dict[str, object] = {
                "ts": _ts(n),
                "level": "info",
                "hook": "runtime",
                "event": event,
                "session_id": sid,
                "duration_ms": 12.0 + (n % 17),
                "message": event,
                "fields": {**fields, "exit_code": 0},
            }
            if tool:
                rec["tool"] = tool
            if use_id:
                rec["tool_use_id"] = use_id
            out.append(rec)
            n += 1

        add("SessionStart", source="startup", model="claude-opus-5-5")
        add("UserPromptSubmit", prompt="fix the failing tests in the api package, then run them")
        for _ in range(40):
            call += 1
            use_id = f"toolu_bench_{call:07d}"
            command = f"pytest tests/test_{call % 50}.py -q"
            denied = call % 23 == 0
            agent = {"agent_id": f"agent{session}", "agent_type": "Explore"} if call % 7 == 0 else {}
            pre: dict[str, object] = {"tool_input": {"command": command}, "handlers": handlers, **agent}
            if denied:
                pre.update(decision="deny", reason="[bash guard] rm-home: deletes a home directory")
                pre["handlers"] = [{**handlers[0], "decision": "deny"}, *handlers[1:]]
            add("PreToolUse", "Bash", use_id, **pre)
            events.append(
                {"ts": _ts(n), "topic": "tool.pre", "source": "hooks", "session_id": sid, "payload": {}}
            )
            if denied:
                continue
            if call % 11 == 0:
                add("PostToolUseFailure", "Bash", use_id, error="Exit code 1", tool_duration_ms=800, **agent)
            else:
                add(
                    "PostToolUse",
                    "Bash",
                    use_id,
                    tool_response={"stdout": "ok"},
                    tool_duration_ms=120,
                    **agent,
                )
        add("Stop", stop_hook_active=False)
        add("SessionEnd", end_reason="other")
        if len(out) >= 5000:
            hooks.append_many(out)
            bus.append_many(events)
            out.clear()
            events.clear()
    hooks.append_many(out)
    bus.append_many(events)
    hooks.close()
    bus.close()
    with open(os.path.join(logs, "events.jsonl"), "rb") as f:
        event_count = sum(1 for _ in f)
    return n, event_count


def spawn(project: str) -> tuple[subprocess.Popen[str], str, float, float]:
    """Start the dashboard; (process, url, spawn time, seconds to the URL line)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib", "--project", project, "dashboard", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip().startswith("http://"):
            return proc, line.strip(), t0, time.perf_counter() - t0
    raise SystemExit(f"the dashboard did not start: {proc.stderr.read() if proc.stderr else ''}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as tmp:
        project = os.path.join(tmp, "project")
        t = time.perf_counter()
        records, events = fill(project, args.records)
        size = os.path.getsize(os.path.join(project, ".claude", "logs", "hooks.jsonl"))
        print(
            f"project: {records:,} hook records ({size / 1e6:.1f} MB), {events:,} events; "
            f"written in {time.perf_counter() - t:.1f}s; load {os.getloadavg()[0]:.2f}"
        )
        startup: list[float] = []
        render: list[float] = []
        complete: list[float] = []
        snapshot: list[float] = []
        snapshot_bytes = 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=args.chromium,
                headless=True,
                args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync"],
            )  # fmt: skip
            try:
                for _ in range(args.runs):
                    proc, url, t0, up = spawn(project)
                    try:
                        page = browser.new_page()
                        page.goto(url)
                        page.wait_for_selector("body[data-rendered='1']", timeout=120_000)
                        render.append(time.perf_counter() - t0)
                        page.wait_for_selector("body[data-ready='1']", timeout=300_000)
                        complete.append(time.perf_counter() - t0)
                        startup.append(up)
                        page.close()
                        t1 = time.perf_counter()
                        with urllib.request.urlopen(url + "api/snapshot", timeout=120) as response:
                            snapshot_bytes = len(response.read())
                        snapshot.append(time.perf_counter() - t1)
                    finally:
                        proc.terminate()
                        proc.wait(timeout=10)
            finally:
                browser.close()
        figures = {
            "records": records,
            "events": events,
            "log_mb": round(size / 1e6, 1),
            "startup_ms_median": round(statistics.median(startup) * 1000, 1),
            "first_render_ms_median": round(statistics.median(render) * 1000, 1),
            "complete_render_ms_median": round(statistics.median(complete) * 1000, 1),
            "warm_snapshot_ms_median": round(statistics.median(snapshot) * 1000, 1),
            "snapshot_kb": round(snapshot_bytes / 1000, 1),
            "runs": args.runs,
            "load_after": round(os.getloadavg()[0], 2),
        }
        print(
            f"start-up (spawn to listening): {figures['startup_ms_median']:.0f} ms median of {args.runs}\n"
            f"first render (spawn to the page drawn in Chromium): {figures['first_render_ms_median']:.0f} ms\n"
            f"complete render (every record read and drawn): {figures['complete_render_ms_median']:.0f} ms\n"
            f"warm /api/snapshot: {figures['warm_snapshot_ms_median']:.0f} ms, {figures['snapshot_kb']:.0f} kB\n"
            f"load after: {figures['load_after']}"
        )
        if args.json:
            with open(args.json, "w") as f:
                json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
