"""Spans in ``.claude/logs/traces.jsonl``, linked across hook processes, and a correlation context.

The shape of a Claude Code session as a trace::

    session <session_id>                     trace_id = the session id (hex), span "session"
    └─ turn <prompt_id>                      UserPromptSubmit .. Stop
       └─ tool Bash <tool_use_id>            PreToolUse .. PostToolUse / PostToolUseFailure
          ├─ PreToolUse                      one span per hook process
          │  └─ handler hooks.guard_bash     one span per handler that ran
          └─ PostToolUse

Hook processes share no memory, so the ids of the shared spans are *derived*: the trace id from the
session id (a UUID is used as is), the session, turn and tool-call span ids from a hash of the
session id, prompt id and tool use id. Each hook process writes its own span complete. A shared span
is written as a ``span_start`` record by the process that opens it (SessionStart, UserPromptSubmit,
PreToolUse) and a ``span_end`` record by the one that closes it (SessionEnd, Stop,
PostToolUse/PostToolUseFailure, or PreToolUse itself when it denied the call); the reader merges the
two. A shared span whose records are missing (hooks installed mid-session, a crash, a denial by
another hook) is reconstructed by the reader from its children: every span record lists its shared
``ancestors`` as ``[span_id, name]`` pairs, parent first, for that purpose. See :mod:`lib.trace_tree` for the reader, :class:`TraceNode` and
the OTLP/JSON export.

The correlation context (:func:`start_trace`, :func:`start_span`, :func:`get_correlation_id`,
:func:`get_trace_context`) is a ``contextvars`` variable: code deep inside a handler or the hypervisor
can stamp the current trace and correlation id on what it logs or publishes.

Stdlib only at import time (``TraceNode`` and the export load pydantic lazily).
"""

from __future__ import annotations

import os
import time

from lib.hook_logger import iso_timestamp
from lib.jsonl import JsonlWriter

try:  # the C blake2 the hashlib module wraps; importing hashlib itself costs ~3 ms (OpenSSL)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - other interpreters
    from hashlib import blake2b

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from contextvars import ContextVar, Token

    from lib.trace_tree import TraceNode, build_trees, to_otlp

__all__ = [
    "TRACE_FILE",
    "Span",
    "TraceNode",
    "TraceRecorder",
    "build_trees",
    "derived_span_id",
    "get_correlation_id",
    "get_trace_context",
    "new_span_id",
    "new_trace_id",
    "parse_traceparent",
    "start_span",
    "start_trace",
    "to_otlp",
    "trace_id_for_session",
]

TRACE_FILE = "traces.jsonl"
STATUSES = ("unset", "ok", "error")


def new_trace_id() -> str:
    """A random 16-byte trace id (32 hex digits)."""
    return os.urandom(16).hex()


def new_span_id() -> str:
    """A random 8-byte span id (16 hex digits)."""
    return os.urandom(8).hex()


def trace_id_for_session(session_id: str) -> str:
    """The trace id of a Claude Code session: its UUID as 32 hex digits, else a hash of it."""
    compact = session_id.replace("-", "").lower()
    if len(compact) == 32 and all(c in "0123456789abcdef" for c in compact) and compact != "0" * 32:
        return compact
    return blake2b(b"trace:" + session_id.encode(), digest_size=16).hexdigest()


_HEX = frozenset("0123456789abcdef")


def parse_traceparent(value: str | None) -> tuple[str, str] | None:
    """``(trace_id, parent span id)`` of a W3C ``traceparent`` value (Claude Code passes one to hook
    processes as ``TRACEPARENT``), or None when it is absent or not well formed.

    Follows the W3C Trace Context rules: ``VERSION-TRACEID-SPANID-FLAGS`` in lowercase hex, version
    ``ff`` and all-zero ids invalid, a later version may append ``-...`` fields. No ``re`` (hot path).
    """
    if not value or len(value) < 55:
        return None
    version, trace_id, span_id, flags = value[:2], value[3:35], value[36:52], value[53:55]
    if value[2] != "-" or value[35] != "-" or value[52] != "-" or version == "ff":
        return None
    if len(value) > 55 and (version == "00" or value[55] != "-"):
        return None
    hexes = version + trace_id + span_id + flags
    if not _HEX.issuperset(hexes) or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return trace_id, span_id


def derived_span_id(kind: str, key: str) -> str:
    """The span id every process computes alike for a shared span (``kind`` = session, turn, tool)."""
    return blake2b(f"{kind}:{key}".encode(), digest_size=8).hexdigest()


