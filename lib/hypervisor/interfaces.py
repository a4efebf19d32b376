"""The extension points of the hypervisor, as typing Protocols.

The original design's v2 interfaces, each with a working implementation in this package:

========================  ==============================================================
``EventMesh``             :class:`lib.hypervisor.events.BusEventMesh` (the event bus)
``AgentDelegationEngine`` :class:`lib.hypervisor.executors.ClaudeExecutor`, ``ShellExecutor``
``SkillRouter``           :class:`lib.hypervisor.routing.FrontmatterSkillRouter`
``MemoryManager``         :class:`lib.hypervisor.checkpoints.CheckpointStore`
========================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from lib.hypervisor.checkpoints import Checkpoint, CheckpointRead
    from lib.hypervisor.executors import AttemptContext, ExecutorResult
    from lib.hypervisor.plan import Phase
    from lib.hypervisor.process import AttemptControl

__all__ = ["AgentDelegationEngine", "EventMesh", "MemoryManager", "MeshEvent", "SkillRouter"]


@runtime_checkable
class MeshEvent(Protocol):
    """An event read back from the mesh."""

    @property
    def topic(self) -> str:
        """The event's topic (``phase.passed``, ``tool.failure``, ``breaker.opened``, ...)."""
        ...

    @property
    def payload(self) -> Mapping[str, Any]:
        """The event's data."""
        ...

    @property
    def session_id(self) -> str | None:
        """The Claude Code session that published it (hook events), if any."""


@runtime_checkable
class EventMesh(Protocol):
    """Publishes the run's transitions and reads what others (hooks) published meanwhile."""

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Publish one event; must never raise into the run (a lost event is only logged)."""

    def poll(self) -> Sequence[MeshEvent]:
        """Events published by anyone since the previous poll (the first poll starts now)."""
        ...


@runtime_checkable
class AgentDelegationEngine(Protocol):
    """Carries out one attempt of a phase (an executor)."""

    name: str

    def command(self, ctx: AttemptContext) -> list[str]:
        """The argv this engine runs for ``ctx``."""
        ...

    def describe(self, ctx: AttemptContext) -> str:
        """The command as one shell line, for dry runs."""
        ...

    def run(self, ctx: AttemptContext, control: AttemptControl) -> ExecutorResult:
        """Run the attempt; stop early when ``control`` is cancelled."""
        ...


@runtime_checkable
class SkillRouter(Protocol):
    """Picks the engine (and so its options) that runs a phase."""

    def route(self, phase: Phase) -> AgentDelegationEngine:
        """The engine for ``phase``."""
        ...


@runtime_checkable
class MemoryManager(Protocol):
    """Remembers each phase's latest state across runs (checkpoints)."""

    def load(self, phase: Phase) -> CheckpointRead:
        """The phase's stored checkpoint (or why it cannot be read)."""
        ...

    def save(self, phase: Phase, checkpoint: Checkpoint) -> None:
        """Store the phase's checkpoint atomically."""
