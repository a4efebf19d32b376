"""The hook command as Claude Code runs it: every captured payload, bad input, user handlers, fail modes."""

from __future__ import annotations

import json

import pytest
from hookkit import HookProject, load_payloads, payload_for

PAYLOADS = load_payloads()


@pytest.mark.parametrize(
    "payload", PAYLOADS, ids=lambda p: f"{p['hook_event_name']}-{p.get('tool_name', '')}"
)
def test_every_captured_payload_exits_0_with_one_json_object_or_nothing(
    hook_project: HookProject, payload: dict[str, object]
) -> None:
    result = hook_project.run(payload)
    assert result.code == 0, result
    assert "Traceback" not in result.stderr
    out = result.json
    if out is not None:
        assert result.stdout.count("\n") == 1  # exactly one JSON document
        assert "decision" not in out or out["decision"] == "block"  # never the deprecated approve
        specific = out.get("hookSpecificOutput")
        if specific is not None:
            assert specific["hookEventName"] == payload["hook_event_name"]


BAD_INPUTS = [
    (b"", "stdin is empty"),
    (b"{not json", "stdin is not valid JSON"),
    (b"[1, 2, 3]", "stdin JSON is list, expected an object"),
    (b'"just a string"', "stdin JSON is str, expected an object"),
    (b"\xff\xfe\x00garbage\x80", "stdin is not valid JSON"),
    (b'{"session_id": "s"}', "payload has no 'hook_event_name' string"),
    (b'{"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": ["Bash"], "tool_input": {}}',
     "field 'tool_name' must be a string, got an array"),
    (b'{"hook_event_name": "PreToolUse", "session_id": "s", "tool_input": {}}', "missing required field 'tool_name'"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "message"), BAD_INPUTS, ids=[m for _, m in BAD_INPUTS])
def test_bad_input_gets_one_clear_line_and_is_asked_never_allowed(
    hook_project: HookProject, raw: bytes, message: str
) -> None:
    result = hook_project.run(raw, "PreToolUse")
    assert result.code == 0
    assert result.decision == "ask" and message in result.reason  # unjudged: the user decides
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("claude-hooks: PreToolUse: ")
    assert not list((hook_project.path / ".claude" / "state").glob("*.corrupt-*"))
    bookkeeping = hook_project.run(raw.replace(b"PreToolUse", b"PostToolUse"), "PostToolUse")
    assert bookkeeping.code == 0 and bookkeeping.stdout == ""  # fail open where nothing is decided


def test_huge_payload_is_refused_cleanly(hook_project: HookProject) -> None:
    payload = payload_for("PreToolUse", "Write")
    payload["tool_input"] = {"file_path": "/tmp/x", "content": "x" * (50 * 1024 * 1024)}
    result = hook_project.run(payload)
    assert result.code == 0 and result.decision == "ask"  # names a guarded tool: unjudged, asked
    assert "over runtime.max_payload_bytes" in result.stderr and len(result.stderr.splitlines()) == 1


def test_unknown_event_is_a_logged_no_op(hook_project: HookProject) -> None:
    payload = {"hook_event_name": "SomethingNew", "session_id": "s1", "whatever": 1}
    result = hook_project.run(payload, "PreToolUse")
    assert result.code == 0 and result.stdout == ""
    assert "unknown hook event 'SomethingNew'; answered with a no-op" in result.stderr


POLICY = """
from lib import hook, deny, ask, context, block

@hook("PreToolUse", matcher="Bash")
def no_deploy(event):
    if event.tool_input.get("command", "").startswith("deploy"):
        return deny("deploys go through CI; open a PR instead")

@hook("PreToolUse", matcher="Bash|Write")
def careful(event):
    print("this stray print must not reach stdout")
    return ask("double-check this") if event.tool_name == "Bash" else None

@hook("PreToolUse", matcher="Bash")
def note(event):
    return context("remember the style guide")

@hook("Stop")
def keep_going(event):
    return block("run the tests first")

@hook("PostToolUse", matcher="Read")
def crash(event):
    raise RuntimeError("handler bug")
"""


@pytest.fixture
def policy_project(hook_project: HookProject) -> HookProject:
    hook_project.use_handler_module("policy.py", POLICY)
    return hook_project


