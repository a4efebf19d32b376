"""Replaying a change made on the file fallback onto what Redis kept meanwhile (pure logic)."""

from __future__ import annotations

from lib.backends.merge import apply_changes, diff, replay_breaker, replay_window
from lib.breaker import machine
from lib.breaker.machine import BreakerParams

PARAMS = BreakerParams(max_failures=3, cooldown_seconds=60.0)
NOW = 1_700_000_000.0


def failed(record: object, times: int, at: float = NOW) -> dict[str, object]:
    for _ in range(times):
        record = machine.record_failure(record, PARAMS, at, error="Exit code 1").record
    return record  # type: ignore[return-value]


def test_diff_names_the_changed_entries_of_the_section() -> None:
    before = {"version": 1, "breakers": {"Bash": {"a": 1}, "Read": {"b": 1}}}
    after = {"version": 1, "breakers": {"Bash": {"a": 2}, "Read": {"b": 1}, "Edit": {"c": 1}}}
    assert diff(before, after) == ("breakers", {"Bash": [{"a": 1}, {"a": 2}], "Edit": [None, {"c": 1}]})
    assert diff({}, {"windows": {"k": {"calls": [1.0]}}}) == ("windows", {"k": [None, {"calls": [1.0]}]})
    assert diff({"x": 1, "y": 2}, {"x": 1, "z": 3}) == (None, {"y": [2, None], "z": [None, 3]})


def test_failures_made_during_the_outage_add_to_redis_and_open_at_the_combined_threshold() -> None:
    redis_side = failed(None, 2)  # two failures other machines recorded in Redis
    local_before = failed(None, 1)
    local_after = failed(local_before, 1)  # one more here during the outage
    merged = replay_breaker(redis_side, local_before, local_after, PARAMS, NOW)
    assert merged["state"] == machine.OPEN and merged["failures"] == 3
    assert merged["last_error"] == "Exit code 1"
    # nothing recorded (a lease taken locally) changes nothing
    leased = machine.acquire(machine.force_open(None, NOW).record, PARAMS, NOW, "l").record
    assert replay_breaker(redis_side, leased, leased, PARAMS, NOW) == machine.normalise(redis_side)


def test_a_success_during_the_outage_resets_the_count_in_redis() -> None:
    redis_side = failed(None, 2)
    before = failed(None, 1)
    after = machine.record_success(before, PARAMS, NOW + 1).record
    merged = replay_breaker(redis_side, before, after, PARAMS, NOW)
    assert merged["consecutive_failures"] == 0 and merged["state"] == machine.CLOSED
    # with a failure-rate window, a success that resets nothing still counts as one
    windowed = PARAMS.replace(failure_rate_threshold=0.5, window_size=4, minimum_calls=2)
    w_before = machine.record_success(None, windowed, NOW).record
    w_after = machine.record_success(w_before, windowed, NOW).record
    merged = replay_breaker(None, w_before, w_after, windowed, NOW)
    assert merged["window"] == "S"


def test_a_half_open_trial_that_succeeded_is_replayed_as_a_success() -> None:
    opened = failed(None, 3)
    half = machine.acquire(opened, PARAMS, NOW + 61, "trial").record
    closed = machine.record_success(half, PARAMS.replace(success_threshold=1), NOW + 62, "trial").record
    redis_half = machine.acquire(opened, PARAMS, NOW + 61, "other").record
    merged = replay_breaker(redis_half, half, closed, PARAMS.replace(success_threshold=1), NOW)
    assert merged["state"] == machine.CLOSED


def test_rate_limit_calls_are_added_once() -> None:
    assert replay_window({"calls": [1.0]}, None, None) is None
    assert replay_window({"calls": [1.0]}, {"calls": [5.0]}, {"calls": [5.0]}) is None
    merged = replay_window(
        {"calls": [1.0, 3.0], "limit": 10},
        {"calls": [2.0]},
        {"calls": [2.0, 4.0], "limit": 5, "tool": "Bash"},
    )
    assert merged == {"calls": [1.0, 3.0, 4.0], "limit": 5, "tool": "Bash"}


def test_apply_changes_per_section() -> None:
    state: dict[str, object] = {"breakers": {"Bash": failed(None, 2)}}
    apply_changes(
        state,
        "breakers",
        {
            "Bash": [failed(None, 0), failed(None, 1)],
            "Gone": [failed(None, 1), None],
            "Off": [None, {}],
            "bad": 1,
        },
        lambda key: None if key == "Off" else PARAMS,
        NOW,
    )
    assert state["breakers"]["Bash"]["state"] == machine.OPEN  # type: ignore[index]
    assert "Gone" not in state["breakers"] and "Off" not in state["breakers"]  # type: ignore[operator]
    windows: dict[str, object] = {"windows": "corrupt"}
    apply_changes(
        windows, "windows", {"k": [None, {"calls": [1.0]}], "same": [None, None]}, lambda k: PARAMS, NOW
    )
    assert windows == {"windows": {"k": {"calls": [1.0]}}, "version": 1}
    plain: dict[str, object] = {"a": 1, "b": 2}
    apply_changes(plain, None, {"a": [1, None], "c": [None, 3], "bad": "x"}, lambda k: PARAMS, NOW)
    assert plain == {"b": 2, "c": 3}
