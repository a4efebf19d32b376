"""Checks of the state store contract that both the unit tests (the JSON file store) and the backend
tests (``tests/redis``: the file backend and Redis) run on their stores: a transaction that raises
writes nothing, and breakers over one store are one breaker."""

from __future__ import annotations

import pytest

from lib.circuit_breaker import CLOSED, OPEN, CircuitBreaker, CircuitBreakerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.store import StateStore


def check_a_raising_transaction_writes_nothing(store: StateStore) -> None:
    """A transaction that raises leaves the document as the last one that completed."""
    with store.transaction() as state:
        state["kept"] = 1
    with pytest.raises(RuntimeError), store.transaction() as state:
        state["kept"] = 2
        raise RuntimeError("boom")
    assert store.read() == {"kept": 1}


def trip(breaker: CircuitBreaker, failures: int) -> None:
    """Record ``failures`` failures (the breaker's max_failures): it must be open after them."""
    for _ in range(failures):
        breaker.record_failure("Exit code 1")
    assert breaker.state == OPEN


def check_two_breakers_are_one(first: CircuitBreaker, second: CircuitBreaker) -> None:
    """``first`` and ``second`` (the same key, max_failures 3, over one store) count each other's
    failures: the third opens both, with its error, and ``second`` then refuses."""
    first.record_failure("a")
    second.record_failure("b")
    assert first.state == CLOSED
    first.record_failure("c")
    assert second.state == OPEN and second.snapshot().last_error == "c"
    with pytest.raises(CircuitBreakerError):
        second.allow()
