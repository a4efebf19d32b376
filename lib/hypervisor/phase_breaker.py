"""A circuit breaker over phase failures: the run stops after N consecutive failed attempts.

Built on :mod:`lib.circuit_breaker` (a fresh in-memory breaker per run, so two runs in one
process never share a count). API overload and rate-limit results never reach it: they are
retried, not phase failures. A passed phase closes the streak.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from lib.circuit_breaker import CircuitBreaker, CircuitBreakerConfig, StateChange

__all__ = ["PhaseFailureBreaker"]


class PhaseFailureBreaker:
    """Counts consecutive phase failures; :meth:`record_failure` says when the breaker opened."""

    def __init__(self, name: str, threshold: int, clock: Callable[[], float] = time.time) -> None:
        if threshold < 1:
            raise ValueError("the phase failure threshold must be at least 1")
        self.threshold = threshold
        self.transitions: list[tuple[str, str]] = []
        self.breaker = CircuitBreaker(
            name,
            # The run stops when the breaker opens, so the cooldown never elapses within a run.
            CircuitBreakerConfig.model_validate(
                {"max_failures": threshold, "cooldown_seconds": 3600.0, "max_cooldown_seconds": 3600.0}
            ),
            clock=clock,
            fail_open=False,
        )
        self.breaker.add_listener(self._on_change)

    def _on_change(self, change: StateChange) -> None:
        self.transitions.append((change.old_state, change.new_state))

    @property
    def consecutive(self) -> int:
        """Failed attempts since the last passed phase."""
        return self.breaker.consecutive_failures

    @property
    def is_open(self) -> bool:
        """Whether the breaker has opened (the run must stop)."""
        return self.breaker.state == "open"

    def record_success(self) -> None:
        """A phase passed."""
        self.breaker.record_success()

    def record_failure(self, error: str) -> bool:
        """A phase attempt failed; returns True when this failure opened the breaker."""
        was_open = self.is_open
        self.breaker.record_failure(error)
        return self.is_open and not was_open
