"""Pure parts of the OTLP push and the TRACEPARENT join, the ``otel`` command in-process, and the
detached-worker helpers."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from receivers import HttpReceiver

from lib.cli import main as cli
from lib.detached import SPAWN_GRACE_SECONDS, WorkerLock, ensure_running, is_running, worker_paths
from lib.otel.convert import any_value, export_request, request_json, to_span
from lib.otel.settings import parse_key_values
from lib.trace_manager import TRACE_FILE, Span, TraceRecorder, parse_traceparent

TID, SID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"00-{TID}-{SID}-01", (TID, SID)),
        (f"00-{TID}-{SID}-00", (TID, SID)),
        (f"01-{TID}-{SID}-01-future", (TID, SID)),  # a later version may append fields
        (f"00-{TID}-{SID}-01-extra", None),  # version 00 may not
        (f"ff-{TID}-{SID}-01", None),
        (f"00-{'0' * 32}-{SID}-01", None),
        (f"00-{TID}-{'0' * 16}-01", None),
        (f"00-{TID.upper()}-{SID}-01", None),
        (f"00_{TID}-{SID}-01", None),
        (f"01-{TID}-{SID}-01x", None),
        ("00-abc", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_traceparent(value: str | None, expected: tuple[str, str] | None) -> None:
    assert parse_traceparent(value) == expected


def test_values_and_the_otlp_json_form() -> None:
    assert any_value(None) is None
    assert any_value(True).bool_value is True  # type: ignore[union-attr]
    assert any_value(3).int_value == 3  # type: ignore[union-attr]
    assert any_value(2**70).string_value == str(2**70)  # type: ignore[union-attr]
    assert any_value(0.5).double_value == 0.5  # type: ignore[union-attr]
    assert [v.string_value for v in any_value(["a", None, "b"]).array_value.values] == ["a", "b"]  # type: ignore[union-attr]
    assert any_value({"k": 1}).string_value == "{'k': 1}"  # type: ignore[union-attr]
    record = {"trace_id": TID, "span_id": SID, "parent_span_id": "11" * 8, "name": "x", "start_ns": 5,
              "end_ns": 3, "status": "ok", "attributes": {"a": 1}}  # fmt: skip
    span = to_span(record)
    assert span is not None and span.end_time_unix_nano == 5  # an end before the start is clamped
    assert to_span({**record, "trace_id": "zz"}) is None and to_span({**record, "start_ns": None}) is None
    request, count = export_request([record, {"trace_id": "bad"}], {"service.name": "s"})
    assert count == 1
    data = request_json(request)
    span_json = data["resourceSpans"][0]["scopeSpans"][0]["spans"][0]  # type: ignore[index]
    assert (span_json["traceId"], span_json["spanId"], span_json["parentSpanId"]) == (TID, SID, "11" * 8)
    assert span_json["status"] == {"code": 1}


def test_key_value_lists() -> None:
    assert parse_key_values(" a = 1 ,b=x%3Dy,broken,=v") == {"a": "1", "b": "x=y"}
    assert parse_key_values(None) == {}


def test_otel_commands_in_process(
    tmp_path: Path, collector: HttpReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "proj"
    logs = project / ".claude" / "logs"
    logs.mkdir(parents=True)
    assert cli(["--project", str(project), "otel"]) == 2
    assert cli(["--project", str(project), "otel", "ship"]) == 2
    assert "no OTLP endpoint" in capsys.readouterr().err
    assert cli(["--project", str(project), "otel", "status"]) == 2
    capsys.readouterr()
    (project / ".claude" / "hooks.toml").write_text(f'[otel]\nendpoint = "{collector.url}"\n')
    TraceRecorder(str(logs / TRACE_FILE)).record(
        Span("Stop", trace_id=TID, start_ns=time.time_ns(), end_ns=time.time_ns(), status="ok")
    )
    assert cli(["--project", str(project), "otel", "ship"]) == 0
    assert capsys.readouterr().out == f"shipped 1 span(s) in 1 request(s) to {collector.url}/v1/traces\n"
    assert cli(["--project", str(project), "otel", "status"]) == 0
    out = capsys.readouterr().out
    assert "service.name: claude-hooks" in out and "spans shipped: 1;" in out
    collector.statuses[:] = [503]
    TraceRecorder(str(logs / TRACE_FILE)).record(Span("Stop", trace_id=TID, start_ns=time.time_ns()))
    assert cli(["--project", str(project), "otel", "ship"]) == 1
    assert "not shipped yet: HTTP 503" in capsys.readouterr().err
    collector.statuses[:] = [400]
    assert cli(["--project", str(project), "otel", "ship"]) == 1
    assert "refused by the collector and dropped" in capsys.readouterr().err
    with WorkerLock(str(project / ".claude" / "state"), "otel-shipper") as lock:
        assert lock.acquire()
        assert cli(["--project", str(project), "otel", "ship"]) == 0
    assert "already running" in capsys.readouterr().out


def test_a_worker_is_started_once_and_not_again_while_it_runs(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    marker = tmp_path / "started"
    argv = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('x')"]
    lock_path, _ = worker_paths(state, "w")
    assert not is_running(lock_path)
    assert ensure_running(state, "w", argv)
    assert not ensure_running(state, "w", argv)  # within the grace period: it is starting up
    deadline = time.monotonic() + 10
    while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.read_text() == "x"
    with WorkerLock(state, "w") as lock:
        assert lock.acquire() and lock.acquire()
        assert is_running(lock_path)
        assert not WorkerLock(state, "w").acquire()
        assert not ensure_running(state, "w", argv, now=time.time() + 10)
    assert os.path.exists(lock_path)
    assert ensure_running(state, "w", argv, now=time.time() + SPAWN_GRACE_SECONDS + 1)


def test_start_worker_starts_nothing_while_a_worker_runs(tmp_path: Path) -> None:
    from lib.detached import NOTIFY_SENDER, OTEL_SHIPPER, start_worker, worker_argv

    state = str(tmp_path / "state")
    assert worker_argv("/p", NOTIFY_SENDER)[1:] == [
        "-m",
        "lib",
        "--project",
        "/p",
        "notify",
        "send",
        "--follow",
    ]
    assert worker_argv("/p", OTEL_SHIPPER)[1:] == ["-m", "lib", "--project", "/p", "otel", "ship", "--follow"]
    with WorkerLock(state, NOTIFY_SENDER) as sender, WorkerLock(state, OTEL_SHIPPER) as shipper:
        assert sender.acquire() and shipper.acquire()
        assert not start_worker(state, "/p", NOTIFY_SENDER)
        assert not start_worker(state, "/p", OTEL_SHIPPER)


def test_the_worker_loop_lingers_then_looks_once_more_before_it_exits(tmp_path: Path) -> None:
    from hookkit import FakeClock

    from lib.detached import run_until_idle

    clock = FakeClock()
    lock = WorkerLock(str(tmp_path), "w")
    assert lock.acquire()
    results: list[bool | float] = [True, False, 2.5, False, True, False, False, False, False]
    calls: list[str] = []
    late_work = [True]

    def step() -> bool | float:
        calls.append("step")
        return results.pop(0)

    def has_work() -> bool:
        calls.append("has_work")
        return late_work.pop(0) if late_work else False

    def sleep(seconds: float) -> None:
        calls.append(f"sleep {seconds}")
        clock.advance(seconds)

    run_until_idle(lock, step, has_work=has_work, follow=True, linger=3.0, clock=clock, sleep=sleep, poll=1.0)
    assert calls == ["step", "step", "sleep 1.0", "step", "sleep 2.5", "step", "has_work",  # idle 3.5 s: look again
                     "step", "step", "sleep 1.0", "step", "sleep 1.0", "step", "sleep 1.0", "step", "has_work"]  # fmt: skip
    assert not lock.held
