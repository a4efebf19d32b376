"""The bus topics notifications are about (``permission.waiting``, ``session.stop``), the TRACEPARENT
join and the worker start, through :func:`lib.observability.record_invocation` in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hookkit import payload_for

from lib.config import validate_config
from lib.detached import NOTIFY_SENDER, OTEL_SHIPPER, WorkerLock
from lib.observability import Settings, derived_events, record_invocation
from lib.paths import Paths
from lib.runtime import Invocation


def _inv(tmp_path: Path, payload: dict[str, object], config: dict[str, object] | None = None) -> Invocation:
    inv = Invocation(str(payload["hook_event_name"]), Paths(str(tmp_path / "proj")))
    inv.payload = payload
    inv.session_id = str(payload.get("session_id"))
    inv.tool_name = payload.get("tool_name")  # type: ignore[assignment]
    inv.tool_use_id = payload.get("tool_use_id")  # type: ignore[assignment]
    inv.config = config if config is not None else validate_config({}, environ={})
    return inv


def _topics(inv: Invocation) -> list[tuple[str, dict[str, object]]]:
    return derived_events(inv, Settings(inv.config))


def test_waiting_for_the_user_and_stopping_are_published(tmp_path: Path) -> None:
    session = payload_for("SessionStart")["session_id"]
    base = {"session_id": session, "cwd": "/p", "transcript_path": "/t"}
    asked = _topics(_inv(tmp_path, {**base, "hook_event_name": "PermissionRequest", "tool_name": "Bash",
                                     "tool_input": {"command": "touch x"}}))  # fmt: skip
    assert asked == [("permission.waiting", {"tool_name": "Bash", "hook_event": "PermissionRequest"})]
    note = {**base, "hook_event_name": "Notification", "notification_type": "idle_prompt",
            "message": "Claude is waiting for your input\\nsecond line"}  # fmt: skip
    [(topic, body)] = _topics(_inv(tmp_path, note))
    assert topic == "permission.waiting" and body["notification_type"] == "idle_prompt"
    assert body["message"] == "Claude is waiting for your input\\nsecond line"
    # not waiting for the user: only the generic record every event leaves on the bus
    assert [t for t, _ in _topics(_inv(tmp_path, {**note, "notification_type": "auth_success"}))] == [
        "hook.event"
    ]
    stop = _topics(_inv(tmp_path, {**base, "hook_event_name": "Stop", "stop_hook_active": False}))
    assert stop == [("session.stop", {"stop_hook_active": False})]


def test_a_traceparent_joins_the_hook_span_and_running_workers_are_not_started_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = validate_config(
        {"notify": {"webhook_url": "http://127.0.0.1:9/x"}, "otel": {"endpoint": "http://127.0.0.1:9"}},
        environ={},
    )
    inv = _inv(tmp_path, {**payload_for("Stop"), "stop_hook_active": False}, config)
    monkeypatch.setenv("TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    with WorkerLock(inv.state_dir, NOTIFY_SENDER) as a, WorkerLock(inv.state_dir, OTEL_SHIPPER) as b:
        assert a.acquire() and b.acquire()
        record_invocation(inv)
    records = [json.loads(line) for line in (Path(inv.log_dir) / "traces.jsonl").read_text().splitlines()]
    [hook] = [r for r in records if r.get("name") == "Stop"]
    assert hook["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert hook["parent_span_id"] == "00f067aa0ba902b7" and "ancestors" not in hook
    assert hook["attributes"]["session.id"] == inv.session_id
    assert all(
        r["trace_id"] == hook["trace_id"] for r in records if str(r.get("name")).startswith("handler ")
    )
    turn_end = next(r for r in records if r.get("type") == "span_end")
    assert turn_end["trace_id"] != hook["trace_id"]  # the shared turn span stays in the session's trace
    assert not list((Path(inv.state_dir) / "workers").glob("*.log"))  # nothing was spawned


def test_a_worker_that_cannot_be_started_is_a_warning_not_a_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = validate_config({"otel": {"endpoint": "http://127.0.0.1:9"}}, environ={})
    inv = _inv(tmp_path, payload_for("SessionStart"), config)
    Path(inv.state_dir).parent.mkdir(parents=True, exist_ok=True)
    Path(inv.state_dir).write_text("not a directory")
    record_invocation(inv)
    assert "could not start a background sender" in capsys.readouterr().err
    assert (Path(inv.log_dir) / "traces.jsonl").exists()  # the records were written all the same
