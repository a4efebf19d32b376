"""Outcomes merge with Claude Code's precedence and render only what each event honours."""

from __future__ import annotations

import pytest

from lib.protocol.output import (
    Outcome,
    allow,
    ask,
    block,
    context,
    defer,
    deny,
    merge,
    render,
    stop,
    system_message,
)


@pytest.mark.parametrize(
    ("decisions", "winner"),
    [
        (["allow", "ask"], "ask"),
        (["ask", "defer"], "defer"),
        (["defer", "deny"], "deny"),
        (["deny", "allow", "ask", "defer"], "deny"),
        (["allow", "allow"], "allow"),
    ],
)
def test_precedence_deny_defer_ask_allow(decisions: list[str], winner: str) -> None:
    helpers = {"allow": allow, "ask": ask, "defer": defer, "deny": deny}
    outcomes = [helpers[d](f"because {d}") for d in decisions]
    merged = merge(outcomes)
    assert merged.permission == winner
    assert f"because {winner}" in (merged.permission_reason or "")
    assert all(f"because {d}" not in (merged.permission_reason or "") for d in decisions if d != winner)


def test_contexts_concatenate_in_order_and_messages_join() -> None:
    merged = context("first") | deny("no") | context("second") | system_message("a") | system_message("b")
    out, warnings = render("PreToolUse", merged)
    assert warnings == []
    assert out == {
        "systemMessage": "a\nb",
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "no",
            "additionalContext": "first\n\nsecond",
        },
    }


def test_updated_input_only_survives_with_allow() -> None:
    rewritten = allow("ok", updated_input={"command": "ls -la"})
    assert render("PreToolUse", rewritten)[0] == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "ok",
            "updatedInput": {"command": "ls -la"},
        }
    }
    assert merge([rewritten, ask("check")]).updated_input is None


def test_empty_outcome_prints_nothing() -> None:
    assert render("PostToolUse", Outcome()) == (None, [])
    assert merge([]).is_empty


def test_block_on_events_that_take_a_top_level_decision() -> None:
    for event in ("Stop", "UserPromptSubmit", "PostToolUse", "PreCompact", "SubagentStop"):
        out, _ = render(event, block("tests are failing"))
        assert out == {"decision": "block", "reason": "tests are failing"}


def test_block_on_pretooluse_becomes_a_deny_never_the_deprecated_form() -> None:
    out, _ = render("PreToolUse", block("nope"))
    assert out == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "nope",
        }
    }
    assert "decision" not in out


def test_block_on_an_event_that_cannot_block_is_dropped_with_a_warning() -> None:
    out, warnings = render("SessionEnd", block("x"))
    assert out is None
    assert warnings == ["SessionEnd cannot be blocked; dropped block reason"]


def test_permission_request_uses_the_decision_object() -> None:
    assert render("PermissionRequest", deny("not here"))[0] == {
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": {"behavior": "deny", "message": "not here"},
        }
    }
    assert render("PermissionRequest", allow())[0] == {
        "hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}
    }
    assert render("PermissionRequest", ask("user decides"))[0] is None


def test_stop_sets_continue_false_on_any_event() -> None:
    out, _ = render("PostToolUse", stop("budget exhausted"))
    assert out == {"continue": False, "stopReason": "budget exhausted"}


def test_context_on_an_event_without_context_is_dropped() -> None:
    out, warnings = render("Notification", context("x"))
    assert out is None and warnings


def test_unknown_permission_is_rejected() -> None:
    with pytest.raises(ValueError, match="permission must be one of"):
        Outcome(permission="approve")
