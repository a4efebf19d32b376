"""``python -m lib logs``: the structured log of the hooks (``.claude/logs/hooks.jsonl``).

python -m lib logs                       # everything kept, oldest first
python -m lib logs -f --level warning    # follow new warnings and errors
python -m lib logs --session 5921 --tool Bash --since 1h --json
"""

from __future__ import annotations

import argparse
import os
from collections import deque
from collections.abc import Mapping
from typing import Any

from lib.cli._command import Command
from lib.cli._observe import (
    add_common,
    color,
    escape,
    log_file,
    matching,
    parse_since,
    printer,
    short_id,
    short_time,
)
from lib.hook_logger import LOG_FILE, LogLevel
from lib.plain_data import json_list, json_object

__all__ = ["COMMAND", "format_record"]

_LEVEL_COLORS = {"debug": "dim", "info": "green", "warning": "yellow", "error": "red"}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tool", metavar="NAME", help="only records about this tool (e.g. Bash)")
    parser.add_argument("--level", metavar="LEVEL", help="only records at or above LEVEL (debug..error)")
    parser.add_argument("--event", metavar="NAME", help="only this hook event (e.g. PreToolUse)")
    parser.add_argument("-n", "--last", type=int, metavar="N", help="only the last N matching records")


def format_record(record: dict[str, Any], colored: bool = False) -> str:
    """One record as a terminal line."""
    level = str(record.get("level", "info"))
    parts = [
        color(short_time(record.get("ts")), "dim", colored),
        color(f"{level.upper():<7}", _LEVEL_COLORS.get(level, "dim"), colored),
        color(short_id(record.get("session_id")), "cyan", colored),
        escape(record.get("message", "")),
    ]
    duration = record.get("duration_ms")
    if isinstance(duration, (int, float)):
        parts.append(color(f"{duration:.1f}ms", "dim", colored))
    hook = record.get("hook")
    if hook and hook != "runtime":
        parts.insert(3, color(f"[{hook}]", "magenta", colored))
    fields = json_object(record.get("fields"))
    if fields is not None:
        handlers = json_list(fields.get("handlers"))
        if handlers:
            names = [str(h.get("name")) for h in map(json_object, handlers) if h is not None]
            parts.append(color("handlers=" + ",".join(names), "dim", colored))
        for key in ("warnings",):
            if fields.get(key):
                parts.append(color(f"{key}={fields[key]}", "yellow", colored))
    return "  ".join(parts)


def run(args: argparse.Namespace) -> int:
    """Print the matching records."""
    path = log_file(args, LOG_FILE)
    since = parse_since(args.since)
    try:
        min_level = LogLevel.parse(args.level) if args.level else None
    except ValueError as exc:
        raise SystemExit(f"--level: {exc}") from None

    def accept(record: Mapping[str, Any]) -> bool:
        if args.tool and record.get("tool") != args.tool:
            return False
        if args.event and record.get("event") != args.event:
            return False
        if min_level is not None:
            try:
                if LogLevel.parse(str(record.get("level", "info"))) < min_level:
                    return False
            except ValueError:
                return False
        return True

    emit = printer(args, format_record)
    if args.last is not None:
        found = matching(args, path, since, accept)
        tail = deque((e.record for e in found), maxlen=max(args.last, 0))
        for record in tail:
            emit(record)
        if not args.follow:
            return 0
        from lib.jsonl import JsonlReader

        with JsonlReader(path) as reader:
            list(reader)
            start = reader.position
        for entry in matching(args, path, since, accept, follow=True, start=start):
            emit(entry.record)
        return 0
    shown = 0
    for entry in matching(args, path, since, accept, follow=args.follow):
        emit(entry.record)
        shown += 1
    if not shown and not args.json and not os.path.exists(path):
        print(f"No log yet ({path}).")
    return 0


COMMAND = Command(
    help="show the hooks' structured log",
    description="Records of .claude/logs/hooks.jsonl (and its rotated files): what Claude did and "
    "what the hooks decided.",
    options=(add_common, _options),
)
