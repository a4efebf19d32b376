"""``python -m lib guards``: the guard settings and rules, the per-session off switch, dry runs.

    python -m lib guards [status] [--json]            # level, switches, sessions with guards off
    python -m lib guards off --session ID [--for 30m] # the user's escape hatch (ID, prefix or 'latest')
    python -m lib guards on --session ID
    python -m lib guards rules [--json]               # every rule and its decision per level
    python -m lib guards check 'rm -rf ~/x'           # what the guards would answer
    python -m lib guards check --tool Read /path/to/.env

Only the user runs this: the Bash guard denies Claude's attempts to switch the guards off.
``CLAUDE_HOOKS_GUARDS=off`` in the environment Claude Code starts with does the same for a session.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

from lib.cli._command import Command
from lib.cli._state import add_json_option, open_cli_state, print_table, project_config
from lib.cli._terminal import escape
from lib.plain_data import json_object, json_str_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.guards.settings import GuardSettings
    from lib.guards.verdict import Verdict
    from lib.paths import Paths

__all__ = ["COMMAND", "parse_duration"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?")


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``2h``, ``1d`` (or plain seconds) -> seconds; ``ValueError`` otherwise."""
    m = _DURATION.fullmatch(text.strip().lower())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"--for {text!r}: use a positive duration like 90s, 30m, 2h or 1d")
    factor = {"s": 1, "sec": 1, None: 1, "m": 60, "min": 60, "h": 3600, "d": 86400}[m.group(2)]
    return float(m.group(1)) * factor


def _actions(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="guards_action", metavar="ACTION")

    status = actions.add_parser("status", help="settings and sessions with guards off")
    add_json_option(status, action=True)
    status.set_defaults(func=run)

    off = actions.add_parser("off", help="switch the guards off for one Claude Code session")
    off.add_argument("--session", required=True, metavar="ID", help="session id, unique prefix, or 'latest'")
    off.add_argument(
        "--for", dest="duration", metavar="DURATION", help="only for this long (90s, 30m, 2h, 1d)"
    )
    off.add_argument("--note", default="", help="why (kept with the switch)")
    off.set_defaults(func=_off)

    on = actions.add_parser("on", help="switch the guards back on for a session")
    on.add_argument("--session", required=True, metavar="ID", help="session id, unique prefix, or 'latest'")
    on.set_defaults(func=_on)

    rules = actions.add_parser("rules", help="every rule with its decision per level")
    add_json_option(rules, action=True)
    rules.set_defaults(func=_rules)

    check = actions.add_parser("check", help="what the guards would answer for a command or a path")
    check.add_argument(
        "input", help="a Bash command, or a path (judged as a Read unless --tool says otherwise)"
    )
    check.add_argument(
        "--tool",
        help="Bash, Read, Write, Edit, Glob, Grep, ... (default: Read for a path such as .env, else Bash)",
    )
    check.add_argument("--cwd", help="working directory (default: the project)")
    check.add_argument("--level", choices=("strict", "standard", "permissive"), help="override guards.level")
    check.add_argument("--branch", help="current git branch (default: read from the repository)")
    add_json_option(check, action=True)
    check.set_defaults(func=_check)


def _context(args: argparse.Namespace) -> tuple[Paths, dict[str, object]]:
    return project_config(args, "using the default guard settings")


def _settings(config: dict[str, object]) -> GuardSettings:
    from lib.guards.settings import GuardSettings

    return GuardSettings(json_object(config.get("guards")) or {})


def _number(value: object) -> float:
    """A JSON number as a float; anything else (missing, hand-edited) as 0."""
    return float(value) if isinstance(value, (int, float)) else 0.0


