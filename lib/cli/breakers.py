"""``python -m lib breakers``: list the project's circuit breakers, reset, force open or closed.

    python -m lib breakers [--json]
    python -m lib breakers reset NAME [NAME ...] | --all
    python -m lib breakers open NAME        # refuse calls until reset
    python -m lib breakers close NAME       # admit calls whatever fails, until reset

NAME is a breaker key (``Bash``, ``Bash:git``, ``mcp__github__create_issue``) or a glob (``'Bash:*'``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from lib.breaker.api import BreakerSnapshot, CircuitBreaker
from lib.breaker.machine import HALF_OPEN, OPEN
from lib.breaker.storage import JsonStoreStorage
from lib.breaker.tools import error_summary
from lib.cli._state import (
    add_json_option,
    add_reset_command,
    name_matches,
    open_cli_state,
    print_table,
    report_changes,
)

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:  # pyright: ignore[reportPrivateUsage]
    """Add the ``breakers`` command."""
    actions = add_reset_command(
        subparsers,
        "breakers",
        help="list, reset or force the circuit breakers",
        description="Circuit breakers of the project's tools (state in .claude/state/breakers.json).",
        list_func=_list,
        reset_help="close breakers and clear their counts and forced state",
        item="breaker",
        dest="names",
        reset_func=_reset,
    )

    for action, text in (
        ("open", "refuse every call until reset"),
        ("close", "admit every call until reset"),
    ):
        force = actions.add_parser(action, help=f"force breakers {action}: {text}")
        force.add_argument("names", nargs="+", metavar="NAME", help="breaker key or glob")
        add_json_option(force, action=True)
        force.set_defaults(func=_force, force=action)


def _storage(args: argparse.Namespace) -> JsonStoreStorage:
    return JsonStoreStorage(open_cli_state(args, "breakers"))


def _clock(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def _state_label(snap: BreakerSnapshot) -> str:
    if snap.forced is not None:
        return f"{snap.forced} (forced)"
    if snap.state == HALF_OPEN:
        return f"half_open ({snap.half_open_in_flight} trial{'s' if snap.half_open_in_flight != 1 else ''})"
    return snap.state


def _retry_label(snap: BreakerSnapshot) -> str:
    if snap.state != OPEN:
        return "-"
    if snap.retry_after is None:
        return "until reset"
    return "now" if snap.retry_after == 0 else f"{snap.retry_after:.0f}s"


def _one_line(text: str | None, width: int = 70) -> str:
    return error_summary(text, width) if text else "-"


def _snapshots(storage: JsonStoreStorage) -> list[BreakerSnapshot]:
    now = time.time()
    return [BreakerSnapshot(name, rec, now) for name, rec in storage.load_all().items()]


def _list(args: argparse.Namespace) -> int:
    storage = _storage(args)
    snaps = _snapshots(storage)
    if args.json:
        print(json.dumps({"state_file": storage.path, "breakers": [s.as_dict() for s in snaps]}, indent=2))
        return 0
    if not snaps:
        print(f"No circuit breakers recorded ({storage.path}).")
        return 0
    rows = [("NAME", "STATE", "FAILURES", "OPENED AT (UTC)", "RETRY AFTER", "LAST ERROR")]
    rows += [
        (
            s.name,
            _state_label(s),
            str(s.consecutive_failures),
            _clock(s.opened_at) if s.state != "closed" else "-",
            _retry_label(s),
            _one_line(s.last_error),
        )
        for s in snaps
    ]
    print_table(rows)
    return 0


def _match(names: list[str], known: list[str]) -> tuple[list[str], list[str]]:
    """The known breakers matching ``names`` (exact or glob), and the names that matched nothing."""
    found: list[str] = []
    missing = []
    for name in names:
        hits = [k for k in known if name_matches(k, name)]
        if not hits:
            missing.append(name)
        found.extend(h for h in hits if h not in found)
    return found, missing


def _report(
    args: argparse.Namespace, verb: str, done: list[str], missing: list[str], known: list[str]
) -> int:
    hint = f"known: {', '.join(known)}" if known else "no breakers are recorded"
    return report_changes(
        args,
        verb,
        done,
        missing,
        no_match=lambda name: f"no breaker matches {name!r} ({hint})",
        nothing="No circuit breakers to reset.",
    )


def _reset(args: argparse.Namespace) -> int:
    if not args.all and not args.names:
        print("breakers reset: give NAME ... or --all", file=sys.stderr)
        return 2
    storage = _storage(args)
    known = list(storage.load_all())
    if args.all:
        return _report(args, "reset", storage.delete(None), [], known)
    found, missing = _match(args.names, known)
    done = storage.delete(found) if found else []
    return _report(args, "reset", done, missing, known)


def _force(args: argparse.Namespace) -> int:
    storage = _storage(args)
    known = list(storage.load_all())
    exact = [n for n in args.names if not any(c in n for c in "*?[")]
    found, missing = _match(args.names, known)
    # forcing a breaker that has not failed yet is allowed for exact names
    found += [n for n in exact if n not in found]
    missing = [n for n in missing if n not in exact]
    for name in found:
        breaker = CircuitBreaker(name, storage=storage, fail_open=False)
        if args.force == "open":
            breaker.force_open()
        else:
            breaker.force_close()
    return _report(args, f"forced {args.force}", found, missing, known)
