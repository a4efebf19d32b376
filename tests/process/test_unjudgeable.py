"""What the installed hook answers when it cannot judge a call, driven as Claude Code drives it.

On the deciding events (PreToolUse, PreSkillShellCommand, PermissionRequest) a hostile or broken
input is asked, never let through silently; the process always exits 0 with exactly one JSON object.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hookkit import HookProject, HookResult

SESSION = "5921294c-55cd-4911-91ca-88811f0d9977"


def pre(project: HookProject, command: str, *, event: str = "PreToolUse", **extra: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "session_id": SESSION,
        "transcript_path": "/tmp/t.jsonl",
        "cwd": str(project.path),
        "permission_mode": "default",
        "hook_event_name": event,
        "tool_name": "Bash",
        "tool_input": {"command": command},
        "tool_use_id": "toolu_u1",
    }
    payload.update(extra)
    return payload


def raw(payload: dict[str, Any], command_json: str) -> bytes:
    """``payload`` as JSON with ``tool_input.command`` spelled exactly as ``command_json`` (escapes kept)."""
    text = json.dumps({**payload, "tool_input": {"command": "@@"}})
    return text.replace('"@@"', command_json).encode()


def one_answer(result: HookResult) -> dict[str, Any]:
    assert result.code == 0, result
    assert result.stdout.count("\n") == 1, result
    out = result.json
    assert out is not None, result
    return out


@pytest.mark.parametrize(
    "command_json",
    [
        r'"rm -rf .git \ud800"',  # a lone surrogate: the deny reason echoes it
        r'"\udfff; rm -rf ~"',
        r'"rm -rf .git \ud800\u0007\u001b[2J\u0085"',  # with control characters
    ],
)
def test_lone_surrogate_in_a_destructive_command_is_still_denied(
    hook_project: HookProject, command_json: str
) -> None:
    result = hook_project.run(raw(pre(hook_project, ""), command_json), "PreToolUse")
    out = one_answer(result)
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny", result
    assert result.stdout.isascii()
    out["hookSpecificOutput"]["permissionDecisionReason"].encode("utf-8")  # no lone surrogate left


def test_invalid_utf8_is_judged_not_dropped(hook_project: HookProject) -> None:
    data = raw(pre(hook_project, ""), '"rm -rf ~ \xff\xfe"'.encode("latin-1").decode("latin-1"))
    data = data.replace("\xff\xfe".encode(), b"\xff\xfe")  # raw invalid bytes, not their UTF-8 form
    result = hook_project.run(data, "PreToolUse")
    assert one_answer(result)["hookSpecificOutput"]["permissionDecision"] == "deny"


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[1, 2]", b'{"hook_event_name": "PreToolUse"}', b"\x00\xff" * 10],
)
def test_unreadable_pre_tool_use_is_asked(hook_project: HookProject, data: bytes) -> None:
    result = hook_project.run(data, "PreToolUse")
    out = one_answer(result)
    assert out["hookSpecificOutput"]["permissionDecision"] == "ask"
    assert "could not check" in out["hookSpecificOutput"]["permissionDecisionReason"]
    assert "could not check" in out["systemMessage"]


def test_unreadable_input_on_a_bookkeeping_event_stays_a_no_op(hook_project: HookProject) -> None:
    result = hook_project.run(b"not json", "PostToolUse")
    assert result.code == 0 and result.stdout == ""


def test_strict_level_denies_what_it_cannot_judge(hook_project: HookProject) -> None:
    hook_project.write_config('[guards]\nlevel = "strict"\n')
    out = one_answer(hook_project.run(b"not json", "PreToolUse"))
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_oversized_payload_naming_a_guarded_tool_is_asked(hook_project: HookProject) -> None:
    hook_project.write_config("[runtime]\nmax_payload_bytes = 2048\n")
    big = pre(hook_project, "echo " + "a" * 5000)
    out = one_answer(hook_project.run(big))
    assert out["hookSpecificOutput"]["permissionDecision"] == "ask"
    other = {**big, "tool_name": "WebFetch", "tool_input": {"url": "https://x", "prompt": "a" * 5000}}
    result = hook_project.run(other)
    assert result.code == 0 and result.stdout == ""


def test_time_budget_answers_ask_before_claude_codes_timeout(hook_project: HookProject) -> None:
    hook_project.write_config("[runtime]\nbudget_seconds = 0.05\n")
    command = "rm -rf ./build; " + " | ".join(f"cat f{i} $X$(echo {i})" for i in range(6000))
    t0 = time.monotonic()
    result = hook_project.run(pre(hook_project, command))
    elapsed = time.monotonic() - t0
    out = one_answer(result)
    assert out["hookSpecificOutput"]["permissionDecision"] == "ask", result
    assert "time budget" in out["hookSpecificOutput"]["permissionDecisionReason"]
    assert "time budget" in result.stderr
    assert elapsed < 10


def test_huge_commands_are_judged_within_the_default_budget(hook_project: HookProject) -> None:
    for command in (
        "rm -rf ~; " + "word " * 200_000,  # 1 MB of words after the delete
        "echo " + "${AVERYLONGVARIABLENAME}" * 40_000,
    ):
        result = hook_project.run(pre(hook_project, command), timeout=30)
        out = one_answer(result)
        assert out["hookSpecificOutput"]["permissionDecision"] in ("ask", "deny"), result


def test_a_guard_that_raises_is_an_ask_and_other_handlers_fail_open(hook_project: HookProject) -> None:
    hook_project.use_handler_module(
        "checks.py",
        "from lib import hook\n\n"
        "@hook('PreToolUse', matcher='Bash', name='guards.extra')\ndef guard(e):\n    raise KeyError('x')\n\n"
        "@hook('PreToolUse', matcher='Bash', name='audit')\ndef audit(e):\n    raise KeyError('y')\n",
    )
    out = one_answer(hook_project.run(pre(hook_project, "ls")))
    hso = out["hookSpecificOutput"]
    assert hso["permissionDecision"] == "ask"
    assert "guards.extra check failed (KeyError: 'x')" in hso["permissionDecisionReason"]
    assert "audit" not in hso["permissionDecisionReason"]


def test_permission_request_that_cannot_be_read_shows_why(hook_project: HookProject) -> None:
    out = one_answer(hook_project.run(b"{", "PermissionRequest"))
    assert "could not check" in out["systemMessage"]
    assert "decision" not in out.get("hookSpecificOutput", {})  # Claude Code shows its own prompt


def test_pre_skill_shell_command_is_guarded(hook_project: HookProject) -> None:
    payload = pre(
        hook_project,
        "cat .env",
        event="PreSkillShellCommand",
        command_name="x",
        command_source="projectSettings",
        invoked_by="user",
    )
    out = one_answer(hook_project.run(payload))
    assert out["hookSpecificOutput"]["hookEventName"] == "PreSkillShellCommand"
    assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert ".env" in out["hookSpecificOutput"]["permissionDecisionReason"]
    payload["tool_input"] = {"command": "rm -rf ~"}
    assert one_answer(hook_project.run(payload))["hookSpecificOutput"]["permissionDecision"] == "deny"
    payload["tool_input"] = {"command": "git status --short"}
    result = hook_project.run(payload)
    assert result.code == 0 and result.stdout == ""


def test_a_lone_surrogate_in_a_failure_is_still_counted_by_the_breaker(hook_project: HookProject) -> None:
    from test_breaker_hooks import breakers, configure, failure

    configure(hook_project, "[breaker]\nmax_failures = 2\n")
    for n in range(2):
        data = json.dumps(
            failure(n, error="Exit code 1\n\ud800 bad bytes \udfff"), ensure_ascii=True
        ).encode()
        result = hook_project.run(data, "PostToolUseFailure")
        assert result.code == 0 and "warning" not in result.stderr, result
    state = breakers(hook_project)["Bash:git push"]
    assert state["state"] == "open" and state["failures"] == 2
    records = [
        r
        for r in hook_project.log_records()
        if r.get("hook") == "runtime" and r.get("event") == "PostToolUseFailure"
    ]
    assert len(records) == 2  # logged too: the scrubbed text encodes
