"""The breaker and rate-limit hooks driven as Claude Code drives them: the registered command spawned
per event, the payload on stdin, exit code and stdout read back; several at once where Claude Code
would run them in parallel."""

from __future__ import annotations

import re
import subprocess
import time
from typing import Any

import pytest
from hookkit import HookProject, HookResult, payload_for

# The breaker and rate-limit hooks in this order (breaker first, so a call it denies is not counted
# by the rate limit), whatever the built-in list says.
HANDLERS = (
    "[runtime]\n"
    'disabled_builtins = ["breaker", "rate_limit"]\n'
    'handlers = ["hooks.breaker", "hooks.rate_limit"]\n'
)


def configure(project: HookProject, text: str) -> None:
    project.write_config(HANDLERS + text)


def failure(n: int, command: str = "git push origin main", **extra: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tool_input": {"command": command, "description": "push"},
        "tool_use_id": f"toolu_fail_{n}",
        "error": "Exit code 128\nfatal: could not read from remote repository",
    }
    return payload_for("PostToolUseFailure", "Bash", **{**fields, **extra})


def pre(n: int | str, command: str = "git push origin main", **extra: Any) -> dict[str, Any]:
    return payload_for(
        "PreToolUse",
        "Bash",
        tool_input={"command": command, "description": "push"},
        tool_use_id=f"toolu_{n}",
        **extra,
    )


def post(n: int | str, command: str = "git push origin main") -> dict[str, Any]:
    return payload_for(
        "PostToolUse",
        "Bash",
        tool_input={"command": command, "description": "push"},
        tool_use_id=f"toolu_{n}",
    )


def run_parallel(project: HookProject, payloads: list[dict[str, Any]]) -> list[HookResult]:
    procs = [project.popen(p) for p in payloads]
    results = []
    for proc in procs:
        proc.stdin = None  # popen already wrote and closed it
        out, err = proc.communicate(timeout=120)
        results.append(HookResult(subprocess.CompletedProcess(proc.args, proc.returncode, out, err)))
    for r in results:
        assert r.code == 0 and "Traceback" not in r.stderr, r
    return results


def breakers(project: HookProject) -> dict[str, dict[str, Any]]:
    """``python -m lib breakers --json`` from the installed runtime, by key (one session here)."""
    return {b["key"]: b for b in project.cli_json("breakers")["breakers"]}


def topics(project: HookProject) -> list[str]:
    return [r["topic"] for r in project.log_records("events")]


def wait_until(ts: float) -> None:
    while time.time() < ts:
        time.sleep(max(0.01, ts - time.time()))


def test_parallel_failures_below_the_threshold_keep_the_tool_usable(hook_project: HookProject) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 5\n")
    results = run_parallel(hook_project, [failure(i) for i in range(4)])
    assert all(r.json is None for r in results)
    assert breakers(hook_project)["Bash:git push"]["consecutive_failures"] == 4
    assert hook_project.run(pre(1)).decision is None


def test_parallel_failures_open_the_breaker_at_exactly_the_threshold(hook_project: HookProject) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 5\ncooldown_seconds = 60\n")
    results = run_parallel(hook_project, [failure(i) for i in range(8)])
    announced = [r.json for r in results if r.json]
    assert len(announced) == 1  # exactly one process made the CLOSED -> OPEN transition
    out = announced[0]
    assert out is not None
    assert (
        "circuit breaker 'Bash:git push' (session) opened after 5 consecutive failures"
        in out["systemMessage"]
    )
    assert (
        "Further calls are blocked in this session for 60s" in out["hookSpecificOutput"]["additionalContext"]
    )
    state = breakers(hook_project)["Bash:git push"]
    assert state["state"] == "open" and state["consecutive_failures"] == 8 and state["failures"] == 8
    assert state["retry_at"] - state["opened_at"] == 60  # stragglers did not extend the cooldown
    assert topics(hook_project).count("breaker.opened") == 1

    denied = hook_project.run(pre("next", "git push --force"))
    assert denied.decision == "deny"
    reason = denied.reason
    assert reason.startswith(
        "Circuit breaker open: `Bash:git push` failed 8 times in a row in this session with no progress"
    )
    assert "Last error: Exit code 128 … fatal: could not read from remote repository." in reason
    wait = re.search(r"may be retried in (\d+)s \(at \d\d:\d\d:\d\d UTC\)", reason)
    assert wait is not None and 0 < int(wait.group(1)) <= 60, reason
    assert "Change something before running `git push` again" in reason
    assert hook_project.run(pre("other", "ls -la")).decision is None  # another command: its own breaker
    assert "tool.denied" in topics(hook_project)


