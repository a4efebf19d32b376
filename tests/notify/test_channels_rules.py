"""Channels, rules and the ``notify`` command, in-process (pure parts and local receivers)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from receivers import HttpReceiver

from lib.cli import main as cli
from lib.config import validate_config
from lib.env_refs import EnvRefError, expand
from lib.notify.channels import DeliveryError, DesktopChannel, channels_from_config
from lib.notify.rules import Notification, Rules, RuleState, notification_for
from lib.notify.sender import deliver

NOTE = Notification("breaker.opened", "s1", "proj", "Circuit breaker open: Bash", "It opened", "Bash", 7, "t")


def test_expand_reads_variables_and_names_what_is_missing() -> None:
    assert expand("https://x/${A}/${B}", "[notify] k", {"A": "1", "B": "2"}) == "https://x/1/2"
    with pytest.raises(EnvRefError, match=r"\[notify\] k: unclosed"):
        expand("${A", "[notify] k", {})
    with pytest.raises(EnvRefError, match="environment variable B, which is not set"):
        expand("${B}", "[notify] k", {})


def test_slack_and_ntfy_payloads(receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NTFY_TOKEN_FOR_TEST", "tk_secret")
    notify = validate_config(
        {
            "notify": {
                "slack_webhook_url": receiver.url + "/slack",
                "ntfy_topic": "my-agents",
                "ntfy_server": receiver.url,
                "ntfy_token": "${NTFY_TOKEN_FOR_TEST}",
            }
        },
        environ={},
    )["notify"]
    slack, ntfy = channels_from_config(notify)  # type: ignore[arg-type]
    assert slack.send(NOTE) == "HTTP 200" and ntfy.send(NOTE) == "HTTP 200"
    first, second = receiver.received()
    assert json.loads(first.body) == {
        "text": "*Circuit breaker open: Bash*\nIt opened\n_proj_ · session `s1`"
    }
    headers = {k.lower(): v for k, v in second.headers.items()}
    assert second.path == "/my-agents" and second.body == b"It opened"
    assert headers["title"] == "Circuit breaker open: Bash" and headers["priority"] == "high"
    assert headers["authorization"] == "Bearer tk_secret"
    assert "tk_secret" not in ntfy.scrub("failed with tk_secret")


def test_non_retryable_http_errors_are_not_retried(receiver: HttpReceiver) -> None:
    [webhook] = channels_from_config({"webhook_url": receiver.url, "timeout_seconds": 2})
    receiver.statuses[:] = [404]
    result = deliver(NOTE, webhook, retries=3, sleep=lambda _s: None)
    assert (result.ok, result.attempts, result.result) == (False, 1, "HTTP 404 Not Found")


def _fake_notifier(tmp_path: Path, code: int = 0) -> Path:
    script = tmp_path / "bin" / "notify-send"
    script.parent.mkdir()
    script.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/shown"\necho "no display" >&2\nexit {code}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_desktop_uses_notify_send_when_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_notifier(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    [desktop] = channels_from_config({"desktop": True})
    assert desktop.send(NOTE) == "shown"
    assert (tmp_path / "shown").read_text().splitlines() == [
        "--app-name=Claude Code",
        NOTE.title,
        NOTE.message,
    ]


def test_desktop_failures_say_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(DeliveryError, match="no desktop notifier: install notify-send") as missing:
        DesktopChannel(2).send(NOTE)
    assert not missing.value.retry
    _fake_notifier(tmp_path, code=3)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(DeliveryError, match="exited 3: no display"):
        DesktopChannel(2).send(NOTE)


def test_messages_per_topic() -> None:
    def note(topic: str, payload: dict[str, object]) -> Notification:
        return notification_for(
            topic, payload, session_id="s", project_dir="/home/u/app/", event_id=1, ts="t"
        )

    asked = note("permission.waiting", {"hook_event": "PermissionRequest", "tool_name": "Bash"})
    assert (asked.project, asked.title) == ("app", "Claude Code is waiting for your permission")
    assert asked.message == "Claude wants to use Bash and needs your approval"
    idle = note("permission.waiting", {"hook_event": "Notification", "notification_type": "idle_prompt"})
    assert idle.message == "Claude Code is waiting for you"
    stop = note("session.stop", {"session_seconds": 7300.0})
    assert stop.message.endswith("(session running for 2.0 h)")
    assert note("session.stop", {"session_seconds": 12}).message.endswith("(session running for 12 s)")
    secret = note(
        "tool.denied", {"tool_name": "Bash", "reason": "export API_KEY=sk-ant-abcdefghijklmnop1234"}
    )
    assert "sk-ant-abcdefghijklmnop1234" not in secret.message + json.dumps(secret.body())
    with pytest.raises(ValueError, match="is not a notify topic"):
        note("tool.pre", {})


def test_rules_defaults_and_state_pruning() -> None:
    rules = Rules(validate_config({"notify": {"webhook_url": "http://x"}}, environ={}))
    assert rules.topics == {"permission.waiting", "session.stop", "breaker.opened"}
    assert not rules.wants("session.stop", {}, None)  # unknown session length: not a long one
    state = RuleState({"last": {"a": 1.0, "b": 100.0}, "seen": {"a|x": 1.0}, "held": {"a": 2, "b": 1}})
    state.prune(now=150.0, keep_seconds=60)
    assert state.to_dict() == {"last": {"b": 100.0}, "seen": {}, "held": {"b": 1}}


def test_config_rejects_unknown_topics_and_bad_urls() -> None:
    from lib.config import ConfigError

    with pytest.raises(ConfigError, match=r"'tool\.pre' cannot notify"):
        validate_config({"notify": {"events": ["tool.pre"]}}, environ={})
    with pytest.raises(ConfigError, match="must be an http:// or https:// URL"):
        validate_config({"notify": {"webhook_url": "ftp://x"}}, environ={})
    with pytest.raises(ConfigError, match="must be an http:// or https:// URL"):
        validate_config({"otel": {"endpoint": "localhost:4318"}}, environ={})


def test_notify_commands_in_process(
    tmp_path: Path,
    receiver: HttpReceiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = tmp_path / "proj"
    (project / ".claude").mkdir(parents=True)
    monkeypatch.delenv("CLAUDE_HOOKS_CONFIG", raising=False)
    assert cli(["--project", str(project), "notify"]) == 2
    assert cli(["--project", str(project), "notify", "test"]) == 2
    assert "no channel is configured" in capsys.readouterr().err
    assert cli(["--project", str(project), "notify", "send"]) == 2
    assert "no channel is configured: nothing to send" in capsys.readouterr().err
    (project / ".claude" / "hooks.toml").write_text(f'[notify]\nwebhook_url = "{receiver.url}"\n')
    assert cli(["--project", str(project), "notify", "test", "webhook"]) == 0
    assert capsys.readouterr().out == "webhook: sent (HTTP 200; 1 attempt)\n"
    from lib.event_bus import EventBus

    EventBus(os.path.join(project, ".claude", "logs")).publish(
        "breaker.opened", {"key": "Bash"}, session_id="s"
    )
    assert cli(["--project", str(project), "notify", "send"]) == 0
    assert (
        capsys.readouterr().out == "1 notification(s): 1 delivery(ies) sent, 0 failed; 0 event(s) skipped\n"
    )
    from lib.detached import WorkerLock

    with WorkerLock(str(project / ".claude" / "state"), "notify") as lock:
        assert lock.acquire() and lock.held
        assert cli(["--project", str(project), "notify", "send"]) == 0
    assert "already running" in capsys.readouterr().out
