"""The usage_marks hook, spawned as Claude Code spawns it: it notes the transcript's path and length
at Stop, SubagentStop and SessionEnd, and ``status`` prices what the transcript used."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hookkit import HookProject, payload_for


def _transcript(path: Path, n: int) -> Path:
    lines = [
        {
            "type": "assistant",
            "message": {
                "id": f"msg_{i}",
                "model": "claude-haiku-4-5",
                "usage": {"input_tokens": 1000, "output_tokens": 100},
            },
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_stop_and_subagent_stop_mark_the_transcripts(hook_project: HookProject, tmp_path: Path) -> None:
    main = _transcript(tmp_path / "session.jsonl", 2)
    agent = _transcript(tmp_path / "agent-a1.jsonl", 1)
    stop = payload_for("Stop", transcript_path=str(main))
    sid = stop["session_id"]
    assert hook_project.run(stop).code == 0
    subagent = {
        **stop,
        "hook_event_name": "SubagentStop",
        "agent_id": "a1",
        "agent_type": "Explore",
        "agent_transcript_path": str(agent),
    }
    assert hook_project.run(subagent).code == 0
    marks = hook_project.state("transcripts")["sessions"][sid]
    assert marks["transcript_path"] == str(main) and marks["offset"] == main.stat().st_size
    assert marks["agents"]["a1"]["offset"] == agent.stat().st_size

    _transcript(main, 3)  # the session goes on; SessionEnd notes the new length
    end = payload_for("SessionEnd", transcript_path=str(main))
    assert hook_project.run({**end, "session_id": sid}).code == 0
    assert hook_project.state("transcripts")["sessions"][sid]["offset"] == main.stat().st_size

    proc = subprocess.run(
        [sys.executable, "-m", "lib", "--project", str(hook_project.path), "status", "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    usage = json.loads(proc.stdout)["usage"]["sessions"][sid]
    # 4 messages of 1000 in / 100 out on haiku 4.5 ($1 / $5 per million)
    assert (usage["input_tokens"], usage["output_tokens"], usage["subagents"]) == (4000, 400, 1)
    assert usage["cost_usd"] == 4 * (1000 * 1 + 100 * 5) / 1e6


def test_a_stop_without_a_readable_transcript_writes_nothing(hook_project: HookProject) -> None:
    for path in ("/nonexistent/x.jsonl", "/etc/passwd", 12):
        result = hook_project.run(payload_for("Stop", transcript_path=path))
        assert result.code == 0
    assert hook_project.state("transcripts") == {}
