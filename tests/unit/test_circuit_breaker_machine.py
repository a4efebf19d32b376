"""The breaker's state machine over a fake clock: every transition and its boundaries."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.breaker import machine as m
from lib.breaker.machine import CLOSED, HALF_OPEN, OPEN, BreakerParams

T0 = 1_700_000_000.0
P = BreakerParams(max_failures=3, cooldown_seconds=10.0, half_open_max=1, success_threshold=2,
                  half_open_lease_seconds=30.0, cooldown_multiplier=2.0, max_cooldown_seconds=35.0)  # fmt: skip


def fail(rec: object, now: float, n: int = 1, params: BreakerParams = P, lease: str | None = None) -> m.Step:
    step = m.Step(m.normalise(rec))
    for _ in range(n):
        step = m.record_failure(step.record, params, now, lease, "Exit code 1")
    return step


def opened(now: float = T0, params: BreakerParams = P) -> dict[str, object]:
    step = fail(None, now, params.max_failures, params)
    assert step.record["state"] == OPEN
    return step.record


def half_open(now: float, params: BreakerParams = P, lease: str = "trial") -> dict[str, object]:
    step = m.acquire(opened(T0, params), params, now, lease)
    assert step.admitted and step.record["state"] == HALF_OPEN
    return step.record


# -- CLOSED ----------------------------------------------------------------------------------------


def test_a_fresh_breaker_admits_without_changing_anything() -> None:
    step = m.acquire(None, P, T0, "a")
    assert step.admitted and step.lease is None and step.transitions == ()
    assert step.record == m.new_record()


def test_failures_below_the_threshold_keep_it_closed() -> None:
    step = fail(None, T0, P.max_failures - 1)
    assert step.record["state"] == CLOSED
    assert step.record["consecutive_failures"] == P.max_failures - 1
    assert m.acquire(step.record, P, T0, "a").admitted


def test_the_threshold_failure_opens_it_exactly_once() -> None:
    rec = fail(None, T0, P.max_failures - 1).record
    step = m.record_failure(rec, P, T0 + 1, None, "boom\nlast line")
    assert step.transitions == ((CLOSED, OPEN),)
    assert step.record["state"] == OPEN
    assert step.record["opened_at"] == T0 + 1
    assert step.record["retry_at"] == T0 + 1 + P.cooldown_seconds
    assert step.record["last_error"] == "boom\nlast line"
    assert step.record["failures"] == P.max_failures


def test_a_success_resets_the_consecutive_count() -> None:
    rec = fail(None, T0, P.max_failures - 1).record
    rec = m.record_success(rec, P, T0).record
    assert rec["consecutive_failures"] == 0
    rec = fail(rec, T0, P.max_failures - 1).record
    assert rec["state"] == CLOSED


def test_a_success_on_a_clean_closed_breaker_changes_nothing() -> None:
    assert m.record_success(None, P, T0).record == m.new_record()


# -- OPEN ------------------------------------------------------------------------------------------


def test_open_rejects_until_the_cooldown_ends() -> None:
    rec = opened()
    just_before = m.acquire(rec, P, T0 + P.cooldown_seconds - 0.001, "a")
    assert not just_before.admitted
    assert just_before.retry_at == T0 + P.cooldown_seconds
    assert just_before.record == rec  # a rejection writes nothing


def test_the_first_caller_after_the_cooldown_gets_half_open_and_the_trial() -> None:
    step = m.acquire(opened(), P, T0 + P.cooldown_seconds, "first")
    assert step.admitted and step.lease == "first"
    assert step.transitions == ((OPEN, HALF_OPEN),)
    assert step.record["leases"] == {"first": T0 + P.cooldown_seconds + P.half_open_lease_seconds}


def test_a_straggler_failure_while_open_keeps_the_cooldown() -> None:
    rec = opened()
    step = m.record_failure(rec, P, T0 + 5, None, "late error")
    assert step.record["state"] == OPEN and step.transitions == ()
    assert step.record["retry_at"] == rec["retry_at"]
    assert step.record["last_error"] == "late error"
    assert step.record["failures"] == P.max_failures + 1


def test_a_straggler_success_while_open_changes_nothing() -> None:
    rec = opened()
    assert m.record_success(rec, P, T0 + 5, "old-call").record == rec


# -- HALF_OPEN -------------------------------------------------------------------------------------


def test_half_open_admits_at_most_half_open_max_at_once() -> None:
    now = T0 + P.cooldown_seconds
    rec = half_open(now)
    second = m.acquire(rec, P, now + 1, "second")
    assert not second.admitted
    assert second.retry_at == now + P.half_open_lease_seconds  # the trial's lease expiry
    assert second.transitions == ()


def test_half_open_max_three_admits_three_then_refuses() -> None:
    params = P.replace(half_open_max=3)
    now = T0 + params.cooldown_seconds
    rec: object = opened(T0, params)
    admitted = []
    for i in range(5):
        step = m.acquire(rec, params, now, f"c{i}")
        rec = step.record
        admitted.append(step.admitted)
    assert admitted == [True, True, True, False, False]


def test_the_lease_holder_may_ask_again_without_taking_a_second_slot() -> None:
    now = T0 + P.cooldown_seconds
    rec = half_open(now, lease="t")
    again = m.acquire(rec, P, now + 2, "t")
    assert again.admitted and again.lease == "t"
    assert again.record["leases"] == {"t": now + 2 + P.half_open_lease_seconds}


def test_an_unreported_trial_frees_its_slot_when_the_lease_expires() -> None:
    now = T0 + P.cooldown_seconds
    rec = half_open(now, lease="lost")
    expiry = now + P.half_open_lease_seconds
    assert not m.acquire(rec, P, expiry - 0.001, "next").admitted
    step = m.acquire(rec, P, expiry, "next")
    assert step.admitted and list(step.record["leases"]) == ["next"]  # type: ignore[call-overload]
    assert step.record["state"] == HALF_OPEN


def test_success_threshold_successes_close_it() -> None:
    now = T0 + P.cooldown_seconds
    rec = half_open(now, lease="t1")
    step = m.record_success(rec, P, now + 1, "t1")
    assert step.record["state"] == HALF_OPEN and step.transitions == ()
    assert step.record["leases"] == {} and step.record["half_open_successes"] == 1
    step = m.acquire(step.record, P, now + 2, "t2")  # the freed slot goes to the next caller
    assert step.admitted
    step = m.record_success(step.record, P, now + 3, "t2")
    assert step.transitions == ((HALF_OPEN, CLOSED),)
    assert step.record["state"] == CLOSED
    assert step.record["consecutive_failures"] == 0 and step.record["open_streak"] == 0
    assert step.record["retry_at"] is None and step.record["leases"] == {}


def test_success_threshold_one_closes_on_the_first_trial() -> None:
    params = P.replace(success_threshold=1)
    now = T0 + params.cooldown_seconds
    step = m.record_success(half_open(now, params, "t"), params, now, "t")
    assert step.transitions == ((HALF_OPEN, CLOSED),)


def test_any_failure_in_half_open_reopens_with_a_longer_cooldown() -> None:
    now = T0 + P.cooldown_seconds
    rec = half_open(now, lease="t")
    rec = m.record_success(rec, P, now, "t").record  # one success is not enough to forgive
    rec = m.acquire(rec, P, now, "t2").record
    step = m.record_failure(rec, P, now + 1, "t2", "still broken")
    assert step.transitions == ((HALF_OPEN, OPEN),)
    assert step.record["retry_at"] == now + 1 + 2 * P.cooldown_seconds
    assert step.record["cooldown"] == 2 * P.cooldown_seconds
    assert step.record["open_streak"] == 2
    assert step.record["half_open_successes"] == 0 and step.record["leases"] == {}


def test_the_cooldown_grows_up_to_its_cap_and_resets_after_closing() -> None:
    rec = opened()
    now = T0
    cooldowns = []
    for _ in range(4):
        now = float(rec["retry_at"])  # type: ignore[arg-type]
        rec = m.acquire(rec, P, now, "t").record
        rec = m.record_failure(rec, P, now, "t", "x").record
        cooldowns.append(rec["cooldown"])
    assert cooldowns == [20.0, 35.0, 35.0, 35.0]  # 10 -> 20 -> 40 capped at 35
    now = float(rec["retry_at"])  # type: ignore[arg-type]
    for lease in ("a", "b"):
        rec = m.acquire(rec, P, now, lease).record
        rec = m.record_success(rec, P, now, lease).record
    assert rec["state"] == CLOSED
    rec = fail(rec, now, P.max_failures).record
    assert rec["cooldown"] == P.cooldown_seconds


def test_an_interrupt_frees_the_trial_slot_without_counting() -> None:
    now = T0 + P.cooldown_seconds
    rec = half_open(now, lease="t")
    step = m.release(rec, now + 1, "t")
    assert step.record["state"] == HALF_OPEN and step.record["leases"] == {}
    assert step.record["half_open_successes"] == 0 and step.transitions == ()
    assert m.acquire(step.record, P, now + 1, "u").admitted


def test_releasing_an_unknown_lease_changes_nothing() -> None:
    rec = half_open(T0 + P.cooldown_seconds, lease="t")
    assert m.release(rec, T0, "other").record == rec


# -- failure-rate mode -----------------------------------------------------------------------------

RATE = BreakerParams(max_failures=100, failure_rate_threshold=0.5, window_size=4, minimum_calls=4)


def outcomes(seq: str, params: BreakerParams = RATE) -> m.Step:
    step = m.Step(m.new_record())
    for ch in seq:
        if ch == "F":
            step = m.record_failure(step.record, params, T0, None, "x")
        else:
            step = m.record_success(step.record, params, T0)
        if step.record["state"] == OPEN:
            break
    return step


def test_the_rate_does_not_count_before_minimum_calls() -> None:
    assert outcomes("FFF").record["state"] == CLOSED


def test_the_rate_at_the_threshold_opens() -> None:
    step = outcomes("SSFF")
    assert step.record["state"] == OPEN and step.transitions == ((CLOSED, OPEN),)


def test_a_rate_just_below_the_threshold_stays_closed() -> None:
    params = RATE.replace(window_size=5, minimum_calls=5)
    assert outcomes("SSSFF", params).record["state"] == CLOSED  # 2/5 = 0.4 < 0.5


def test_the_window_slides_over_the_last_calls_only() -> None:
    step = outcomes("FSSSS")  # the early failure has left the window
    assert step.record["window"] == "SSSS"
    assert outcomes("FSSSSF").record["state"] == CLOSED  # window SSSF: 0.25


def test_consecutive_failures_still_open_in_rate_mode() -> None:
    params = RATE.replace(max_failures=2, minimum_calls=4)
    assert outcomes("FF", params).record["state"] == OPEN


def test_without_rate_mode_no_window_is_kept() -> None:
    assert fail(None, T0, 2).record["window"] == ""


# -- forced states and reset -----------------------------------------------------------------------


def test_forced_open_rejects_forever_until_reset() -> None:
    step = m.force_open(None, T0)
    assert step.transitions == ((CLOSED, OPEN),)
    late = m.acquire(step.record, P, T0 + 10**9, "a")
    assert not late.admitted and late.retry_at is None
    assert m.record_success(step.record, P, T0).record["state"] == OPEN
    reset = m.reset(step.record, T0 + 1)
    assert reset.transitions == ((OPEN, CLOSED),)
    assert reset.record["forced"] is None and m.acquire(reset.record, P, T0, "a").admitted


def test_forced_closed_admits_and_failures_never_open_it() -> None:
    rec = m.force_close(opened(), T0).record
    rec = fail(rec, T0, 50).record
    assert rec["state"] == CLOSED and rec["forced"] == CLOSED
    assert m.acquire(rec, P, T0, "a").admitted
    assert rec["failures"] == P.max_failures + 50 and rec["last_error"] == "Exit code 1"


def test_forcing_the_current_state_reports_no_transition() -> None:
    assert m.force_close(None, T0).transitions == ()
    assert m.force_open(opened(), T0).transitions == ()


def test_reset_forgets_counts_and_streak() -> None:
    step = m.reset(half_open(T0 + P.cooldown_seconds), T0 + 20)
    assert step.record == {**m.new_record(), "changed_at": T0 + 20}
    assert step.transitions == ((HALF_OPEN, CLOSED),)


# -- records from disk -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, [], "open", 3, {"state": "melting"}, {}])
def test_unreadable_records_are_a_fresh_breaker(raw: object) -> None:
    assert m.normalise(raw) == m.new_record()


def test_fields_of_the_wrong_type_fall_back_to_defaults() -> None:
    rec = m.normalise(
        {"state": "closed", "consecutive_failures": "4", "failures": -2, "leases": {"a": "soon", "b": 5},
         "window": "SXF", "last_error": 12, "forced": "maybe", "opened_at": True}
    )  # fmt: skip
    assert rec["consecutive_failures"] == 0 and rec["failures"] == 0
    assert rec["leases"] == {"b": 5.0} and rec["window"] == "" and rec["last_error"] is None
    assert rec["forced"] is None and rec["opened_at"] is None


def test_an_open_record_without_retry_time_lets_the_next_caller_probe() -> None:
    step = m.acquire({"state": "open", "opened_at": T0}, P, T0 + 1, "probe")
    assert step.admitted and step.record["state"] == HALF_OPEN


def test_long_errors_are_truncated() -> None:
    rec = m.record_failure(None, P, T0, None, "x" * 5000).record
    assert len(rec["last_error"]) == m.MAX_ERROR_CHARS  # type: ignore[arg-type]


def test_cooldown_for_grows_geometrically_to_the_cap() -> None:
    params = BreakerParams(cooldown_seconds=60, cooldown_multiplier=2.0, max_cooldown_seconds=600)
    assert [params.cooldown_for(n) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]
    flat = params.replace(cooldown_multiplier=1.0)
    assert flat.cooldown_for(10**6) == 60


def test_params_replace_rejects_unknown_names() -> None:
    with pytest.raises(TypeError, match="no parameter 'max_failure'"):
        P.replace(max_failure=3)


# -- invariants over random histories --------------------------------------------------------------

OPS = st.lists(
    st.tuples(
        st.sampled_from(["acquire", "success", "failure", "release", "reset", "force_open", "force_close"]),
        st.floats(min_value=0, max_value=40, allow_nan=False),
        st.sampled_from(["a", "b", "c", None]),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(OPS, st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_invariants_hold_for_any_history(ops: list[tuple[str, float, str | None]], half_open_max: int,
                                         success_threshold: int, rate: bool) -> None:  # fmt: skip
    params = P.replace(
        half_open_max=half_open_max,
        success_threshold=success_threshold,
        failure_rate_threshold=0.5 if rate else None,
        window_size=6,
        minimum_calls=3,
    )
    rec: dict[str, object] = m.new_record()
    now = T0
    state = CLOSED
    for op, dt, lease in ops:
        now += dt
        if op == "acquire":
            step = m.acquire(rec, params, now, lease or "anon")
        elif op == "success":
            step = m.record_success(rec, params, now, lease)
        elif op == "failure":
            step = m.record_failure(rec, params, now, lease, "e")
        elif op == "release":
            step = m.release(rec, now, lease or "anon")
        else:
            step = getattr(m, op)(rec, now)
        for old, new in step.transitions:  # transitions chain from the previous state
            assert old == state and new != old
            state = new
        rec = step.record
        assert rec["state"] == state
        assert m.normalise(json.loads(json.dumps(rec))) == rec  # survives the trip to disk
        live = [v for v in rec["leases"].values() if v > now]  # type: ignore[attr-defined]
        assert len(live) <= params.half_open_max
        if rec["state"] != HALF_OPEN:
            assert rec["leases"] == {}
        if rec["state"] == CLOSED and rec["forced"] is None:
            assert rec["consecutive_failures"] < params.max_failures  # type: ignore[operator]
        if rec["state"] == OPEN and rec["forced"] is None:
            assert rec["retry_at"] is not None
            assert rec["cooldown"] <= params.max_cooldown_seconds  # type: ignore[operator]
