"""HookLogger: record shape, levels from config and environment, redaction and truncation on disk."""

from __future__ import annotations

import json
import os

import pytest

from lib.hook_logger import LEVEL_ENV, HookLogger, LogLevel, iso_timestamp, resolve_level

FIXED_NS = 1_795_000_000_123_456_789


def read(path: str) -> list[dict[str, object]]:
    with open(path, "rb") as f:
        return [json.loads(line) for line in f]


def test_record_carries_the_documented_fields(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "hooks.jsonl")
    logger = HookLogger(
        path,
        hook="guard_bash",
        event="PreToolUse",
        session_id="s-1",
        tool_use_id="toolu_1",
        correlation_id="c-1",
        clock=lambda: FIXED_NS,
    )
    logger.log("info", "checked", duration_ms=1.23456, decision="allow")
    [record] = read(path)
    assert record == {
        "ts": "2026-11-18T11:06:40.123456Z",
        "level": "info",
        "hook": "guard_bash",
        "event": "PreToolUse",
        "session_id": "s-1",
        "tool_use_id": "toolu_1",
        "correlation_id": "c-1",
        "duration_ms": 1.235,
        "message": "checked",
        "fields": {"decision": "allow"},
    }


def test_iso_timestamp_is_utc_with_microseconds() -> None:
    assert iso_timestamp(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_timestamp(1_500_000_000) == "1970-01-01T00:00:01.500000Z"


def test_records_below_the_level_are_not_written(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "hooks.jsonl")
    logger = HookLogger(path, level="warning")
    assert logger.info("quiet") is None
    assert logger.debug("quieter") is None
    logger.warning("loud")
    logger.error("louder")
    assert [r["level"] for r in read(path)] == ["warning", "error"]


def test_level_from_environment_wins_over_config(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv(LEVEL_ENV, "debug")
    logger = HookLogger.from_config(str(tmp_path), {"logging": {"level": "error"}}, event="Stop")
    assert logger.level is LogLevel.DEBUG
    logger.debug("seen")
    assert read(logger.path)[0]["event"] == "Stop"
    monkeypatch.delenv(LEVEL_ENV)
    assert resolve_level("error") is LogLevel.ERROR
    assert resolve_level(None) is LogLevel.INFO
    assert LogLevel.parse("WARN") is LogLevel.WARNING


def test_unknown_level_names_the_choices() -> None:
    with pytest.raises(ValueError, match="debug, info, warning, error"):
        LogLevel.parse("verbose")


def test_secrets_never_reach_the_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "hooks.jsonl")
    token = "ghp_" + "A1b2C3d4E5" * 4
    logger = HookLogger(path)
    logger.info(
        f"pushing with {token}",
        tool_input={
            "command": f"git push https://x:{token}@github.com/o/r.git",
            "env": {"NPM_TOKEN": "s3cr3tv4lue"},
        },
    )
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    assert token not in raw and "s3cr3tv4lue" not in raw
    assert "[REDACTED" in raw


def test_big_tool_output_is_truncated_on_disk(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "hooks.jsonl")
    logger = HookLogger(path, max_field_chars=500, max_items=10)
    logger.info("read", tool_response={"content": "z" * (50 * 1024 * 1024), "lines": list(range(10_000))})
    assert os.path.getsize(path) < 2000
    fields = read(path)[0]["fields"]
    assert "truncated" in fields["tool_response"]["content"]  # type: ignore[index]
    assert len(fields["tool_response"]["lines"]) == 11  # type: ignore[index]


def test_redaction_can_be_switched_off_but_truncation_stays(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "hooks.jsonl")
    HookLogger(path, redact=False, max_field_chars=100).info("x", value="password=hunter22", big="q" * 1000)
    fields = read(path)[0]["fields"]
    assert fields["value"] == "password=hunter22"  # type: ignore[index]
    assert len(fields["big"]) < 200  # type: ignore[index,arg-type]


def test_bind_adds_context_and_shares_the_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "hooks.jsonl")
    base = HookLogger(path, session_id="s")
    base.bind(hook="rate_limit", tool="Bash").info("ok")
    base.info("plain")
    first, second = read(path)
    assert first["hook"] == "rate_limit" and first["tool"] == "Bash" and first["session_id"] == "s"
    assert second["hook"] == "runtime" and "tool" not in second
    with pytest.raises(TypeError, match="unknown logger context"):
        base.bind(colour="red")


def test_timed_block_logs_duration_and_errors(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "hooks.jsonl")
    logger = HookLogger(path)
    with logger.timed("step", name="one") as fields:
        fields["extra"] = 1
    with pytest.raises(RuntimeError), logger.timed("step", name="two"):
        raise RuntimeError("boom")
    ok, failed = read(path)
    assert ok["level"] == "info" and ok["fields"] == {"name": "one", "extra": 1}
    assert isinstance(ok["duration_ms"], float)
    assert failed["level"] == "error" and failed["fields"]["error"] == "RuntimeError: boom"  # type: ignore[index]


def test_a_level_is_built_from_its_number_and_an_unknown_number_is_refused() -> None:
    assert LogLevel(20) is LogLevel.INFO and LogLevel(LogLevel.ERROR) is LogLevel.ERROR
    with pytest.raises(ValueError, match="99 is not a valid LogLevel"):
        LogLevel(99)