def test_after_the_cooldown_one_trial_passes_then_successes_close_it(hook_project: HookProject) -> None:
    # a cooldown long enough for the CLI and a hook to run before it ends, even measured and under load
    configure(hook_project, "[breaker]\nmax_failures = 2\ncooldown_seconds = 5\nsuccess_threshold = 2\n")
    run_parallel(hook_project, [failure(i) for i in range(2)])
    state = breakers(hook_project)["Bash:git push"]
    assert state["state"] == "open"
    assert hook_project.run(pre("early")).decision == "deny"
    wait_until(state["retry_at"] + 0.05)

    trials = run_parallel(hook_project, [pre(f"trial{i}") for i in range(6)])
    passed = [i for i, r in enumerate(trials) if r.decision is None]
    assert len(passed) == 1  # one trial across six processes asking at once
    refused = [r for r in trials if r.decision == "deny"]
    assert len(refused) == 5
    assert all("a trial call is now checking whether it works again" in r.reason for r in refused)
    assert breakers(hook_project)["Bash:git push"]["state"] == "half_open"

    assert hook_project.run(post(f"trial{passed[0]}")).code == 0
    assert breakers(hook_project)["Bash:git push"]["state"] == "half_open"  # 1 of 2 successes
    assert hook_project.run(pre("second")).decision is None
    assert hook_project.run(post("second")).code == 0
    assert breakers(hook_project)["Bash:git push"]["state"] == "closed"
    assert hook_project.run(pre("after")).decision is None
    seen = topics(hook_project)
    assert seen.index("breaker.opened") < seen.index("breaker.half_open") < seen.index("breaker.closed")


def test_a_failed_trial_reopens_it(hook_project: HookProject) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 1\ncooldown_seconds = 1\ncooldown_multiplier = 3\n")
    hook_project.run(failure(0))
    wait_until(breakers(hook_project)["Bash:git push"]["retry_at"] + 0.05)
    assert hook_project.run(pre("trial")).decision is None
    result = hook_project.run(failure(1) | {"tool_use_id": "toolu_trial"})
    assert "is still failing" in result.json["hookSpecificOutput"]["additionalContext"]  # type: ignore[index]
    state = breakers(hook_project)["Bash:git push"]
    assert state["state"] == "open" and state["cooldown"] == 3.0


def test_user_interrupts_never_open_the_breaker(hook_project: HookProject) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 2\n")
    for i in range(4):
        hook_project.run(failure(i, is_interrupt=True, error="Interrupted by user"))
    assert hook_project.run(pre(1)).decision is None
    assert "Bash:git push" not in breakers(hook_project)


def test_a_trial_refused_after_its_slot_was_taken_frees_it_at_the_batch_end(
    hook_project: HookProject,
) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 1\ncooldown_seconds = 1\n")
    hook_project.run(failure(0))
    wait_until(breakers(hook_project)["Bash:git push"]["retry_at"] + 0.05)
    assert hook_project.run(pre("lost")).decision is None  # ...then the call never runs: no Post event
    assert hook_project.run(pre("other")).decision == "deny"
    batch = payload_for(
        "PostToolBatch",
        tool_calls=[
            {"tool_name": "Bash", "tool_input": {}, "tool_use_id": "toolu_lost", "tool_response": "denied"}
        ],
    )
    assert hook_project.run(batch).code == 0
    assert hook_project.run(pre("other")).decision is None


def test_first_word_keys_block_only_the_failing_program(hook_project: HookProject) -> None:
    configure(hook_project, '[breaker]\nmax_failures = 3\nbash_key = "first_word"\n')
    run_parallel(hook_project, [failure(i, "git push") for i in range(3)])
    denied = hook_project.run(pre(1, "cd repo && git status"))
    assert denied.decision == "deny" and "`Bash:git` failed 3 times" in denied.reason
    assert hook_project.run(pre(2, "ls -la")).decision is None
    assert list(breakers(hook_project)) == ["Bash:git"]


def test_a_local_breaker_blocks_only_its_own_session(hook_project: HookProject) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 2\n")
    run_parallel(hook_project, [failure(i) for i in range(2)])
    assert hook_project.run(pre(1)).decision == "deny"
    assert hook_project.run(pre(2, session_id="another-session")).decision is None


