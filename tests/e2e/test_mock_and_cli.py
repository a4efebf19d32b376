"""Self-test of the e2e harness with the real Claude Code CLI, and the CLI facts other e2e tests rely on.

The facts are listed in the docstring of ``conftest.py``; each test here pins some of them, so a CLI
upgrade that changes one fails loudly here instead of confusingly in a runtime test.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from claude_session import ClaudeRunner, HookCapture, add_command_hook
from mock_anthropic import MessagesRequest, MockAnthropic, Turn, bash, retry_while_failing, tool_use

pytestmark = pytest.mark.e2e

DENY_REASON = "e2e policy: commands naming forbidden-file are not allowed"

# A PreToolUse hook written the way any user would: read the payload, deny by JSON when the command
# mentions forbidden-file, stay silent (no objection) otherwise.
DENY_HOOK = f"""#!/bin/sh
payload=$(cat)
case "$payload" in
  *forbidden-file*)
    printf '%s' '{{"hookSpecificOutput": {{"hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": "{DENY_REASON}"}}}}'
    ;;
esac
exit 0
"""


def write_hook(project: Path, name: str, body: str) -> str:
    """Write an executable hook script into PROJECT/.claude and return the command that runs it."""
    path = project / ".claude" / name
    path.write_text(body)
    path.chmod(0o755)
    return f'"$CLAUDE_PROJECT_DIR"/.claude/{name}'


def test_scripted_tool_call_then_text(run_claude: ClaudeRunner, project: Path) -> None:
    run = run_claude(project, "say hi", [bash("echo hi"), "Claude said hi."])

    run.assert_success()
    assert run.result is not None
    assert run.result["result"] == "Claude said hi."
    assert run.result["num_turns"] == 2
    assert run.permission_denials == []
    first, second = run.turn_requests
    assert first.tool_results() == []
    assert "say hi" in first.text()
    [answer] = second.tool_results()
    assert answer.tool_use_id == second.tool_uses()[0].id
    assert answer.is_error is False
    assert answer.text == "hi"
    assert first.session_id == second.session_id == run.session_id


def test_pretooluse_json_deny_reaches_model_and_result(run_claude: ClaudeRunner, project: Path) -> None:
    add_command_hook(project, "PreToolUse", write_hook(project, "deny.sh", DENY_HOOK), matcher="Bash")
    script: list[Turn] = [bash("touch forbidden-file"), bash("touch allowed-file"), "Finished."]

    run = run_claude(project, "make two files", script)

    run.assert_success()
    assert not (project / "forbidden-file").exists()
    assert (project / "allowed-file").exists()
    denied_call, allowed_call = run.last_request.tool_uses()
    assert [r.tool_use_id for r in run.turn_requests[1].tool_results()] == [denied_call.id]
    run.assert_only_denial(denied_call, DENY_REASON)
    assert run.tool_result_for(allowed_call.id).is_error is False


def test_hooks_run_in_print_mode_with_project_env_and_full_event_order(
    run_claude: ClaudeRunner, project: Path
) -> None:
    capture = HookCapture.install(project)

    run = run_claude(project, "work", [bash("echo hi"), bash("exit 3"), "done"])

    run.assert_success()
    assert capture.events() == [
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolBatch",
        "PreToolUse",
        "PostToolUseFailure",
        "PostToolBatch",
        "Stop",
        "SessionEnd",
    ]
    records = capture.records()
    for record in records:
        assert record["payload"]["session_id"] == run.session_id
        assert record["payload"]["cwd"] == str(project)
        assert record["env"]["CLAUDE_PROJECT_DIR"] == str(project)
        assert record["env"]["CLAUDE_CODE_SESSION_ID"] == run.session_id
        assert record["env"]["HOME"] == str(run.home)
        assert record["env"]["PWD"] == str(project)
    assert capture.payloads("SessionStart")[0]["source"] == "startup"
    assert capture.payloads("SessionEnd")[0]["reason"] == "other"
    [failure] = capture.payloads("PostToolUseFailure")
    assert failure["tool_input"]["command"] == "exit 3"
    assert failure["error"] == "Exit code 3"
    assert failure["is_interrupt"] is False
    assert [r.is_error for r in run.tool_results()] == [False, True]
    assert run.tool_results()[1].text == "Exit code 3"
    assert run.permission_denials == []


def test_exit_2_and_ask_are_denials_in_print_mode(run_claude: ClaudeRunner, project: Path) -> None:
    blocker = write_hook(
        project, "block.sh", "#!/bin/sh\ncat >/dev/null\necho 'blocked by exit 2' >&2\nexit 2\n"
    )
    ask_output = {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "ask",
            "permissionDecisionReason": "please confirm",
        }
    }
    asker = write_hook(project, "ask.sh", f"#!/bin/sh\ncat >/dev/null\necho '{json.dumps(ask_output)}'\n")
    add_command_hook(project, "PreToolUse", blocker, matcher="Bash")
    add_command_hook(project, "PreToolUse", asker, matcher="Read")
    capture = HookCapture.install(project, events=["PermissionRequest"])
    notes = project / "notes.txt"
    notes.write_text("secret\n")
    script: list[Turn] = [bash("touch made-by-bash"), tool_use("Read", file_path=str(notes)), "end"]

    run = run_claude(project, "try", script, allowed_tools=("Bash", "Read"))

    run.assert_success()
    assert not (project / "made-by-bash").exists()
    blocked, asked = run.tool_results()
    assert blocked.is_error
    assert blocked.text == f"PreToolUse:Bash hook error: [{blocker}]: blocked by exit 2\n"
    assert asked.is_error
    assert asked.text == "please confirm"
    assert "secret" not in asked.text
    assert [d["tool_name"] for d in run.permission_denials] == ["Bash", "Read"]
    assert capture.records() == []


def test_without_allowed_tools_file_changes_need_approval(run_claude: ClaudeRunner, project: Path) -> None:
    capture = HookCapture.install(project, events=["PermissionRequest"])

    run = run_claude(project, "go", [bash("echo read-only"), bash("touch new-file"), "end"], allowed_tools=())

    run.assert_success()
    echoed, touched = run.tool_results()
    assert (echoed.is_error, echoed.text) == (False, "read-only")
    assert touched.is_error
    assert "needs approval" in touched.text
    assert not (project / "new-file").exists()
    assert [d["tool_input"]["command"] for d in run.permission_denials] == ["touch new-file"]
    assert [p["tool_input"]["command"] for p in capture.payloads("PermissionRequest")] == ["touch new-file"]


def test_project_settings_are_read_only_from_the_start_directory(
    run_claude: ClaudeRunner, project: Path
) -> None:
    capture = HookCapture.install(project, events=["SessionStart"])
    subdir = project / "src"
    subdir.mkdir()

    run_claude(subdir, "from a subdirectory", ["end"]).assert_success()
    assert capture.records() == []

    run_claude(project, "from the project root", ["end"]).assert_success()
    assert len(capture.records()) == 1


def test_callable_script_repeats_a_failing_call(run_claude: ClaudeRunner, project: Path) -> None:
    capture = HookCapture.install(project, events=["PostToolUseFailure"])

    run = run_claude(
        project, "keep trying", retry_while_failing(bash("exit 7"), attempts=3, final_text="gave up")
    )

    run.assert_success()
    assert run.result is not None
    assert run.result["result"] == "gave up"
    assert len(run.turn_requests) == 4
    assert [(r.is_error, r.text) for r in run.tool_results()] == [(True, "Exit code 7")] * 3
    assert [p["error"] for p in capture.payloads("PostToolUseFailure")] == ["Exit code 7"] * 3


def test_consecutive_sessions_share_home_and_mock(run_claude: ClaudeRunner, project: Path) -> None:
    first = run_claude(project, "one", [bash("echo one"), "first done"])
    second = run_claude(project, "two", ["second done"])

    first.assert_success()
    second.assert_success()
    assert first.session_id != second.session_id
    assert len(first.turn_requests) == 2
    assert len(second.turn_requests) == 1
    assert second.last_request.session_id == second.session_id
    transcripts = sorted(p.stem for p in (first.home / ".claude" / "projects").rglob("*.jsonl"))
    assert transcripts == sorted([str(first.session_id), str(second.session_id)])


def test_strict_run_reports_an_exhausted_script(run_claude: ClaudeRunner, project: Path) -> None:
    with pytest.raises(AssertionError, match="script exhausted"):
        run_claude(project, "go", [bash("echo hi")])

    run = run_claude(project, "go", [bash("echo hi")], strict=False)
    assert run.problems == [
        "script exhausted: it has 1 turn(s), turn 2 was requested (answered with a placeholder end_turn text)"
    ]
    assert run.returncode == 0


def test_a_script_bug_ends_the_session_with_an_api_error(run_claude: ClaudeRunner, project: Path) -> None:
    def broken(request: MessagesRequest) -> Turn:
        raise RuntimeError("the script is broken")

    with pytest.raises(AssertionError, match="RuntimeError: the script is broken"):
        run_claude(project, "go", broken)

    run = run_claude(project, "go", broken, strict=False)
    assert run.returncode == 1
    assert run.result is not None
    assert run.result["is_error"] is True
    assert run.result["terminal_reason"] == "api_error"
    assert "RuntimeError: the script is broken" in run.result["result"]
    assert len(run.turn_requests) > 1  # Claude Code retried
    assert all("script callable raised" in p for p in run.problems)


def test_timeout_kills_the_process_group(run_claude: ClaudeRunner, project: Path) -> None:
    started, survivor = project / "started", project / "survivor"
    command = f"touch {started}; sleep 6; touch {survivor}"

    # 5 s: CLI 2.1.332 takes longer than 2.1.328 to reach the first tool call under load.
    run = run_claude(project, "hang", [bash(command), "never reached"], timeout=5.0, strict=False)

    assert run.timed_out
    assert run.returncode < 0
    assert run.result is None
    assert "killed on timeout" in run.describe()
    assert started.exists(), "the Bash tool never started: the test proves nothing"
    # Claude Code runs Bash commands in their own process group: the harness must kill them too.
    time.sleep(max(0.0, started.stat().st_mtime + 6.5 - time.time()))
    assert not survivor.exists()


def test_environment_is_isolated_from_the_parent(
    run_claude: ClaudeRunner, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-real-key-must-not-leak")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "/nonexistent/real-config")
    monkeypatch.setenv("CLAUDE_HOOKS_LOG_DIR", "/nonexistent/logs")
    capture = HookCapture.install(project, events=["SessionStart"])

    run = run_claude(project, "go", ["end"], env={"E2E_MARKER": "passed-through"})

    run.assert_success()
    [record] = capture.records()
    env = record["env"]
    assert env["ANTHROPIC_BASE_URL"] == run_claude.mock.base_url
    assert env["ANTHROPIC_API_KEY"] != "sk-real-key-must-not-leak"
    assert "CLAUDE_CONFIG_DIR" not in env
    assert "CLAUDE_HOOKS_LOG_DIR" not in env
    assert env["E2E_MARKER"] == "passed-through"
    assert run.last_request.headers["x-api-key"] == env["ANTHROPIC_API_KEY"]


# The mock on its own (no CLI): the wire format other tests rely on.


def _post(url: str, body: object) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["content-type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], error.read()


def _sse(data: bytes) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for chunk in data.decode().strip().split("\n\n"):
        kind, payload = chunk.split("\n")
        events.append((kind.removeprefix("event: "), json.loads(payload.removeprefix("data: "))))
    return events


def test_mock_streams_one_turn_per_request_and_records_everything() -> None:
    with MockAnthropic([[bash("ls"), bash("pwd")], "bye"]) as mock:
        body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        status, kind, data = _post(mock.base_url + "/v1/messages?beta=true", body)
        _, _, final = _post(mock.base_url + "/v1/messages", body)
        side_status, _, side = _post(mock.base_url + "/v1/messages", {**body, "stream": False})
        count_status, _, count = _post(mock.base_url + "/v1/messages/count_tokens", body)
        unknown_status, _, _ = _post(mock.base_url + "/v1/other", {})

        assert (status, kind) == (200, "text/event-stream")
        events = _sse(data)
        assert [e for e, _ in events] == [
            "message_start",
            *["content_block_start", "content_block_delta", "content_block_delta", "content_block_stop"] * 2,
            "message_delta",
            "message_stop",
        ]
        inputs = [
            "".join(
                str(p["delta"]["partial_json"])
                for e, p in events
                if e == "content_block_delta" and p["index"] == i
            )
            for i in (0, 1)
        ]
        assert [json.loads(i)["command"] for i in inputs] == ["ls", "pwd"]
        assert events[-2][1]["delta"] == {"stop_reason": "tool_use", "stop_sequence": None}
        final_events = _sse(final)
        assert final_events[2][1]["delta"] == {"type": "text_delta", "text": "bye"}
        assert final_events[-2][1]["delta"]["stop_reason"] == "end_turn"
        assert side_status == 200
        assert json.loads(side)["content"] == [{"type": "text", "text": "ok"}]
        assert count_status == 200
        assert json.loads(count)["input_tokens"] > 0
        assert unknown_status == 404
        assert [r.route for r in mock.requests] == [
            "/v1/messages",
            "/v1/messages",
            "/v1/messages",
            "/v1/messages/count_tokens",
            "/v1/other",
        ]
        assert len(mock.turn_requests) == 2
        assert mock.problems == ["unexpected request: POST /v1/other"]
