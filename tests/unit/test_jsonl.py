"""The JSONL writer and reader in one process: encoding, positions, torn lines, resume, rotation."""

from __future__ import annotations

import json
import os
import stat

import pytest

from lib.jsonl import (
    JsonlReader,
    JsonlWriter,
    encode_record,
    make_position,
    rotated_generations,
    split_position,
)


def records(path: str, start: int | None = None) -> list[dict[str, object]]:
    with JsonlReader(path, start=start) as reader:
        return [e.record for e in reader.read()]


def test_encode_record_is_one_compact_line_even_with_newlines_and_odd_values() -> None:
    line = encode_record({"msg": "a\nb\u2028c", "nan": float("nan"), "obj": object, "n": 1})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    decoded = json.loads(line)
    assert decoded["msg"] == "a\nb\u2028c"
    assert decoded["nan"] is None  # strict JSON: orjson and jq can read every line
    assert decoded["obj"].startswith("<class")


def test_positions_combine_generation_and_offset_in_order() -> None:
    assert split_position(make_position(3, 12345)) == (3, 12345)
    assert make_position(1, 0) > make_position(0, (1 << 40) - 1)


def test_append_returns_the_start_offset_and_the_file_is_private(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "logs", "x.jsonl")
    with JsonlWriter(path) as writer:
        first = writer.append({"a": 1})
        second = writer.append({"b": 2})
    assert first == make_position(0, 0)
    assert second == make_position(0, len(encode_record({"a": 1})))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with JsonlReader(path) as reader:
        entries = reader.read()
    assert [e.position for e in entries] == [first, second]
    assert entries[0].next_position == entries[1].position


def test_append_positioned_puts_the_position_inside_the_record(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "events.jsonl")
    with JsonlWriter(path) as writer:
        writer.append({"filler": "x" * 10})
        pos, rec = writer.append_positioned(lambda p: {"id": p, "topic": "t"})
    assert rec["id"] == pos
    with JsonlReader(path, start=pos) as reader:
        [entry] = reader.read()
    assert entry.record == {"id": pos, "topic": "t"} and entry.position == pos


def test_multi_line_record_is_refused(tmp_path: object) -> None:
    with JsonlWriter(os.path.join(str(tmp_path), "x.jsonl")) as writer, pytest.raises(ValueError):
        writer.append_bytes(b'{"a":1}\n{"b":2}\n')


