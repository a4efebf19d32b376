"""What every hook invocation leaves behind: a log record, spans, bus events and a session heartbeat.

:func:`record_invocation` is called by :mod:`lib.runtime` once the answer is printed, with the
:class:`lib.runtime.Invocation` of the process. It writes

- ``hooks.jsonl``: one record for the invocation (event, tool, decision, handlers, timings, the tool's
  input and output redacted and truncated) plus the records handlers logged through ``event.log``;
- ``traces.jsonl``: the hook span with one child per handler, and the opening or closing record of
  the shared session / turn / tool-call span (see :mod:`lib.trace_manager`);
- ``events.jsonl``: the events derived from the invocation (``session.start``, ``session.end``,
  ``prompt.submit``, ``tool.pre``, ``tool.post``, ``tool.failure``, ``tool.denied``,
  ``permission.waiting`` (PermissionRequest, or a Notification that waits for the user),
  ``session.stop`` (Stop), ``hook.error``) and the ones handlers published (``breaker.*``,
  ``ratelimit.exceeded``...);
- ``sessions.json`` (state store): SessionStart registers the session, SessionEnd closes it, every
  other hook refreshes its heartbeat (at most once per :data:`HEARTBEAT_SECONDS`, so the hot path
  only reads the file).

Each of the four is independent: a failure in one is reported on stderr and the others are still
written. Then, when ``[notify]`` or ``[otel]`` is configured, the detached sender / shipper is
started if none runs (:mod:`lib.detached`). A hook started with ``TRACEPARENT`` (W3C trace context,
passed by Claude Code) writes its hook and handler spans into that trace, under the given span.
Stdlib only (hot path).
"""

from __future__ import annotations

import os
import sys