def test_an_external_tool_breaker_blocks_every_session(hook_project: HookProject) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 2\n")
    fetch = {"tool_input": {"url": "https://example.invalid/", "prompt": "x"}}
    fails = [
        payload_for("PostToolUseFailure", "Bash", tool_name="WebFetch", error="Request failed: 503", **fetch)
        | {"tool_use_id": f"toolu_w{i}"}
        for i in range(2)
    ]
    run_parallel(hook_project, fails)
    other = payload_for("PreToolUse", "Bash", tool_name="WebFetch", session_id="another-session", **fetch)
    denied = hook_project.run(other)
    assert denied.decision == "deny" and "across this project's sessions" in denied.reason
    assert breakers(hook_project)["WebFetch"]["scope"] == "shared"


def test_edits_between_failures_never_open_the_breaker(hook_project: HookProject) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 2\n")
    write = payload_for(
        "PostToolUse", "Bash", tool_name="Write", tool_input={"file_path": "a.py", "content": "x"}
    )
    for i in range(4):
        assert hook_project.run(failure(i)).json is None
        assert hook_project.run(write | {"tool_use_id": f"toolu_write{i}"}).code == 0
    assert hook_project.run(pre(9)).decision is None


def test_overrides_disable_a_tool(hook_project: HookProject) -> None:
    configure(hook_project, "[breaker]\nmax_failures = 1\n[breaker.overrides.Bash]\nenabled = false\n")
    hook_project.run(failure(0))
    assert hook_project.run(pre(1)).decision is None


def test_a_held_lock_fails_open_by_default_and_closed_when_configured(hook_project: HookProject) -> None:
    config = "[state]\nlock_timeout_seconds = 0.2\n[breaker]\nmax_failures = 1\ncooldown_seconds = 1\n"
    configure(hook_project, config)
    hook_project.run(failure(0))
    wait_until(breakers(hook_project)["Bash:git push"]["retry_at"] + 0.05)
    lock_path = hook_project.path / ".claude" / "state" / "breakers.json.lock"
    python = hook_project.path / ".claude" / "hooks-runtime" / "bin" / "python"
    holder = subprocess.Popen(
        [str(python), "-c", f"import fcntl,sys; f=open({str(lock_path)!r},'a'); fcntl.flock(f, fcntl.LOCK_EX); "
         "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        opened = hook_project.run(pre(1))
        assert opened.code == 0 and opened.decision is None
        assert "handler breaker.check failed: LockTimeout" in opened.stderr
        hook_project.write_config(HANDLERS + 'fail_mode = "closed"\n' + config)
        closed = hook_project.run(pre(2))
        assert closed.decision == "deny" and "fail closed" in closed.reason and "LockTimeout" in closed.reason
    finally:
        holder.communicate("", timeout=10)
    assert hook_project.run(pre(3)).decision is None  # the lock is free: the trial goes through


# -- rate limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["deny", "ask"])
def test_over_the_rate_limit_pre_tool_use_denies_or_asks(hook_project: HookProject, action: str) -> None:
    configure(
        hook_project,
        f'[rate_limit]\naction = "{action}"\n[rate_limit.tools.Bash]\ncalls = 3\nwindow_seconds = 60\n',
    )
    results = run_parallel(hook_project, [pre(i, "ls") for i in range(3)])
    assert all(r.decision is None for r in results)
    over = hook_project.run(pre(4, "ls"))
    assert over.decision == action
    assert (
        "Bash was called 3 times in the last 60s in this session (limit 3 per 60s); 0 calls remain"
        in over.reason
    )
    assert "The next call is allowed in" in over.reason
    assert hook_project.run(pre(5, "ls", session_id="other")).decision is None  # per session
    assert hook_project.run(payload_for("PreToolUse", "Read")).decision is None  # per tool
    assert "ratelimit.exceeded" in topics(hook_project)


def test_a_call_the_breaker_denies_is_not_counted_by_the_rate_limit(hook_project: HookProject) -> None:
    configure(
        hook_project, "[breaker]\nmax_failures = 1\n[rate_limit.tools.Bash]\ncalls = 1\nwindow_seconds = 60\n"
    )
    hook_project.run(failure(0))
    for i in range(3):
        assert hook_project.run(pre(i)).decision == "deny"
    assert hook_project.state("ratelimits").get("windows", {}) == {}
