"""Breakers keyed by tool calls: keys (Bash modes), settings and overrides, the deny reason, and the
PreToolUse / PostToolUse / PostToolUseFailure flow over a fake clock."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from hookkit import FakeClock

from lib.breaker.config import BreakerSettings
from lib.breaker.machine import CLOSED, HALF_OPEN, OPEN, BreakerParams, force_open
from lib.breaker.messages import error_summary
from lib.breaker.storage import JsonStoreStorage, MemoryStorage
from lib.breaker.tools import (
    ToolBreakers,
    ToolBreakerSettings,
    bash_command_key,
    breaker_key,
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
        ('git "push" origin', "git", "git"),
        ("ls src", "ls", "ls"),
        ("pytest tests/unit -x", "pytest", "pytest"),
        ("make test || true # the tests", "make", "make test"),
        ("(cd sub; cargo build)", "cargo", "cargo build"),
        ("echo a \\\n  && npm run lint", "echo", "echo"),
        ("x=1\nuv run pytest", "uv", "uv run"),
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
    assert s.enabled and s.bash_key == "normalized" and s.params_for("Read", "Read") == BreakerParams()
    assert s.shared_keys == ("WebFetch", "WebSearch", "mcp__*")
    assert s.progress_tools == ("Edit", "Write", "MultiEdit", "NotebookEdit")
    assert s.broken_exit_codes == {126, 127}
    assert s.scope_of("mcp__github__create_issue", "mcp__github__create_issue") == "shared"
    assert s.scope_of("Bash:pytest", "Bash") == s.scope_of("Read", "Read") == "session"


def test_the_validated_section_gives_the_same_defaults() -> None:
    s = ToolBreakerSettings.from_mapping(validated(shared_keys=["Bash:curl", "WebFetch"]))
    assert s.scope_of("Bash:curl", "Bash") == "shared" and s.scope_of("WebSearch", "WebSearch") == "session"
    assert s.progress_tools == ("Edit", "Write", "MultiEdit", "NotebookEdit")


def test_empty_list_entries_are_rejected_with_the_field_name() -> None:
    with pytest.raises(ValueError, match="shared_keys: an entry is empty"):
        BreakerSettings(shared_keys=["WebFetch", " "])


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


def tools(
    storage: object = None, *, session: str = "s1", **section: object
) -> tuple[ToolBreakers, FakeClock]:
    clock = FakeClock(T0)
    settings = ToolBreakerSettings.from_mapping(validated(**section))
    return ToolBreakers(storage or MemoryStorage(), settings, session_id=session, clock=clock), clock  # type: ignore[arg-type]


BASH_GIT: dict[str, object] = {"command": "git push origin main"}
PYTEST: dict[str, object] = {"command": "pytest -x tests/test_a.py"}
WRITE: dict[str, object] = {"file_path": "/p/a.py", "content": "x"}


def fail_n(tb: ToolBreakers, n: int, tool_input: Mapping[str, object] = BASH_GIT, tool: str = "Bash") -> None:
    for i in range(n):
        tb.record_failure(tool, tool_input, f"f{i}", "Exit code 128\nfatal: could not read from remote")


def test_the_deny_reason_names_key_streak_error_retry_time_and_progress() -> None:
    tb, clock = tools(max_failures=3, cooldown_seconds=60)
    fail_n(tb, 3, PYTEST)
    clock.now += 18
    denial = tb.check("Bash", {"command": "pytest tests/test_b.py"}, "t1")
    assert denial is not None and (denial.key, denial.scope) == ("Bash:pytest", "session")
    assert denial.reason == (
        "Circuit breaker open: `Bash:pytest` failed 3 times in a row in this session with no progress "
        "in between. Last error: Exit code 128 … fatal: could not read from remote. "
        "It is blocked and may be retried in 42s (at 22:14:20 UTC). "
        "Change something before running `pytest` again: a successful Edit, Write, MultiEdit or "
        "NotebookEdit of a file (or a success of this same call) ends the block; repeating the same "
        "call will not."
    )
    assert tb.check("Bash", {"command": "git status"}, "t2") is None  # other commands: other breakers


def test_a_test_fix_loop_never_opens_a_breaker() -> None:
    tb, clock = tools()
    for i in range(20):
        tb.record_failure("Bash", PYTEST, f"p{i}", "Exit code 1\n1 failed")
        clock.now += 5
        assert tb.check("Write", WRITE, f"w{i}") is None
        tb.record_success("Write", WRITE, f"w{i}")
        assert tb.check("Bash", PYTEST, f"p{i + 1}") is None
    assert tb.changes == []


def test_progress_also_ends_an_open_breaker_of_the_session() -> None:
    tb, _ = tools(max_failures=2)
    fail_n(tb, 2, PYTEST)
    assert tb.check("Bash", PYTEST, "t") is not None
    tb.record_success("Edit", {"file_path": "/p/a.py"}, "e")
    assert tb.check("Bash", PYTEST, "t2") is None
    assert [(c.old_state, c.new_state) for c in tb.changes] == [(CLOSED, OPEN), (OPEN, CLOSED)]


def test_progress_does_not_reset_other_sessions_or_shared_keys() -> None:
    storage = MemoryStorage()
    first, _ = tools(storage, max_failures=2, session="a")
    second, _ = tools(storage, max_failures=2, session="b")
    fail_n(first, 2, PYTEST)
    fail_n(first, 2, {"url": "https://x"}, tool="WebFetch")
    second.record_success("Write", WRITE, "w")
    assert first.check("Bash", PYTEST, "t") is not None
    first.record_success("Write", WRITE, "w")
    assert first.check("Bash", PYTEST, "t") is None
    assert first.check("WebFetch", {"url": "https://y"}, "t") is not None  # the network did not change


def test_a_success_of_the_same_key_breaks_the_streak_other_keys_do_not() -> None:
    tb, _ = tools(max_failures=3)
    fail_n(tb, 2, PYTEST)
    tb.record_success("Bash", {"command": "git status"}, "g")  # not progress for pytest
    fail_n(tb, 1, PYTEST)
    assert tb.check("Bash", PYTEST, "t") is not None
    tb2, _ = tools(max_failures=3)
    fail_n(tb2, 2, PYTEST)
    tb2.record_success("Bash", {"command": "pytest -k other"}, "ok")
    fail_n(tb2, 2, PYTEST)
    assert tb2.check("Bash", PYTEST, "t") is None


def test_session_keys_never_block_another_session() -> None:
    storage = MemoryStorage()
    first, _ = tools(storage, session="a")
    second, _ = tools(storage, session="b")
    fail_n(first, 5, PYTEST)
    assert first.check("Bash", PYTEST, "t") is not None
    assert second.check("Bash", PYTEST, "t") is None
    assert second.check("Bash", {"command": "git status"}, "t") is None


def test_external_keys_are_shared_across_sessions() -> None:
    storage = MemoryStorage()
    first, _ = tools(storage, session="a")
    second, _ = tools(storage, session="b")
    fail_n(first, 5, {"query": "x"}, tool="mcp__github__search")
    denial = second.check("mcp__github__search", {"query": "y"}, "t")
    assert denial is not None and denial.scope == "shared"
    assert (
        "across this project's sessions" in denial.reason
        and "editing files does not unblock" in denial.reason
    )
    assert second.check("mcp__github__other", {}, "t") is None


def test_command_not_found_counts_for_the_programs_shared_key() -> None:
    storage = MemoryStorage()
    first, _ = tools(storage, session="a")
    second, _ = tools(storage, session="b")
    for i, sub in enumerate(["lint", "test", "build", "fmt", "check"]):
        first.record_failure(
            "Bash", {"command": f"ruff {sub}"}, f"r{i}", "Exit code 127\nbash: ruff: command not found"
        )
    denial = second.check("Bash", {"command": "ruff format ."}, "t")
    assert denial is not None and (denial.key, denial.scope) == ("Bash:ruff", "shared")
    assert "`ruff` itself looks broken" in denial.reason
    assert second.check("Bash", {"command": "git status"}, "t") is None


def test_a_timeout_is_a_broken_program_and_an_ordinary_failure_is_a_success_for_it() -> None:
    tb, _ = tools(max_failures=2)
    timed_out = "Exit code 143\nCommand timed out after 2m 0s"
    tb.record_failure("Bash", {"command": "npm install"}, "a", timed_out)
    tb.record_failure("Bash", {"command": "npm ci"}, "b", "Exit code 1\nERR! missing")  # npm ran
    tb.record_failure("Bash", {"command": "npm install"}, "c", timed_out)
    assert tb.check("Bash", {"command": "npm test"}, "t") is None
    tb.record_failure("Bash", {"command": "npm install"}, "d", timed_out)
    assert tb.check("Bash", {"command": "npm test"}, "t") is not None


def test_broken_exit_codes_are_configurable() -> None:
    tb, _ = tools(max_failures=1, broken_exit_codes=[2])
    tb.record_failure("Bash", {"command": "ls /nope"}, "a", "Exit code 2\nls: cannot access")
    assert tb.check("Bash", {"command": "ls /tmp"}, "t") is not None  # shared Bash:ls
    tb2, _ = tools(max_failures=1, broken_exit_codes=[2])
    tb2.record_failure("Bash", {"command": "ls /nope"}, "a", "Exit code 127\n")
    assert tb2.check("Bash", {"command": "ls /tmp"}, "t") is not None  # 127 is now ordinary: session key


def test_per_tool_keys_deny_every_bash_call_of_the_session() -> None:
    tb, _ = tools(max_failures=2, bash_key="tool")
    fail_n(tb, 2)
    denial = tb.check("Bash", {"command": "ls"}, "t")
    assert denial is not None and denial.key == "Bash" and "`Bash` failed 2 times" in denial.reason
    assert "before calling Bash again" in denial.reason
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


def test_a_refused_call_gives_back_the_trial_slot_it_took_on_another_breaker() -> None:
    storage = MemoryStorage()
    tb, clock = tools(storage, max_failures=1, cooldown_seconds=60)
    tb.record_failure("Bash", {"command": "make test"}, "a", "Exit code 127\n")  # shared Bash:make
    clock.now += 60
    fail_n(tb, 1, {"command": "make test"})  # session Bash:make test opens now
    denial = tb.check("Bash", {"command": "make test"}, "t")
    assert denial is not None and denial.key == "Bash:make test"
    other, _ = tools(storage, max_failures=1, session="s2")
    other.clock = tb.clock
    assert other.check("Bash", {"command": "make all"}, "u") is None  # the program's trial slot is free


def test_an_interrupted_trial_frees_its_slot_without_counting() -> None:
    tb, clock = tools(max_failures=1, cooldown_seconds=60)
    fail_n(tb, 1)
    clock.now += 60
    assert tb.check("Bash", BASH_GIT, "trial") is None
    tb.record_failure("Bash", BASH_GIT, "trial", "Interrupted by user", is_interrupt=True)
    record = tb.storage.load("Bash:git push@s1")
    assert record is not None and record["state"] == HALF_OPEN and record["leases"] == {}
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
    assert tb.release_calls(["unrelated", "refused-later"]) == ["Bash:git push@s1"]
    assert tb.release_calls(["refused-later"]) == []  # nothing held any more: read only
    assert tb.check("Bash", BASH_GIT, "other") is None


def test_disabled_tools_are_never_denied() -> None:
    tb, _ = tools(max_failures=1, overrides={"Bash": {"enabled": False}})
    fail_n(tb, 5)
    assert tb.check("Bash", BASH_GIT, "t") is None


def test_a_key_forced_open_shared_blocks_every_session() -> None:
    storage = MemoryStorage()
    tb, _ = tools(storage)
    from lib.breaker.tools import Target

    target = Target("Read", "shared", "", BreakerParams())
    storage.apply(target.name, target.tagged(lambda rec: force_open(rec, T0)))
    denial = tb.check("Read", {"file_path": "/x"}, "t")
    assert (
        denial is not None
        and "blocked by the user" in denial.reason
        and "until they reset it" in denial.reason
    )


def test_records_of_the_previous_version_are_ignored_and_rewritten(tmp_path: Path) -> None:
    (tmp_path / "breakers.json").write_text(
        json.dumps(
            {
                "version": 1,
                "breakers": {
                    "Bash": {"state": "open", "retry_at": T0 + 600, "consecutive_failures": 5},
                    "Bash:git": {"state": "open", "retry_at": T0 + 600},
                },
            }
        )
    )
    storage = JsonStoreStorage.open(str(tmp_path))
    tb, _ = tools(storage, bash_key="first_word")
    assert tb.check("Bash", BASH_GIT, "t") is None  # the old shared "Bash:git" record is not ours
    assert "Bash:git" not in storage.load_all()  # rewritten as a fresh record: gone
    assert storage.load_all()["Bash"]["state"] == OPEN  # other records are left for the library API


def test_open_state_survives_into_a_new_tool_breakers_on_the_same_file(tmp_path: Path) -> None:
    tb, clock = tools(JsonStoreStorage.open(str(tmp_path)), max_failures=2)
    fail_n(tb, 2)
    again = ToolBreakers(JsonStoreStorage.open(str(tmp_path)), tb.settings, session_id="s1", clock=clock)
    denial = again.check("Bash", BASH_GIT, "t")
    assert denial is not None and denial.error.state == OPEN
    record = again.storage.load("Bash:git push@s1")
    assert record is not None and (record["key"], record["scope"], record["session"]) == (
        "Bash:git push",
        "session",
        "s1",
    )


def test_the_stored_last_error_is_redacted() -> None:
    tb, _ = tools()
    tb.record_failure(
        "Bash", PYTEST, "a", "Exit code 1\nAPI_KEY=sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345"
    )
    record = tb.storage.load("Bash:pytest@s1")
    assert record is not None and "abcdefghijklmnop" not in str(record["last_error"])


@pytest.mark.parametrize(
    "command",
    [
        "git status --short",
        "cd /r && FOO=1 make test | tee log; echo done",
        "(cd sub && cargo build) || exit 1",
        "sudo -u www timeout 10 npm run build &",
    ],
)
def test_the_fast_split_and_the_full_scanner_agree_on_unquoted_commands(command: str) -> None:
    from lib.breaker.keys import _scan, split_words

    assert split_words(command) == _scan(command)


def test_scanner_handles_quotes_escapes_comments_and_long_commands() -> None:
    from lib.breaker.keys import MAX_SCAN, split_words

    assert split_words('git commit -m "a \\"b\\" c" && say\\ hi # x; rm') == [
        ["git", "commit", "-m", 'a "b" c'],
        ["say hi"],
    ]
    assert split_words("echo 'a;b' ; ls") == [["echo", "a;b"], ["ls"]]
    assert split_words("make " + "x" * (2 * MAX_SCAN)) == [["make", "x" * (MAX_SCAN - 5)]]


def test_shared_key_globs_of_every_shape() -> None:
    s = ToolBreakerSettings(shared_keys=["WebFetch", "mcp__*", "Bash:c?rl", "Bash:[w]get"])
    assert s.scope_of("WebFetch", "WebFetch") == "shared"
    assert s.scope_of("mcp__x__y", "mcp__x__y") == "shared"
    assert s.scope_of("Bash:curl", "Bash") == s.scope_of("Bash:wget", "Bash") == "shared"
    assert s.scope_of("Bash:git", "Bash") == "session"


def test_broken_tool_failures() -> None:
    from lib.breaker.keys import broken_tool_failure

    assert broken_tool_failure("Exit code 127\nbash: foo: command not found", {126, 127})
    assert broken_tool_failure("Exit code 126", {126, 127})
    assert broken_tool_failure("Command timed out after 2m 0s\npartial output", {127})
    assert broken_tool_failure("Exit code 143\nout\nCommand timed out after 10s", {127})
    assert not broken_tool_failure("Exit code 1\n127 tests failed", {127})
    assert not broken_tool_failure("Exit code x", {127})
    assert not broken_tool_failure(None, {127}) and not broken_tool_failure("", {127})


def test_call_keys_give_both_keys_from_one_parse() -> None:
    from lib.breaker.keys import call_keys, program_key

    assert call_keys("Bash", {"command": "git push -f"}) == ("Bash:git push", "Bash:git")
    assert call_keys("Bash", {"command": "git push"}, "tool") == ("Bash", "Bash:git")
    assert call_keys("Bash", {"command": "git push"}, "first_word") == ("Bash:git", "Bash:git")
    assert call_keys("Bash", {"command": "  "}) == ("Bash", None)
    assert call_keys("Read", {"file_path": "/x"}) == ("Read", None)
    assert program_key("Bash", {"command": "npm ci"}) == "Bash:npm" and program_key("Read", {}) is None


def test_what_claude_and_the_user_are_told_when_a_breaker_opens() -> None:
    from lib.breaker.messages import opened_notice, progress_hint

    context, system = opened_notice(
        key="Bash:pytest",
        scope="session",
        streak=5,
        last_error="Exit code 1\nboom",
        cooldown=60.0,
        reopened=False,
    )
    assert context.startswith(
        "Circuit breaker: `Bash:pytest` has now failed 5 times in a row in this session"
    )
    assert "(last error: Exit code 1 … boom). Further calls are blocked in this session for 60s." in context
    assert system == (
        "claude-hooks: circuit breaker 'Bash:pytest' (session) opened after 5 consecutive failures; blocked "
        "in this session for 60s. To clear it: .claude/hooks-runtime/bin/python -m lib breakers reset 'Bash:pytest'"
    )
    context, system = opened_notice(
        key="WebFetch", scope="shared", streak=6, last_error=None, cooldown=None, reopened=True
    )
    assert "is still failing and has now failed 6 times in a row across this project's sessions" in context
    assert "blocked for every session of this project for a while" in system
    assert progress_hint("Read", "session", ("Write",)) == (
        "Change something before calling Read again: a successful Write of a file (or a success of this "
        "same call) ends the block; repeating the same call will not."
    )
    assert progress_hint("Read", "session", ()) == (
        "Change something before calling Read again; repeating the same call will not help."
    )
    assert error_summary(" \n \n") == "(no error message)"


def test_the_public_module_lists_its_names_and_explains_typing_only_ones() -> None:
    import lib.circuit_breaker as cb

    assert "CircuitBreaker" in dir(cb) and "BreakerSettings" in dir(cb)
    assert cb.BreakerSettings is BreakerSettings
    with pytest.raises(AttributeError, match="typing Protocol for annotations only"):
        _ = cb.BreakerStorage
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = cb.nope  # type: ignore[attr-defined]
