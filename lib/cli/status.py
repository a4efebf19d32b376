"""``python -m lib status``: circuit breakers, rate-limit windows and Claude Code sessions at a glance.

    python -m lib status [--json]

Sessions come from ``.claude/state/sessions.json``: registered by SessionStart, refreshed by every
hook (heartbeat), closed by SessionEnd. An active session silent for longer than ``--stale`` is shown
as stale (Claude Code was killed, or SessionEnd's 1.5 s budget ran out).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from lib.backends import describe_project, status_line
from lib.breaker.api import BreakerSnapshot
from lib.breaker.storage import JsonStoreStorage
from lib.cli._command import Command
from lib.cli._observe import dump_json, escape, log_paths, short_time
from lib.cli._state import LOCK_TIMEOUT, add_json_option, open_cli_state
from lib.observability import SESSIONS_STORE
from lib.plain_data import json_object
from lib.rate_limiter import RateLimiter
from lib.store import open_store
from lib.usage.cli import project_usage
from lib.usage.report import usage_lines

__all__ = ["COMMAND", "collect"]


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--all", action="store_true", help="also list ended sessions")
    parser.add_argument(
        "--stale",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="silence after which a session is stale",
    )


def _sessions(state_dir: str, now: float, stale_after: float, include_ended: bool) -> list[dict[str, Any]]:
    # a project without a state folder has no sessions yet (and reading must not create the folder)
    raw = open_store(state_dir, SESSIONS_STORE).read().get("sessions") if os.path.isdir(state_dir) else None
    out: list[dict[str, Any]] = []
    for sid, value in (json_object(raw) or {}).items():
        entry = json_object(value)
        if entry is None:
            continue
        status = str(entry.get("status", "active"))
        last = entry.get("last_seen_epoch")
        idle = now - last if isinstance(last, (int, float)) else None
        if status == "active" and idle is not None and idle > stale_after:
            status = "stale"
        if status == "ended" and not include_ended:
            continue
        out.append({**entry, "session_id": sid, "status": status, "idle_seconds": idle})
    out.sort(key=lambda e: str(e.get("last_seen", "")), reverse=True)
    return out


def collect(
    state_dir: str,
    *,
    now: float | None = None,
    stale_after: float = 3600.0,
    include_ended: bool = False,
    breaker_storage: JsonStoreStorage | None = None,
    rate_limiter: RateLimiter | None = None,
) -> dict[str, Any]:
    """Breakers, rate-limit windows and sessions as plain data (state from the given stores, which
    default to the files in ``state_dir``)."""
    now = time.time() if now is None else now
    storage = breaker_storage or JsonStoreStorage.open(state_dir, lock_timeout=LOCK_TIMEOUT)
    breakers = [BreakerSnapshot(name, rec, now).as_dict() for name, rec in storage.load_all().items()]
    windows = (rate_limiter or RateLimiter.open(state_dir, lock_timeout=LOCK_TIMEOUT)).status()
    return {
        "breakers": breakers,
        "rate_limits": windows,
        "sessions": _sessions(state_dir, now, stale_after, include_ended),
    }


def _idle(seconds: object) -> str:
    if not isinstance(seconds, (int, float)):
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"


def run(args: argparse.Namespace) -> int:
    """Print the status."""
    paths = log_paths(args)
    data = collect(
        paths.state_dir,
        stale_after=args.stale,
        include_ended=args.all,
        breaker_storage=JsonStoreStorage(open_cli_state(args, "breakers")),
        rate_limiter=RateLimiter(open_cli_state(args, "ratelimits")),
    )
    data["backend"] = describe_project(paths)  # which state backend, and whether it answers
    data["usage"] = project_usage(args)  # tokens and cost per session, from the transcripts
    if args.json:
        print(dump_json(data))
        return 0
    print(status_line(data["backend"]))
    breakers = data["breakers"]
    not_closed = [b for b in breakers if b.get("state") != "closed" or b.get("forced")]
    print(f"Circuit breakers: {len(breakers)} known, {len(not_closed)} not closed")
    for b in not_closed:
        retry = b.get("retry_after")
        print(
            escape(
                f"  {b.get('key') or b.get('name')}"
                + (f" (session {str(b.get('session'))[:8]})" if b.get("session") else "")
                + f": {b.get('forced') or b.get('state')}"
                f"  failures={b.get('consecutive_failures')}"
                + (f"  retry in {retry:.0f}s" if isinstance(retry, (int, float)) else "")
            )
        )
    windows = data["rate_limits"]
    print(f"Rate limits: {len(windows)} windows in use")
    for w in windows:
        print(escape(f"  {w.get('key')}: {w.get('used')}/{w.get('limit')} in {w.get('window_seconds')}s"))
    sessions = data["sessions"]
    active = [s for s in sessions if s["status"] == "active"]
    print(
        f"Sessions: {len(active)} active"
        + (f", {len(sessions) - len(active)} other" if len(sessions) > len(active) else "")
    )
    for s in sessions:
        print(
            escape(
                f"  {s['session_id']}  {s['status']:<7} started {short_time(s.get('started_at'))}"
                f"  last {s.get('last_event', '-')} {_idle(s.get('idle_seconds'))}"
                + (f"  ended: {s.get('end_reason')}" if s["status"] == "ended" else "")
            )
        )
    for line in usage_lines(data["usage"]):
        print(line)
    return 0


COMMAND = Command(
    help="breakers, rate limits and active sessions",
    description="Current state of the project's hooks: breakers, rate-limit windows, sessions.",
    options=(add_json_option, _options),
)
