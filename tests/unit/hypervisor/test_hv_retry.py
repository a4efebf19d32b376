"""Retry backoff: capped exponential, jittered within [cap/2, cap], attempts bounded."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib.hypervisor.retry import RetryPolicy


def test_the_cap_doubles_until_the_maximum() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0)
    assert [policy.cap(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_jitter_stays_between_half_and_the_full_cap() -> None:
    policy = RetryPolicy(base_delay=4.0, max_delay=100.0)
    assert policy.delay(2, rand=lambda: 0.0) == 4.0
    assert policy.delay(2, rand=lambda: 1.0) == 8.0
    assert policy.schedule(3, rand=lambda: 0.5) == [3.0, 6.0, 12.0]


@given(st.integers(min_value=1, max_value=10_000), st.floats(min_value=0, max_value=1))
def test_delays_never_exceed_the_cap_even_for_huge_retry_counts(retry: int, r: float) -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=30.0, multiplier=3.0)
    delay = policy.delay(retry, rand=lambda: r)
    assert policy.cap(retry) / 2 <= delay <= policy.cap(retry) <= 30.0


def test_attempt_budget() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(n) for n in (1, 2, 3)] == [True, True, False]


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay": -1}, {"multiplier": 0.5}, {"max_transient_retries": -1}],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        RetryPolicy().cap(0)
