"""The circuit breaker on both backends (``JsonStoreStorage`` over the store a hook opens): shared
state, exactly-once opening, half-open trial slots and lease expiry across processes; and on Redis,
16 client processes opening one breaker at exactly its threshold."""

from __future__ import annotations

import pytest
from redis_backend import Backend
from redis_clients import run_clients
from store_contract import check_two_breakers_are_one, trip

from lib.breaker.storage import JsonStoreStorage
from lib.circuit_breaker import CLOSED, HALF_OPEN, OPEN, BreakerParams, CircuitBreaker, CircuitBreakerError

T0 = 1_700_000_000.0
PARAMS = {"max_failures": 3, "cooldown_seconds": 10, "half_open_max": 1, "half_open_lease_seconds": 30}


def breaker(backend: Backend, now: float = T0, **params: object) -> CircuitBreaker:
    storage = JsonStoreStorage(backend.state("breakers"))
    return CircuitBreaker(
        "Bash", BreakerParams(**{**PARAMS, **params}), storage=storage, clock=lambda: now, fail_open=False
    )


def open_it(backend: Backend) -> None:
    trip(breaker(backend), 3)


def test_two_clients_share_one_breaker(backend: Backend) -> None:
    check_two_breakers_are_one(breaker(backend), breaker(backend))


def test_half_open_then_closed_after_the_successes(backend: Backend) -> None:
    open_it(backend)
    later = breaker(backend, now=T0 + 10, success_threshold=2)
    permit = later.allow(lease_id="trial-1")
    assert later.state == HALF_OPEN
    with pytest.raises(CircuitBreakerError):
        breaker(backend, now=T0 + 10).allow(lease_id="trial-2")  # the one slot is taken
    permit.success()
    later.allow(lease_id="trial-3").success()
    assert breaker(backend, now=T0 + 11).state == CLOSED


def test_reset_forgets_the_breaker(backend: Backend) -> None:
    open_it(backend)
    breaker(backend).reset()
    assert breaker(backend).state == CLOSED
    assert JsonStoreStorage(backend.state("breakers")).load_all() == {}


@pytest.mark.slow
def test_parallel_failures_are_all_counted_and_open_exactly_once(backend: Backend) -> None:
    params = {**PARAMS, "max_failures": 4}
    answers = run_clients(backend, "breaker_fail", 6, n=1, now=T0, params=params)
    openings = [c for a in answers for c in a["changes"] if c[1] == OPEN]
    assert openings == [["closed", "open", 4]]  # one process saw it open, at exactly the threshold
    snap = breaker(backend).snapshot()
    assert snap.state == OPEN and snap.failures == 6 and snap.consecutive_failures == 6
    assert snap.retry_at == T0 + 10  # stragglers after the opening did not extend the cooldown


@pytest.mark.slow
@pytest.mark.parametrize("half_open_max", [1, 3])
def test_half_open_admits_half_open_max_callers_across_processes(
    backend: Backend, half_open_max: int
) -> None:
    open_it(backend)
    params = {**PARAMS, "half_open_max": half_open_max}
    answers = run_clients(backend, "breaker_allow", 6, now=T0 + 10, params=params)
    admitted = [a["admitted"] for a in answers]
    assert admitted.count(True) == half_open_max and admitted.count(False) == 6 - half_open_max
    snap = breaker(backend, now=T0 + 10, half_open_max=half_open_max).snapshot()
    assert snap.state == HALF_OPEN and snap.half_open_in_flight == half_open_max


def test_a_lost_trial_frees_its_slot_when_the_lease_expires(backend: Backend) -> None:
    open_it(backend)
    breaker(backend, now=T0 + 10).allow(lease_id="lost")  # never reports back
    with pytest.raises(CircuitBreakerError):
        breaker(backend, now=T0 + 20).allow(lease_id="second")
    breaker(backend, now=T0 + 41).allow(lease_id="second")  # lease of 30 s expired
    assert breaker(backend, now=T0 + 41).snapshot().half_open_in_flight == 1


@pytest.mark.redis
@pytest.mark.slow
def test_sixteen_processes_open_the_breaker_at_exactly_the_threshold(
    redis_url: str, tmp_path: object
) -> None:
    from pathlib import Path

    backend = Backend("redis", Path(str(tmp_path)) / "project", redis_url, fallback_to_file=False)
    threshold = 10
    params = {**PARAMS, "max_failures": threshold}
    answers = run_clients(backend, "breaker_fail", 16, n=1, now=T0, params=params)
    openings = [c for a in answers for c in a["changes"] if c[1] == OPEN]
    assert openings == [["closed", "open", threshold]]
    snap = breaker(backend, max_failures=threshold).snapshot()
    assert snap.state == OPEN and snap.opened_at == T0
    assert snap.failures == 16 and snap.consecutive_failures == 16  # no failure lost or counted twice
    import redis

    client = redis.Redis.from_url(redis_url)
    assert client.ttl("claude-hooks:{project}:state:breakers") > 0  # abandoned breakers expire