def _resolve_session(args: argparse.Namespace, paths: Paths) -> str | None:
    """The full session id for --session (an id, a unique prefix of a known session, or 'latest')."""
    from lib.store import open_store

    wanted = str(args.session).strip()
    sessions = json_object(open_store(paths.state_dir, "sessions").read().get("sessions")) or {}
    if wanted == "latest":
        ranked = sorted(
            (e for e in map(json_object, sessions.values()) if e is not None),
            key=lambda e: -_number(e.get("last_seen_epoch")),
        )
        if not ranked:
            print("guards: no session seen yet in this project; give the session id", file=sys.stderr)
            return None
        return str(ranked[0].get("session_id"))
    if wanted in sessions:
        return wanted
    matches = [sid for sid in sessions if sid.startswith(wanted)]
    if len(matches) > 1:
        print(
            escape(f"guards: --session {wanted!r} matches several sessions: {', '.join(matches)}"),
            file=sys.stderr,
        )
        return None
    return matches[0] if matches else wanted  # a session not seen yet (guards off before it starts)


def run(args: argparse.Namespace) -> int:
    """The guard settings and the sessions with guards off (also the ``status`` action)."""
    from lib.guards import switch

    _, config = _context(args)
    settings = _settings(config)
    state = open_cli_state(args, switch.STORE).read()
    now = time.time()
    entries = json_object(state.get("off")) or {}
    off = {sid: entry for sid in entries if (entry := switch.session_off(state, sid, now)) is not None}
    doc: dict[str, object] = {
        "level": settings.level,
        "bash": settings.bash,
        "files": settings.files,
        "allowlist": settings.allowlist,
        "protected_paths": settings.protected_paths,
        "unprotected_paths": settings.unprotected_paths,
        "protected_branches": settings.protected_branches,
        "writable_dirs": settings.writable_dirs,
        "rules": settings.rules,
        "sessions_off": off,
        "env_off_here": switch.env_off(os.environ),
    }
    if getattr(args, "json", False):
        print(json.dumps(doc, indent=2))
        return 0
    print(f"level: {settings.level}   bash guard: {'on' if settings.bash else 'off'}   "
          f"file guard: {'on' if settings.files else 'off'}")  # fmt: skip
    for key in ("allowlist", "protected_paths", "unprotected_paths", "protected_branches", "writable_dirs"):
        values = json_str_list(doc[key])  # GuardSettings keeps these as lists of strings
        if values:
            print(f"{key}: {', '.join(values)}")
    if settings.rules:
        print("rules: " + ", ".join(f"{k}={v}" for k, v in settings.rules.items()))
    if not off:
        print("guards are on for every session")
    for sid, entry in off.items():
        until = entry.get("until")
        left = (
            f"for {max(0.0, float(until) - now) / 60:.0f} more min"
            if isinstance(until, (int, float))
            else "until switched on"
        )
        note = f" ({entry.get('note')})" if entry.get("note") else ""
        print(escape(f"guards OFF for session {sid} {left}{note}"))
    if doc["env_off_here"]:
        print(f"{switch.ENV} is set to off in this shell: a Claude Code started from it runs without guards")
    return 0


def _off(args: argparse.Namespace) -> int:
    from lib.guards import switch

    paths, _ = _context(args)
    try:
        until = time.time() + parse_duration(args.duration) if args.duration else None
    except ValueError as exc:
        print(f"guards off: {exc}", file=sys.stderr)
        return 2
    session = _resolve_session(args, paths)
    if session is None:
        return 1
    with open_cli_state(args, switch.STORE).transaction() as state:
        switch.turn_off(state, session, now=time.time(), until=until, note=args.note)
    span = f" for {args.duration}" if args.duration else " until `python -m lib guards on` is run"
    print(escape(f"guards off for session {session}{span}"))
    return 0


def _on(args: argparse.Namespace) -> int:
    from lib.guards import switch

    paths, _ = _context(args)
    session = _resolve_session(args, paths)
    if session is None:
        return 1
    with open_cli_state(args, switch.STORE).transaction() as state:
        was_off = switch.turn_on(state, session)
    print(escape(f"guards on for session {session}") + ("" if was_off else " (they were not off)"))
    return 0