def test_user_handlers_combine_with_claude_code_precedence(policy_project: HookProject) -> None:
    payload = payload_for("PreToolUse", "Bash", tool_input={"command": "deploy prod"})
    result = policy_project.run(payload)
    assert result.code == 0
    assert result.json == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "deploys go through CI; open a PR instead",
            "additionalContext": "remember the style guide",
        }
    }
    assert "this stray print must not reach stdout" in result.stderr

    other = policy_project.run(payload_for("PreToolUse", "Bash", tool_input={"command": "ls"}))
    assert other.decision == "ask" and other.reason == "double-check this"

    inside = {"file_path": str(policy_project.path / "notes.txt"), "content": "hello\n"}
    write = policy_project.run(payload_for("PreToolUse", "Write", tool_input=inside))
    assert write.decision is None  # matcher Bash|Write ran but had nothing to say; others don't match


def test_stop_block_is_honoured_but_never_when_stop_hook_active(policy_project: HookProject) -> None:
    first = policy_project.run(payload_for("Stop"))
    assert first.json is not None
    assert (first.json["decision"], first.json["reason"]) == ("block", "run the tests first")
    again = policy_project.run(payload_for("Stop", stop_hook_active=True))
    assert again.code == 0 and "decision" not in (again.json or {})
    assert "stop_hook_active is true" in again.stderr


def test_a_crashing_handler_fails_open_with_one_warning(policy_project: HookProject) -> None:
    result = policy_project.run(payload_for("PostToolUse", "Read"))
    assert result.code == 0 and result.stdout == ""
    assert "handler claude_hooks_user_policy.crash failed: RuntimeError: handler bug" in result.stderr
    assert "Traceback" not in result.stderr


def test_fail_closed_denies_pretooluse_on_a_runtime_problem(hook_project: HookProject) -> None:
    broken = "from lib import hook\n\n@hook('PreToolUse')\ndef f(e):\n    1/0\n"
    hook_project.use_handler_module("broken.py", broken, runtime='fail_mode = "closed"\n')
    result = hook_project.run(payload_for("PreToolUse", "Bash"))
    assert (
        result.decision == "deny" and "fail closed" in result.reason and "ZeroDivisionError" in result.reason
    )
    bad = hook_project.run(b"{oops", "PreToolUse")
    assert bad.decision == "deny" and "input was unreadable" in bad.reason
    # fail-closed is for PreToolUse only
    post = hook_project.run(b"{oops", "PostToolUse")
    assert post.code == 0 and post.stdout == ""


def test_env_var_overrides_fail_mode(hook_project: HookProject) -> None:
    result = hook_project.run(b"{oops", "PreToolUse", env={"CLAUDE_HOOKS_FAIL_MODE": "closed"})
    assert result.decision == "deny"
    # also while the config file is broken: the defaults it falls back to keep the override
    hook_project.write_config("[breaker]\nmax_failures = 0\n")
    broken = hook_project.run(payload_for("PreToolUse", "Bash"), env={"CLAUDE_HOOKS_FAIL_MODE": "closed"})
    assert broken.decision == "deny" and "config file is invalid" in broken.reason


def test_config_error_fails_open_naming_file_and_key(hook_project: HookProject) -> None:
    hook_project.write_config("[breaker]\nmax_failures = 0\n")
    result = hook_project.run(payload_for("PreToolUse", "Bash"))
    assert result.code == 0
    (line,) = [x for x in result.stderr.splitlines() if "config error" in x]
    assert "hooks.toml: breaker.max_failures: Input should be greater than or equal to 1" in line


def test_missing_handler_file_is_named(hook_project: HookProject) -> None:
    hook_project.write_config('[runtime]\nhandlers = ["nope.py"]\n')
    result = hook_project.run(payload_for("PreToolUse", "Bash"))
    assert result.code == 0 and "nope.py" in result.stderr and "does not exist" in result.stderr


def test_handler_can_use_the_typed_model(hook_project: HookProject) -> None:
    hook_project.use_handler_module(
        "typed.py",
        "from lib import hook, context\n\n"
        "@hook('PostToolUseFailure', matcher='Bash')\n"
        "def f(event):\n"
        "    m = event.model()\n"
        "    return context(f'{type(m).__name__}: {m.error} interrupt={m.is_interrupt}')\n",
    )
    result = hook_project.run(payload_for("PostToolUseFailure", "Bash"))
    assert json.loads(result.stdout)["hookSpecificOutput"]["additionalContext"] == (
        "PostToolUseFailureInput: Exit code 3 interrupt=False"
    )
