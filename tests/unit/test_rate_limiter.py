"""Sliding-window rate limits: the window arithmetic, the store-backed limiter (shared by processes),
tool-call settings and the reason Claude or the user reads."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hookkit import FakeClock

from lib.config_models import RateLimitSection
from lib.rate_limiter import (
    RateLimiter,
    RateLimitSettings,
    ToolRateLimits,
    format_rate_limit,
    rate_key,
    slide,
)

T0 = 1_700_000_000.0


# -- the window ------------------------------------------------------------------------------------


def test_slide_admits_up_to_the_limit_and_records_only_admitted_calls() -> None:
    calls: list[float] = []
    results = []
    for i in range(5):
        calls, ok = slide(calls, T0 + i, 3, 60)
        results.append(ok)
    assert results == [True, True, True, False, False]
    assert calls == [T0, T0 + 1, T0 + 2]


def test_calls_leave_the_window_after_exactly_window_seconds() -> None:
    calls = [T0, T0 + 1]
    assert slide(calls, T0 + 60, 2, 60) == ([T0 + 1, T0 + 60], True)  # T0 is out at T0+60
    assert slide(calls, T0 + 59.999, 2, 60)[1] is False


def test_slide_does_not_modify_its_input() -> None:
    calls = [T0]
    slide(calls, T0 + 1, 5, 60)
    assert calls == [T0]


def test_peek_does_not_record(tmp_path: Path) -> None:
    limiter = RateLimiter(clock=FakeClock(T0))
    assert limiter.peek("k", 1, 60).allowed
    assert limiter.acquire("k", 1, 60).allowed
    assert not limiter.peek("k", 1, 60).allowed


def test_a_decision_says_what_remains_and_when_a_slot_frees() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock=clock)
    first = limiter.acquire("k", 3, 60)
    assert (first.allowed, first.used, first.remaining) == (True, 1, 2)
    clock.now += 10
    limiter.acquire("k", 3, 60)
    clock.now += 10
    third = limiter.acquire("k", 3, 60)
    assert third.remaining == 0 and third.reset_at == T0 + 60 and third.clear_at == T0 + 80
    clock.now += 5
    refused = limiter.acquire("k", 3, 60)
    assert not refused.allowed and refused.used == 3 and refused.remaining == 0
    assert refused.retry_after == 35.0  # T0 leaves the window at T0+60; now is T0+25
    clock.now = T0 + 60
    assert limiter.acquire("k", 3, 60).allowed


def test_a_lowered_limit_waits_for_enough_calls_to_leave() -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter(clock=clock)
    for i in range(5):
        clock.now = T0 + i
        limiter.acquire("k", 10, 60)
    refused = limiter.acquire("k", 2, 60)  # 5 in the window, 2 allowed: 4 must leave
    assert not refused.allowed and refused.reset_at == T0 + 3 + 60


@pytest.mark.parametrize(("limit", "window"), [(0, 60), (-1, 60), (True, 60), (5, 0), (5, -1)])
def test_invalid_limits_are_rejected(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RateLimiter().acquire("k", limit, window)


# -- the store ------------------------------------------------------------------------------------


def test_windows_persist_in_ratelimits_json(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter.open(str(tmp_path), clock=clock)
    limiter.acquire("Bash@s1", 2, 60, meta={"tool": "Bash", "session_id": "s1"})
    again = RateLimiter.open(str(tmp_path), clock=clock)
    assert again.acquire("Bash@s1", 2, 60).allowed
    assert not again.acquire("Bash@s1", 2, 60).allowed
    data = json.loads((tmp_path / "ratelimits.json").read_text())
    assert data["version"] == 1
    assert data["windows"]["Bash@s1"]["calls"] == [T0, T0]
    assert data["windows"]["Bash@s1"]["tool"] == "Bash"


def test_empty_windows_of_other_keys_are_pruned(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter.open(str(tmp_path), clock=clock)
    limiter.acquire("old-session", 5, 60)
    clock.now += 61
    limiter.acquire("new-session", 5, 60)
    assert list(json.loads((tmp_path / "ratelimits.json").read_text())["windows"]) == ["new-session"]


def test_status_and_reset(tmp_path: Path) -> None:
    clock = FakeClock(T0)
    limiter = RateLimiter.open(str(tmp_path), clock=clock)
    for key in ("Bash@a", "Bash@b", "Read@a"):
        limiter.acquire(key, 5, 60, meta={"tool": key.split("@")[0]})
    status = limiter.status()
    assert [s["key"] for s in status] == ["Bash@a", "Bash@b", "Read@a"]
    assert status[0]["used"] == 1 and status[0]["remaining"] == 4 and status[0]["tool"] == "Bash"
    assert limiter.reset(["Bash@*"]) == ["Bash@a", "Bash@b"]
    assert [s["key"] for s in limiter.status()] == ["Read@a"]
    assert limiter.reset() == ["Read@a"] and limiter.status() == []


def test_a_corrupt_file_starts_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ratelimits.json").write_text("[1, 2")
    limiter = RateLimiter.open(str(tmp_path), clock=FakeClock(T0))
    assert limiter.acquire("k", 1, 60).allowed
    assert "moved aside" in capsys.readouterr().err


def test_malformed_windows_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "ratelimits.json").write_text(
        json.dumps({"windows": {"k": {"calls": ["x", None, T0], "limit": 2, "window_seconds": 60}, "bad": 3}})
    )
    limiter = RateLimiter.open(str(tmp_path), clock=FakeClock(T0))
    decision = limiter.acquire("k", 2, 60)
    assert decision.allowed and decision.used == 2


WORKER = textwrap.dedent(
    """
    import sys, time
    from lib.rate_limiter import RateLimiter
    state_dir, start_at = sys.argv[1], float(sys.argv[2])
    limiter = RateLimiter.open(state_dir, lock_timeout=10, clock=lambda: 1_700_000_000.0)
    while time.time() < start_at:
        time.sleep(0.0005)
    print(sum(limiter.acquire("Bash", 25, 60).allowed for _ in range(10)))
    """
)


def test_parallel_processes_never_exceed_the_limit(tmp_path: Path) -> None:
    start_at = time.time() + 0.8
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(tmp_path), repr(start_at)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    admitted = sum(int(p.communicate(timeout=60)[0]) for p in procs)
    assert admitted == 25  # 60 attempts, exactly the limit admitted, none lost or double-counted


# -- tool calls ------------------------------------------------------------------------------------


def validated(**section: object) -> dict[str, object]:
    """The [rate_limit] section as the config cache holds it."""
    return RateLimitSection(**section).model_dump(mode="json")  # type: ignore[arg-type]


def test_rate_keys() -> None:
    assert rate_key("Bash", "s1", "session") == "Bash@s1"
    assert rate_key("Bash", "s1", "project") == "Bash"
    assert rate_key("Bash", None, "session") == "Bash"


def test_settings_pick_the_tool_entry_then_a_glob_then_the_default() -> None:
    s = RateLimitSettings.from_mapping(
        validated(
            default={"calls": 100, "window_seconds": 60},
            tools={
                "WebFetch": {"calls": 5, "window_seconds": 60},
                "mcp__*": {"calls": 20, "window_seconds": 30},
            },
        )
    )
    assert s.rule_for("WebFetch") == (5, 60.0)
    assert s.rule_for("mcp__github__search") == (20, 30.0)
    assert s.rule_for("Bash") == (100, 60.0)


def test_no_default_limits_only_the_listed_tools() -> None:
    s = RateLimitSettings.from_mapping(
        validated(default=None, tools={"WebFetch": {"calls": 5, "window_seconds": 60}})
    )
    assert s.rule_for("Bash") is None and s.rule_for("WebFetch") == (5, 60.0)


def test_disabled_limits_nothing() -> None:
    assert RateLimitSettings.from_mapping(validated(enabled=False)).rule_for("Bash") is None


def test_the_defaults_when_the_section_is_absent() -> None:
    s = RateLimitSettings.from_mapping(None)
    assert (s.enabled, s.action, s.scope, s.rule_for("Bash")) == (True, "deny", "session", (300, 60.0))


def test_bad_action_or_scope_is_rejected() -> None:
    with pytest.raises(ValueError, match="action must be one of deny, ask"):
        RateLimitSettings(action="block")
    with pytest.raises(ValueError, match="scope must be one of session, project"):
        RateLimitSettings(scope="global")


def test_sessions_have_separate_windows_in_session_scope() -> None:
    limits = ToolRateLimits(RateLimiter(clock=FakeClock(T0)), RateLimitSettings(default=(1, 60)))
    assert limits.check("Bash", "s1").allowed  # type: ignore[union-attr]
    assert not limits.check("Bash", "s1").allowed  # type: ignore[union-attr]
    assert limits.check("Bash", "s2").allowed  # type: ignore[union-attr]
    assert limits.check("Read", "s1").allowed  # type: ignore[union-attr]


def test_project_scope_shares_one_window() -> None:
    limits = ToolRateLimits(
        RateLimiter(clock=FakeClock(T0)), RateLimitSettings(default=(1, 60), scope="project")
    )
    assert limits.check("Bash", "s1").allowed  # type: ignore[union-attr]
    assert not limits.check("Bash", "s2").allowed  # type: ignore[union-attr]


def test_the_reason_says_count_limit_remaining_and_reset() -> None:
    clock = FakeClock(T0)
    limits = ToolRateLimits(RateLimiter(clock=clock), RateLimitSettings(default=(2, 60)))
    limits.check("WebFetch", "s")
    clock.now += 20
    limits.check("WebFetch", "s")
    clock.now += 5
    refused = limits.check("WebFetch", "s")
    assert refused is not None and not refused.allowed
    assert limits.reason("WebFetch", refused) == (
        "Rate limit: WebFetch was called 2 times in the last 60s in this session (limit 2 per 60s); "
        "0 calls remain. The next call is allowed in 35s (at 22:14:20 UTC). "
        "Wait, batch the work into fewer calls, or use another approach meanwhile."
    )
    ask = format_rate_limit("WebFetch", refused, "project", for_user=True)
    assert "in this project" in ask and ask.endswith("Allow this call anyway?")


def test_long_windows_read_in_minutes() -> None:
    limits = ToolRateLimits(RateLimiter(clock=FakeClock(T0)), RateLimitSettings(default=(1, 3600)))
    limits.check("Bash", "s")
    refused = limits.check("Bash", "s")
    assert "in the last 60 min" in limits.reason("Bash", refused)  # type: ignore[arg-type]
