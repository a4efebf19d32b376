"""The sliding-window rate limiter on both backends: exact limits, a refused call not counted,
windows sliding with the clock, reset; and an exact limit across client processes."""

from __future__ import annotations

import pytest
from redis_backend import Backend
from redis_clients import run_clients

from lib.rate_limiter import RateLimiter, RateLimitSettings, ToolRateLimits

T0 = 1_700_000_000.0


def limiter(backend: Backend, now: list[float]) -> RateLimiter:
    return RateLimiter(backend.state("ratelimits"), clock=lambda: now[0])


def test_the_limit_is_exact_and_the_window_slides(backend: Backend) -> None:
    now = [T0]
    first, second = limiter(backend, now), limiter(backend, now)
    decisions = [(first if i % 2 else second).acquire("Bash", 3, 10.0) for i in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert decisions[-1].retry_after == pytest.approx(10.0)
    assert first.peek("Bash", 3, 10.0).remaining == 0
    now[0] = T0 + 10.5
    assert second.acquire("Bash", 3, 10.0).allowed  # the window slid
    assert second.peek("Bash", 3, 10.0).used == 1  # the refused call was never counted


def test_tool_limits_per_session_and_reset(backend: Backend) -> None:
    now = [T0]
    settings = RateLimitSettings(default=None, tools={"Web*": (2, 60.0)})
    limits = ToolRateLimits(limiter(backend, now), settings)
    assert limits.check("Bash", "s1") is None
    assert [limits.check("WebFetch", "s1").allowed for _ in range(3)] == [True, True, False]  # type: ignore[union-attr]
    assert limits.check("WebFetch", "s2").allowed  # type: ignore[union-attr]
    rows = limiter(backend, now).status()
    assert {r["key"]: r["used"] for r in rows} == {"WebFetch@s1": 2, "WebFetch@s2": 1}
    assert limiter(backend, now).reset(["WebFetch@s1"]) == ["WebFetch@s1"]
    assert limits.check("WebFetch", "s1").allowed  # type: ignore[union-attr]


@pytest.mark.slow
def test_the_limit_holds_across_processes(backend: Backend) -> None:
    answers = run_clients(backend, "rate", 6, n=8, limit=25)
    assert sum(a["admitted"] for a in answers) == 25
    assert limiter(backend, [__import__("time").time()]).peek("Bash", 25, 60.0).used == 25