class Span:
    """One unit of work with a start, an end, a status and attributes."""

    __slots__ = (
        "ancestors",
        "attributes",
        "correlation_id",
        "end_ns",
        "name",
        "parent_span_id",
        "session_id",
        "span_id",
        "start_ns",
        "status",
        "status_message",
        "trace_id",
    )

    def __init__(
        self,
        name: str,
        *,
        trace_id: str,
        span_id: str | None = None,
        parent_span_id: str | None = None,
        ancestors: list[list[str]] | None = None,
        start_ns: int | None = None,
        end_ns: int | None = None,
        status: str = "unset",
        status_message: str | None = None,
        attributes: dict[str, object] | None = None,
        session_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.name = name
        self.trace_id = trace_id
        self.span_id = span_id or new_span_id()
        self.parent_span_id = parent_span_id
        self.ancestors = ancestors
        self.start_ns = time.time_ns() if start_ns is None else start_ns
        self.end_ns = end_ns
        self.status = status
        self.status_message = status_message
        self.attributes: dict[str, object] = attributes if attributes is not None else {}
        self.session_id = session_id
        self.correlation_id = correlation_id

    def set_attribute(self, key: str, value: object) -> None:
        """Set one attribute (plain JSON values)."""
        self.attributes[key] = value

    def end(self, status: str = "ok", message: str | None = None, end_ns: int | None = None) -> None:
        """Close the span (``status``: ok, error or unset)."""
        if status not in STATUSES:
            raise ValueError(f"span status must be one of {', '.join(STATUSES)}, got {status!r}")
        self.status = status
        self.status_message = message
        self.end_ns = time.time_ns() if end_ns is None else end_ns

    @property
    def traceparent(self) -> str:
        """The W3C ``traceparent`` header value that makes this span the parent."""
        return f"00-{self.trace_id}-{self.span_id}-01"

    def context(self) -> dict[str, str]:
        """The span as the trace context in effect (what :func:`get_trace_context` returns)."""
        out = {
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "correlation_id": self.correlation_id or "",
            "traceparent": self.traceparent,
        }
        if self.parent_span_id:
            out["parent_span_id"] = self.parent_span_id
        if self.session_id:
            out["session_id"] = self.session_id
        return out

    @property
    def duration_ms(self) -> float | None:
        """Milliseconds between start and end, None while open."""
        return None if self.end_ns is None else round((self.end_ns - self.start_ns) / 1e6, 3)

    def to_record(self, kind: str = "span") -> dict[str, object]:
        """The JSONL record: ``span`` (complete) or ``span_start`` (end written later)."""
        record: dict[str, object] = {
            "type": kind,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "parent_span_id": self.parent_span_id,
            "name": self.name,
            "start_time": iso_timestamp(self.start_ns),
            "start_ns": self.start_ns,
        }
        if self.ancestors:
            record["ancestors"] = self.ancestors
        if kind == "span" and self.end_ns is not None:
            record["end_time"] = iso_timestamp(self.end_ns)
            record["end_ns"] = self.end_ns
            record["duration_ms"] = self.duration_ms
        if kind == "span":
            record["status"] = self.status
            if self.status_message:
                record["status_message"] = self.status_message
        record["attributes"] = self.attributes
        if self.session_id:
            record["session_id"] = self.session_id
        if self.correlation_id:
            record["correlation_id"] = self.correlation_id
        return record


def span_end_record(
    trace_id: str,
    span_id: str,
    *,
    end_ns: int,
    status: str = "ok",
    status_message: str | None = None,
    attributes: Mapping[str, object] | None = None,
    session_id: str | None = None,
) -> dict[str, object]:
    """The record that closes a span opened by another process (``span_start``)."""
    record: dict[str, object] = {
        "type": "span_end",
        "trace_id": trace_id,
        "span_id": span_id,
        "end_time": iso_timestamp(end_ns),
        "end_ns": end_ns,
        "status": status,
    }
    if status_message:
        record["status_message"] = status_message
    if attributes:
        record["attributes"] = dict(attributes)
    if session_id:
        record["session_id"] = session_id
    return record


class TraceRecorder:
    """Appends span records to ``traces.jsonl`` through :class:`lib.jsonl.JsonlWriter`.

    With ``deferred=True`` the records are kept until :meth:`flush` (or :meth:`close`) writes them
    all with one lock and one ``write``: what a hook process does with its few spans.
    """

    __slots__ = ("_attributes", "_pending", "_writer")

    def __init__(
        self,
        path: str,
        *,
        max_bytes: int = 10 * 1024 * 1024,
        backups: int = 5,
        writer: JsonlWriter | None = None,
        deferred: bool = False,
        attributes: dict[str, object] | None = None,
    ) -> None:
        self._writer = writer or JsonlWriter(path, max_bytes=max_bytes, backups=backups)
        self._pending: list[dict[str, object]] | None = [] if deferred else None
        self._attributes = attributes  # added to every record (the hypervisor's run and phase)

    @property
    def path(self) -> str:
        """The trace file."""
        return self._writer.path

    def _append(self, record: dict[str, object]) -> None:
        if self._attributes:
            own = record.get("attributes")
            record["attributes"] = {**self._attributes, **(own if isinstance(own, dict) else {})}
        if self._pending is None:
            self._writer.append(record)
        else:
            self._pending.append(record)

    def record(self, span: Span) -> None:
        """Write a complete span."""
        self._append(span.to_record("span"))

    def start(self, span: Span) -> None:
        """Write the opening record of a span another process will close."""
        self._append(span.to_record("span_start"))

    def end(self, trace_id: str, span_id: str, **kwargs: object) -> None:
        """Write the closing record of a span (see :func:`span_end_record`)."""
        self._append(span_end_record(trace_id, span_id, **kwargs))  # type: ignore[arg-type]

    def flush(self) -> None:
        """Write the records kept back (deferred mode) in one append."""
        if self._pending:
            records, self._pending = self._pending, []
            self._writer.append_many(records)

    def close(self) -> None:
        """Write what is kept back, then close the file."""
        try:
            self.flush()
        finally:
            self._writer.close()


# -- correlation context ---------------------------------------------------------------------------


_context_vars: dict[str, ContextVar[Span | None]] = {}


def _current() -> ContextVar[Span | None]:
    """The context variable holding the innermost scoped span, whose ids are the trace context in
    effect (``contextvars`` is imported on first use: a hook process that never opens a scoped span
    does not pay for it)."""
    var = _context_vars.get("current")
    if var is None:
        from contextvars import ContextVar

        var = _context_vars.setdefault("current", ContextVar("claude_hooks_trace", default=None))
    return var


def get_correlation_id() -> str | None:
    """The correlation id of the current trace, or None outside any."""
    span = _current().get()
    return (span.correlation_id or "") if span is not None else None


def get_trace_context() -> dict[str, str] | None:
    """The current trace context (trace_id, span_id, correlation_id, traceparent...), or None."""
    span = _current().get()
    return span.context() if span is not None else None


class _SpanScope:
    """Context manager: makes a span current, ends it (error if the block raised) and records it."""

    __slots__ = ("_recorder", "_token", "span")

    def __init__(self, span: Span, correlation_id: str, recorder: TraceRecorder | None) -> None:
        self.span = span
        self._recorder = recorder
        self._token: Token[Span | None] | None = None
        span.correlation_id = correlation_id

    def __enter__(self) -> Span:
        self._token = _current().set(self.span)
        return self.span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if self._token is not None:
            _current().reset(self._token)
            self._token = None
        if self.span.end_ns is None:
            if exc is not None:
                self.span.end("error", f"{type(exc).__name__}: {exc}")
            else:
                self.span.end("ok")
        if self._recorder is not None:
            self._recorder.record(self.span)


def start_trace(
    operation: str,
    *,
    session_id: str | None = None,
    correlation_id: str | None = None,
    recorder: TraceRecorder | None = None,
    attributes: dict[str, object] | None = None,
    clock: Callable[[], int] = time.time_ns,
) -> _SpanScope:
    """Begin a new trace whose root span is ``operation``; use as ``with start_trace("x") as span:``.

    The trace id is the session's (see :func:`trace_id_for_session`) when ``session_id`` is given.
    The correlation id defaults to the root span id. With a ``recorder`` the span is written when the
    block ends.
    """
    trace_id = trace_id_for_session(session_id) if session_id else new_trace_id()
    span = Span(operation, trace_id=trace_id, start_ns=clock(), attributes=attributes, session_id=session_id)
    return _SpanScope(span, correlation_id or span.span_id, recorder)


def start_span(
    name: str,
    *,
    recorder: TraceRecorder | None = None,
    attributes: dict[str, object] | None = None,
    clock: Callable[[], int] = time.time_ns,
) -> _SpanScope:
    """A child span of the current one (a new trace if there is none), with the same correlation id."""
    parent = _current().get()
    if parent is None:
        return start_trace(name, recorder=recorder, attributes=attributes, clock=clock)
    span = Span(
        name,
        trace_id=parent.trace_id,
        parent_span_id=parent.span_id,
        start_ns=clock(),
        attributes=attributes,
        session_id=parent.session_id,
    )
    return _SpanScope(span, parent.correlation_id or "", recorder)


def __getattr__(name: str) -> object:
    """``TraceNode``, ``build_trees`` and ``to_otlp`` live in :mod:`lib.trace_tree` (pydantic, loaded lazily)."""
    if name in ("TraceNode", "build_trees", "to_otlp", "load_traces"):
        import lib.trace_tree

        return getattr(lib.trace_tree, name)
    raise AttributeError(f"module 'lib.trace_manager' has no attribute {name!r}")
