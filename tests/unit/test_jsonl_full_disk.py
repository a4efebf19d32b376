"""lib.jsonl on a failing disk: an append lands whole or not at all, and a torn tail left by anyone
else never swallows the next record. (tests/security/test_full_disk.py fills a real filesystem.)"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from lib.jsonl import JsonlReader, JsonlWriter


def _records(path: Path) -> list[dict[str, object]]:
    with JsonlReader(str(path)) as reader:
        return [e.record for e in reader]


def test_a_short_write_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "hooks.jsonl"
    writer = JsonlWriter(str(path))
    writer.append({"n": 1})
    before = path.read_bytes()
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if fd == writer._fd:
            real_write(fd, data[:7])  # the kernel took part of it, then the disk filled up
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space"):
        writer.append_many([{"n": 2}, {"n": 3}])
    with pytest.raises(OSError, match="No space"):
        writer.append_positioned(lambda pos: {"id": pos})
    assert path.read_bytes() == before
    monkeypatch.setattr(os, "write", real_write)
    writer.append({"n": 4})
    assert _records(path) == [{"n": 1}, {"n": 4}]
    writer.close()


def test_the_next_record_after_a_torn_tail_starts_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"n":1}\n{"n":2,"tool_input":{"comm')  # a writer that could not roll back
    with JsonlWriter(str(path)) as writer:
        position = writer.append({"n": 3})
        (pos_a, rec_a), (pos_b, _) = writer.append_positioned_many(
            [lambda p: {"id": p}, lambda p: {"id": p, "b": True}]
        )
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == b'{"n":2,"tool_input":{"comm'
    assert lines[2] == b'{"n":3}'
    with JsonlReader(str(path)) as reader:
        entries = list(reader)
        assert reader.skipped == 1
    assert [e.record for e in entries] == [{"n": 1}, {"n": 3}, rec_a, {"id": pos_b, "b": True}]
    assert [e.position for e in entries][1:] == [position, pos_a, pos_b]
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(b'{"half')
    with JsonlWriter(str(torn)) as writer:
        ((first, record),) = writer.append_positioned_many([lambda p: {"id": p}])
    assert torn.read_bytes() == b'{"half\n' + f'{{"id":{first}}}\n'.encode()
    assert first == 7 and record == {"id": 7}
