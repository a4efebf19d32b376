"""The state store and the terminal helper on hostile ground: symlinks, folders, full disks,
control characters."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from lib import safe_files
from lib.cli._terminal import escape, escape_json
from lib.jsonl import JsonlReader, JsonlWriter, rotated_generations
from lib.store import JsonStore, StateError, iter_stores, open_store


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    safe_files._checked_dirs.clear()
    safe_files._warned.clear()


def test_a_symlinked_state_file_is_neither_read_nor_written(tmp_path: Path) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text('{"secret": 1}')
    state = tmp_path / "state"
    state.mkdir()
    (state / "breakers.json").symlink_to(outside)
    store = open_store(str(state), "breakers")
    with pytest.raises(StateError, match="is a symbolic link"):
        store.read()
    with pytest.raises(StateError, match="is a symbolic link"), store.transaction() as data:
        data["x"] = 1
    assert outside.read_text() == '{"secret": 1}'


def test_a_folder_at_the_state_path_names_the_fix(tmp_path: Path) -> None:
    (tmp_path / "x.json").mkdir()
    with pytest.raises(StateError, match="is a directory; remove it"):
        JsonStore(str(tmp_path / "x.json")).read()


def test_a_symlinked_state_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "state").symlink_to(elsewhere)
    with pytest.raises(OSError, match="state: is a symbolic link"):
        open_store(str(tmp_path / "state"), "breakers")


def test_a_full_disk_keeps_the_old_state_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(str(tmp_path), "ratelimits")
    with store.transaction() as data:
        data["n"] = 1
    real_write = os.write

    def full(fd: int, data: bytes | memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StateError, match="check free disk space"), store.transaction() as data:
        data["n"] = 2
    monkeypatch.setattr(os, "write", real_write)
    assert json.loads((tmp_path / "ratelimits.json").read_text()) == {"n": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ratelimits.json", "ratelimits.json.lock"]
    assert list(iter_stores(str(tmp_path))) == ["ratelimits"]
    assert list(iter_stores(str(tmp_path / "missing"))) == []


def test_a_reader_skips_a_symlinked_log_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"private": true}\n')
    logs = tmp_path / "logs"
    logs.mkdir()
    with JsonlWriter(str(logs / "events.jsonl"), max_bytes=10) as writer:
        writer.append({"n": 1, "pad": "x" * 20})  # rotated away at once
    (generation,) = rotated_generations(str(logs / "events.jsonl"))
    rotated = logs / f"events.jsonl.{generation}"
    rotated.unlink()
    rotated.symlink_to(secret)
    (logs / "events.jsonl").symlink_to(secret)
    with JsonlReader(str(logs / "events.jsonl")) as reader:
        assert list(reader) == []
        assert list(reader) == []
    err = capsys.readouterr().err
    assert err.count(f"{rotated}: is a symbolic link") == 1
    with (
        pytest.raises(OSError, match=r"events\.jsonl: is a symbolic link"),
        JsonlWriter(str(logs / "events.jsonl")) as w,
    ):
        w.append({"n": 2})
    assert secret.read_text() == '{"private": true}\n'


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain text, ünïcödé", "plain text, ünïcödé"),
        ("a\x1b[31mred\x1b[0m", "a\\x1b[31mred\\x1b[0m"),
        ("line\nforged\rover\tx\x07", "line\\nforged\\rover\\tx\\x07"),
        ("\x9b31m\x7f\u202eevil\u2028", "\\x9b31m\\x7f\\u202eevil\\u2028"),
        (42, "42"),
    ],
)
def test_escape_makes_control_characters_visible(raw: object, shown: str) -> None:
    assert escape(raw) == shown


def test_escape_json_keeps_the_value() -> None:
    value = {"p": "x\x9b\u202e\u2028\x7fy", "n": "é"}
    text = json.dumps(value, ensure_ascii=False)
    safe = escape_json(text)
    assert json.loads(safe) == value
    assert all(not (0x7F <= ord(c) < 0xA0) and c not in "\u202e\u2028" for c in safe)
