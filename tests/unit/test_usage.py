"""Tokens and cost from Claude Code transcripts: parsing, pricing, marks, the report and its text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from lib.store import open_store
from lib.usage.marks import MARKS_STORE, MAX_SESSIONS, record_mark, transcript_size
from lib.usage.prices import PRICES, ModelPrice, cost_of, price_for, prices_with
from lib.usage.report import ReportCache, format_cost, usage_lines, usage_report
from lib.usage.transcript import TokenCounts, read_transcript


def assistant(msg_id: str, model: str, usage: dict[str, Any], block: str = "text") -> dict[str, Any]:
    """One transcript line as Claude Code writes it (one per content block of a message)."""
    return {
        "type": "assistant",
        "requestId": "req_" + msg_id,
        "message": {"id": msg_id, "model": model, "content": [{"type": block}], "usage": usage},
    }


def write_transcript(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


SONNET = "claude-sonnet-4-5-20250929"
USAGE_1 = {
    "input_tokens": 1000,
    "output_tokens": 200,
    "cache_creation_input_tokens": 500,
    "cache_read_input_tokens": 3000,
    "cache_creation": {"ephemeral_5m_input_tokens": 400, "ephemeral_1h_input_tokens": 100},
}
USAGE_2 = {"input_tokens": 50, "output_tokens": 100}
# sonnet 4.5: $3 in, $15 out, $3.75 5-minute writes, $6 1-hour writes, $0.30 reads per million
EXPECTED_COST = (1050 * 3 + 300 * 15 + 400 * 3.75 + 100 * 6 + 3000 * 0.3) / 1e6


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    return write_transcript(
        tmp_path / "session.jsonl",
        [
            {"type": "user", "message": {"role": "user", "content": "hi"}},
            assistant("msg_1", SONNET, USAGE_1),
            assistant("msg_1", SONNET, USAGE_1, "tool_use"),  # same message, second block: counted once
            '{"type": "assistant", "message": {"id": "torn',  # a torn line
            assistant("msg_2", SONNET, USAGE_2),
            assistant("msg_3", "<synthetic>", {"input_tokens": 0, "output_tokens": 0}),
        ],
    )


def test_a_message_is_counted_once_and_torn_lines_are_skipped(transcript: Path) -> None:
    usage = read_transcript(str(transcript))
    counts = usage.by_model[SONNET]
    assert (counts.input, counts.output, counts.cache_write_5m, counts.cache_write_1h, counts.cache_read) == (
        1050,
        300,
        400,
        100,
        3000,
    )
    assert counts.messages == 2
    assert usage.skipped == 1
    assert list(usage.by_model) == [SONNET]  # the synthetic message used nothing
    assert usage.position == transcript.stat().st_size


def test_reading_stops_at_the_marked_offset_and_resumes(transcript: Path) -> None:
    lines = transcript.read_bytes().splitlines(keepends=True)
    first_three = sum(len(line) for line in lines[:3])
    early = read_transcript(str(transcript), end=first_three)
    assert early.by_model[SONNET].messages == 1
    assert early.position == first_three
    later = read_transcript(str(transcript), resume=early)
    assert later.by_model[SONNET].messages == 2
    assert early.by_model[SONNET].messages == 1  # the resumed result is a copy
    assert read_transcript(str(transcript), end=10, resume=later).position == later.position


def test_a_missing_transcript_is_reported_not_raised(tmp_path: Path) -> None:
    usage = read_transcript(str(tmp_path / "gone.jsonl"))
    assert usage.missing and not usage.by_model


def test_cache_writes_without_a_split_count_as_five_minute_writes() -> None:
    counts = TokenCounts.from_usage(
        {"input_tokens": 3, "cache_creation_input_tokens": 70, "output_tokens": True}
    )
    assert (counts.cache_write_5m, counts.cache_write_1h, counts.output) == (70, 0, 0)
    odd = TokenCounts.from_usage(
        {"cache_creation_input_tokens": 10, "cache_creation": {"ephemeral_5m_input_tokens": 3}}
    )
    assert (odd.cache_write_5m, odd.cache_write_1h) == (10, 0)


def test_prices_match_the_longest_prefix_and_overrides_apply() -> None:
    assert price_for("claude-opus-4-1-20250805") == PRICES["claude-opus-4-1"]
    assert price_for("claude-opus-4-20250514") == PRICES["claude-opus-4"]
    assert price_for("claude-opus-5-5[1m]") == PRICES["claude-opus-5-5"]
    assert price_for("gpt-4") is None
    table = prices_with(
        {
            "claude-sonnet-4-5": {"output": 20},
            "my-proxy-model": {"input": 1, "output": 2},
            "incomplete-model": {"input": 1},
            "ignored": "not a table",
        }
    )
    assert table["claude-sonnet-4-5"] == ModelPrice(3, 20, 3.75, 6, 0.3)
    assert price_for("my-proxy-model-v2", table) == ModelPrice(1, 2, 1.25, 2, 0.1)
    assert "incomplete-model" not in table and "ignored" not in table
    assert cost_of(ModelPrice(1, 2, 3, 4, 5), input_tokens=1_000_000, output_tokens=0) == 1.0


def test_the_cli_figure_of_a_recorded_run_is_reproduced() -> None:
    # Claude Code 2.1.328 against the mock reported total_cost_usd 0.022632 for 5248 in / 82 out on
    # claude-opus-5-5: the table must give the CLI's own figure
    price = price_for("claude-opus-5-5")
    assert price is not None
    assert round(cost_of(price, input_tokens=5248, output_tokens=82), 6) == 0.022632


def test_marks_keep_the_longest_offset_per_file_and_nest_agents(tmp_path: Path) -> None:
    store = open_store(str(tmp_path), MARKS_STORE)
    record_mark(store, "s1", "/t/s1.jsonl", 100, now=1.0)
    record_mark(store, "s1", "/t/s1.jsonl", 50, now=2.0)  # a late, shorter mark never goes back
    record_mark(store, "s1", "/t/agent.jsonl", 7, agent_id="a1", now=3.0)
    entry = store.read()["sessions"]["s1"]  # type: ignore[index]
    assert entry == {
        "transcript_path": "/t/s1.jsonl",
        "offset": 100,
        "updated_at": 3.0,
        "agents": {"a1": {"transcript_path": "/t/agent.jsonl", "offset": 7}},
    }
    record_mark(store, "s1", "/t/s1-new.jsonl", 10, now=4.0)  # a new file (resumed session) replaces
    assert store.read()["sessions"]["s1"]["offset"] == 10  # type: ignore[index]


def test_marks_drop_the_oldest_sessions_past_the_cap(tmp_path: Path) -> None:
    store = open_store(str(tmp_path), MARKS_STORE)
    with store.transaction() as state:
        state["sessions"] = {f"s{i}": {"updated_at": float(i)} for i in range(MAX_SESSIONS)}
    record_mark(store, "new", "/t/new.jsonl", 1, now=1e9)
    sessions = store.read()["sessions"]
    assert isinstance(sessions, dict) and len(sessions) == MAX_SESSIONS
    assert "s0" not in sessions and "new" in sessions


def test_transcript_size_accepts_only_regular_jsonl_files(tmp_path: Path, transcript: Path) -> None:
    assert transcript_size(str(transcript)) == transcript.stat().st_size
    assert transcript_size(str(tmp_path)) is None  # a directory
    (tmp_path / "d.jsonl").mkdir()
    assert transcript_size(str(tmp_path / "d.jsonl")) is None
    assert transcript_size("/etc/passwd") is None
    assert transcript_size(str(tmp_path / "missing.jsonl")) is None
    assert transcript_size("bad\0.jsonl") is None
    assert transcript_size(42) is None


def test_the_report_sums_sessions_agents_and_models(tmp_path: Path, transcript: Path) -> None:
    agent = write_transcript(tmp_path / "agent.jsonl", [assistant("msg_a", "claude-haiku-4-5", USAGE_2)])
    unknown = write_transcript(tmp_path / "other.jsonl", [assistant("msg_x", "local-llama", USAGE_2)])
    marks = {
        "sessions": {
            "s1": {
                "transcript_path": str(transcript),
                "offset": transcript.stat().st_size,
                "agents": {"a1": {"transcript_path": str(agent), "offset": None}, "bad": "x"},
            },
            "s2": {"transcript_path": str(unknown), "offset": 10_000},
            "s3": {"offset": 5},  # no path: not a session we can read
            "s4": "junk",
        }
    }
    cache = ReportCache()
    data = usage_report(marks, {}, cache=cache).as_dict()
    s1 = data["sessions"]["s1"]  # type: ignore[index]
    haiku = (50 * 1 + 100 * 5) / 1e6
    assert s1["cost_usd"] == round(EXPECTED_COST + haiku, 6)
    assert s1["models"][SONNET]["cost_usd"] == pytest.approx(EXPECTED_COST)
    assert s1["subagents"] == 1 and s1["skipped_lines"] == 1
    s2 = data["sessions"]["s2"]  # type: ignore[index]
    assert s2["cost_usd"] is None and s2["unpriced_models"] == ["local-llama"]
    assert set(data["sessions"]) == {"s1", "s2"}  # type: ignore[arg-type]
    assert data["total"]["cost_usd"] == s1["cost_usd"]  # type: ignore[index]
    assert data["prices_taken"]
    # the cache resumes: a longer offset parses only the new part
    priced = usage_report(
        marks, {"usage": {"prices": {"local-llama": {"input": 1, "output": 1}}}}, cache=cache
    )
    assert priced.as_dict()["sessions"]["s2"]["cost_usd"] == 150 / 1e6  # type: ignore[index]
    assert usage_report(marks, {"usage": {"enabled": False}}).sessions == {}
    assert usage_report({"sessions": []}).sessions == {}


def test_the_report_reads_the_live_end_when_asked(tmp_path: Path, transcript: Path) -> None:
    marks = {"sessions": {"s1": {"transcript_path": str(transcript), "offset": 0}}}
    assert usage_report(marks).as_dict()["sessions"]["s1"]["total_tokens"] == 0  # type: ignore[index]
    assert usage_report(marks, live=True).as_dict()["sessions"]["s1"]["total_tokens"] > 0  # type: ignore[index]
    cache = ReportCache()
    cache.read(str(transcript), None)
    assert cache.read(str(transcript), 5).position == 0  # shorter than parsed: the file was replaced


def test_usage_lines_for_the_terminal(tmp_path: Path, transcript: Path) -> None:
    marks = {"sessions": {"abcdef1234": {"transcript_path": str(transcript), "offset": None}}}
    data = usage_report(marks).as_dict()
    lines = usage_lines(data)
    assert lines[0].startswith("Tokens and cost (prices of ")
    assert (
        f"1 session, 1,050 in, 300 out, 500 cache write, 3,000 cache read, ${EXPECTED_COST:.4f}" in lines[0]
    )
    assert lines[1].startswith("  abcdef12  1,050 in") and SONNET in lines[1]
    assert usage_lines(data, session="zzz")[0].endswith("no transcript recorded yet (noted at each Stop)")
    hostile = {
        "sessions": {
            "s": {
                "models": {"evil\x1b[31m": {}},
                "unpriced_models": ["evil\x1b[31m"],
                "transcript_missing": True,
            }
        },
        "prices_taken": "x",
    }
    text = "\n".join(usage_lines(hostile))
    assert "\x1b" not in text and "evil\\x1b[31m" in text and "(transcript missing)" in text
    assert format_cost(None) == "-" and format_cost(12.5) == "$12.50" and format_cost(0.5) == "$0.5000"


def test_status_and_metrics_show_tokens_and_cost(
    tmp_path: Path, transcript: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lib.cli import main

    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    store = open_store(str(project / ".claude" / "state"), MARKS_STORE)
    record_mark(store, "sess-1", str(transcript), transcript.stat().st_size)
    assert main(["--project", str(project), "status", "--json"]) == 0
    usage = json.loads(capsys.readouterr().out)["usage"]
    assert usage["sessions"]["sess-1"]["cost_usd"] == round(EXPECTED_COST, 6)
    assert main(["--project", str(project), "status"]) == 0
    assert f"${EXPECTED_COST:.4f}" in capsys.readouterr().out
    (project / ".claude" / "hooks.toml").write_text('[usage.prices."claude-sonnet-4-5"]\noutput = 30.0\n')
    assert main(["--project", str(project), "metrics", "--json", "--session", "sess"]) == 0
    repriced = json.loads(capsys.readouterr().out)["usage"]["sessions"]["sess-1"]["cost_usd"]
    assert repriced == round(EXPECTED_COST + 300 * 15 / 1e6, 6)
    assert main(["--project", str(project), "metrics", "--json", "--session", "other"]) == 0
    other = json.loads(capsys.readouterr().out)["usage"]
    assert other["sessions"] == {} and other["total"]["cost_usd"] is None
    (project / ".claude" / "hooks.toml").write_text('[usage.prices."x"]\ninput = -1\n')
    assert main(["--project", str(project), "status", "--json"]) == 0
    captured = capsys.readouterr()
    assert "usage.prices.x.input" in captured.err and json.loads(captured.out)["usage"]["sessions"]


def test_the_hook_handler_marks_the_session_and_its_subagents(tmp_path: Path, transcript: Path) -> None:
    from hooks.usage_marks import usage_marks
    from lib.paths import resolve_paths
    from lib.registry import HookEvent

    paths = resolve_paths(str(tmp_path), environ={})
    size = transcript.stat().st_size

    def fire(name: str, **data: object) -> None:
        assert usage_marks(HookEvent(name, {"session_id": "s1", **data}, paths=paths)) is None

    fire("Stop", transcript_path=str(transcript))
    fire("SubagentStop", agent_id="a1", agent_transcript_path=str(transcript), transcript_path="/x.jsonl")
    fire("Stop", agent_id="a1", transcript_path=str(transcript))  # a subagent's Stop: the session's file
    fire("SessionEnd", transcript_path=str(tmp_path / "missing.jsonl"))  # nothing to note
    assert usage_marks(HookEvent("Stop", {"transcript_path": str(transcript)}, paths=paths)) is None
    sessions = open_store(paths.state_dir, MARKS_STORE).read()["sessions"]
    assert sessions == {
        "s1": {
            "transcript_path": str(transcript),
            "offset": size,
            "updated_at": sessions["s1"]["updated_at"],  # type: ignore[index]
            "agents": {"a1": {"transcript_path": str(transcript), "offset": size}},
        }
    }
