"""``python -m lib events``: the event bus (``.claude/logs/events.jsonl``).

python -m lib events                          # every event kept, oldest first
python -m lib events -f --topic 'tool.*'      # follow tool events
python -m lib events --after 18342 --json     # events after an id (ids are bus positions)
python -m lib events --consumers              # the durable consumers and how far they got
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from typing import Any

from lib.cli._command import Command
from lib.cli._observe import (
    add_common,
    color,
    dump_json,
    entries,
    escape,
    log_paths,
    parse_since,
    printer,
    session_matches,
    short_id,
    short_time,
)
from lib.event_bus import BUS_FILE, Event, list_consumers, topic_matches
from lib.paths import Paths
from lib.plain_data import json_list

__all__ = ["COMMAND", "format_event"]

_TOPIC_COLORS = {"tool.failure": "red", "tool.denied": "yellow", "hook.error": "red", "breaker.opened": "red"}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--topic",
        action="append",
        metavar="PATTERN",
        help="only topics matching PATTERN (tool.*); repeatable",
    )
    parser.add_argument("--tool", metavar="NAME", help="only events about this tool")
    parser.add_argument(
        "--phase",
        metavar="ID",
        help="only events of this hypervisor phase (its run's transitions and its Claude session's hooks)",
    )
    parser.add_argument("--run", metavar="RUN_ID", help="only events of this hypervisor run")
    parser.add_argument("--after", type=int, metavar="ID", help="only events after this event id")
    parser.add_argument("--consumers", action="store_true", help="list the durable consumers instead")


def format_event(event: Event, colored: bool = False) -> str:
    """One event as a terminal line."""
    payload = dict(event.payload)
    tool = payload.pop("tool_name", None)
    payload.pop("tool_use_id", None)
    payload.pop("session_id", None)
    details = " ".join(f"{k}={v}" for k, v in payload.items() if v not in (None, "", [], {}))
    parts = [
        color(short_time(event.ts), "dim", colored),
        color(f"{event.id:>10}", "dim", colored),
        color(short_id(event.session_id), "cyan", colored),
        color(f"{event.topic:<18}", _TOPIC_COLORS.get(event.topic, "blue"), colored),
    ]
    if tool:
        parts.append(escape(tool))
    if details:  # prompt previews, subjects, commands: escaped, so a payload cannot forge a line
        details = escape(details)
        parts.append(details if len(details) <= 160 else details[:159] + "…")
    return "  ".join(parts)


def _of(event: Event, key: str, value: str) -> bool:
    """Whether a hypervisor event (``phase``/``run_id``) or a hook event of a session the
    hypervisor started (``hypervisor_phase``/``hypervisor_run_id``) belongs to ``value``."""
    payload = event.payload
    found = payload.get(f"hypervisor_{key}") if event.source != "hypervisor" else payload.get(key)
    return found is not None and str(found) == value


def _consumers(args: argparse.Namespace, log_dir: str) -> int:
    consumers = list_consumers(log_dir)
    if args.json:
        for name, state in consumers.items():
            print(dump_json({"name": name, **state}))
        return 0
    if not consumers:
        print(f"No durable consumers ({os.path.join(log_dir, 'consumers')}).")
        return 0
    for name, state in consumers.items():
        acked = state.get("acked")
        print(
            escape(
                f"{name:<40} committed={state.get('committed')}"
                f"  acked-ahead={len(json_list(acked) or ())}  updated={state.get('updated', '-')}"
            )
        )
    return 0


def _redis_bus(paths: Paths) -> Any:
    """The Redis stream bus when ``[backend]`` names one, else ``None`` (the file is read directly)."""
    from lib.backends import backend_url, open_bus
    from lib.config import ConfigError, load_config

    try:
        config = load_config(paths, write_cache=False)
    except ConfigError:
        return None
    if backend_url(config) == "file":
        return None
    bus = open_bus(paths.log_dir, config, project_dir=paths.project_dir)
    from lib.backends.redis_client import BackendUnavailable

    try:
        bus.length()  # type: ignore[union-attr]
    except BackendUnavailable as exc:
        print(f"warning: {exc}; showing the local file bus {paths.log_dir}", file=sys.stderr)
        return None
    return bus


def _events(args: argparse.Namespace, path: str, bus: Any) -> Iterator[Event]:
    if bus is not None:
        yield from bus.tail(follow=args.follow, since=args.after)
        return
    for entry in entries(path, follow=args.follow, start=args.after):
        event = Event.from_record(entry.record, entry.position)
        if event is not None:
            yield event


def run(args: argparse.Namespace) -> int:
    """Print the matching events (from the Redis stream when that is the configured backend)."""
    paths = log_paths(args)
    bus = _redis_bus(paths)
    if args.consumers:
        if bus is not None:
            for name, state in bus.consumers().items():
                print(
                    dump_json({"name": name, **state})
                    if args.json
                    else f"{escape(name):<40} {dump_json(state)}"
                )
            return 0
        return _consumers(args, paths.log_dir)
    path = os.path.join(paths.log_dir, BUS_FILE)
    since = parse_since(args.since)
    emit = printer(args, format_event, Event.to_dict)
    shown = 0
    for event in _events(args, path, bus):
        if args.after is not None and event.id <= args.after:
            continue
        if since is not None and event.ts < since:
            continue
        if not session_matches(args.session, event.session_id):
            continue
        if args.topic and not any(topic_matches(p, event.topic) for p in args.topic):
            continue
        if args.tool and event.payload.get("tool_name") != args.tool:
            continue
        if args.phase is not None and not _of(event, "phase", args.phase):
            continue
        if args.run is not None and not _of(event, "run_id", args.run):
            continue
        emit(event)
        shown += 1
    if not shown and not args.json and bus is None and not os.path.exists(path):
        print(f"No events yet ({path}).")
    return 0


COMMAND = Command(
    help="show the event bus",
    description="Events of .claude/logs/events.jsonl (and its rotated files).",
    options=(add_common, _options),
)
