"""``python -m lib ratelimits``: list the rate-limit windows in use, reset them.

    python -m lib ratelimits [--json]
    python -m lib ratelimits reset KEY [KEY ...] | --all

KEY is a window key (``Bash@<session id>`` per session, ``Bash`` per project) or a glob (``'Bash@*'``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from lib.cli._command import Command
from lib.cli._state import (
    add_reset_actions,
    name_matches,
    open_cli_state,
    print_table,
    report_changes,
)
from lib.rate_limiter import RateLimiter

__all__ = ["COMMAND"]


def _limiter(args: argparse.Namespace) -> RateLimiter:
    return RateLimiter(open_cli_state(args, "ratelimits"))


def run(args: argparse.Namespace) -> int:
    """List the rate-limit windows in use (the command without an action)."""
    limiter = _limiter(args)
    windows = limiter.status()
    path = limiter.store.path if limiter.store is not None else "-"
    if args.json:
        print(json.dumps({"state_file": path, "windows": windows}, indent=2))
        return 0
    if not windows:
        print(f"No rate-limit windows in use ({path}).")
        return 0
    rows = [("KEY", "USED", "LIMIT", "WINDOW", "REMAINING", "NEXT SLOT", "EMPTY IN")]
    now = time.time()
    for w in windows:
        rows.append(
            (
                str(w["key"]),
                str(w["used"]),
                str(w["limit"]),
                f"{w['window_seconds']:g}s",
                str(w["remaining"]),
                f"{max(0.0, float(w['reset_at']) - now):.0f}s",  # type: ignore[arg-type]
                f"{max(0.0, float(w['clear_at']) - now):.0f}s",  # type: ignore[arg-type]
            )
        )
    print_table(rows)
    return 0


def _reset(args: argparse.Namespace) -> int:
    if not args.all and not args.keys:
        print("ratelimits reset: give KEY ... or --all", file=sys.stderr)
        return 2
    limiter = _limiter(args)
    done = limiter.reset(None if args.all else args.keys)
    missing = [] if args.all else [k for k in args.keys if not any(name_matches(d, k) for d in done)]
    return report_changes(
        args,
        "reset",
        done,
        missing,
        no_match=lambda key: f"no rate-limit window matches {key!r}",
        nothing="No rate-limit windows to reset.",
    )


def _actions(parser: argparse.ArgumentParser) -> None:
    add_reset_actions(
        parser,
        "ratelimits",
        help="forget the calls counted in windows",
        item="window",
        dest="keys",
        func=_reset,
    )


COMMAND = Command(
    help="list or reset the rate-limit windows",
    description="Sliding-window rate limits of the project's tools (.claude/state/ratelimits.json).",
    options=(_actions,),
)
