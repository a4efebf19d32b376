"""``python -m lib breakers`` and ``python -m lib ratelimits``, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lib.breaker.storage import JsonStoreStorage
from lib.breaker.tools import ToolBreakers, ToolBreakerSettings
from lib.circuit_breaker import BreakerParams, CircuitBreaker
from lib.rate_limiter import RateLimiter


def cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lib", "--project", str(project), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    storage = JsonStoreStorage.open(str(tmp_path / ".claude" / "state"))
    git = CircuitBreaker("Bash:git", BreakerParams(max_failures=2, cooldown_seconds=120), storage=storage)
    for _ in range(2):
        git.record_failure("Exit code 128\nfatal: not a git repository")
    CircuitBreaker("Read", storage=storage).record_failure("File does not exist.")
    return tmp_path


def test_list_shows_state_failures_opened_at_and_retry_after(project: Path) -> None:
    out = cli(project, "breakers")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == [
        "KEY",
        "SCOPE",
        "SESSION",
        "STATE",
        "STREAK",
        "OPENED",
        "AT",
        "(UTC)",
        "RETRY",
        "AFTER",
        "LAST",
        "ERROR",
    ]
    git = lines[1].split()
    assert git[:5] == ["Bash:git", "-", "-", "open", "2"]  # a library breaker: no scope, no session
    assert git[7] in ("120s", "119s")
    assert "Exit code 128 … fatal: not a git repository" in lines[1]
    assert lines[2].split()[:5] == ["Read", "-", "-", "closed", "1"]


def hook_breakers(project: Path, session: str) -> ToolBreakers:
    storage = JsonStoreStorage.open(str(project / ".claude" / "state"))
    return ToolBreakers(
        storage, ToolBreakerSettings(defaults=BreakerParams(max_failures=2)), session_id=session
    )


def test_list_shows_key_scope_session_streak_and_retry_of_tool_breakers(tmp_path: Path) -> None:
    tools = hook_breakers(tmp_path, "0123456789abcdef-session")
    for _ in range(2):
        tools.record_failure("Bash", {"command": "pytest -x"}, None, "Exit code 1\n1 failed")
    tools.record_failure("WebFetch", {"url": "https://x"}, None, "Request failed with status code 503")
    rows = [line.split() for line in cli(tmp_path, "breakers").stdout.splitlines()]
    assert rows[1][:5] == ["Bash:pytest", "session", "0123456789ab", "open", "2"]
    assert rows[1][7] in ("60s", "59s")
    assert rows[2][:5] == ["WebFetch", "shared", "-", "closed", "1"]
    data = json.loads(cli(tmp_path, "breakers", "--json").stdout)["breakers"]
    pytest_breaker = data[0]
    assert pytest_breaker["name"] == "Bash:pytest@0123456789abcdef-session"
    assert (pytest_breaker["key"], pytest_breaker["scope"], pytest_breaker["session"]) == (
        "Bash:pytest",
        "session",
        "0123456789abcdef-session",
    )
    assert pytest_breaker["streak"] == 2 and 0 < pytest_breaker["retry_after"] <= 60
    # a key resets its breakers in every session
    hook_breakers(tmp_path, "other").record_failure("Bash", {"command": "pytest"}, None, "Exit code 1")
    out = cli(tmp_path, "breakers", "reset", "Bash:pytest", "--json")
    assert sorted(json.loads(out.stdout)["reset"]) == [
        "Bash:pytest@0123456789abcdef-session",
        "Bash:pytest@other",
    ]


def test_a_key_forced_open_from_the_cli_blocks_every_session(tmp_path: Path) -> None:
    assert cli(tmp_path, "breakers", "open", "Bash:git push").returncode == 0
    denial = hook_breakers(tmp_path, "any").check("Bash", {"command": "git push origin"}, "t")
    assert denial is not None and "blocked by the user" in denial.reason
    assert hook_breakers(tmp_path, "any").check("Bash", {"command": "git pull"}, "t") is None


def test_list_json(project: Path) -> None:
    data = json.loads(cli(project, "breakers", "--json").stdout)
    assert data["state_file"] == str(project / ".claude" / "state" / "breakers.json")
    by_name = {b["name"]: b for b in data["breakers"]}
    git = by_name["Bash:git"]
    assert git["state"] == "open" and git["consecutive_failures"] == 2
    assert git["retry_at"] - git["opened_at"] == 120 and 0 < git["retry_after"] <= 120
    assert by_name["Read"]["retry_after"] is None


def test_an_empty_project_says_so(tmp_path: Path) -> None:
    out = cli(tmp_path, "breakers")
    assert out.returncode == 0 and out.stdout.startswith("No circuit breakers recorded")
    assert json.loads(cli(tmp_path, "breakers", "--json").stdout)["breakers"] == []


def test_reset_by_name_glob_and_all(project: Path) -> None:
    out = cli(project, "breakers", "reset", "Bash:*")
    assert out.returncode == 0 and out.stdout.strip() == "reset: Bash:git"
    assert [b["name"] for b in json.loads(cli(project, "breakers", "--json").stdout)["breakers"]] == ["Read"]
    out = cli(project, "breakers", "reset", "--all", "--json")
    assert json.loads(out.stdout) == {"reset": ["Read"], "not_found": []}


def test_reset_of_an_unknown_name_fails_and_names_the_known_ones(project: Path) -> None:
    out = cli(project, "breakers", "reset", "Bash:gti")
    assert out.returncode == 1
    assert "no breaker matches 'Bash:gti' (known: Bash:git, Read)" in out.stderr


def test_reset_needs_a_name_or_all(project: Path) -> None:
    out = cli(project, "breakers", "reset")
    assert out.returncode == 2 and "give NAME ... or --all" in out.stderr


def test_force_open_and_close(project: Path) -> None:
    assert cli(project, "breakers", "open", "WebFetch").returncode == 0
    assert cli(project, "breakers", "close", "Bash:git").returncode == 0
    by_name = {b["name"]: b for b in json.loads(cli(project, "breakers", "--json").stdout)["breakers"]}
    assert by_name["WebFetch"]["state"] == "open" and by_name["WebFetch"]["forced"] == "open"
    assert by_name["WebFetch"]["retry_after"] is None
    assert by_name["Bash:git"]["state"] == "closed" and by_name["Bash:git"]["forced"] == "closed"
    assert "open (forced)" in cli(project, "breakers").stdout


def test_ratelimits_list_and_reset(tmp_path: Path) -> None:
    limiter = RateLimiter.open(str(tmp_path / ".claude" / "state"))
    for _ in range(3):
        limiter.acquire("Bash@s1", 10, 60, meta={"tool": "Bash", "session_id": "s1"})
    limiter.acquire("Read@s1", 10, 60)
    out = cli(tmp_path, "ratelimits")
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()]
    assert rows[0] == ["KEY", "USED", "LIMIT", "WINDOW", "REMAINING", "NEXT", "SLOT", "EMPTY", "IN"]
    assert rows[1][:5] == ["Bash@s1", "3", "10", "60s", "7"]
    data = json.loads(cli(tmp_path, "ratelimits", "--json").stdout)
    bash = data["windows"][0]
    assert (bash["key"], bash["tool"], bash["session_id"], bash["remaining"]) == ("Bash@s1", "Bash", "s1", 7)
    assert bash["clear_at"] <= time.time() + 60
    out = cli(tmp_path, "ratelimits", "reset", "Bash@*", "--json")
    assert json.loads(out.stdout) == {"reset": ["Bash@s1"], "not_found": []}
    out = cli(tmp_path, "ratelimits", "reset", "nope")
    assert out.returncode == 1 and "no rate-limit window matches 'nope'" in out.stderr
    assert cli(tmp_path, "ratelimits", "reset", "--all").stdout.strip() == "reset: Read@s1"
    assert cli(tmp_path, "ratelimits").stdout.startswith("No rate-limit windows in use")
