"""The notification sender in-process: rules, channels, retries, de-duplication, quiet period, logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hookkit import FakeClock
from receivers import HttpReceiver, free_port

from lib.config import validate_config
from lib.event_bus import EventBus
from lib.notify.sender import Sender
from lib.paths import Paths


def _config(**notify: object) -> dict[str, object]:
    return validate_config({"notify": notify}, environ={})


def _paths(tmp_path: Path) -> Paths:
    return Paths(str(tmp_path / "proj"))


def _bus(paths: Paths) -> EventBus:
    return EventBus(paths.log_dir, source="hooks", session_id="sess-1")


def _bodies(receiver: HttpReceiver) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in receiver.received()]


BREAKER = {"key": "Bash", "tool_name": "Bash", "consecutive_failures": 3, "cooldown_seconds": 60.0,
           "last_error": "Exit code 7"}  # fmt: skip


def test_a_breaker_opening_is_posted_once_with_the_required_fields(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    paths = _paths(tmp_path)
    config = _config(webhook_url=receiver.url + "/hook", events=["breaker.opened", "tool.denied"])
    bus = _bus(paths)
    bus.publish("tool.failure", {"tool_name": "Bash"})
    bus.publish("breaker.opened", BREAKER)
    bus.publish(
        "tool.denied", {"by": ["breaker.check"], "tool_name": "Bash", "reason": "Circuit breaker open"}
    )

    report = Sender(paths, config).run()

    [body] = _bodies(receiver)
    assert receiver.received()[0].path == "/hook"
    assert body["event"] == "breaker.opened" and body["session_id"] == "sess-1" and body["project"] == "proj"
    assert body["title"] == "Circuit breaker open: Bash"
    assert body["message"].startswith("The circuit breaker for Bash opened after 3 failures in a row")
    assert len(report.sent) == 1 and report.skipped == 1  # the breaker's own denial is not repeated
    again = Sender(paths, config).run()  # acknowledged: a restart sends nothing twice
    assert again.sent == [] and len(receiver.received()) == 1


def test_guard_denials_notify_by_default_only_at_strict(tmp_path: Path, receiver: HttpReceiver) -> None:
    paths = _paths(tmp_path)
    denied = {"by": ["guards.bash"], "tool_name": "Bash", "reason": "rm -rf ~ deletes your home"}
    _bus(paths).publish("tool.denied", denied)
    Sender(paths, _config(webhook_url=receiver.url)).run()
    assert receiver.received() == []

    strict = validate_config(
        {"notify": {"webhook_url": receiver.url}, "guards": {"level": "strict"}}, environ={}
    )
    _bus(paths).publish("tool.denied", denied)
    Sender(paths, strict).run()
    [body] = _bodies(receiver)
    assert body["event"] == "tool.denied" and "guards.bash denied Bash: rm -rf ~" in body["message"]


def test_stop_notifies_only_after_a_long_session(tmp_path: Path, receiver: HttpReceiver) -> None:
    paths = _paths(tmp_path)
    clock = FakeClock()
    from lib.store import open_store

    with open_store(paths.state_dir, "sessions").transaction() as state:
        state["sessions"] = {"sess-1": {"started_epoch": clock.now - 30}}
    config = _config(webhook_url=receiver.url, events=["session.stop"], stop_after_seconds=120)
    _bus(paths).publish("session.stop", {"stop_hook_active": False})
    Sender(paths, config, clock=clock).run()
    assert receiver.received() == []  # 30 s: too short

    clock.advance(600)
    _bus(paths).publish("session.stop", {"stop_hook_active": True})  # a re-run forced by a Stop hook
    _bus(paths).publish("session.stop", {"stop_hook_active": False})
    Sender(paths, config, clock=clock).run()
    [body] = _bodies(receiver)
    assert body["event"] == "session.stop" and "(session running for 10 min)" in body["message"]


def test_dedupe_and_quiet_period_per_session(tmp_path: Path, receiver: HttpReceiver) -> None:
    paths = _paths(tmp_path)
    clock = FakeClock()
    config = _config(
        webhook_url=receiver.url, events=["permission.waiting"], quiet_seconds=60, dedupe_seconds=600
    )
    bus = _bus(paths)

    def waiting(message: str, session: str = "sess-1") -> None:
        bus.publish(
            "permission.waiting",
            {"hook_event": "Notification", "notification_type": "idle_prompt", "message": message},
            session_id=session,
        )

    for _ in range(5):
        waiting("Claude is waiting for your input")  # the same thing: once
    waiting("Claude needs your permission to use Bash")  # another thing, inside the quiet period
    waiting("Claude is waiting for your input", session="sess-2")  # another session: its own
    Sender(paths, config, clock=clock).run()
    assert [(b["session_id"], b["message"]) for b in _bodies(receiver)] == [
        ("sess-1", "Claude is waiting for your input"),
        ("sess-2", "Claude is waiting for your input"),
    ]

    clock.advance(61)
    waiting("Claude needs a decision")
    Sender(paths, config, clock=clock).run()
    last = _bodies(receiver)[-1]
    assert last["message"] == "Claude needs a decision (+1 more held back by the quiet period)"


def test_failed_deliveries_are_retried_with_backoff_and_logged_without_the_url(
    tmp_path: Path, receiver: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _paths(tmp_path)
    monkeypatch.setenv("HOOK_SECRET_TOKEN", "s3cr3t-token-value")
    url = receiver.url + "/hook/TOKENPATH123"
    config = _config(
        webhook_url=url, webhook_headers={"Authorization": "Bearer ${HOOK_SECRET_TOKEN}"},
        events=["breaker.opened"], retries=3,
    )  # fmt: skip
    receiver.statuses[:] = [503, 500]
    sleeps: list[float] = []
    _bus(paths).publish("breaker.opened", BREAKER)

    report = Sender(paths, config, sleep=sleeps.append).run()

    [(_, [delivery])] = report.sent
    assert (delivery.ok, delivery.attempts, delivery.result) == (True, 3, "HTTP 200")
    assert sleeps == [1.0, 2.0]
    assert len(receiver.attempts) == 3
    assert receiver.received()[0].headers["Authorization"] == "Bearer s3cr3t-token-value"
    log = (Path(paths.log_dir) / "hooks.jsonl").read_text()
    [record] = [json.loads(line) for line in log.splitlines()]
    assert record["hook"] == "notify.sender" and record["event"] == "breaker.opened"
    assert record["fields"]["channel"] == "webhook" and record["fields"]["attempts"] == 3
    assert "TOKENPATH123" not in log and "s3cr3t" not in log


def test_a_dead_receiver_gives_up_after_the_retries_and_says_so(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    config = _config(webhook_url=f"http://127.0.0.1:{free_port()}/x", events=["breaker.opened"], retries=1)
    _bus(paths).publish("breaker.opened", BREAKER)
    report = Sender(paths, config, sleep=lambda _s: None).run()
    [(_, [delivery])] = report.sent
    assert not delivery.ok and delivery.attempts == 2 and "ConnectionRefusedError" in delivery.result
    record = json.loads((Path(paths.log_dir) / "hooks.jsonl").read_text().splitlines()[-1])
    assert record["level"] == "warning" and "failed" in record["message"]
    assert Sender(paths, config).run().sent == []  # given up: acknowledged, not retried forever


def test_a_missing_env_var_names_the_key_and_is_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _paths(tmp_path)
    monkeypatch.delenv("NO_SUCH_HOOK_URL", raising=False)
    config = _config(webhook_url="${NO_SUCH_HOOK_URL}", events=["breaker.opened"])
    _bus(paths).publish("breaker.opened", BREAKER)
    [(_, [delivery])] = Sender(paths, config).run().sent
    assert delivery.attempts == 1
    assert delivery.result == (
        "[notify] webhook_url reads the environment variable NO_SUCH_HOOK_URL, which is not set; "
        "export NO_SUCH_HOOK_URL where Claude Code starts"
    )


def test_a_second_sender_leaves_the_work_to_the_running_one(tmp_path: Path, receiver: HttpReceiver) -> None:
    from lib.detached import WorkerLock

    paths = _paths(tmp_path)
    _bus(paths).publish("breaker.opened", BREAKER)
    config = _config(webhook_url=receiver.url, events=["breaker.opened"])
    with WorkerLock(paths.state_dir, "notify") as lock:
        assert lock.acquire()
        assert Sender(paths, config).run().already_running
    assert receiver.received() == []
    assert len(Sender(paths, config).run().sent) == 1


def test_history_from_before_notify_was_set_up_is_not_notified(
    tmp_path: Path, receiver: HttpReceiver
) -> None:
    import time

    paths = _paths(tmp_path)
    old = EventBus(paths.log_dir, session_id="sess-1", clock=lambda: time.time_ns() - 3600 * 10**9)
    old.publish("breaker.opened", BREAKER)
    _bus(paths).publish("breaker.opened", {**BREAKER, "key": "Bash:git"})
    report = Sender(paths, _config(webhook_url=receiver.url, events=["breaker.opened"])).run()
    assert [json.loads(r.body)["title"] for r in receiver.received()] == ["Circuit breaker open: Bash:git"]
    assert report.skipped == 1
