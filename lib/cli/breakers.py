"""``python -m lib breakers``: list the project's circuit breakers, reset, force open or closed.

    python -m lib breakers [--json]
    python -m lib breakers reset NAME [NAME ...] | --all
    python -m lib breakers open NAME        # refuse calls until reset
    python -m lib breakers close NAME       # admit calls whatever fails, until reset

NAME is a breaker key (``Bash:pytest``, ``Bash:git push``, ``mcp__github__create_issue``), a record
name (``Bash:pytest@<session id>``, as listed) or a glob (``'Bash:*'``); a key names its breakers in
every session. Forcing a key that has no record yet makes a shared one: it applies to every session.

The list shows each breaker's key, scope (``session``: only the session that failed is blocked;
``shared``: every session of the project), session, state, streak (failures in a row with no
progress) and when it may be retried; ``--json`` gives the same per breaker as ``key``, ``scope``,
``session``, ``state``, ``streak``, ``retry_at`` (epoch seconds) and ``retry_after`` (seconds).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from lib.breaker import machine
from lib.breaker.api import BreakerSnapshot, CircuitBreaker
from lib.breaker.keys import SHARED
from lib.breaker.machine import HALF_OPEN, OPEN
from lib.breaker.messages import error_summary
from lib.breaker.storage import JsonStoreStorage
from lib.breaker.tools import Target
from lib.cli._command import Command
from lib.cli._state import (
    add_json_option,
    add_reset_actions,
    name_matches,
    open_cli_state,
    print_table,
    report_changes,
)
from lib.redaction import redact, redact_text

__all__ = ["COMMAND", "reset_breakers"]


def _actions(parser: argparse.ArgumentParser) -> None:
    actions = add_reset_actions(
        parser,
        "breakers",
        help="close breakers and clear their counts and forced state",
        item="breaker",
        dest="names",
        func=_reset,
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
    return error_summary(redact_text(text), width) if text else "-"  # redacted again: older records


def _snapshots(storage: JsonStoreStorage) -> list[BreakerSnapshot]:
    now = time.time()
    return [BreakerSnapshot(name, rec, now) for name, rec in storage.load_all().items()]


def run(args: argparse.Namespace) -> int:
    """List the breakers (the command without an action)."""
    storage = _storage(args)
    snaps = _snapshots(storage)
    if args.json:
        shown = [redact(s.as_dict()) for s in snaps]  # records written before last_error was redacted
        print(json.dumps({"state_file": storage.path, "breakers": shown}, indent=2))
        return 0
    if not snaps:
        print(f"No circuit breakers recorded ({storage.path}).")
        return 0
    rows = [("KEY", "SCOPE", "SESSION", "STATE", "STREAK", "OPENED AT (UTC)", "RETRY AFTER", "LAST ERROR")]
    rows += [
        (
            s.key,
            s.scope or "-",
            (s.session or "-")[:12],
            _state_label(s),
            str(s.streak),
            _clock(s.opened_at) if s.state != "closed" else "-",
            _retry_label(s),
            _one_line(s.last_error),
        )
        for s in snaps
    ]
    print_table(rows)
    return 0


def _match(names: list[str], known: dict[str, str]) -> tuple[list[str], list[str]]:
    """The known breakers (record name -> key) matching ``names`` by record name or key, exact or
    glob, and the names that matched nothing."""
    found: list[str] = []
    missing: list[str] = []
    for name in names:
        hits = [n for n, key in known.items() if name_matches(n, name) or name_matches(key, name)]
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


def reset_breakers(storage: JsonStoreStorage, names: list[str] | None) -> tuple[list[str], list[str]]:
    """Reset the breakers matching ``names`` (keys or globs; None: all): ``(reset, names that matched
    nothing)``. What ``breakers reset`` does, and the dashboard's reset button."""
    if names is None:
        return storage.delete(None), []
    found, missing = _match(names, _known(storage))
    return (storage.delete(found) if found else []), missing


def _reset(args: argparse.Namespace) -> int:
    if not args.all and not args.names:
        print("breakers reset: give NAME ... or --all", file=sys.stderr)
        return 2
    storage = _storage(args)
    known = _known(storage)
    done, missing = reset_breakers(storage, None if args.all else args.names)
    return _report(args, "reset", done, missing, list(known))


def _known(storage: JsonStoreStorage) -> dict[str, str]:
    """Record name -> breaker key of every stored breaker."""
    return {name: str(rec["key"] or name) for name, rec in storage.load_all().items()}


def _force(args: argparse.Namespace) -> int:
    storage = _storage(args)
    known = _known(storage)
    exact = [n for n in args.names if not any(c in n for c in "*?[")]
    found, missing = _match(args.names, known)
    # forcing a breaker that has not failed yet is allowed for exact names: a shared one, so that
    # the hooks of every session honour it
    new = [n for n in exact if n not in found and n not in known.values()]
    missing = [n for n in missing if n not in exact]
    now = time.time()
    force = machine.force_open if args.force == "open" else machine.force_close
    for name in new:
        target = Target(name, SHARED, "", machine.BreakerParams())
        storage.apply(target.name, target.tagged(lambda rec: force(rec, now)))
    for name in found:
        breaker = CircuitBreaker(name, storage=storage, fail_open=False)
        if args.force == "open":
            breaker.force_open()
        else:
            breaker.force_close()
    return _report(args, f"forced {args.force}", found + new, missing, list(known))


COMMAND = Command(
    help="list, reset or force the circuit breakers",
    description="Circuit breakers of the project's tools (state in .claude/state/breakers.json).",
    options=(_actions,),
)
