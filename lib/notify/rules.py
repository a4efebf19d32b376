"""Which bus events notify, what the message says, and the quiet period and de-duplication.

Pure logic: plain values in, plain values out, an explicit ``now``; the sender
(:mod:`lib.notify.sender`) keeps :class:`RuleState` in its durable consumer's saved state.

Rules (``[notify]``):

- ``events`` picks the topics. Unset, it is every topic of :data:`lib.notify.config.NOTIFY_TOPICS`,
  with ``tool.denied`` only at ``[guards] level = "strict"``.
- ``tool.denied`` by the circuit breaker alone does not notify: the ``breaker.opened`` that caused it
  did (one message per opening, not one per refused call).
- ``session.stop`` notifies when the session has run ``stop_after_seconds`` or longer (a Stop after a
  long session; 0: every Stop). A Stop re-run by a blocking Stop hook (``stop_hook_active``) never does.
- De-duplication: the same topic and subject (breaker key, tool and reason, notification text) in
  one session notifies once per ``dedupe_seconds``.
- Quiet period: per session and topic, at most one notification every ``quiet_seconds``; what is
  held back is counted and the next message says how many.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lib.config import as_dict, config_section
from lib.notify.config import NOTIFY_TOPICS
from lib.plain_data import fields_dict
from lib.redaction import redact, redact_text, truncate

__all__ = ["Notification", "RuleState", "Rules", "notification_for"]

_BREAKER_ONLY = frozenset({"breaker.check"})
#: The fields of a :class:`Notification` in its webhook body, before ``details`` (``subject`` only
#: de-duplicates: it is not sent).
_BODY_FIELDS = ("event", "session_id", "project", "title", "message", "event_id", "ts")


@dataclass(frozen=True)
class Notification:
    """One message to send. ``body()`` is the webhook's JSON object."""

    event: str
    session_id: str | None
    project: str
    title: str
    message: str
    subject: str
    event_id: int
    ts: str
    details: Mapping[str, object] = field(default_factory=dict[str, object])

    def body(self) -> dict[str, object]:
        """The JSON object POSTed to a generic webhook."""
        return {**fields_dict(self, _BODY_FIELDS), "details": dict(self.details)}


def _text(value: object, limit: int = 300) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    return truncate(redact_text(" ".join(value.split())), limit)


def notification_for(
    topic: str,
    payload: Mapping[str, object],
    *,
    session_id: str | None,
    project_dir: str,
    event_id: int,
    ts: str,
) -> Notification:
    """The message for a bus event of one of the notify topics (redacted, one line per field)."""
    project = project_dir.rstrip("/").rsplit("/", 1)[-1] or project_dir
    tool = _text(payload.get("tool_name"), 80)
    if topic == "breaker.opened":
        key = _text(payload.get("key"), 120) or tool or "a tool"
        failures = payload.get("consecutive_failures")
        cooldown = payload.get("cooldown_seconds")
        message = f"The circuit breaker for {key} opened"
        if isinstance(failures, int):
            message += f" after {failures} failures in a row"
        if isinstance(cooldown, (int, float)):
            message += f"; calls are refused for {cooldown:g} s"
        error = _text(payload.get("last_error"), 200)
        if error:
            message += f". Last error: {error}"
        title, subject = f"Circuit breaker open: {key}", key
    elif topic == "tool.denied":
        reason = _text(payload.get("reason"), 300)
        by = payload.get("by")
        who = ", ".join(_strings(by)) or "a hook"
        title = f"{tool or 'A tool call'} denied"
        message = f"{who} denied {tool or 'a tool call'}" + (f": {reason}" if reason else "")
        subject = f"{tool}|{reason}"
    elif topic == "permission.waiting":
        note = _text(payload.get("message"), 300)
        if payload.get("hook_event") == "PermissionRequest":
            title = "Claude Code is waiting for your permission"
            message = f"Claude wants to use {tool or 'a tool'} and needs your approval"
            subject = f"permission|{tool}"
        else:
            title = _text(payload.get("title"), 120) or "Claude Code needs your attention"
            message = note or "Claude Code is waiting for you"
            subject = f"{payload.get('notification_type')}|{note}"
    elif topic == "session.stop":
        seconds = payload.get("session_seconds")
        title = "Claude Code finished"
        message = "Claude finished its turn and is waiting for you"
        if isinstance(seconds, (int, float)):
            message += f" (session running for {_duration(float(seconds))})"
        subject = f"stop|{event_id}"
    else:
        raise ValueError(f"{topic!r} is not a notify topic; one of {', '.join(NOTIFY_TOPICS)}")
    details = redact(dict(payload), max_chars=300, max_items=20)
    return Notification(
        event=topic,
        session_id=session_id,
        project=project,
        title=title,
        message=message,
        subject=subject,
        event_id=event_id,
        ts=ts,
        details=as_dict(details),
    )


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


