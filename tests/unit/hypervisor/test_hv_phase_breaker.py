"""The breaker over phase failures (built on lib.circuit_breaker)."""

from __future__ import annotations

import pytest

from lib.hypervisor.phase_breaker import PhaseFailureBreaker


def test_it_opens_after_n_consecutive_failures_and_a_pass_resets_the_streak() -> None:
    breaker = PhaseFailureBreaker("hypervisor:test", threshold=3, clock=lambda: 1000.0)
    assert breaker.record_failure("phase 1: validation exited 1") is False
    assert breaker.record_failure("phase 2: validation exited 1") is False
    breaker.record_success()
    assert breaker.consecutive == 0
    assert [breaker.record_failure(f"phase {n}") for n in (3, 4, 5)] == [False, False, True]
    assert breaker.is_open
    assert breaker.transitions == [("closed", "open")]
    assert breaker.record_failure("a straggler") is False  # already open: opened only once


def test_two_runs_never_share_a_breaker() -> None:
    first = PhaseFailureBreaker("hypervisor:same-plan", threshold=1)
    assert first.record_failure("x") is True
    second = PhaseFailureBreaker("hypervisor:same-plan", threshold=1)
    assert not second.is_open and second.consecutive == 0


def test_the_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PhaseFailureBreaker("x", threshold=0)
