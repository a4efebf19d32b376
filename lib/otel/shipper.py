"""The OTLP shipper: follows ``traces.jsonl`` and pushes its spans to a collector over OTLP/HTTP.

Hooks start it detached (:func:`lib.detached.start_worker`) when ``[otel]`` has an endpoint;
``python -m lib otel ship [--follow]`` runs it by hand. It is a durable consumer of the trace file:
its position (a :mod:`lib.jsonl` position, valid across rotations) and the spans opened but not yet
closed (``span_start`` records whose ``span_end`` a later hook writes) are saved in
``.claude/state/otel-shipper.json`` (a :class:`lib.store.JsonStore`) in one atomic write, after the
collector accepted the batch. So a crash or a kill at any point re-sends at most the batch that was
in flight, and only if the collector had accepted it in the instant before the position was saved;
nothing read is ever skipped.

A batch is up to ``batch_size`` records from the saved position: complete ``span`` records are sent
as they are, a ``span_start`` waits in the saved state for its ``span_end`` and is sent merged with it.
A failure that may pass (connection refused, timeout, HTTP 408/429/5xx) is retried with exponential
backoff (1 s up to 30 s) from the same position; one that cannot (another 4xx) drops that batch with
an error record in ``hooks.jsonl``. Payloads are built with the official OpenTelemetry protobuf
classes (:mod:`lib.otel.convert`); ``http/json`` sends their OTLP/JSON form.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from lib.config import as_dict
from lib.detached import OTEL_SHIPPER, DetachedWorker
from lib.hook_logger import HookLogger
from lib.jsonl import JsonlReader
from lib.otel.convert import export_request, merge_records, request_json
from lib.otel.settings import OtelSettings
from lib.paths import Paths
from lib.redaction import redact_text
from lib.store import open_store
from lib.trace_manager import TRACE_FILE

__all__ = ["STATE_NAME", "ExportError", "Shipper", "post_otlp"]

STATE_NAME = "otel-shipper"
POLL_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 30.0
PENDING_MAX_AGE_NS = 7 * 24 * 3600 * 10**9
"""A span opened this long ago whose end never came is dropped from the saved state."""


class ExportError(Exception):
    """An export failed; ``retry`` says whether the same batch may succeed later."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def post_otlp(settings: OtelSettings, body: bytes, content_type: str) -> int:
    """POST one export request; returns the HTTP status or raises :class:`ExportError` (whose text
    never carries the URL or a header value)."""
    request = urllib.request.Request(settings.traces_url, data=body, method="POST")
    request.add_header("Content-Type", content_type)
    request.add_header("User-Agent", "claude-hooks-otel/1")
    for name, value in settings.headers.items():
        request.add_header(name, value)
    secrets = [settings.traces_url, *settings.headers.values()]

    def scrub(text: str) -> str:
        for secret in sorted(secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return redact_text(text)

    try:
        with urllib.request.urlopen(request, timeout=settings.timeout) as response:
            response.read(1 << 20)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        retry = exc.code >= 500 or exc.code in (408, 429)
        raise ExportError(f"HTTP {exc.code} {scrub(str(exc.reason))}", retry=retry) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise ExportError(f"{type(reason).__name__}: {scrub(str(reason))}", retry=True) from None


def _runtime_version() -> str:
    try:
        from importlib.metadata import version

        return version("claude-hooks-runtime")
    except Exception:
        return "0"


@dataclass
class ShipReport:
    """What a :meth:`Shipper.run` did."""

    spans: int = 0
    requests: int = 0
    failures: int = 0
    dropped: int = 0
    already_running: bool = False
    last_error: str | None = None


def _pending_key(record: Mapping[str, object]) -> str:
    return f"{record.get('trace_id')}:{record.get('span_id')}"


def _partial_span(end: Mapping[str, object]) -> dict[str, object]:
    """A ``span_end`` whose opening record is not in the file (hooks installed mid-session): sent
    as a zero-length span marked ``claude_hooks.partial``."""
    attributes = dict(as_dict(end.get("attributes")))
    name = f"tool {attributes['tool.name']}" if attributes.get("tool.name") else "span"
    if "session.end_reason" in attributes:
        name = "session"
    attributes["claude_hooks.partial"] = True
    return {**end, "type": "span", "name": name, "start_ns": end.get("end_ns"), "attributes": attributes}


class Shipper(DetachedWorker):
    """Ships one project's spans (see the module doc)."""

    def __init__(
        self,
        paths: Paths,
        config: Mapping[str, object],
        *,
        environ: Mapping[str, str] | None = None,
        post: Callable[[OtelSettings, bytes, str], int] = post_otlp,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.paths = paths
        self.version = _runtime_version()
        self.settings = OtelSettings.from_config(
            config, os.environ if environ is None else environ, version=self.version
        )
        self.linger = self.settings.linger
        self.path = os.path.join(paths.log_dir, TRACE_FILE)
        self.store = open_store(paths.state_dir, STATE_NAME)
        self.post = post
        self.clock = clock
        self.sleep = sleep
        self.logger = HookLogger.from_config(paths.log_dir, config, hook="otel.shipper")

    def _collect(self) -> tuple[list[dict[str, object]], dict[str, dict[str, object]], int | None, int]:
        """``(complete spans, pending opened spans, next position, records read)`` of the next batch."""
        saved = self.store.read()
        position = saved.get("position")
        pending = {k: dict(as_dict(v)) for k, v in as_dict(saved.get("pending")).items() if as_dict(v)}
        spans: list[dict[str, object]] = []
        with JsonlReader(self.path, start=position if isinstance(position, int) else None) as reader:
            entries = reader.read(limit=self.settings.batch_size)
            next_position = entries[-1].next_position if entries else None
        for entry in entries:
            record = entry.record
            kind = record.get("type")
            if kind == "span":
                spans.append(dict(record))
            elif kind == "span_start":
                pending[_pending_key(record)] = dict(record)
            elif kind == "span_end":
                start = pending.pop(_pending_key(record), None)
                spans.append(merge_records(start, record) if start is not None else _partial_span(record))
        return spans, pending, next_position, len(entries)

    def _save(self, position: int, pending: dict[str, dict[str, object]], shipped: int) -> None:
        now_ns = time.time_ns()
        kept = {
            k: v
            for k, v in pending.items()
            if not isinstance(v.get("start_ns"), int) or now_ns - int(v["start_ns"]) < PENDING_MAX_AGE_NS  # type: ignore[call-overload]
        }
        with self.store.transaction() as state:
            state["position"] = position
            state["pending"] = kept
            total = state.get("shipped")
            state["shipped"] = (total if isinstance(total, int) else 0) + shipped

    def _encode(self, spans: list[dict[str, object]]) -> tuple[bytes, str, int]:
        request, count = export_request(spans, self.settings.resource, self.version)
        if self.settings.protocol == "http/json":
            return json.dumps(request_json(request)).encode(), "application/json", count
        return request.SerializeToString(), "application/x-protobuf", count

    def ship_batch(self, report: ShipReport) -> int:
        """Export the next batch; returns the records consumed (0: nothing new). Raises
        :class:`ExportError` for a failure that may pass (nothing is saved then)."""
        spans, pending, next_position, consumed = self._collect()
        if next_position is None:
            return 0
        count = 0
        if spans:
            body, content_type, count = self._encode(spans)
            try:
                self.post(self.settings, body, content_type)
            except ExportError as exc:
                if exc.retry:
                    raise
                report.dropped += count
                self.logger.error(
                    f"the collector refused {count} span(s) ({exc}); they are dropped",
                    spans=count,
                    result=str(exc),
                )
                count = 0
            else:
                report.requests += 1
                report.spans += count
                self.logger.debug(f"shipped {count} span(s)", spans=count)
        self._save(next_position, pending, count)
        return consumed

    def run(self, *, follow: bool = False, stop: Callable[[], bool] | None = None) -> ShipReport:
        """Ship what is there (``follow``: and what comes, until idle for ``linger_seconds``)."""
        report = ShipReport()
        failures = [0]

        def step() -> bool | float:
            try:
                consumed = self.ship_batch(report)
            except ExportError as exc:
                failures[0] += 1
                report.failures += 1
                report.last_error = str(exc)
                if failures[0] == 1 or failures[0] % 10 == 0:
                    self.logger.warning(
                        f"could not ship spans ({exc}); retrying", result=str(exc), attempts=failures[0]
                    )
                return min(2.0 ** (failures[0] - 1), MAX_BACKOFF_SECONDS)
            failures[0] = 0
            return consumed > 0

        def start() -> tuple[Callable[[], bool | float], Callable[[], bool]]:
            # while the collector stays down, the shipper exits after linger_seconds (a later hook
            # starts a new one); has_work is only asked then
            return step, lambda: failures[0] == 0 and self._has_new()

        report.already_running = not self.run_locked(
            OTEL_SHIPPER, start, self.logger.close, poll=POLL_SECONDS, follow=follow, stop=stop
        )
        return report

    def _has_new(self) -> bool:
        position = self.store.read().get("position")
        with JsonlReader(self.path, start=position if isinstance(position, int) else None) as reader:
            return bool(reader.read(limit=1))

    def status(self) -> dict[str, object]:
        """The saved progress (for the CLI)."""
        saved = self.store.read()
        pending = saved.get("pending")
        return {
            "endpoint": self.settings.traces_url,
            "position": saved.get("position"),
            "shipped": saved.get("shipped", 0),
            "open_spans": len(as_dict(pending)),
        }