class RuleState:
    """What the rules remember between events (saved with the sender's consumer offset).

    ``last``: ``session|topic`` -> time of the last notification; ``seen``: ``session|topic|subject``
    -> time it last notified; ``held``: ``session|topic`` -> notifications held back since.
    """

    def __init__(self, data: Mapping[str, object] | None = None) -> None:
        raw = data or {}
        self.last: dict[str, float] = _floats(raw.get("last"))
        self.seen: dict[str, float] = _floats(raw.get("seen"))
        self.held: dict[str, int] = {k: v for k, v in as_dict(raw.get("held")).items() if isinstance(v, int)}

    def to_dict(self) -> dict[str, object]:
        """Plain JSON data."""
        return {"last": dict(self.last), "seen": dict(self.seen), "held": dict(self.held)}

    def prune(self, now: float, keep_seconds: float) -> None:
        """Forget entries older than ``keep_seconds``."""
        for table in (self.last, self.seen):
            for key in [k for k, t in table.items() if now - t > keep_seconds]:
                del table[key]
        for key in [k for k in self.held if k not in self.last]:
            del self.held[key]


def _floats(value: object) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in as_dict(value).items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    }


def _strings(value: object) -> list[str]:
    """The items of a JSON list as strings (``[]`` for anything else)."""
    if not isinstance(value, list):
        return []
    from typing import cast

    return [str(item) for item in cast("list[object]", value)]


class Rules:
    """The ``[notify]`` rules, from the validated config."""

    def __init__(self, config: Mapping[str, object]) -> None:
        notify = config_section(config, "notify")
        level = config_section(config, "guards").get("level")
        if isinstance(notify.get("events"), list):
            self.topics = frozenset(_strings(notify.get("events")))
        else:
            self.topics = frozenset(t for t in NOTIFY_TOPICS if t != "tool.denied" or level == "strict")
        self.stop_after = _number(notify.get("stop_after_seconds"), 300.0)
        self.quiet = _number(notify.get("quiet_seconds"), 60.0)
        self.dedupe = _number(notify.get("dedupe_seconds"), 3600.0)

    def wants(self, topic: str, payload: Mapping[str, object], session_seconds: float | None) -> bool:
        """Whether an event of ``topic`` may notify (before the quiet period and de-duplication).
        ``session_seconds``: how long its session has run (None: unknown)."""
        if topic not in self.topics:
            return False
        if topic == "tool.denied":
            by = _strings(payload.get("by"))
            if by and set(by) <= _BREAKER_ONLY:
                return False
        if topic == "session.stop":
            if payload.get("stop_hook_active") is True:
                return False
            if self.stop_after > 0 and (session_seconds is None or session_seconds < self.stop_after):
                return False
        return True

    def admit(self, note: Notification, state: RuleState, now: float) -> tuple[bool, int]:
        """Apply de-duplication and the quiet period: ``(send, held back before it)``; updates
        ``state`` (a sent one resets the count, a held one increments it)."""
        session = note.session_id or "-"
        topic_key = f"{session}|{note.event}"
        subject_key = f"{topic_key}|{note.subject}"
        seen = state.seen.get(subject_key)
        if seen is not None and now - seen < self.dedupe:
            return False, 0
        last = state.last.get(topic_key)
        if last is not None and now - last < self.quiet:
            state.held[topic_key] = state.held.get(topic_key, 0) + 1
            state.seen[subject_key] = now
            return False, 0
        held = state.held.pop(topic_key, 0)
        state.last[topic_key] = now
        state.seen[subject_key] = now
        return True, held


def _number(value: object, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
