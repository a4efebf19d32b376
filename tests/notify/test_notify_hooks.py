"""Hooks run as Claude Code runs them, with ``[notify]`` set: the hook only records the need, the
detached sender it starts delivers to a local webhook receiver; ``python -m lib notify test``."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator

import pytest
from hookkit import HookProject, payload_for
from receivers import HttpReceiver, free_port, stop_workers, webhook_config

pytestmark = pytest.mark.slow


@pytest.fixture
def project(hook_project: HookProject) -> Iterator[HookProject]:
    yield hook_project
    stop_workers(hook_project.path / ".claude" / "state")


def _fail(project: HookProject, i: int) -> None:
    pre = payload_for("PreToolUse", "Bash", tool_use_id=f"toolu_n_{i}", tool_input={"command": "make deploy"})
    assert project.run(pre).code == 0
    failure = {**pre, "hook_event_name": "PostToolUseFailure", "error": "Exit code 2", "is_interrupt": False}
    failure.pop("permission_mode", None)
    assert project.run(failure).code == 0


def test_a_breaker_opening_gives_exactly_one_webhook_post(
    project: HookProject, receiver: HttpReceiver
) -> None:
    project.write_config(webhook_config(receiver, max_failures=2))
    for i in range(2):
        _fail(project, i)
    refused = project.run(
        payload_for("PreToolUse", "Bash", tool_use_id="toolu_n_9", tool_input={"command": "make deploy"})
    )
    assert refused.decision == "deny"  # the open breaker refuses: not notified again

    got = receiver.wait_for(lambda r: len(r) >= 1)
    time.sleep(1.5)  # a second delivery would arrive now
    assert len(receiver.received()) == 1, [r.body for r in receiver.received()]
    body = json.loads(got[0].body)
    assert body["event"] == "breaker.opened"
    assert body["session_id"] == payload_for("PreToolUse", "Bash")["session_id"]
    assert body["project"] == project.path.name
    assert body["title"] == "Circuit breaker open: Bash:make deploy"
    assert "after 2 failures in a row" in body["message"]
    records = [r for r in project.log_records() if r.get("hook") == "notify.sender"]
    assert [r["fields"]["result"] for r in records] == ["HTTP 200"]
    assert receiver.url not in json.dumps(records)


def test_a_waiting_permission_prompt_notifies(project: HookProject, receiver: HttpReceiver) -> None:
    project.write_config(webhook_config(receiver, max_failures=2))
    note = {
        **{
            k: v
            for k, v in payload_for("PreToolUse", "Bash").items()
            if k in ("session_id", "transcript_path", "cwd")
        },
        "hook_event_name": "Notification",
        "message": "Claude needs your permission to use Bash",
        "notification_type": "permission_prompt",
    }
    assert project.run(note).code == 0
    [got] = receiver.wait_for(lambda r: len(r) >= 1)
    body = json.loads(got.body)
    assert (body["event"], body["message"]) == (
        "permission.waiting",
        "Claude needs your permission to use Bash",
    )


def test_a_receiver_that_never_answers_does_not_delay_the_hooks(
    project: HookProject, receiver: HttpReceiver
) -> None:
    receiver.hang = 30.0  # accepts the connection, answers after the sender's timeout
    project.write_config(webhook_config(receiver, max_failures=2))
    started = time.monotonic()
    for i in range(2):
        _fail(project, i)
    project.run(payload_for("PreToolUse", "Bash", tool_use_id="toolu_n_9"))
    elapsed = time.monotonic() - started
    deadline = time.monotonic() + 10
    while not receiver.attempts and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.attempts, "the sender tried to deliver"
    assert receiver.received() == []
    assert elapsed < receiver.hang / 2  # five hook processes finished while the receiver still hangs


def _cli(project: HookProject, *args: str) -> subprocess.CompletedProcess[str]:
    python = project.path / ".claude" / "hooks-runtime" / "bin" / "python"
    return subprocess.run(
        [str(python), "-m", "lib", "--project", str(project.path), "notify", *args],
        capture_output=True,
        text=True,
        env=project.env(),
        timeout=60,
    )


def test_notify_test_sends_and_says_what_happened(project: HookProject, receiver: HttpReceiver) -> None:
    project.write_config(f'[notify]\nwebhook_url = "{receiver.url}/secret-path-abc"\n')
    ok = _cli(project, "test")
    assert (ok.returncode, ok.stdout) == (0, "webhook: sent (HTTP 200; 1 attempt)\n")
    body = json.loads(receiver.received()[0].body)
    assert body["event"] == "notify.test" and body["title"] == "claude-hooks test notification"

    project.write_config(
        f'[notify]\nwebhook_url = "http://127.0.0.1:{free_port()}/secret-path-abc"\nretries = 0\n'
    )
    dead = _cli(project, "test", "webhook")
    assert dead.returncode == 1
    assert dead.stdout.startswith("webhook: FAILED (URLError: ") or dead.stdout.startswith(
        "webhook: FAILED (ConnectionRefusedError"
    ), dead.stdout
    assert "secret-path-abc" not in dead.stdout + dead.stderr

    missing = _cli(project, "test", "slack")
    assert missing.returncode == 2 and "the slack channel is not configured" in missing.stderr
