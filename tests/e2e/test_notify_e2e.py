"""Notifications and OTLP push inside real Claude Code 2.1.328 sessions (the runtime installed by
./install.sh): the hooks start the detached sender/shipper themselves, no command is run by hand.

A scripted model retries a failing Bash command; the third failure opens the circuit breaker. The
model's next turn is held until the local webhook receiver got its delivery (at most 10 s), so the
delivery is shown to happen while the session runs; the session then goes on (one call refused by
the open breaker, a Stop) and the receiver gets exactly one POST in all. Likewise, with only
``[otel] endpoint`` set, the session's spans reach a local OTLP/HTTP receiver while it runs.
"""

from __future__ import annotations

import json
import time

import pytest
from claude_session import ClaudeRunner
from hookkit import HookProject
from mock_anthropic import MessagesRequest, Turn, bash
from receivers import HttpReceiver, stop_workers, webhook_config

pytestmark = pytest.mark.e2e

FAILING = "echo attempt >> attempts.log; echo 'fatal: remote unreachable' >&2; exit 7"


def test_a_breaker_opening_in_a_real_session_gives_exactly_one_webhook_delivery(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    project = hook_project.path
    with HttpReceiver() as receiver:
        hook_project.write_config(webhook_config(receiver, max_failures=3))
        waited: list[float] = []

        def script(request: MessagesRequest) -> Turn:
            made = len(request.all_tool_results())
            if made < 3:
                return bash(FAILING)
            if made == 3:  # the breaker opened in the hook of the third failure
                started = time.monotonic()
                receiver.wait_for(lambda got: len(got) >= 1, timeout=10)
                waited.append(time.monotonic() - started)
                return bash(FAILING)
            return "The remote stays unreachable; I stop here."

        try:
            run = run_claude(project, "push the release", script, timeout=120)
            run.assert_success()
            time.sleep(2.0)  # a second delivery (the refusal, the Stop) would arrive now
            got = receiver.received()
        finally:
            stop_workers(project / ".claude" / "state")

    assert len(got) == 1, [r.body for r in got]
    assert waited and waited[0] < 10, "the delivery came while the session ran"
    body = json.loads(got[0].body)
    assert body["event"] == "breaker.opened"
    assert body["session_id"] == run.session_id
    assert body["project"] == project.name
    assert body["title"].startswith("Circuit breaker open: Bash:")  # keyed by command (issue 13)
    assert "after 3 failures in a row" in body["message"] and "fatal: remote unreachable" in body["message"]
    denied = run.tool_results()[3]
    assert denied.is_error and denied.text.startswith("PreToolUse:Bash hook error: Circuit breaker open")
    topics = [r["topic"] for r in hook_project.log_records("events")]
    assert topics.count("breaker.opened") == 1 and "session.stop" in topics and "tool.denied" in topics


def test_a_real_sessions_spans_reach_an_otlp_collector(
    run_claude: ClaudeRunner, hook_project: HookProject
) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    project = hook_project.path
    with HttpReceiver() as collector:
        (project / ".claude" / "hooks.toml").write_text(f'[otel]\nendpoint = "{collector.url}"\n')

        def names(requests: list[object]) -> set[str]:
            out = set()
            for request in collector.received():
                message = ExportTraceServiceRequest.FromString(request.body)
                out |= {s.name for rs in message.resource_spans for ss in rs.scope_spans for s in ss.spans}
            return out

        wanted = {"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "tool Bash"}

        def script(request: MessagesRequest) -> Turn:
            if not request.all_tool_results():
                return bash("echo hi")
            collector.wait_for(lambda r: wanted <= names(r), timeout=10)  # while the session runs
            return "Done."

        try:
            run = run_claude(project, "say hi", script, timeout=120)
            run.assert_success()
        finally:
            stop_workers(project / ".claude" / "state")
        got = names([])
    assert wanted <= got, got
