"""The OTLP shipper in-process: what it sends, its saved position, failures and restarts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from receivers import HttpReceiver, free_port, spans_of

from lib.config import validate_config
from lib.otel.shipper import Shipper
from lib.paths import Paths
from lib.trace_manager import TRACE_FILE, Span, TraceRecorder

SESSION = "0b7f3c1e-8a55-4a0e-9d4a-2b7c9f1e6a10"
TRACE = SESSION.replace("-", "")


def _paths(tmp_path: Path) -> Paths:
    return Paths(str(tmp_path / "proj"))


def _recorder(paths: Paths) -> TraceRecorder:
    os.makedirs(paths.log_dir, exist_ok=True)
    return TraceRecorder(os.path.join(paths.log_dir, TRACE_FILE))


T0 = time.time_ns()


def _span(name: str, **kw: object) -> Span:
    return Span(name, trace_id=TRACE, start_ns=T0, end_ns=T0 + 5_000_000,
                status="ok", session_id=SESSION, **kw)  # type: ignore[arg-type]  # fmt: skip


def _config(url: str, **otel: object) -> dict[str, object]:
    return validate_config({"otel": {"endpoint": url, **otel}}, environ={})


def test_complete_spans_and_opened_then_closed_spans_arrive_once(
    tmp_path: Path, collector: HttpReceiver
) -> None:
    paths = _paths(tmp_path)
    rec = _recorder(paths)
    tool = _span("tool Bash", span_id="aa" * 8, attributes={"tool.name": "Bash", "tool.use_id": "toolu_1"})
    rec.start(tool)
    rec.record(_span("PreToolUse", parent_span_id=tool.span_id, attributes={"hook.event": "PreToolUse"}))

    first = Shipper(paths, _config(collector.url)).run()

    assert (first.spans, first.requests) == (1, 1)  # the tool span waits for its end
    [pre] = spans_of(collector.received())
    assert pre["path"] == "/v1/traces" and pre["name"] == "PreToolUse"
    assert pre["trace_id"] == TRACE and pre["parent_span_id"] == tool.span_id
    assert pre["attributes"]["session.id"] == SESSION
    assert pre["resource"]["service.name"] == "claude-hooks"

    rec.end(TRACE, tool.span_id, end_ns=T0 + 9_000_000, status="error", status_message="Exit code 3",
            attributes={"tool.outcome": "failure"}, session_id=SESSION)  # fmt: skip
    second = Shipper(paths, _config(collector.url)).run()
    assert second.spans == 1
    got = spans_of(collector.received())
    assert [s["name"] for s in got] == ["PreToolUse", "tool Bash"]
    bash = got[1]
    assert bash["status"] == 2 and bash["end"] - bash["start"] == 9_000_000
    assert bash["attributes"]["gen_ai.tool.name"] == "Bash"
    assert bash["attributes"]["gen_ai.tool.call.id"] == "toolu_1"
    assert bash["attributes"]["gen_ai.operation.name"] == "execute_tool"
    assert bash["attributes"]["tool.outcome"] == "failure"
    assert Shipper(paths, _config(collector.url)).run().spans == 0  # nothing twice


def test_a_failing_collector_keeps_the_batch_for_the_next_run(
    tmp_path: Path, collector: HttpReceiver
) -> None:
    paths = _paths(tmp_path)
    _recorder(paths).record(_span("Stop"))
    collector.statuses[:] = [503]
    failed = Shipper(paths, _config(collector.url)).run()
    assert failed.failures == 1 and failed.spans == 0 and "HTTP 503" in str(failed.last_error)
    assert collector.received() == []
    assert Shipper(paths, _config(collector.url)).run().spans == 1
    assert [s["name"] for s in spans_of(collector.received())] == ["Stop"]


def test_a_refused_batch_is_dropped_and_logged(tmp_path: Path, collector: HttpReceiver) -> None:
    paths = _paths(tmp_path)
    _recorder(paths).record(_span("Stop"))
    collector.statuses[:] = [400]
    report = Shipper(paths, _config(collector.url)).run()
    assert report.dropped == 1
    log = (Path(paths.log_dir) / "hooks.jsonl").read_text()
    assert "refused 1 span(s) (HTTP 400" in log
    assert Shipper(paths, _config(collector.url)).run().spans == 0


def test_follow_retries_with_backoff_until_the_collector_answers(
    tmp_path: Path, collector: HttpReceiver
) -> None:
    paths = _paths(tmp_path)
    _recorder(paths).record(_span("Stop"))
    collector.statuses[:] = [503, 503]
    sleeps: list[float] = []
    report = Shipper(paths, _config(collector.url), sleep=sleeps.append).run(
        follow=True, stop=lambda: len(collector.received()) > 0
    )
    assert report.spans == 1 and report.failures == 2
    assert sleeps[:2] == [1.0, 2.0]


def test_json_protocol_headers_and_resource_from_the_environment(
    tmp_path: Path, collector: HttpReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _paths(tmp_path)
    _recorder(paths).record(_span("Stop"))
    environ = {
        "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=abc%20def,tenant=t1",
        "OTEL_SERVICE_NAME": "my-agents",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=ci,team=infra",
        "TEAM_TOKEN": "tok-123",
    }
    config = _config(collector.url, protocol="http/json", headers={"Authorization": "Bearer ${TEAM_TOKEN}"})
    Shipper(paths, config, environ=environ).run()
    [request] = collector.received()
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["content-type"] == "application/json"
    assert headers["x-api-key"] == "abc def" and headers["authorization"] == "Bearer tok-123"
    [span] = spans_of([request])
    assert span["trace_id"] == TRACE
    assert span["resource"]["service.name"] == "my-agents"
    assert span["resource"]["deployment.environment"] == "ci"


def test_no_endpoint_or_a_missing_variable_is_an_error_naming_the_key(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    with pytest.raises(ValueError, match=r"set \[otel\] endpoint"):
        Shipper(paths, validate_config({}, environ={}))
    with pytest.raises(
        ValueError, match=r"\[otel\] headers.Authorization reads the environment variable NOPE"
    ):
        Shipper(paths, _config("http://127.0.0.1:1", headers={"Authorization": "${NOPE}"}), environ={})


def test_the_traces_endpoint_is_used_as_is_and_env_reaches_the_config(tmp_path: Path) -> None:
    config = validate_config({}, environ={"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9/custom"})
    assert config["otel"]["active"] is True  # type: ignore[index]
    assert Shipper(_paths(tmp_path), config).settings.traces_url == "http://127.0.0.1:9/custom"
    env = validate_config({}, environ={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318/"})
    assert Shipper(_paths(tmp_path), env).settings.traces_url == "http://127.0.0.1:4318/v1/traces"


def test_a_dead_collector_is_an_error_that_does_not_name_the_url(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _recorder(paths).record(_span("Stop"))
    report = Shipper(paths, _config(f"http://127.0.0.1:{free_port()}")).run()
    assert report.failures == 1 and "ConnectionRefusedError" in str(report.last_error)
    assert "127.0.0.1" not in str(report.last_error)
