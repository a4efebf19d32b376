"""``python -m lib tasks``: the tasks Claude kept (TodoWrite, TaskCreate/TaskUpdate), per session.

python -m lib tasks                      # every session, most recent first
python -m lib tasks --session 5921294c   # one session (a prefix is enough; 'latest' works)
python -m lib tasks --status in_progress --all --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from lib.cli._command import Command
from lib.cli._state import add_json_option, open_cli_state, print_table
from lib.cli._terminal import escape, escape_json
from lib.redaction import redact_text

__all__ = ["COMMAND"]

_STATUS_ORDER = ("in_progress", "pending", "completed", "deleted")


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--session", metavar="ID", help="one session: its id, a unique prefix, or 'latest'")
    parser.add_argument("--status", choices=_STATUS_ORDER, help="only tasks with this status")
    parser.add_argument("--all", action="store_true", help="include deleted tasks")


def _ago(epoch: object, now: float) -> str:
    if not isinstance(epoch, (int, float)) or isinstance(epoch, bool):
        return "?"
    seconds = max(0.0, now - float(epoch))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _pick_session(
    sessions: list[tuple[str, dict[str, object]]], wanted: str
) -> list[tuple[str, dict[str, object]]]:
    if wanted == "latest":
        return sessions[:1]
    exact = [s for s in sessions if s[0] == wanted]
    return exact or [s for s in sessions if s[0].startswith(wanted)]


def run(args: argparse.Namespace) -> int:
    """List the captured tasks per session."""
    from lib.tasks import STORE, list_sessions, session_tasks

    store = open_cli_state(args, STORE)
    state = store.read()
    sessions = list_sessions(state)
    if args.session:
        sessions = _pick_session(sessions, args.session)
        if len(sessions) != 1:
            problem = "matches several sessions" if sessions else "matches no session with captured tasks"
            print(f"tasks: --session {args.session!r} {problem}", file=sys.stderr)
            return 1
    out: list[tuple[str, dict[str, object], list[dict[str, object]]]] = []
    for sid, entry in sessions:
        tasks = session_tasks(state, sid, include_deleted=args.all or args.status == "deleted")
        if args.status:
            tasks = [t for t in tasks if t.get("status") == args.status]
        out.append((sid, entry, tasks))
    path = getattr(store, "path", "-")
    if args.json:
        doc = {
            "state_file": path,
            "sessions": [
                {
                    "session_id": sid,
                    "updated": e.get("updated"),
                    "first_seen": e.get("first_seen"),
                    "tasks": tasks,
                }
                for sid, e, tasks in out
            ],
        }
        print(escape_json(json.dumps(doc, indent=2, ensure_ascii=False)))
        return 0
    if not out:
        print(f"No tasks captured yet ({path}).")
        return 0
    now = time.time()
    for i, (sid, entry, tasks) in enumerate(out):
        if i:
            print()
        counts = {s: sum(1 for t in tasks if t.get("status") == s) for s in _STATUS_ORDER}
        summary = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items() if n)
        print(
            escape(f"Session {sid} (updated {_ago(entry.get('updated'), now)}): {len(tasks)} task(s)")
            + (f", {summary}" if summary else "")
        )
        if not tasks:
            continue
        rows = [("ID", "STATUS", "SUBJECT")]
        for t in tasks:
            subject = " ".join(redact_text(str(t.get("subject") or "")).split())
            rows.append((str(t.get("id")), str(t.get("status")), subject[:100]))
        print_table(rows, indent="  ")
    return 0


COMMAND = Command(
    help="list the tasks captured per session",
    description="Tasks and todo items Claude kept, mirrored by the tasks hook (.claude/state/tasks.json).",
    options=(_options, add_json_option),
)
