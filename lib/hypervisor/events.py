"""The event mesh of the hypervisor: the project's event bus (:mod:`lib.event_bus`).

The hypervisor publishes every phase transition (``run.started``, ``phase.started``,
``phase.passed``, ``phase.failed``, ``phase.retrying``, ``phase.skipped``, ``run.fallback``,
``run.finished``) with ``source: "hypervisor"``, and reads back what the hooks of the Claude
sessions it launched published meanwhile (``tool.pre``, ``tool.failure``, ``breaker.opened``...).
The bus is ``<project>/.claude/logs/events.jsonl`` (``CLAUDE_HOOKS_LOG_DIR`` overrides the folder),
the same file the project's hooks write.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from lib.event_bus import Event, EventBus
from lib.paths import resolve_paths

__all__ = ["TRANSITION_TOPICS", "BusEventMesh", "open_mesh"]

TRANSITION_TOPICS = (
    "run.started",
    "phase.started",
    "phase.passed",
    "phase.failed",
    "phase.retrying",
    "phase.skipped",
    "run.fallback",
    "run.finished",
)
"""Topics the hypervisor publishes."""


class BusEventMesh:
    """:class:`~lib.hypervisor.interfaces.EventMesh` over an :class:`~lib.event_bus.EventBus`.

    :meth:`poll` returns the events published after this mesh's first publish (the run's
    ``run.started``), so a run never mistakes an old session's events for its own.
    """

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._since: int | None = None

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Publish one event from the hypervisor."""
        event = self.bus.publish(topic, dict(payload), source="hypervisor")
        if self._since is None:
            self._since = event.id

    def poll(self) -> list[Event]:
        """Events published by anyone since the last poll (nothing before the first publish)."""
        if self._since is None:
            return []
        events = list(self.bus.tail(since=self._since, decoder=orjson.loads))
        if events:
            self._since = events[-1].id
        return events

    def close(self) -> None:
        """Close the bus file."""
        self.bus.close()


def bus_dir(project_dir: Path) -> Path:
    """The folder of the project's bus (``.claude/logs`` or ``CLAUDE_HOOKS_LOG_DIR``)."""
    return Path(resolve_paths(str(project_dir)).log_dir)


def open_mesh(project_dir: Path) -> BusEventMesh:
    """The mesh over the project's event bus."""
    return BusEventMesh(EventBus(str(bus_dir(project_dir)), source="hypervisor"))
