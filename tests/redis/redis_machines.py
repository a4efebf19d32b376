"""Many machines on one Redis, with Redis killed and restarted in the middle (simulation).

Each "machine" is its own project directory (its own ``.claude/state``, logs and reconciliation
journal; the same checkout name, so the same Redis namespace), running ``parallel`` Claude sessions
at once; each session makes ``calls`` Bash tool calls that fail (PreToolUse, then
PostToolUseFailure), through the real hook command. Once ``restart_at`` of the hooks have finished,
Redis is killed with SIGKILL (append-only file on, so it keeps what it acknowledged), left down for
``down_seconds`` while the hooks go on against their file fallback, then started again. When every
session is done, each machine's ``python -m lib breakers`` (a reader) replays whatever its journal
still holds.

Then Redis must hold exactly what happened: the Bash breaker's failure count is the number of
failed calls on all machines, the project's rate-limit window holds one call per PreToolUse, and
the event stream holds one ``tool.pre`` and one ``tool.failure`` per call (events are at-least-once:
duplicates are counted, distinct tool-use ids must be complete). ``tests/redis/test_many_machines.py``
runs a small version; ``bench/redis_machines.py`` a large one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from hookkit import HookProject, payload_for
from redis_projects import backend_config, hook_project
from redis_server import RedisServer

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "webapp"
CONFIG_TAIL = (
    # one breaker shared by every session and machine (the default keys Bash per command and session)
    '[breaker]\nmax_failures = 1000000\nbash_key = "tool"\nshared_keys = ["Bash"]\n'
    '[rate_limit]\nscope = "project"\n[rate_limit.default]\ncalls = 1000000\nwindow_seconds = 86400\n'
)


def _redis_contents(url: str) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(url)

    def doc(name: str) -> dict[str, Any]:
        raw = client.get(f"claude-hooks:{{{NAMESPACE}}}:state:{name}")
        return json.loads(raw) if raw else {}

    events: dict[str, list[str]] = {}
    for _, fields in client.xrange(f"claude-hooks:{{{NAMESPACE}}}:events"):
        payload = json.loads(fields.get(b"payload", b"{}"))
        events.setdefault(fields[b"topic"].decode(), []).append(str(payload.get("tool_use_id")))
    client.close()
    return {"breakers": doc("breakers"), "ratelimits": doc("ratelimits"), "events": events}


def _exact(got: object, expected: int, uncertain: int) -> bool:
    """``got`` is ``expected``, plus at most one for each commit the kill left uncertain."""
    return isinstance(got, int) and expected <= got <= expected + uncertain


def simulate(
    directory: Path,
    *,
    machines: int,
    parallel: int,
    calls: int,
    restart_at: float = 0.4,
    down_seconds: float = 1.0,
    timeout_ms: int = 1000,
) -> dict[str, Any]:
    """Run the simulation in ``directory``; return its figures and ``checks`` (name, ok, detail)."""
    server = RedisServer(directory / "redis", durable=True)
    server.start()
    try:
        config = backend_config(server.url, timeout_ms=timeout_ms) + CONFIG_TAIL
        projects = [hook_project(directory / f"machine-{m}" / NAMESPACE, config) for m in range(machines)]
        total = machines * parallel * calls * 2
        lock = threading.Lock()
        done = [0]
        outcomes: list[tuple[str, int, str, float]] = []  # (kind, exit code, stderr, started)
        outage: dict[str, float] = {}

        def session(project: HookProject, machine: int, worker: int) -> None:
            sid = f"00000000-0000-4000-8000-{machine:06d}{worker:06d}"
            for i in range(calls):
                tool_use_id = f"toolu_m{machine}_w{worker}_{i}"
                for event in ("PreToolUse", "PostToolUseFailure"):
                    started = time.monotonic()
                    result = project.run(
                        payload_for(event, "Bash", session_id=sid, tool_use_id=tool_use_id), timeout=60
                    )
                    with lock:
                        outcomes.append((event, result.code, result.stderr, started))
                        done[0] += 1

        def restart() -> None:
            while done[0] < total * restart_at:
                time.sleep(0.005)
            outage["down"] = time.monotonic()
            server.kill()
            time.sleep(down_seconds)
            server.start()
            outage["up"] = time.monotonic()

        t0 = time.monotonic()
        threads = [
            threading.Thread(target=session, args=(project, m, w))
            for m, project in enumerate(projects)
            for w in range(parallel)
        ]
        controller = threading.Thread(target=restart)
        controller.start()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        controller.join()
        elapsed = time.monotonic() - t0
        if not server.ping():  # the restart came after the last hook: start it for the readers
            server.start()

        journal = [
            json.loads(line)
            for p in projects
            if (p.path / ".claude" / "state" / "redis-journal.jsonl").exists()
            for line in (p.path / ".claude" / "state" / "redis-journal.jsonl").read_text().splitlines()
        ]
        # commits cut off by the kill after the server may have applied them: at most one extra each
        uncertain = {
            name: sum(1 for r in journal if r.get("uncertain") and r.get("store") == name)
            for name in ("breakers", "ratelimits")
        }
        readers = [
            subprocess.run(
                [sys.executable, "-m", "lib", "--project", str(p.path), "breakers", "--json"],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=str(REPO),
                env=p.env(),
            )
            for p in projects
        ]
        contents = _redis_contents(server.url)
    finally:
        server.stop()

    failures = machines * parallel * calls
    bash = contents["breakers"].get("breakers", {}).get("Bash", {})
    window_calls = sum(len(w.get("calls", [])) for w in contents["ratelimits"].get("windows", {}).values())
    during = [o for o in outcomes if outage and outage["down"] <= o[3] < outage["up"]]
    fell_back = sum(1 for o in outcomes if "Redis unavailable" in o[2])
    bad = [o for o in outcomes if o[1] != 0 or "Traceback" in o[2]]
    checks = [
        ("every hook exit 0, no traceback", not bad, "; ".join(f"{o[0]} {o[1]} {o[2][:200]}" for o in bad[:3])),
        ("hooks ran while Redis was down and fell back", fell_back > 0, f"{len(during)} during, {fell_back} fell back"),
        ("readers replayed without error", all(r.returncode == 0 for r in readers),
         "; ".join(r.stderr[-200:] for r in readers if r.returncode)),
        ("breaker: failures exact", _exact(bash.get("failures"), failures, uncertain["breakers"]),
         f"{bash.get('failures')} vs {failures} (+{uncertain['breakers']} uncertain)"),
        ("breaker: consecutive failures exact",
         _exact(bash.get("consecutive_failures"), failures, uncertain["breakers"]),
         f"{bash.get('consecutive_failures')} vs {failures} (+{uncertain['breakers']} uncertain)"),
        ("rate limit: one call per PreToolUse", _exact(window_calls, failures, uncertain["ratelimits"]),
         f"{window_calls} vs {failures} (+{uncertain['ratelimits']} uncertain)"),
    ]  # fmt: skip
    for topic in ("tool.pre", "tool.failure"):
        ids = contents["events"].get(topic, [])
        checks.append(
            (
                f"events: every {topic} reached the stream",
                len(set(ids)) == failures,
                f"{len(set(ids))} vs {failures}",
            )
        )
    duplicates = sum(
        len(ids) - len(set(ids)) for t, ids in contents["events"].items() if t in ("tool.pre", "tool.failure")
    )
    other = [
        line
        for o in outcomes
        for line in o[2].splitlines()
        if line.strip() and "Redis unavailable" not in line
    ]
    checks.append(("no other warning from a hook", not other, "; ".join(other[:3])))
    return {
        "machines": machines,
        "parallel": parallel,
        "hooks": len(outcomes),
        "seconds": round(elapsed, 2),
        "hooks_per_s": round(len(outcomes) / elapsed, 1),
        "hooks_while_down": len(during),
        "hooks_fell_back": fell_back,
        "journal_records": len(journal),
        "uncertain_commits": sum(uncertain.values()),
        "duplicate_events": duplicates,
        "checks": checks,
    }
