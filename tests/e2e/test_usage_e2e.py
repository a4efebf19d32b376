"""Tokens and cost of a real Claude Code session: the transcript the CLI wrote, the figures
``python -m lib status`` and the dashboard show, and the CLI's own ``total_cost_usd`` agree."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from claude_session import ClaudeRunner
from hookkit import HookProject
from mock_anthropic import MockAnthropic, bash

pytestmark = pytest.mark.e2e

CACHE = {"cache_read_input_tokens": 1200, "cache_creation_input_tokens": 300}


@pytest.fixture
def caching_mock() -> Iterator[MockAnthropic]:
    """The mock Messages API, reporting cache reads and writes on every message."""
    with MockAnthropic(usage=CACHE) as mock:
        yield mock


def transcript_sums(path: Path) -> dict[str, int]:
    """The transcript's usage added up the plain way: one count per API message id."""
    seen: set[str] = set()
    sums = dict.fromkeys(("input_tokens", "output_tokens", *CACHE), 0)
    for line in path.read_text().splitlines():
        record = json.loads(line)
        message = record.get("message") if record.get("type") == "assistant" else None
        if not isinstance(message, dict) or "usage" not in message or message["id"] in seen:
            continue
        seen.add(message["id"])
        for key in sums:
            sums[key] += message["usage"].get(key, 0)
    return sums


def test_status_and_dashboard_show_what_the_transcript_used(
    claude_bin: Path, caching_mock: MockAnthropic, claude_home: Path, hook_project: HookProject
) -> None:
    runner = ClaudeRunner(claude_bin, caching_mock, claude_home)
    project = hook_project.path
    run = runner(project, "list, then clean up", [bash("echo one"), bash("rm -rf ~/"), "Done."])
    run.assert_success()
    assert run.session_id and run.result is not None

    marks = hook_project.state("transcripts")["sessions"][run.session_id]
    transcript = Path(marks["transcript_path"])
    assert transcript.is_file() and transcript.parent.parent.parent == claude_home / ".claude"
    sums = transcript_sums(transcript)
    assert sums["input_tokens"] > 0 and sums["cache_read_input_tokens"] == 1200 * 3  # three API turns

    proc = subprocess.run(
        [sys.executable, "-m", "lib", "--project", str(project), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    usage: dict[str, Any] = json.loads(proc.stdout)["usage"]["sessions"][run.session_id]
    assert usage["input_tokens"] == sums["input_tokens"]
    assert usage["output_tokens"] == sums["output_tokens"]
    assert usage["cache_read_tokens"] == sums["cache_read_input_tokens"]
    assert (
        usage["cache_write_5m_tokens"] + usage["cache_write_1h_tokens"] == sums["cache_creation_input_tokens"]
    )
    # the CLI priced the same tokens itself: our table gives its figure
    assert usage["cost_usd"] == pytest.approx(run.result["total_cost_usd"], abs=1e-6)
    assert run.result["usage"]["input_tokens"] == sums["input_tokens"]
    text = subprocess.run(
        [sys.executable, "-m", "lib", "--project", str(project), "status"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"${usage['cost_usd']:.4f}" in text

    from lib.cli.dashboard import serve

    server, dashboard = serve(argparse.Namespace(project=str(project), host="127.0.0.1", port=0, open=False))
    try:
        dashboard.start()
        assert dashboard.loaded.wait(timeout=60)
        snapshot = dashboard.snapshot()
    finally:
        server.server_close()
        dashboard.stop()
    assert snapshot["usage"]["sessions"][run.session_id]["cost_usd"] == usage["cost_usd"]
    [call] = [c for c in snapshot["feed"] if c["decision"] == "denied"]
    assert call["input"] == "rm -rf ~/" and call["id"] == run.permission_denials[0]["tool_use_id"]
