"""How the demo labels what a hook answered (lib/demo.py ``decision_of``), and its usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lib.demo import decision_of, main


@pytest.mark.parametrize(
    ("code", "stdout", "label", "details"),
    [
        (2, "", "BLOCK (exit 2)", []),
        (0, "", "no objection", []),
        (1, "  ", "hook error (exit 1)", []),
        (0, "not json", "plain text", ["not json"]),
        (0, "[1, 2]", "unexpected output", ["[1, 2]"]),
        (0, json.dumps({"decision": "block", "reason": "tests fail"}), "BLOCK", ["reason: tests fail"]),
        (0, json.dumps({"systemMessage": "hi"}), "message", ["message for the user: hi"]),
        (0, json.dumps({"continue": True}), "answered", ['{"continue": true}']),
        (
            0,
            json.dumps(
                {"hookSpecificOutput": {"permissionDecision": "deny", "permissionDecisionReason": "no"}}
            ),
            "DENY",
            ["reason: no"],
        ),
    ],
)
def test_what_claude_code_reads_from_a_hook_is_labelled(
    code: int, stdout: str, label: str, details: list[str]
) -> None:
    assert decision_of(code, stdout) == (label, details)


def test_a_project_without_the_install_or_a_missing_recording_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path), "nope.jsonl"]) == 2
    assert "settings.json not found; run ./install.sh" in capsys.readouterr().err
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text("{}")
    assert main([str(tmp_path), str(tmp_path / "nope.jsonl")]) == 2
    assert "recording" in capsys.readouterr().err
