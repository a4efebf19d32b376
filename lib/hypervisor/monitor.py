"""Watching the Claude sessions the hypervisor launched, through the hook events on the bus.

The hypervisor gives each ``claude`` attempt its own session id (``--session-id``); the project's
hooks publish every hook event with that ``session_id``. This module counts, per running phase,
tool calls, tool failures and circuit breakers that opened, and says when a session keeps
tripping breakers so the runner can stop it early. Pure: fed events, returns decisions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lib.hypervisor.interfaces import MeshEvent

__all__ = ["SessionMonitor", "classify_hook_event"]


_TOPIC_KINDS = {
    "tool.pre": "tool_call",
    "tool.failure": "tool_failure",
    "breaker.opened": "breaker_opened",
    "breaker.closed": "breaker_closed",
}


def classify_hook_event(topic: str, payload: Mapping[str, Any]) -> str | None:
    """``tool_call``, ``tool_failure``, ``breaker_opened``, ``breaker_closed`` or ``None`` for one
    bus event (the topics :mod:`lib.event_bus` lists; pure)."""
    return _TOPIC_KINDS.get(topic)


def _session_of(event: MeshEvent) -> str | None:
    session = getattr(event, "session_id", None)
    if isinstance(session, str) and session:
        return session
    value = event.payload.get("session_id")
    return value if isinstance(value, str) and value else None


class SessionMonitor:
    """Per-phase hook activity of the Claude sessions being watched."""

    def __init__(self, breaker_limit: int = 3) -> None:
        self.breaker_limit = breaker_limit
        self._phase_of_session: dict[str, str] = {}
        self._activity: dict[str, dict[str, int]] = {}
        self._flagged: set[str] = set()
        self._open: dict[str, set[str]] = {}

    def watch(self, phase_id: str, session_id: str) -> None:
        """Start counting the hook events of ``session_id`` for ``phase_id``."""
        self._phase_of_session[session_id] = phase_id
        self._activity[phase_id] = {
            "tool_calls": 0,
            "tool_failures": 0,
            "breaker_trips": 0,
            "breakers_open": 0,
        }
        self._open[phase_id] = set()
        self._flagged.discard(phase_id)

    def watching(self) -> bool:
        """Whether any session is being watched."""
        return bool(self._phase_of_session)

    def activity(self, phase_id: str) -> dict[str, int]:
        """The counts for ``phase_id`` (empty when not watched)."""
        return dict(self._activity.get(phase_id, {}))

    def forget(self, phase_id: str) -> dict[str, int]:
        """Stop watching ``phase_id``; returns its final counts."""
        for session, phase in list(self._phase_of_session.items()):
            if phase == phase_id:
                del self._phase_of_session[session]
        self._flagged.discard(phase_id)
        self._open.pop(phase_id, None)
        return self._activity.pop(phase_id, {})

    def feed(self, events: Iterable[MeshEvent]) -> list[str]:
        """Count ``events``; return phases whose session just reached ``breaker_limit`` breaker
        trips (the runner stops them)."""
        to_stop: list[str] = []
        for event in events:
            session = _session_of(event)
            phase_id = self._phase_of_session.get(session) if session else None
            if phase_id is None:
                continue
            kind = classify_hook_event(event.topic, event.payload)
            if kind is None:
                continue
            counts = self._activity[phase_id]
            key = str(event.payload.get("key") or event.payload.get("breaker") or "?")
            if kind == "tool_call":
                counts["tool_calls"] += 1
            elif kind == "tool_failure":
                counts["tool_failures"] += 1
            elif kind == "breaker_opened":
                counts["breaker_trips"] += 1
                self._open[phase_id].add(key)
            else:
                self._open[phase_id].discard(key)
            counts["breakers_open"] = len(self._open[phase_id])
            if (
                kind == "breaker_opened"
                and self.breaker_limit > 0
                and counts["breaker_trips"] >= self.breaker_limit
                and phase_id not in self._flagged
            ):
                self._flagged.add(phase_id)
                to_stop.append(phase_id)
        return to_stop
