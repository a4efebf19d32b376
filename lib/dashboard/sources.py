"""Where the dashboard's facts come from: the project's logs, followed from stored offsets, and its
state, read through the same functions ``python -m lib status`` uses.

:class:`ProjectSource` owns one :class:`lib.jsonl.JsonlReader` per log (``hooks.jsonl``,
``events.jsonl``, or the Redis stream when ``[backend]`` names one); :meth:`ProjectSource.poll` feeds what was appended since the last call into a
:class:`lib.dashboard.model.DashboardModel`. State (breakers, rate limits, sessions, transcript
marks) is read fresh on every snapshot, on the configured backend (files or Redis).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import orjson

from lib.backends import backend_url, open_bus, open_state
from lib.breaker.storage import JsonStoreStorage
from lib.cli._state import LOCK_TIMEOUT, project_config
from lib.cli.status import collect
from lib.dashboard.model import DashboardModel
from lib.event_bus import BUS_FILE
from lib.hook_logger import LOG_FILE
from lib.jsonl import JsonlReader
from lib.paths import Paths
from lib.rate_limiter import RateLimiter
from lib.trace_manager import TRACE_FILE
from lib.trace_tree import TraceNode, build_trees
from lib.usage.marks import MARKS_STORE
from lib.usage.report import ReportCache, usage_report

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.backends.redis_bus import RedisEventBus
    from lib.store import StateStore

__all__ = ["ProjectSource", "flatten_trace"]

STATE_FILES = ("breakers.json", "ratelimits.json", "sessions.json", f"{MARKS_STORE}.json")


_SKIP: dict[str, object] = {}


def _whole_object(line: bytes) -> None:
    """Raise ValueError (the reader skips and counts the line) unless ``line`` looks like one whole
    JSON object: a torn record has no closing brace."""
    stripped = line.strip()
    if not (stripped.startswith(b"{") and stripped.endswith(b"}")):
        raise ValueError("not a whole JSON object")


def _runtime_records(line: bytes) -> object:
    """Parse only the runtime's records of ``hooks.jsonl`` (handlers' own records are not shown)."""
    _whole_object(line)
    return orjson.loads(line) if b'"runtime"' in line else _SKIP


def _breaker_events(line: bytes) -> object:
    """Parse only the bus events the dashboard counts (the others are counted, not parsed)."""
    _whole_object(line)
    return orjson.loads(line) if b'"breaker.opened"' in line else _SKIP


class ProjectSource:
    """One project's logs and state, as the dashboard reads them."""

    def __init__(self, args: argparse.Namespace, paths: Paths) -> None:
        self.paths = paths
        self.args = args
        self.config: dict[str, object] = {}
        self._stores: tuple[JsonStoreStorage, RateLimiter, StateStore] | None = None
        self._bus: RedisEventBus | None = None
        self._bus_last: int | None = None
        self._usage_cache = ReportCache()
        self._readers = {
            "hooks": JsonlReader(os.path.join(paths.log_dir, LOG_FILE), decoder=_runtime_records),
            "events": JsonlReader(os.path.join(paths.log_dir, BUS_FILE), decoder=_breaker_events),
        }
        self._skipped = dict.fromkeys(self._readers, 0)

    def poll(self, model: DashboardModel, limit: int | None = None) -> int:
        """Feed the records appended since the last poll (at most ``limit`` per log) into ``model``;
        how many there were."""
        total = 0
        self.stores()  # loads the config once the project exists
        bus = self._stream_bus()
        for source, reader in self._readers.items():
            if source == "events" and bus is not None:
                total += self._poll_stream(model, bus, limit)
                continue
            entries = reader.read(limit)
            model.ingest_many(source, (e.record for e in entries))
            model.count_skipped(source, reader.skipped - self._skipped[source])
            self._skipped[source] = reader.skipped
            total += len(entries)
        return total

    def _stream_bus(self) -> RedisEventBus | None:
        """The Redis stream when ``[backend]`` names one (the bus is not in ``events.jsonl`` then)."""
        if self._bus is None and backend_url(self.config) != "file":
            from lib.backends.redis_bus import RedisEventBus

            bus = open_bus(self.paths.log_dir, self.config, project_dir=self.paths.project_dir)
            self._bus = bus if isinstance(bus, RedisEventBus) else None
        return self._bus

    def _poll_stream(self, model: DashboardModel, bus: RedisEventBus, limit: int | None) -> int:
        count = 0
        for event in bus.tail(since=self._bus_last):
            model.ingest_event(event.to_dict())
            self._bus_last = event.id
            count += 1
            if limit is not None and count >= limit:
                break
        return count

    def state_fingerprint(self) -> tuple[object, ...]:
        """Changes when a state file changes (files backend; always new on another backend)."""
        if backend_url(self.config) != "file":
            return (time.monotonic() // 2,)
        out: list[object] = []
        for name in STATE_FILES:
            try:
                st = os.stat(os.path.join(self.paths.state_dir, name))
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append(None)
        return tuple(out)

    def stores(self) -> tuple[JsonStoreStorage, RateLimiter, StateStore] | None:
        """The breaker, rate-limit and transcript-mark stores on the configured backend; None while
        the project directory does not exist (opening a store, or loading the config, would create
        ``.claude/state`` in it)."""
        if self._stores is None and os.path.isdir(self.paths.project_dir):
            self.config = project_config(self.args, "the dashboard uses the defaults")[1]

            def warn(message: str) -> None:
                print(f"warning: {message}", file=sys.stderr)

            def store(name: str) -> StateStore:
                return open_state(self.paths, self.config, name, lock_timeout=LOCK_TIMEOUT, warn=warn)

            self._stores = (
                JsonStoreStorage(store("breakers")),
                RateLimiter(store("ratelimits")),
                store(MARKS_STORE),
            )
        return self._stores

    def state(self, now: float | None = None) -> dict[str, Any]:
        """Breakers, rate limits and sessions (as ``status --json`` has them) and the usage report."""
        stores = self.stores()
        if stores is None:
            return {"breakers": [], "rate_limits": [], "sessions": [], "usage": usage_report({}).as_dict()}
        breakers, limits, marks = stores
        data = collect(
            self.paths.state_dir, now=now, include_ended=True, breaker_storage=breakers, rate_limiter=limits
        )
        data["usage"] = usage_report(marks, self.config, cache=self._usage_cache).as_dict()
        return data

    def reset_breaker(self, name: str) -> tuple[list[str], list[str]]:
        """Reset breaker ``name`` (exact or a glob), as ``python -m lib breakers reset NAME`` does."""
        from lib.cli.breakers import reset_breakers

        stores = self.stores()
        return reset_breakers(stores[0], [name]) if stores is not None else ([], [name])

    def trace(self, session_id: str) -> list[TraceNode]:
        """The span trees of session ``session_id`` (only its lines of ``traces.jsonl`` are parsed)."""
        needle = orjson.dumps(session_id)

        def decode(line: bytes) -> object:
            return orjson.loads(line) if needle in line else {}

        reader = JsonlReader(os.path.join(self.paths.log_dir, TRACE_FILE), decoder=decode)
        try:
            records = [e.record for e in reader if e.record.get("session_id") == session_id]
        finally:
            reader.close()
        return build_trees(records)

    def close(self) -> None:
        """Close the log readers (and the stream's connection)."""
        for reader in self._readers.values():
            reader.close()
        if self._bus is not None:
            self._bus.close()


def flatten_trace(roots: list[TraceNode], limit: int = 3000) -> dict[str, Any]:
    """Span trees as waterfall rows: depth, offset from the trace start and duration in ms."""
    rows: list[dict[str, Any]] = []
    if not roots:
        return {"spans": rows, "total_ms": 0.0, "truncated": False}
    start = min(r.start_ns for r in roots)
    end = start
    for root in roots:
        for depth, node in root.walk():
            node_end = node.end_ns if node.end_ns is not None else node.start_ns
            end = max(end, node_end)
            if len(rows) < limit:
                rows.append(
                    {
                        "name": node.name,
                        "depth": depth,
                        "offset_ms": round((node.start_ns - start) / 1e6, 3),
                        "duration_ms": node.duration_ms,
                        "status": node.status,
                        "status_message": node.status_message,
                        "open": node.end_ns is None,
                    }
                )
    return {"spans": rows, "total_ms": round((end - start) / 1e6, 3), "truncated": len(rows) >= limit}
