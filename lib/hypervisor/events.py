"""The event mesh of the hypervisor: the project's event bus (:mod:`lib.event_bus`).

The hypervisor publishes every phase transition (``run.started``, ``phase.started``,
``phase.passed``, ``phase.failed``, ``phase.retrying``, ``phase.skipped``, ``run.fallback``,
``run.finished``) with ``source: "hypervisor"``, and reads back what the hooks of the Claude
sessions it launched published meanwhile (``tool.pre``, ``tool.failure``, ``breaker.opened``...).
The bus is the one the project's hooks write: ``<project>/.claude/logs/events.jsonl``
(``CLAUDE_HOOKS_LOG_DIR`` overrides the folder), or the Redis stream when ``[backend] url`` in
``.claude/hooks.toml`` (or ``CLAUDE_HOOKS_BACKEND``) names a Redis server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from lib.event_bus import Event, EventBus
from lib.paths import resolve_paths

if TYPE_CHECKING:
    from lib.backends.redis_bus import RedisEventBus

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

    def __init__(self, bus: EventBus | RedisEventBus) -> None:
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
    """The folder of the project's file bus (``.claude/logs`` or ``CLAUDE_HOOKS_LOG_DIR``)."""
    return Path(resolve_paths(str(project_dir)).log_dir)


def open_mesh(
    project_dir: Path, warn: Callable[[str], None] | None = None, *, own_dir: Path | None = None
) -> BusEventMesh:
    """The mesh over the project's event bus, on the backend the project's hooks use.

    An invalid ``.claude/hooks.toml`` does not stop a run: ``warn`` is told, and the file bus is used.
    With ``own_dir`` (a run without Claude phases), a project without a ``.claude`` folder gets
    nothing created in it: the run's events go to a file bus in ``own_dir`` (the run's state folder).
    """
    from lib.backends import open_bus
    from lib.config import ConfigError, load_config

    paths = resolve_paths(str(project_dir))
    hooks_here = (
        (project_dir / ".claude").is_dir()
        or "CLAUDE_HOOKS_LOG_DIR" in os.environ
        or "CLAUDE_HOOKS_BACKEND" in os.environ
    )
    if own_dir is not None and not hooks_here:
        return BusEventMesh(EventBus(str(own_dir / "bus"), source="hypervisor"))
    config: dict[str, object] | None
    try:
        config = load_config(paths)
    except (ConfigError, OSError) as exc:
        if warn is not None:
            warn(f"{exc}; publishing run events to the file bus in {paths.log_dir}")
        config = None
    bus = open_bus(paths.log_dir, config, project_dir=paths.project_dir, warn=warn, source="hypervisor")
    return BusEventMesh(bus)
