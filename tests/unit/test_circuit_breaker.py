"""The circuit breaker library API: call/protect (sync, async, decorator, context manager), fallback,
errors, listeners, operator actions, registry and config validation. Time is a fake clock."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time

import pytest
from hookkit import NO_COVERAGE, FakeClock
from pydantic import ValidationError

from lib.circuit_breaker import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    BreakerParams,
    CircuitBreaker,
    CircuitBreakerConfig,
    CircuitBreakerError,
    CircuitBreakerRegistry,
    StateChange,
    get_circuit_breaker,
)


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("service unavailable")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("svc", CircuitBreakerConfig(max_failures=3, cooldown_seconds=30), clock=clock)


def trip(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.params.max_failures):
        with pytest.raises(Boom):
            breaker.call(boom)


# -- call --------------------------------------------------------------------------------------------


def test_call_returns_the_result_and_passes_arguments(breaker: CircuitBreaker) -> None:
    assert breaker.call(lambda a, b=0: a + b, 2, b=3) == 5
    assert breaker.state == CLOSED


def test_exceptions_propagate_and_open_the_breaker_at_the_threshold(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        with pytest.raises(Boom):
            breaker.call(boom)
    assert breaker.state == CLOSED and breaker.consecutive_failures == 2
    with pytest.raises(Boom):
        breaker.call(boom)
    assert breaker.state == OPEN


def test_an_open_breaker_raises_circuit_breaker_error_without_calling(breaker: CircuitBreaker) -> None:
    trip(breaker)
    called = []
    with pytest.raises(CircuitBreakerError) as info:
        breaker.call(called.append, 1)
    assert called == []
    err = info.value
    assert err.name == "svc" and err.state == OPEN
    assert err.retry_after == 30.0 and err.retry_at == breaker.clock() + 30
    assert err.consecutive_failures == 3
    assert err.last_error == "Boom: service unavailable"
    assert str(err) == "circuit breaker 'svc' is open after 3 consecutive failures; retry in 30.0s"


def test_after_the_cooldown_one_trial_goes_through_and_closes_it(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    trip(breaker)
    clock.advance(29.9)
    with pytest.raises(CircuitBreakerError):
        breaker.call(lambda: None)
    clock.advance(0.1)
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state == HALF_OPEN
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state == CLOSED


def test_a_failed_trial_reopens_with_a_doubled_cooldown(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(30)
    with pytest.raises(Boom):
        breaker.call(boom)
    assert breaker.state == OPEN
    assert breaker.snapshot().retry_after == 60.0


def test_excluded_exceptions_do_not_count(clock: FakeClock) -> None:
    b = CircuitBreaker("x", BreakerParams(max_failures=1), clock=clock, exclude=(KeyError,))
    with pytest.raises(KeyError):
        b.call(lambda: {}["missing"])
    assert b.state == CLOSED and b.consecutive_failures == 0


def test_base_exceptions_give_back_the_trial_slot_without_counting(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    trip(breaker)
    clock.advance(30)

    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        breaker.call(interrupted)
    snap = breaker.snapshot()
    assert snap.state == HALF_OPEN and snap.half_open_in_flight == 0 and snap.half_open_successes == 0
    assert breaker.call(lambda: 1) == 1  # the slot is free for the next caller


# -- protect: decorator, context manager, async ------------------------------------------------------


def test_protect_as_plain_decorator_keeps_the_function_metadata(breaker: CircuitBreaker) -> None:
    @breaker.protect
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    assert add(1, 2) == 3
    assert add.__name__ == "add" and add.__doc__ == "Add."
    assert add.breaker is breaker  # type: ignore[attr-defined]


def test_the_breaker_itself_decorates(breaker: CircuitBreaker) -> None:
    @breaker
    def fails() -> None:
        boom()

    for _ in range(3):
        with pytest.raises(Boom):
            fails()
    with pytest.raises(CircuitBreakerError):
        fails()


def test_fallback_answers_while_open_with_the_call_arguments(breaker: CircuitBreaker) -> None:
    @breaker.protect(fallback=lambda order, **kw: f"queued {order} {kw}")
    def charge(order: str, *, amount: int) -> str:
        raise Boom("gateway down")

    for _ in range(3):
        with pytest.raises(Boom):  # failures still propagate: the caller must know
            charge("o1", amount=5)
    assert charge("o2", amount=7) == "queued o2 {'amount': 7}"


def test_the_breaker_wide_fallback_serves_call(clock: FakeClock) -> None:
    b = CircuitBreaker("x", BreakerParams(max_failures=1), clock=clock, fallback=lambda: "cached")
    with pytest.raises(Boom):
        b.call(boom)
    assert b.call(boom) == "cached"


def test_protect_as_context_manager(breaker: CircuitBreaker) -> None:
    for _ in range(3):
        with pytest.raises(Boom), breaker.protect():
            boom()
    assert breaker.state == OPEN
    with pytest.raises(CircuitBreakerError), breaker.protect():
        pytest.fail("the body must not run while open")


def test_context_manager_success_counts(breaker: CircuitBreaker) -> None:
    with pytest.raises(Boom), breaker.protect():
        boom()
    with breaker.protect() as b:
        assert b is breaker
    assert breaker.consecutive_failures == 0


def test_async_functions_are_protected(breaker: CircuitBreaker, clock: FakeClock) -> None:
    @breaker.protect
    async def fetch(x: int) -> int:
        await asyncio.sleep(0)
        if x < 0:
            raise Boom("negative")
        return x * 2

    async def scenario() -> list[object]:
        results: list[object] = [await fetch(2)]
        for _ in range(3):
            try:
                await fetch(-1)
            except Boom as exc:
                results.append(str(exc))
        try:
            await fetch(1)
        except CircuitBreakerError as exc:
            results.append(exc.state)
        return results

    assert asyncio.run(scenario()) == [4, "negative", "negative", "negative", OPEN]


def test_async_fallback_may_be_sync_or_async(clock: FakeClock) -> None:
    b = CircuitBreaker("x", BreakerParams(max_failures=1), clock=clock)

    async def failing() -> str:
        raise Boom("down")

    async def async_fallback() -> str:
        return "async-fallback"

    with_async = b.protect(fallback=async_fallback)(failing)
    with_sync = b.protect(fallback=lambda: "sync-fallback")(failing)

    async def scenario() -> tuple[str, str]:
        with pytest.raises(Boom):
            await with_async()
        return await with_async(), await with_sync()

    assert asyncio.run(scenario()) == ("async-fallback", "sync-fallback")


def test_async_context_manager(breaker: CircuitBreaker) -> None:
    async def scenario() -> str:
        for _ in range(3):
            try:
                async with breaker.protect():
                    raise Boom("x")
            except Boom:
                pass
        try:
            async with breaker.protect():
                return "ran"
        except CircuitBreakerError:
            return "refused"

    assert asyncio.run(scenario()) == "refused"


def test_call_async(breaker: CircuitBreaker) -> None:
    async def double(x: int) -> int:
        return 2 * x

    assert asyncio.run(breaker.call_async(double, 21)) == 42


def test_a_cancelled_task_does_not_count_as_a_failure(breaker: CircuitBreaker, clock: FakeClock) -> None:
    trip(breaker)
    clock.advance(30)

    @breaker.protect
    async def slow() -> None:
        await asyncio.sleep(10)

    async def scenario() -> None:
        task = asyncio.create_task(slow())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    snap = breaker.snapshot()
    assert snap.state == HALF_OPEN and snap.half_open_in_flight == 0


# -- half-open concurrency in one process -------------------------------------------------------------


def test_half_open_lets_exactly_half_open_max_threads_through(clock: FakeClock) -> None:
    b = CircuitBreaker("x", BreakerParams(max_failures=1, cooldown_seconds=1, half_open_max=2), clock=clock)
    with pytest.raises(Boom):
        b.call(boom)
    clock.advance(1)
    gate = threading.Barrier(16)
    release = threading.Event()
    admitted: list[int] = []
    refused: list[int] = []

    def worker(i: int) -> None:
        gate.wait()
        try:
            b.call(lambda: (admitted.append(i), release.wait(5)))
        except CircuitBreakerError:
            refused.append(i)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while len(admitted) + len(refused) < 16 and time.monotonic() < deadline:
        time.sleep(0.01)  # admitted calls hold their slot until every other caller has been answered
    release.set()
    for t in threads:
        t.join()
    assert len(admitted) == 2 and len(refused) == 14


# -- listeners -----------------------------------------------------------------------------------------


def test_listeners_see_every_transition_in_order(breaker: CircuitBreaker, clock: FakeClock) -> None:
    seen: list[StateChange] = []
    breaker.add_listener(seen.append)
    trip(breaker)
    clock.advance(30)
    breaker.call(lambda: None)
    breaker.call(lambda: None)
    assert [(c.old_state, c.new_state) for c in seen] == [
        (CLOSED, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED),
    ]
    assert seen[0].name == "svc" and seen[0].snapshot.consecutive_failures == 3
    assert seen[1].at == clock()


def test_a_failing_listener_warns_and_does_not_break_the_call(breaker: CircuitBreaker) -> None:
    def bad(change: StateChange) -> None:
        raise RuntimeError("listener bug")

    breaker.add_listener(bad)
    with pytest.warns(RuntimeWarning, match="listener bug"):
        breaker.force_open()
    with pytest.warns(RuntimeWarning, match="listener bug"):
        breaker.reset()
    breaker.remove_listener(bad)
    assert breaker.state == CLOSED


# -- operator actions ----------------------------------------------------------------------------------


def test_force_open_refuses_until_reset(breaker: CircuitBreaker, clock: FakeClock) -> None:
    breaker.force_open()
    clock.advance(10**6)
    with pytest.raises(CircuitBreakerError) as info:
        breaker.call(lambda: None)
    assert info.value.retry_after is None and "until reset" in str(info.value)
    breaker.reset()
    assert breaker.call(lambda: 1) == 1


def test_force_close_admits_whatever_fails(breaker: CircuitBreaker) -> None:
    trip(breaker)
    breaker.force_close()
    for _ in range(10):
        with pytest.raises(Boom):
            breaker.call(boom)
    assert breaker.state == CLOSED and breaker.snapshot().forced == CLOSED


def test_reset_clears_failures(breaker: CircuitBreaker) -> None:
    trip(breaker)
    breaker.reset()
    snap = breaker.snapshot()
    assert snap.state == CLOSED and snap.consecutive_failures == 0 and snap.forced is None


def test_record_success_and_failure_by_hand(breaker: CircuitBreaker) -> None:
    for _ in range(3):
        breaker.record_failure("HTTP 503")
    assert breaker.state == OPEN and breaker.snapshot().last_error == "HTTP 503"


def test_a_permit_reports_once(breaker: CircuitBreaker) -> None:
    permit = breaker.allow()
    permit.failure(Boom("x"))
    permit.failure(Boom("x"))
    permit.success()
    assert breaker.snapshot().failures == 1 and breaker.consecutive_failures == 1


def test_a_permit_as_context_manager_reports_its_block(breaker: CircuitBreaker) -> None:
    with pytest.raises(Boom), breaker.allow():
        boom()
    assert breaker.consecutive_failures == 1
    with breaker.allow() as permit:
        pass
    permit.failure("too late: already settled")
    assert breaker.consecutive_failures == 0 and breaker.snapshot().failures == 1


# -- registry --------------------------------------------------------------------------------------------


def test_get_circuit_breaker_returns_one_breaker_per_name() -> None:
    a = get_circuit_breaker("test-registry-a", CircuitBreakerConfig(max_failures=2))
    assert get_circuit_breaker("test-registry-a") is a
    assert get_circuit_breaker("test-registry-a", CircuitBreakerConfig(max_failures=2)) is a
    with pytest.raises(ValueError, match="already exists"):
        get_circuit_breaker("test-registry-a", CircuitBreakerConfig(max_failures=3))


def test_a_registry_shares_its_storage_and_resets_all(clock: FakeClock) -> None:
    reg = CircuitBreakerRegistry(clock=clock)
    a, b = reg.get("a", BreakerParams(max_failures=1)), reg.get("b", BreakerParams(max_failures=1))
    for br in (a, b):
        with pytest.raises(Boom):
            br.call(boom)
    assert reg.names() == ["a", "b"] and {br.state for br in reg} == {OPEN}
    reg.reset_all()
    assert {br.state for br in reg} == {CLOSED}
    assert "a" in reg and len(reg) == 2
    with pytest.raises(ValueError, match="already registered"):
        reg.register(CircuitBreaker("a"))
    reg.remove("a")
    assert "a" not in reg


def test_a_breaker_needs_a_name() -> None:
    with pytest.raises(ValueError, match="non-empty name"):
        CircuitBreaker("")


# -- config ------------------------------------------------------------------------------------------------


def test_config_defaults_match_the_issue() -> None:
    c = CircuitBreakerConfig()
    assert (c.max_failures, c.cooldown_seconds, c.half_open_max, c.success_threshold) == (5, 60.0, 1, 2)
    assert c.failure_rate_threshold is None
    assert c.to_params() == BreakerParams()


def test_config_is_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        CircuitBreakerConfig().max_failures = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_failures": 0}, "max_failures\n  Input should be greater than or equal to 1"),
        ({"cooldown_seconds": -1}, "cooldown_seconds\n  Input should be greater than 0"),
        (
            {"failure_rate_threshold": 1.5},
            "failure_rate_threshold\n  Input should be less than or equal to 1",
        ),
        ({"cooldown_multiplier": 0.5}, "cooldown_multiplier\n  Input should be greater than or equal to 1"),
        ({"max_failure": 3}, "max_failure\n  Extra inputs are not permitted"),
        (
            {"max_cooldown_seconds": 10, "cooldown_seconds": 60},
            "max_cooldown_seconds (10) is below cooldown_seconds (60); raise max_cooldown_seconds",
        ),
        (
            {"failure_rate_threshold": 0.5, "minimum_calls": 30, "window_size": 20},
            "minimum_calls (30) exceeds window_size (20), so the failure rate could never trip",
        ),
    ],
)
def test_config_validation_errors_name_the_field_and_the_fix(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        CircuitBreakerConfig(**fields)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_importing_the_module_does_not_import_pydantic() -> None:
    code = (
        "import sys, lib.circuit_breaker as cb; "
        "assert 'pydantic' not in sys.modules, 'pydantic imported eagerly'; "
        "assert not {'typing', 'inspect', 'asyncio', 'logging', 'threading'} & set(sys.modules), "
        "sorted({'typing', 'inspect', 'asyncio', 'logging', 'threading'} & set(sys.modules)); "
        "cb.CircuitBreakerConfig(max_failures=2); assert 'pydantic' in sys.modules"
    )
    env = os.environ | NO_COVERAGE  # coverage.py, when measured, imports typing & co. itself
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