from lib.config import config_section
from lib.hook_logger import LOG_FILE, HookLogger, LogLevel, iso_timestamp, resolve_level
from lib.jsonl import JsonlWriter
from lib.plain_data import json_list, json_object, nested_object
from lib.redaction import redact, redact_text, truncate
from lib.trace_manager import (
    TRACE_FILE,
    Span,
    TraceRecorder,
    derived_span_id,
    new_trace_id,
    parse_traceparent,
    trace_id_for_session,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    class Invocation(Protocol):
        """What :func:`record_invocation` reads of one hook run; :class:`lib.runtime.Invocation` has
        it. Declared here so that this module does not import the runtime that calls it."""

        config: dict[str, object]
        correlation_id: str
        duration_ms: float
        error: str | None
        event_name: str
        events: list[tuple[str, dict[str, object]]]
        exit_code: int
        handler_records: list[dict[str, object]]
        log_dir: str
        outcome: dict[str, object] | None
        payload: dict[str, object]
        project_dir: str
        session_id: str | None
        start_ns: int
        state_dir: str
        stdin_ms: float
        tool_name: str | None
        tool_use_id: str | None
        warnings: list[str]


__all__ = ["HEARTBEAT_SECONDS", "SESSIONS_STORE", "Settings", "decision_of", "record_invocation"]

SESSIONS_STORE = "sessions"
HEARTBEAT_SECONDS = 5.0
"""A session's ``last_seen`` is rewritten only when older than this (the read is lock-free)."""
SESSION_RETENTION_SECONDS = 7 * 24 * 3600
"""Ended or silent sessions older than this are dropped from ``sessions.json`` at the next SessionStart."""

WAITING_NOTIFICATIONS = frozenset(
    ("permission_prompt", "idle_prompt", "elicitation_dialog", "elicitation_url_dialog", "agent_needs_input")
)
"""``Notification`` types that mean Claude Code waits for the user (published as ``permission.waiting``)."""

_TOOL_EVENTS = ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied")


class Settings:
    """The ``logging`` section of the config, as plain values with defaults."""

    __slots__ = ("backups", "hypervisor", "level", "lock_timeout", "max_bytes", "max_field_chars", "redact")

    def __init__(self, config: Mapping[str, object]) -> None:
        cfg = config_section(config, "logging")
        st = config_section(config, "state")
        self.level = resolve_level(cfg.get("level"))  # type: ignore[arg-type]
        self.max_field_chars = _int(cfg.get("max_field_chars"), 2000)
        self.max_bytes = _int(cfg.get("rotate_max_bytes"), 10 * 1024 * 1024)
        self.backups = _int(cfg.get("rotate_backups"), 5)
        self.redact = cfg.get("redact") is not False
        lock = st.get("lock_timeout_seconds", 1.0)
        self.lock_timeout = float(lock) if isinstance(lock, (int, float)) else 1.0
        # A session started by the hypervisor (python -m lib.hypervisor) carries its run and phase:
        # they go on this invocation's log record, spans and events.
        run_id = os.environ.get("HYPERVISOR_RUN_ID")
        self.hypervisor: dict[str, str] = (
            {"hypervisor_run_id": run_id, "hypervisor_phase": os.environ.get("HYPERVISOR_PHASE", "")}
            if run_id
            else {}
        )


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def decision_of(event_name: str, outcome: Mapping[str, object] | None) -> tuple[str | None, str | None]:
    """``(decision, reason)`` from the JSON object the runtime printed.

    Decisions: ``allow``/``deny``/``ask``/``defer`` (PreToolUse, PermissionRequest), ``block``
    (Stop, UserPromptSubmit, PostToolUse...), ``stop`` (``continue: false``), ``context`` (only
    context added), or None (no objection).
    """
    if not outcome:
        return None, None
    spec = json_object(outcome.get("hookSpecificOutput")) or {}
    permission = spec.get("permissionDecision")
    if isinstance(permission, str):
        return permission, _str(spec.get("permissionDecisionReason"))
    nested = json_object(spec.get("decision"))
    if nested is not None and isinstance(nested.get("behavior"), str):
        return str(nested["behavior"]), _str(nested.get("message"))
    if outcome.get("continue") is False:
        return "stop", _str(outcome.get("stopReason"))
    if outcome.get("decision") == "block":
        return "block", _str(outcome.get("reason"))
    if spec.get("additionalContext") or outcome.get("systemMessage"):
        return "context", None
    return None, None


def _first_line(text: object, limit: int = 300) -> str | None:
    if not isinstance(text, str) or not text:
        return None
    return truncate(redact_text(text.strip().splitlines()[0] if text.strip() else text), limit)


# -- bus events --------------------------------------------------------------------------------------


def _event_fields(name: str, payload: Mapping[str, object], settings: Settings) -> dict[str, object]:
    """``hook.event``'s body for an event without a topic of its own: its name, the tool, and the
    event's own scalar fields (``message``, ``notification_type``, ``file_path``, ...), redacted and cut."""
    from lib.protocol.events import EVENTS

    spec = EVENTS.get(name)
    body: dict[str, object] = {"event": name}
    for field, _types, _required in spec.fields if spec is not None else ():
        value = payload.get(field)
        if field == "tool_name" or isinstance(value, (str, bool, int, float)):
            body[field] = redact(value, max_chars=300) if settings.redact else value
        elif (items := json_list(value)) is not None:
            body[f"{field}_count"] = len(items)
    return body


def derived_events(inv: Invocation, settings: Settings) -> list[tuple[str, dict[str, object]]]:
    """The events an invocation implies, in order, plus the ones its handlers published."""
    payload = inv.payload
    name = inv.event_name
    decision, reason = decision_of(name, inv.outcome)
    base: dict[str, object] = {}
    if inv.tool_name:
        base["tool_name"] = inv.tool_name
    if inv.tool_use_id:
        base["tool_use_id"] = inv.tool_use_id
    derived: list[tuple[str, dict[str, object]]] = []
    after: list[tuple[str, dict[str, object]]] = []
    if inv.error:
        derived.append(("hook.error", {"event": name, "error": redact_text(inv.error)}))
    if name == "SessionStart":
        derived.append(
            (
                "session.start",
                {
                    "source": payload.get("source"),
                    "model": payload.get("model"),
                    "cwd": payload.get("cwd"),
                    "permission_mode": payload.get("permission_mode"),
                    "agent_type": payload.get("agent_type"),
                },
            )
        )
    elif name == "SessionEnd":
        derived.append(("session.end", {"reason": payload.get("reason")}))
    elif name == "UserPromptSubmit":
        prompt = payload.get("prompt")
        text = prompt if isinstance(prompt, str) else ""
        body: dict[str, object] = {
            "prompt_id": payload.get("prompt_id"),
            "prompt_chars": len(text),
            "prompt_preview": truncate(redact_text(text), 200) if settings.redact else truncate(text, 200),
        }
        if decision == "block":
            body["blocked"] = True
            body["reason"] = reason
        derived.append(("prompt.submit", body))
    elif name == "PreToolUse":
        tool_input = payload.get("tool_input")
        derived.append(
            (
                "tool.pre",
                {
                    **base,
                    "decision": decision,
                    "tool_input": redact(tool_input, max_chars=300, max_items=20)
                    if settings.redact
                    else tool_input,
                },
            )
        )
        already = any(topic == "tool.denied" for topic, _ in inv.events)
        if decision == "deny" and not already:
            by = [str(h.get("name")) for h in inv.handler_records if h.get("decision") == "deny"]
            after.append(("tool.denied", {**base, "reason": _first_line(reason, 500), "by": by}))
    elif name == "PostToolUse":
        derived.append(("tool.post", {**base, "duration_ms": payload.get("duration_ms")}))
    elif name == "PermissionRequest" or (
        name == "Notification" and payload.get("notification_type") in WAITING_NOTIFICATIONS
    ):
        waiting: dict[str, object] = {**base, "hook_event": name}
        for key in ("notification_type", "title", "message"):
            if isinstance(payload.get(key), str):
                waiting[key] = _first_line(payload.get(key))
        derived.append(("permission.waiting", waiting))
    elif name == "Stop":
        derived.append(("session.stop", {"stop_hook_active": payload.get("stop_hook_active") is True}))
    elif name == "PostToolUseFailure":
        derived.append(
            (
                "tool.failure",
                {
                    **base,
                    "error": _first_line(payload.get("error")),
                    "is_interrupt": payload.get("is_interrupt") is True,
                    "duration_ms": payload.get("duration_ms"),
                },
            )
        )
    else:
        derived.append(("hook.event", _event_fields(name, payload, settings)))
    handler_events: list[tuple[str, dict[str, object]]] = []
    for topic, body in inv.events:
        clean = redact(dict(body), max_chars=settings.max_field_chars) if settings.redact else dict(body)
        handler_events.append((topic, json_object(clean) or {}))
    return derived + handler_events + after


def _publish(inv: Invocation, settings: Settings) -> list[tuple[str, dict[str, object]]]:
    events = derived_events(inv, settings)
    if not events:
        return events
    if settings.hypervisor:
        for _, body in events:
            body.update(settings.hypervisor)
    from lib.backends import open_bus

    bus = open_bus(
        inv.log_dir,
        inv.config,
        project_dir=inv.project_dir,
        source="hooks",
        session_id=inv.session_id,
        correlation_id=inv.correlation_id or None,
        max_bytes=settings.max_bytes,
        backups=settings.backups,
        lock_timeout=settings.lock_timeout,
    )
    try:
        bus.publish_many(events)  # one lock and one write (file), one round trip (Redis)
    finally:
        bus.close()
    return events


# -- log records -------------------------------------------------------------------------------------


def _message(inv: Invocation, decision: str | None, reason: str | None) -> str:
    name = inv.event_name
    subject = f"{name} {inv.tool_name}" if inv.tool_name else name
    if inv.error:
        return f"{subject}: {inv.error}"
    payload = inv.payload
    if name == "PostToolUseFailure":
        err = _first_line(payload.get("error"), 200)
        text = f"{subject} failed" + (f": {err}" if err else "")
    elif name == "SessionStart":
        text = f"{subject} ({payload.get('source', 'unknown')})"
    elif name == "SessionEnd":
        text = f"{subject} ({payload.get('reason', 'unknown')})"
    else:
        text = subject
    if decision and decision != "context":
        text += f": {decision}" + (f" ({_first_line(reason, 200)})" if reason else "")
    return text


def _log(inv: Invocation, settings: Settings) -> None:
    payload = inv.payload
    decision, reason = decision_of(inv.event_name, inv.outcome)
    handler_failed = any(h.get("error") for h in inv.handler_records)
    level = (
        LogLevel.ERROR if inv.error else LogLevel.WARNING if inv.warnings or handler_failed else LogLevel.INFO
    )
    writer = JsonlWriter(
        os.path.join(inv.log_dir, LOG_FILE),
        max_bytes=settings.max_bytes,
        backups=settings.backups,
        lock_timeout=settings.lock_timeout,
    )
    logger = HookLogger(
        writer.path,
        writer=writer,
        level=settings.level,
        max_field_chars=settings.max_field_chars,
        redact=settings.redact,
        event=inv.event_name,
        session_id=inv.session_id,
        tool_use_id=inv.tool_use_id,
        correlation_id=inv.correlation_id or None,
        tool=inv.tool_name,
        hypervisor_run_id=settings.hypervisor.get("hypervisor_run_id"),
        hypervisor_phase=settings.hypervisor.get("hypervisor_phase"),
    )
    try:
        fields: dict[str, object] = {}
        if decision:
            fields["decision"] = decision
        if reason:
            fields["reason"] = reason
        for key in ("tool_input", "tool_response", "error", "is_interrupt", "prompt", "source", "reason",
                    "model", "prompt_id", "permission_mode", "agent_id", "agent_type", "stop_hook_active",
                    "last_assistant_message", "notification_type", "message", "trigger"):  # fmt: skip
            if key in payload and not (key == "reason" and "reason" in fields):
                fields["end_reason" if key == "reason" and inv.event_name == "SessionEnd" else key] = payload[
                    key
                ]
        if "duration_ms" in payload:
            fields["tool_duration_ms"] = payload["duration_ms"]
        if inv.handler_records:
            fields["handlers"] = inv.handler_records
        if inv.warnings:
            fields["warnings"] = inv.warnings
        if inv.outcome is not None:
            fields["outcome"] = inv.outcome
        fields["exit_code"] = inv.exit_code
        fields["payload_bytes"] = getattr(inv, "payload_bytes", None)
        fields["stdin_ms"] = inv.stdin_ms  # Claude Code's writing of stdin, left out of duration_ms
        if logger.enabled(LogLevel.DEBUG):
            fields["payload"] = payload
        records: list[dict[str, object]] = []
        if level >= logger.level:
            message = _message(inv, decision, reason)
            records.append(
                logger.build(level, message, duration_ms=inv.duration_ms, ts_ns=inv.start_ns, fields=fields)
            )
        for rec in getattr(inv, "log_records", ()) or ():
            raw_level = rec.get("level", "info")
            try:
                rec_level = LogLevel.parse(raw_level if isinstance(raw_level, (str, int)) else "info")
            except ValueError:
                rec_level = LogLevel.INFO
            if rec_level < logger.level:
                continue
            records.append(
                logger.bind(hook=str(rec.get("handler") or "handler")).build(
                    rec_level, str(rec.get("message", "")), fields=json_object(rec.get("fields")) or {}
                )
            )
        writer.append_many(records)  # one lock, one write
    finally:
        writer.close()


# -- spans -------------------------------------------------------------------------------------------


def _spans(inv: Invocation, settings: Settings) -> None:
    payload = inv.payload
    name = inv.event_name
    sid = inv.session_id
    start_ns = inv.start_ns
    end_ns = start_ns + int((inv.stdin_ms + inv.duration_ms) * 1_000_000)  # the process's whole run
    trace_id = trace_id_for_session(sid) if sid else new_trace_id()
    decision, reason = decision_of(name, inv.outcome)

    chain: list[list[str]] = []  # shared ancestors of the hook span, parent first
    session_span = derived_span_id("session", sid) if sid else None
    prompt_id = _str(payload.get("prompt_id"))
    turn_span = derived_span_id("turn", f"{sid}:{prompt_id}") if prompt_id and sid else None
    tool_span = derived_span_id("tool", inv.tool_use_id) if inv.tool_use_id else None
    tool_label = f"tool {inv.tool_name or 'unknown'}"
    tool_attrs: dict[str, object] = {"tool.name": inv.tool_name, "tool.use_id": inv.tool_use_id}
    if tool_span is not None and name in _TOOL_EVENTS:
        chain.append([tool_span, tool_label])
    if turn_span is not None and name not in ("SessionStart", "SessionEnd"):
        chain.append([turn_span, "turn"])
    if session_span is not None:
        chain.append([session_span, "session"])

    recorder = TraceRecorder(
        os.path.join(inv.log_dir, TRACE_FILE),
        writer=JsonlWriter(
            os.path.join(inv.log_dir, TRACE_FILE),
            max_bytes=settings.max_bytes,
            backups=settings.backups,
            lock_timeout=settings.lock_timeout,
        ),
        deferred=True,  # one lock, one write for all of this process's span records
        attributes={f"hypervisor.{k.removeprefix('hypervisor_')}": v for k, v in settings.hypervisor.items()},
    )

    def open_shared(
        label: str, span_id: str, attributes: dict[str, object], correlation_id: str | None = None
    ) -> None:
        """Write the start of a span a later hook process closes; it sits under the rest of ``chain``."""
        recorder.start(
            Span(
                label,
                trace_id=trace_id,
                span_id=span_id,
                ancestors=chain[1:],
                parent_span_id=chain[1][0] if len(chain) > 1 else None,
                start_ns=start_ns,
                session_id=sid,
                correlation_id=correlation_id,
                attributes=attributes,
            )
        )

    def close_shared(
        span_id: str, status: str, message: str | None = None, attributes: dict[str, object] | None = None
    ) -> None:
        """Write the end of a span an earlier hook process opened."""
        recorder.end(
            trace_id,
            span_id,
            end_ns=end_ns,
            status=status,
            status_message=message,
            attributes=attributes,
            session_id=sid,
        )

    try:
        # the shared span this event opens or closes
        if name == "SessionStart" and session_span is not None:
            open_shared(
                "session",
                session_span,
                {
                    "session.id": sid,
                    "session.source": payload.get("source"),
                    "session.model": payload.get("model"),
                    "project.dir": inv.project_dir,
                },
            )
        elif name == "SessionEnd" and session_span is not None:
            close_shared(session_span, "ok", attributes={"session.end_reason": payload.get("reason")})
        elif name == "UserPromptSubmit" and turn_span is not None:
            open_shared("turn", turn_span, {"prompt.id": prompt_id})
        elif name in ("Stop", "StopFailure") and turn_span is not None:
            failed = name == "StopFailure"
            close_shared(
                turn_span, "error" if failed else "ok", _first_line(payload.get("error")) if failed else None
            )
        elif name == "PreToolUse" and tool_span is not None:
            open_shared(tool_label, tool_span, dict(tool_attrs), correlation_id=inv.tool_use_id)
            if decision == "deny":
                close_shared(
                    tool_span,
                    "error",
                    f"denied: {_first_line(reason, 200) or 'by a PreToolUse hook'}",
                    {**tool_attrs, "tool.outcome": "denied"},
                )
        elif name == "PostToolUse" and tool_span is not None:
            close_shared(
                tool_span,
                "ok",
                attributes={
                    **tool_attrs,
                    "tool.outcome": "success",
                    "tool.duration_ms": payload.get("duration_ms"),
                },
            )
        elif name == "PostToolUseFailure" and tool_span is not None:
            interrupted = payload.get("is_interrupt") is True
            close_shared(
                tool_span,
                "error",
                _first_line(payload.get("error"), 200),
                {
                    **tool_attrs,
                    "tool.outcome": "interrupted" if interrupted else "failure",
                    "tool.duration_ms": payload.get("duration_ms"),
                },
            )

        # the span of this hook process, with one child per handler
        attributes: dict[str, object] = {"hook.event": name, "hook.exit_code": inv.exit_code}
        if inv.tool_name:
            attributes["tool.name"] = inv.tool_name
        if inv.tool_use_id:
            attributes["tool.use_id"] = inv.tool_use_id
        if decision:
            attributes["hook.decision"] = decision
        if reason:
            attributes["hook.reason"] = _first_line(reason, 300)
        if inv.error:
            attributes["hook.error"] = redact_text(inv.error)
        joined = parse_traceparent(os.environ.get("TRACEPARENT"))  # Claude Code's own trace, if any
        if joined is not None:  # the hook span and its handlers join it, under the given span
            attributes["session.id"] = sid
        hook = Span(
            name,
            trace_id=joined[0] if joined else trace_id,
            parent_span_id=joined[1] if joined else chain[0][0] if chain else None,
            ancestors=None if joined else chain or None,
            start_ns=start_ns,
            end_ns=end_ns,
            status="error" if inv.error else "ok",
            status_message=redact_text(inv.error) if inv.error else None,
            attributes=attributes,
            session_id=sid,
            correlation_id=inv.correlation_id or None,
        )
        recorder.record(hook)
        cursor = start_ns
        for rec in inv.handler_records:
            duration = rec.get("duration_ms")
            dur_ns = int(float(duration) * 1_000_000) if isinstance(duration, (int, float)) else 0
            h_start = rec.get("start_ns")
            h_start_ns = h_start if isinstance(h_start, int) else cursor
            error = rec.get("error")
            handler_attrs: dict[str, object] = {"handler.name": rec.get("name")}
            if rec.get("decision"):
                handler_attrs["handler.decision"] = rec.get("decision")
            recorder.record(
                Span(
                    f"handler {rec.get('name')}",
                    trace_id=hook.trace_id,
                    parent_span_id=hook.span_id,
                    start_ns=h_start_ns,
                    end_ns=h_start_ns + dur_ns,
                    status="error" if error else "ok",
                    status_message=redact_text(str(error)) if error else None,
                    attributes=handler_attrs,
                    session_id=sid,
                )
            )
            cursor = h_start_ns + dur_ns
    finally:
        recorder.close()


# -- session registry --------------------------------------------------------------------------------


def _sessions(inv: Invocation, settings: Settings) -> None:
    sid = inv.session_id
    if not sid:
        return
    from lib.store import open_store

    store = open_store(inv.state_dir, SESSIONS_STORE, lock_timeout=settings.lock_timeout)
    now_ns = inv.start_ns + int((inv.stdin_ms + inv.duration_ms) * 1_000_000)
    now = now_ns / 1e9
    name = inv.event_name
    if name not in ("SessionStart", "SessionEnd"):
        known = json_object(store.read().get("sessions"))
        entry = json_object(known.get(sid)) if known is not None else None
        if entry is not None and entry.get("status") == "active":
            seen = entry.get("last_seen_epoch")
            if isinstance(seen, (int, float)) and now - seen < HEARTBEAT_SECONDS:
                return  # fresh enough: no lock, no write
    payload = inv.payload
    with store.transaction() as state:
        sessions = nested_object(state, "sessions")
        entry = json_object(sessions.get(sid))
        if entry is None or (name == "SessionStart" and entry.get("status") == "ended"):
            entry = sessions[sid] = {
                "session_id": sid,
                "started_at": iso_timestamp(inv.start_ns),
                "started_epoch": inv.start_ns / 1e9,
                "source": payload.get("source") if name == "SessionStart" else "unknown",
            }
        entry["status"] = "ended" if name == "SessionEnd" else "active"
        entry["last_seen"] = iso_timestamp(now_ns)
        entry["last_seen_epoch"] = now
        entry["last_event"] = name
        cwd = _str(payload.get("cwd"))
        if cwd:
            entry["cwd"] = cwd
        entry["project_dir"] = inv.project_dir
        if name == "SessionStart":
            entry["source"] = payload.get("source")
            if payload.get("model"):
                entry["model"] = payload.get("model")
            for old_sid, old in list(sessions.items()):
                old_entry = json_object(old)
                last = old_entry.get("last_seen_epoch") if old_entry is not None and old_sid != sid else None
                if isinstance(last, (int, float)) and now - last > SESSION_RETENTION_SECONDS:
                    del sessions[old_sid]
        if name == "SessionEnd":
            entry["ended_at"] = iso_timestamp(now_ns)
            entry["end_reason"] = payload.get("reason")


# -- entry point -------------------------------------------------------------------------------------


def record_invocation(inv: Invocation) -> None:
    """Write the log record, spans, bus events and session heartbeat of one hook invocation.

    Never raises for a failing part: each failure is one warning line on stderr, and the other
    parts are still written.
    """
    settings = Settings(inv.config)
    published: list[tuple[str, dict[str, object]]] = []
    for label, part in (("log", _log), ("events", _publish), ("spans", _spans), ("sessions", _sessions)):
        try:
            written = part(inv, settings)
            if label == "events" and written:
                published = written
        except Exception as exc:
            sys.stderr.write(
                f"claude-hooks: warning: could not write the {label} of this {inv.event_name} invocation "
                f"to {inv.log_dir if label != 'sessions' else inv.state_dir}: {type(exc).__name__}: {exc}\n"
            )
    _start_workers(inv, published)


def _start_workers(inv: Invocation, published: list[tuple[str, dict[str, object]]]) -> None:
    """Start the detached notification sender / OTLP shipper when this invocation gave them work and
    none is running (a lock probe, never a wait; lib.detached is imported only when one is configured)."""
    notify, otel = config_section(inv.config, "notify"), config_section(inv.config, "otel")
    try:
        wanted = json_list(notify.get("topics")) if notify.get("active") else None
        start_notify = any(topic in wanted for topic, _ in published) if wanted else False
        start_otel = bool(otel.get("active"))
        if start_notify or start_otel:
            from lib.detached import NOTIFY_SENDER, OTEL_SHIPPER, start_worker

            if start_notify:
                start_worker(inv.state_dir, inv.project_dir, NOTIFY_SENDER)
            if start_otel:
                start_worker(inv.state_dir, inv.project_dir, OTEL_SHIPPER)
    except Exception as exc:
        sys.stderr.write(
            f"claude-hooks: warning: could not start a background sender: {type(exc).__name__}: {exc}\n"
        )
