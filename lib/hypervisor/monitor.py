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


def _hook_name(topic: str, payload: Mapping[str, Any]) -> str:
    name = payload.get("hook_event_name") or payload.get("event")
    if isinstance(name, str) and name:
        return name
    # Topics such as "hook.PreToolUse" or "hook/PreToolUse".
    for sep in (".", "/", ":"):
        if sep in topic:
            return topic.rsplit(sep, 1)[-1]
    return topic


def classify_hook_event(topic: str, payload: Mapping[str, Any]) -> str | None:
    """``tool_call``, ``tool_failure``, ``breaker_open`` or ``None`` for one bus event (pure)."""
    lowered = topic.lower()
    if lowered.startswith("breaker") or "breaker" in lowered.split(".")[0]:
        state = str(payload.get("new_state") or payload.get("state") or payload.get("to") or "").lower()
        if state == "open" or lowered.endswith(("opened", ".open")):
            return "breaker_open"
        return None
    name = _hook_name(topic, payload)
    if name == "PreToolUse":
        decision = payload.get("decision") or payload.get("permission_decision")
        reason = str(payload.get("reason") or "")
        if decision == "deny" and "breaker" in reason.lower() and "open" in reason.lower():
            return "breaker_open"
        return "tool_call"
    if name == "PostToolUseFailure":
        return "tool_failure"
    return None


class SessionMonitor:
    """Per-phase hook activity of the Claude sessions being watched."""

    def __init__(self, breaker_limit: int = 3) -> None:
        self.breaker_limit = breaker_limit
        self._phase_of_session: dict[str, str] = {}
        self._activity: dict[str, dict[str, int]] = {}
        self._flagged: set[str] = set()

    def watch(self, phase_id: str, session_id: str) -> None:
        """Start counting the hook events of ``session_id`` for ``phase_id``."""
        self._phase_of_session[session_id] = phase_id
        self._activity[phase_id] = {"tool_calls": 0, "tool_failures": 0, "breakers_open": 0}
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
        return self._activity.pop(phase_id, {})

    def feed(self, events: Iterable[MeshEvent]) -> list[str]:
        """Count ``events``; return phases that just reached the breaker limit (stop them)."""
        to_stop: list[str] = []
        for event in events:
            payload = event.payload
            session = payload.get("session_id")
            if not isinstance(session, str):
                continue
            phase_id = self._phase_of_session.get(session)
            if phase_id is None:
                continue
            kind = classify_hook_event(event.topic, payload)
            if kind is None:
                continue
            counts = self._activity[phase_id]
            key = {
                "tool_call": "tool_calls",
                "tool_failure": "tool_failures",
                "breaker_open": "breakers_open",
            }[kind]
            counts[key] += 1
            if (
                kind == "breaker_open"
                and self.breaker_limit > 0
                and counts["breakers_open"] >= self.breaker_limit
                and phase_id not in self._flagged
            ):
                self._flagged.add(phase_id)
                to_stop.append(phase_id)
        return to_stop
