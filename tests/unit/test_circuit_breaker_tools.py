"""Breakers keyed by tool calls: keys (Bash modes), settings and overrides, the deny reason, and the
PreToolUse / PostToolUse / PostToolUseFailure flow over a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from hookkit import FakeClock

from lib.breaker.config import BreakerSettings
from lib.breaker.machine import CLOSED, HALF_OPEN, OPEN, BreakerParams
from lib.breaker.storage import JsonStoreStorage, MemoryStorage
from lib.breaker.tools import (
    ToolBreakers,
    ToolBreakerSettings,
    bash_command_key,
    breaker_key,
    error_summary,
)

T0 = 1_700_000_000.0


@pytest.mark.parametrize(
    ("command", "first_word", "normalized"),
    [
        ("git status", "git", "git status"),
        ("git -C /repo push origin main", "git", "git"),
        ("/usr/bin/git commit -m 'x y'", "git", "git commit"),
        ("FOO=1 BAR=2 npm test -- --watch", "npm", "npm test"),
        ("sudo -u www env LANG=C timeout 10 make build", "make", "make build"),
        ("cd /repo && cargo build --release", "cargo", "cargo build"),
        ("cd /repo; export X=1; source .venv/bin/activate && pytest tests/unit -x", "pytest", "pytest"),
        ("cd /tmp", "cd", "cd"),
        ("python3 script.py --flag", "python3", "python3"),
        ("python -m pytest -q", "python", "python"),
        ("cat README.md | grep foo", "cat", "cat"),
        ("ls -la", "ls", "ls"),
        ("echo 'unterminated", "echo", "echo"),
        ("  ", "", ""),
    ],
)
def test_bash_command_keys(command: str, first_word: str, normalized: str) -> None:
    assert bash_command_key(command, "first_word") == first_word
    assert bash_command_key(command, "normalized") == normalized


def test_breaker_key_by_mode() -> None:
    bash = {"command": "git push"}
    assert breaker_key("Bash", bash, "tool") == "Bash"
    assert breaker_key("Bash", bash, "first_word") == "Bash:git"
    assert breaker_key("Bash", bash, "normalized") == "Bash:git push"
    assert breaker_key("Read", {"file_path": "/x"}, "first_word") == "Read"
    assert breaker_key("Bash", {"command": ""}, "first_word") == "Bash"
    assert breaker_key("Bash", {}, "first_word") == "Bash"


def test_error_summary_keeps_first_and_last_line() -> None:
    assert error_summary("Exit code 128\nsome output\nfatal: not a git repository") == (
        "Exit code 128 … fatal: not a git repository"
    )
    assert error_summary("File does not exist.") == "File does not exist."
    assert error_summary("") == "(no error message)"
    assert error_summary("x" * 500).endswith("…") and len(error_summary("x" * 500)) == 240


# -- settings ------------------------------------------------------------------------------------------


def validated(**section: object) -> dict[str, object]:
    """The [breaker] section as the config cache holds it: validated, dumped to plain data."""
    return BreakerSettings(**section).model_dump(mode="json")  # type: ignore[arg-type]


def test_settings_from_the_validated_section() -> None:
    s = ToolBreakerSettings.from_mapping(validated(max_failures=2, cooldown_seconds=5, bash_key="first_word"))
    assert s.bash_key == "first_word"
    assert s.params_for("Bash:git", "Bash") == BreakerParams(max_failures=2, cooldown_seconds=5)


def test_no_section_means_the_defaults() -> None:
    s = ToolBreakerSettings.from_mapping(None)
    assert s.enabled and s.bash_key == "tool" and s.params_for("Read", "Read") == BreakerParams()


def test_overrides_exact_key_then_tool_then_glob() -> None:
    s = ToolBreakerSettings.from_mapping(
        validated(
            bash_key="first_word",
            overrides={
                "Bash:npm": {"max_failures": 10},
                "Bash": {"max_failures": 7},
                "mcp__github__*": {"cooldown_seconds": 300},
                "Read": {"enabled": False},
            },
        )
    )
    assert s.params_for("Bash:npm", "Bash").max_failures == 10  # type: ignore[union-attr]
    assert s.params_for("Bash:git", "Bash").max_failures == 7  # type: ignore[union-attr]
    assert s.params_for("mcp__github__create_issue", "mcp__github__create_issue").cooldown_seconds == 300  # type: ignore[union-attr]
    assert s.params_for("Read", "Read") is None
    assert s.params_for("Write", "Write") == BreakerParams()


def test_disabled_section_with_an_enabled_override() -> None:
    s = ToolBreakerSettings.from_mapping(validated(enabled=False, overrides={"WebFetch": {"enabled": True}}))
    assert s.params_for("Bash", "Bash") is None
    assert s.params_for("WebFetch", "WebFetch") == BreakerParams()


def test_an_override_that_breaks_the_rules_is_reported_with_its_key() -> None:
    with pytest.raises(ValueError, match=r"overrides.'Bash:git': .*max_cooldown_seconds \(600\) is below"):
        BreakerSettings(overrides={"Bash:git": {"cooldown_seconds": 900}})  # type: ignore[dict-item]


def test_a_bad_bash_key_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="bash_key must be one of tool, first_word, normalized"):
        ToolBreakerSettings(bash_key="words")


# -- the hook flow -------------------------------------------------------------------------------------


def tools(storage: object = None, **section: object) -> tuple[ToolBreakers, FakeClock]:
    clock = FakeClock(T0)
    settings = ToolBreakerSettings.from_mapping(validated(**section))
    return ToolBreakers(storage or MemoryStorage(), settings, clock=clock), clock  # type: ignore[arg-type]


BASH_GIT = {"command": "git push origin main"}


def fail_n(tb: ToolBreakers, n: int, tool_input: dict[str, object] = BASH_GIT) -> None:
    for i in range(n):
        tb.record_failure("Bash", tool_input, f"f{i}", "Exit code 128\nfatal: could not read from remote")


def test_the_deny_reason_tells_claude_what_failed_when_and_what_to_do() -> None:
    tb, clock = tools(max_failures=3, cooldown_seconds=60, bash_key="first_word")
    fail_n(tb, 3)
    clock.now += 18
    denial = tb.check("Bash", {"command": "git fetch"}, "t1")
    assert denial is not None and denial.key == "Bash:git"
    assert denial.reason == (
        "Circuit breaker open: Bash commands `git` failed 3 times in a row. "
        "Last error: Exit code 128 … fatal: could not read from remote. "
        "It is blocked and may be retried in 42s (at 22:14:20 UTC). "
        "Do not repeat the same call: meanwhile try a different approach (read the error, fix the "
        "cause or the arguments, or use another tool)."
    )
    assert tb.check("Bash", {"command": "ls"}, "t2") is None  # other programs have their own breaker


def test_per_tool_keys_deny_every_bash_call() -> None:
    tb, _ = tools(max_failures=2)
    fail_n(tb, 2)
    denial = tb.check("Bash", {"command": "ls"}, "t")
    assert denial is not None and denial.key == "Bash" and "the Bash tool failed 2 times" in denial.reason
    assert tb.check("Read", {"file_path": "/x"}, "r") is None


def test_after_the_cooldown_one_trial_passes_and_two_successes_close() -> None:
    tb, clock = tools(max_failures=2, cooldown_seconds=60)
    fail_n(tb, 2)
    clock.now += 60
    assert tb.check("Bash", BASH_GIT, "trial") is None
    busy = tb.check("Bash", BASH_GIT, "second")
    assert busy is not None and busy.error.state == HALF_OPEN
    assert "a trial call is now checking whether it works again" in busy.reason
    tb.record_success("Bash", BASH_GIT, "trial")
    assert tb.check("Bash", BASH_GIT, "trial2") is None
    tb.record_success("Bash", BASH_GIT, "trial2")
    assert [(c.old_state, c.new_state) for c in tb.changes] == [
        (CLOSED, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED),
    ]


def test_an_interrupted_trial_frees_its_slot_without_counting() -> None:
    tb, clock = tools(max_failures=1, cooldown_seconds=60)
    fail_n(tb, 1)
    clock.now += 60
    assert tb.check("Bash", BASH_GIT, "trial") is None
    tb.record_failure("Bash", BASH_GIT, "trial", "Interrupted by user", is_interrupt=True)
    snap = tb.breaker("Bash", "Bash").snapshot()  # type: ignore[union-attr]
    assert snap.state == HALF_OPEN and snap.half_open_in_flight == 0
    assert tb.check("Bash", BASH_GIT, "next") is None


def test_interrupts_never_open_the_breaker() -> None:
    tb, _ = tools(max_failures=2)
    for i in range(5):
        tb.record_failure("Bash", BASH_GIT, f"i{i}", "Interrupted", is_interrupt=True)
    assert tb.check("Bash", BASH_GIT, "t") is None


def test_release_calls_frees_trial_slots_of_calls_that_never_ran(tmp_path: Path) -> None:
    tb, clock = tools(JsonStoreStorage.open(str(tmp_path)), max_failures=1, cooldown_seconds=60)
    fail_n(tb, 1)
    clock.now += 60
    assert tb.check("Bash", BASH_GIT, "refused-later") is None
    assert tb.check("Bash", BASH_GIT, "other") is not None
    assert tb.release_calls(["unrelated", "refused-later"]) == ["Bash"]
    assert tb.release_calls(["refused-later"]) == []  # nothing held any more: read only
    assert tb.check("Bash", BASH_GIT, "other") is None


def test_disabled_tools_are_never_denied() -> None:
    tb, _ = tools(max_failures=1, overrides={"Bash": {"enabled": False}})
    fail_n(tb, 5)
    assert tb.check("Bash", BASH_GIT, "t") is None


def test_forced_open_reason() -> None:
    tb, _ = tools()
    tb.breaker("Read", "Read").force_open()  # type: ignore[union-attr]
    denial = tb.check("Read", {"file_path": "/x"}, "t")
    assert (
        denial is not None
        and "blocked by the user" in denial.reason
        and "until they reset it" in denial.reason
    )


def test_open_state_survives_into_a_new_tool_breakers_on_the_same_file(tmp_path: Path) -> None:
    tb, clock = tools(JsonStoreStorage.open(str(tmp_path)), max_failures=2)
    fail_n(tb, 2)
    again = ToolBreakers(JsonStoreStorage.open(str(tmp_path)), tb.settings, clock=clock)
    denial = again.check("Bash", BASH_GIT, "t")
    assert denial is not None and denial.error.state == OPEN
