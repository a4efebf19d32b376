"""Shared by the reading commands (logs, events, traces, metrics, status): where the files are, the
common filter options, time parsing and terminal formatting."""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC
from typing import Any, TypeVar

import orjson

from lib.cli._terminal import escape, escape_json
from lib.hook_logger import iso_timestamp
from lib.jsonl import Entry, JsonlReader
from lib.paths import Paths, resolve_paths

__all__ = [
    "add_common",
    "add_filters",
    "color",
    "dump_json",
    "entries",
    "escape",
    "log_file",
    "log_paths",
    "matching",
    "parse_since",
    "percentile",
    "printer",
    "short_time",
]

_T = TypeVar("_T")

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def log_paths(args: argparse.Namespace) -> Paths:
    """The project's paths (``--project`` or ``$CLAUDE_PROJECT_DIR`` or the current directory)."""
    return resolve_paths(getattr(args, "project", None))


def add_filters(parser: argparse.ArgumentParser) -> None:
    """The options every reading command shares: ``--session``, ``--since`` and ``--json``."""
    parser.add_argument("--session", metavar="ID", help="only this session (a prefix is enough)")
    parser.add_argument(
        "--since",
        metavar="WHEN",
        help="only records at or after WHEN: 10m, 2h, 3d, or an ISO time/date (UTC)",
    )
    parser.add_argument("--json", action="store_true", help="JSON lines instead of the pretty view")


def add_common(parser: argparse.ArgumentParser) -> None:
    """The options of a reading command that can keep printing: :func:`add_filters` and
    ``-f``/``--follow``."""
    add_filters(parser)
    parser.add_argument("-f", "--follow", action="store_true", help="keep printing new records")


def log_file(args: argparse.Namespace, name: str) -> str:
    """The path of the log file ``name`` (``hooks.jsonl``, ``events.jsonl``...) of the project."""
    return os.path.join(log_paths(args).log_dir, name)


def parse_since(value: str | None, now: float | None = None) -> str | None:
    """``--since`` as an ISO timestamp comparable with our records' ``ts`` (None: no bound)."""
    if not value:
        return None
    text = value.strip()
    match = _DURATION.match(text)
    if match:
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
        return iso_timestamp(int(((now if now is not None else time.time()) - seconds) * 1e9))
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(
            f"--since {value!r}: expected a duration like 10m, 2h, 3d or an ISO time like 2026-11-21T08:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return iso_timestamp(int(parsed.timestamp() * 1e9))


def matching(
    args: argparse.Namespace,
    path: str,
    since: str | None,
    accept: Callable[[Mapping[str, Any]], bool] | None = None,
    *,
    follow: bool = False,
    start: int | None = None,
) -> Iterator[Entry]:
    """The entries of the JSONL file ``path`` (see :func:`entries`) that :func:`filtered` keeps, for
    ``--session``."""
    return filtered(entries(path, follow=follow, start=start), since, accept, session=args.session)


def session_matches(wanted: str | None, session_id: object) -> bool:
    """``--session``: exact id or a prefix of it."""
    return wanted is None or (isinstance(session_id, str) and session_id.startswith(wanted))


def entries(
    path: str, *, follow: bool = False, start: int | None = None, poll_interval: float = 0.25
) -> Iterator[Entry]:
    """The records of a JSONL file and its rotated predecessors (then new ones, with ``follow``)."""
    reader = JsonlReader(path, start=start, decoder=orjson.loads)
    try:
        yield from reader.follow(poll_interval=poll_interval) if follow else reader
    finally:
        reader.close()


def dump_json(value: Any) -> str:
    """One compact JSON line, safe on a terminal (control characters escaped)."""
    return escape_json(orjson.dumps(value, default=str).decode())


def printer(
    args: argparse.Namespace, line: Callable[[_T, bool], str], data: Callable[[_T], object] | None = None
) -> Callable[[_T], None]:
    """What prints one item a line: with ``--json`` its JSON (``data(item)``, else the item itself),
    else ``line(item, colored)``, coloured only on a terminal; flushed at once with ``--follow``."""
    colored = use_color() and not args.json
    flush = bool(getattr(args, "follow", False))

    def emit(item: _T) -> None:
        print(dump_json(data(item) if data else item) if args.json else line(item, colored), flush=flush)

    return emit


def use_color(stream: Any = None) -> bool:
    """Colours only on a terminal, and never with ``NO_COLOR`` set."""
    stream = stream or sys.stdout
    return hasattr(stream, "isatty") and stream.isatty() and "NO_COLOR" not in os.environ


_CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35", "cyan": "36", "dim": "2"}


def color(text: object, name: str, enabled: bool) -> str:
    """``text``, its control characters escaped, in an ANSI colour when ``enabled``."""
    text = escape(text)
    return f"\033[{_CODES[name]}m{text}\033[0m" if enabled else text


def short_time(ts: object) -> str:
    """``2026-11-21T07:57:50.099867Z`` -> ``2026-11-21 07:57:50.099``."""
    if not isinstance(ts, str) or len(ts) < 19:
        return escape(ts)
    return escape(f"{ts[:10]} {ts[11:23]}")


def percentile(values: list[float], q: float) -> float:
    """The ``q`` percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return 0.0
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def filtered(
    items: Iterator[Entry],
    since: str | None,
    accept: Callable[[Mapping[str, Any]], bool] | None = None,
    *,
    session: str | None = None,
) -> Iterator[Entry]:
    """Entries at or after ``since`` (by their ``ts``, or a span's ``start_time``), of the ``--session``
    ``session`` (None: any), that ``accept`` keeps."""
    for entry in items:
        record = entry.record
        ts = record.get("ts") or record.get("start_time")
        if since is not None and isinstance(ts, str) and ts < since:
            continue
        if not session_matches(session, record.get("session_id")):
            continue
        if accept is None or accept(record):
            yield entry


def short_id(value: object, width: int = 8) -> str:
    """The first characters of an id, for tables."""
    return escape(str(value)[:width]) if value else "-"