def _rules(args: argparse.Namespace) -> int:
    from lib.guards.bash_policy import RULES as BASH_RULES
    from lib.guards.file_policy import RULES as FILE_RULES

    _, config = _context(args)
    settings = _settings(config)
    rows = [{"guard": "bash", **r.to_dict()} for r in BASH_RULES.values()]
    rows += [{"guard": "file", **r.to_dict()} for r in FILE_RULES.values()]
    for row in rows:
        override = settings.rules.get(str(row["id"]))
        if override:
            row["override"] = override
    if getattr(args, "json", False):
        print(json.dumps({"level": settings.level, "rules": rows}, indent=2))
        return 0
    table = [("GUARD", "RULE", "STRICT", "STANDARD", "PERMISSIVE", "WHAT IT CATCHES")]
    for row in rows:
        marker = f" (set to {row['override']})" if row.get("override") else ""
        table.append((str(row["guard"]), str(row["id"]), str(row["strict"]), str(row["standard"]),
                      str(row["permissive"]), str(row["title"]) + marker))  # fmt: skip
    print_table(table)
    print(f"\ncurrent level: {settings.level}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from lib.guards.git_head import current_branch
    from lib.guards.verdict import RANK

    paths, config = _context(args)
    settings = _settings(config)
    if args.level:
        settings.level = args.level
    project = paths.project_dir
    cwd = os.path.abspath(args.cwd) if args.cwd else project
    home, tmpdir = os.environ.get("HOME"), os.environ.get("TMPDIR")
    verdicts: list[Verdict] = []
    guessed = args.tool is None
    tool = args.tool or _tool_for(args.input, cwd)
    try:
        if tool == "Bash":
            branch = args.branch or current_branch(cwd)
            verdicts.append(settings.bash_policy().evaluate(args.input, cwd=cwd, project_dir=project, home=home,
                                                            tmpdir=tmpdir, git_branch=branch))  # fmt: skip
            tool_input: dict[str, object] = {"command": args.input}
        else:
            key = {"NotebookEdit": "notebook_path", "Glob": "pattern", "Grep": "path", "LS": "path"}.get(
                tool, "file_path"
            )
            tool_input = {key: args.input}
            if tool == "Grep":
                tool_input["pattern"] = "."
        verdicts.append(settings.file_policy().evaluate_tool(tool, tool_input, cwd=cwd, project_dir=project,
                                                             home=home, tmpdir=tmpdir))  # fmt: skip
    except ValueError as exc:
        print(f"guards check: {exc}", file=sys.stderr)
        return 2
    top = max(verdicts, key=lambda v: RANK[v.decision])
    if getattr(args, "json", False):
        answer = {"decision": top.decision, "tool": tool, "verdicts": [v.to_dict() for v in verdicts]}
        print(json.dumps(answer, indent=2))
    else:
        print(f"{top.decision} (level {settings.level})")
        if guessed and tool != "Bash":
            print(
                f"  judged as a {tool} of the path {args.input} (give --tool Bash to judge it as a command)"
            )
        for v in verdicts:
            if v.decision != "allow":
                print(f"  {escape(v.reason)}")
    return 0 if top.decision == "allow" else 1


_SHELL_SYNTAX = frozenset(" \t\n|&;<>()$`'\"*?[]{}=")


def _tool_for(text: str, cwd: str) -> str:
    """How ``guards check TEXT`` without ``--tool`` judges TEXT: a path (``.env``, ``src/app.py``,
    ``~/.ssh/id_rsa``, an existing file that is not executable) as a ``Read``, anything else as a Bash
    command line (``ls``, ``./deploy.sh``, ``rm -rf ~/x``)."""
    import shutil

    if not text.isprintable() or any(c in _SHELL_SYNTAX for c in text):  # (so a path echoed is plain text)
        return "Bash"
    path = os.path.join(cwd, os.path.expanduser(text))
    if os.path.isfile(path):  # a program given by its path runs; any other file is read
        return "Bash" if os.access(path, os.X_OK) and text.startswith(("./", "../", "/")) else "Read"
    if text.startswith(("./", "../")):
        return "Bash"
    if os.path.exists(path) or text.startswith(("~", "/", ".")) or "/" in text:  # .env, ~/.ssh/id_rsa
        return "Read"
    return "Read" if "." in text and shutil.which(text) is None else "Bash"


COMMAND = Command(
    help="guard settings, rules, the per-session off switch and dry runs",
    description="The built-in Bash and file guards ([guards] in .claude/hooks.toml).",
    options=(add_json_option, _actions),
)