def test_reader_stops_at_the_last_newline_and_resumes_when_the_record_completes(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.jsonl")
    with open(path, "wb") as f:
        f.write(b'{"n":1}\n{"n":2')  # a writer is half-way through record 2
    reader = JsonlReader(path)
    assert [e.record for e in reader.read()] == [{"n": 1}]
    assert reader.skipped == 0
    with open(path, "ab") as f:
        f.write(b"}\n")
    assert [e.record for e in reader.read()] == [{"n": 2}]
    reader.close()


def test_torn_line_mid_file_is_skipped_and_a_record_glued_to_it_is_salvaged(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.jsonl")
    whole = encode_record({"n": 3, "nested": {"k": "v"}})
    with open(path, "wb") as f:
        f.write(b'{"n":1}\n')
        f.write(b'{"n":2,"big":"aaaa')  # writer killed here, mid-record
        f.write(whole)  # the next writer's record lands on the same line
        f.write(b"not json at all\n")
        f.write(b"[1,2]\n")  # valid JSON, but not a record
        f.write(b'{"n":4}\n')
    with JsonlReader(path) as reader:
        entries = reader.read()
        assert [e.record["n"] for e in entries] == [1, 3, 4]
        assert reader.skipped == 3
    # the salvaged record's position is where its own bytes start
    with open(path, "rb") as f:
        f.seek(split_position(entries[1].position)[1])
        assert f.readline() == whole


def test_resume_from_a_stored_position_reads_only_newer_records(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.jsonl")
    with JsonlWriter(path) as writer:
        for n in range(5):
            writer.append({"n": n})
        reader = JsonlReader(path)
        got = reader.read(limit=2)
        stored = reader.position
        assert stored == got[-1].next_position
        reader.close()
        writer.append({"n": 5})
    assert [r["n"] for r in records(path, start=stored)] == [2, 3, 4, 5]


def test_record_larger_than_the_read_buffer(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.jsonl")
    with JsonlWriter(path) as writer:
        writer.append({"big": "y" * (1024 * 1024)})
        writer.append({"n": 2})
    got = records(path)
    assert len(got[0]["big"]) == 1024 * 1024  # type: ignore[arg-type]
    assert got[1] == {"n": 2}


def test_rotation_keeps_every_record_readable_in_order_and_prunes_old_files(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.jsonl")
    with JsonlWriter(path, max_bytes=200, backups=3) as writer:
        for n in range(40):
            writer.append({"n": n, "pad": "p" * 20})
    gens = rotated_generations(path)
    assert len(gens) == 3 and gens == list(range(gens[0], gens[0] + 3))
    got = [r["n"] for r in records(path)]
    # the oldest files are gone, the rest is contiguous and ends with the last record
    assert got == list(range(got[0], 40))
    assert all(os.path.getsize(f"{path}.{g}") >= 200 for g in gens)


def test_reader_follows_across_rotation_and_positions_keep_growing(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.jsonl")
    writer = JsonlWriter(path, max_bytes=10**9, backups=5)
    reader = JsonlReader(path)
    writer.append({"n": 0})
    assert [e.record["n"] for e in reader.read()] == [0]
    writer.append({"n": 1})  # lands in generation 0 ...
    assert writer.rotate() == 0  # ... which is renamed before the reader saw record 1
    writer.append({"n": 2})
    entries = reader.read()
    assert [e.record["n"] for e in entries] == [1, 2]
    assert split_position(entries[1].position) == (1, 0)
    assert entries[0].position < entries[1].position
    reader.close()
    writer.close()


def test_writer_opened_before_rotation_writes_to_the_new_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.jsonl")
    early = JsonlWriter(path, max_bytes=0)
    early.append({"n": 0})  # holds a descriptor on generation 0
    JsonlWriter(path).rotate()
    early.append({"n": 1})
    early.close()
    with open(f"{path}.0", "rb") as f:
        assert f.read() == encode_record({"n": 0})  # a rotated file never changes again
    assert [r["n"] for r in records(path)] == [0, 1]


def test_stored_position_from_a_deleted_log_restarts_at_the_oldest_file(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "x.jsonl")
    with JsonlWriter(path) as writer:
        writer.append({"n": 0})
    assert records(path, start=make_position(7, 0)) == [{"n": 0}]
    assert records(path, start=make_position(0, 10_000)) == [{"n": 0}]  # truncated under us


def test_reading_a_missing_file_yields_nothing(tmp_path: object) -> None:
    assert records(os.path.join(str(tmp_path), "absent.jsonl")) == []


BATCH_WRITER = """
import sys
from lib.jsonl import JsonlWriter
writer = JsonlWriter(sys.argv[1], max_bytes=int(sys.argv[2]), backups=1000)
for n in range(int(sys.argv[3])):
    writer.append_many([{"p": sys.argv[4], "n": n, "i": i, "pad": "x" * 30} for i in range(5)])
"""


def test_append_many_writes_a_batch_in_order_at_the_positions_it_returns(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "log.jsonl")
    writer = JsonlWriter(path)
    assert writer.append_many([]) == []
    first = writer.append({"n": 0})
    positions = writer.append_many([{"n": 1}, {"n": 2, "s": "é\n"}, {"n": 3}])
    writer.close()
    with JsonlReader(path) as reader:
        entries = reader.read()
    assert [e.record["n"] for e in entries] == [0, 1, 2, 3]
    assert [e.position for e in entries] == [first, *positions]


def test_append_positioned_many_hands_each_record_the_position_it_lands_at(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "bus.jsonl")
    writer = JsonlWriter(path)
    writer.append({"pad": "before"})
    written = writer.append_positioned_many([lambda p, n=n: {"id": p, "n": n} for n in range(4)])
    writer.close()
    with JsonlReader(path) as reader:
        entries = reader.read()[1:]
    assert [e.record for e in entries] == [record for _, record in written]
    assert all(e.record["id"] == e.position for e in entries)


@pytest.mark.slow
def test_batches_from_many_processes_never_interleave_or_tear(tmp_path: object) -> None:
    import subprocess
    import sys

    path = os.path.join(str(tmp_path), "log.jsonl")
    procs = [
        subprocess.Popen([sys.executable, "-c", BATCH_WRITER, path, str(8 * 1024), "100", str(p)])
        for p in range(8)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    with JsonlReader(path) as reader:
        got = [e.record for e in reader.read()]
        assert reader.skipped == 0
    assert len(got) == 8 * 100 * 5
    assert len(rotated_generations(path)) > 3
    for k in range(0, len(got), 5):  # every batch of five is contiguous and in order
        batch = got[k : k + 5]
        assert [r["i"] for r in batch] == [0, 1, 2, 3, 4]
        assert len({(r["p"], r["n"]) for r in batch}) == 1
