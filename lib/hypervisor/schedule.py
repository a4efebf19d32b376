"""Which phases may start now: the pure scheduling state of one run.

No I/O and no clock: the runner tells the schedule what happened (started, passed, failed,
skipped) and asks which phases are ready.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from lib.hypervisor.graph import PhaseGraph

__all__ = ["Schedule", "SlotState"]


class SlotState(StrEnum):
    """Where a phase stands inside one run's schedule."""

    WAITING = "waiting"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    BLOCKED = "blocked"


_TERMINAL = frozenset({SlotState.PASSED, SlotState.FAILED, SlotState.SKIPPED, SlotState.BLOCKED})


class Schedule:
    """Scheduling state over the ``selected`` phases of ``graph``.

    ``satisfied`` phases count as passed for their dependents without running (a resumed run's
    passed checkpoints, or dependencies outside ``--only``). A phase is ready when every
    dependency passed or is satisfied, every member of its parallel group is ready too, and,
    when it declares a wave, every selected phase of an earlier wave has finished.
    """

    def __init__(self, graph: PhaseGraph, selected: Iterable[str], satisfied: Iterable[str] = ()) -> None:
        self.graph = graph
        self.selected: tuple[str, ...] = tuple(i for i in graph.order if i in set(selected))
        self._satisfied: set[str] = set(satisfied) - set(self.selected)
        self.state: dict[str, SlotState] = dict.fromkeys(self.selected, SlotState.WAITING)
        self.blocked_by: dict[str, str] = {}

    # -- queries ---------------------------------------------------------------------------

    def _dependency_met(self, dep: str) -> bool:
        if dep in self.state:
            return self.state[dep] is SlotState.PASSED or dep in self._satisfied
        return dep in self._satisfied or dep not in self.graph.nodes

    def _deps_met(self, phase_id: str) -> bool:
        return all(self._dependency_met(d) for d in self.graph.dependencies(phase_id))

    def _wave_open(self, phase_id: str) -> bool:
        declared = self.graph.nodes[phase_id].wave
        if declared is None:
            return True
        return all(
            self.state[other] in _TERMINAL for other in self.selected if self.graph.wave_of[other] < declared
        )

    def ready(self) -> list[str]:
        """Waiting phases that may start now, in execution order."""
        result: list[str] = []
        for phase_id in self.selected:
            if self.state[phase_id] is not SlotState.WAITING:
                continue
            if not self._deps_met(phase_id) or not self._wave_open(phase_id):
                continue
            members = [m for m in self.graph.group_members(phase_id) if m in self.state]
            if all(
                self.state[m] is not SlotState.WAITING or (self._deps_met(m) and self._wave_open(m))
                for m in members
            ):
                result.append(phase_id)
        return result

    def running(self) -> list[str]:
        """Phases started and not yet finished."""
        return [i for i in self.selected if self.state[i] is SlotState.RUNNING]

    def waiting(self) -> list[str]:
        """Phases not started and not blocked."""
        return [i for i in self.selected if self.state[i] is SlotState.WAITING]

    def finished(self) -> bool:
        """True when nothing runs and nothing more can become ready."""
        return not self.running() and not self.ready()

    def count(self, state: SlotState) -> int:
        """How many selected phases are in ``state``."""
        return sum(1 for s in self.state.values() if s is state)

    # -- transitions -----------------------------------------------------------------------

    def start(self, phase_id: str) -> None:
        """Mark a ready phase as running."""
        if self.state.get(phase_id) is not SlotState.WAITING:
            raise ValueError(f"phase {phase_id} is {self.state.get(phase_id)}, not waiting")
        self.state[phase_id] = SlotState.RUNNING

    def requeue(self, phase_id: str) -> None:
        """Put a running phase back to waiting (an interrupted attempt that will be retried)."""
        if self.state.get(phase_id) is SlotState.RUNNING:
            self.state[phase_id] = SlotState.WAITING

    def pass_(self, phase_id: str) -> None:
        """Record that ``phase_id`` passed."""
        self.state[phase_id] = SlotState.PASSED

    def fail(self, phase_id: str) -> list[str]:
        """Record a final failure; returns the waiting phases now blocked by it."""
        self.state[phase_id] = SlotState.FAILED
        return self._block_descendants(phase_id)

    def skip(self, phase_id: str, *, satisfies: bool) -> list[str]:
        """Skip a phase without running it.

        With ``satisfies`` its dependents may still run (the user skipped a phase they did by
        hand); without, they are blocked and returned.
        """
        self.state[phase_id] = SlotState.SKIPPED
        if satisfies:
            self._satisfied.add(phase_id)
            return []
        return self._block_descendants(phase_id)

    def _block_descendants(self, phase_id: str) -> list[str]:
        blocked: list[str] = []
        descendants = self.graph.descendants(phase_id)
        for other in self.selected:
            if self.state[other] is SlotState.WAITING and other in descendants:
                self.state[other] = SlotState.BLOCKED
                self.blocked_by[other] = phase_id
                blocked.append(other)
        return blocked

    def abandon_waiting(self) -> list[str]:
        """Skip every phase that has not started (fail-fast, breaker open, quit); returns them."""
        dropped = self.waiting()
        for phase_id in dropped:
            self.state[phase_id] = SlotState.SKIPPED
        return dropped
