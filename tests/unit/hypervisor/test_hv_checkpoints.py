"""Checkpoints: real TOON out, TOON/JSON in, msgpack and junk reported clearly, atomic writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import toon_format
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.hypervisor.checkpoints import (
    Checkpoint,
    CheckpointStore,
    PhaseStatus,
    ValidationRecord,
    decode_checkpoint,
    detect_format,
    encode_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from lib.hypervisor.plan import PlanInvalid, load_plan


def sample(**changes: object) -> Checkpoint:
    data: dict[str, object] = {
        "plan": "demo",
        "phase": "11",
        "title": "Shared Infrastructure",
        "status": PhaseStatus.PASSED,
        "attempts": 2,
        "failures": 1,
        "run_id": "r1",
        "started_at": "2026-01-01T00:00:00.000Z",
        "ended_at": "2026-01-01T00:01:00.000Z",
        "duration_s": 60.0,
        "executor": "claude",
        "executor_result": {"subtype": "success", "num_turns": 7, "total_cost_usd": 0.25},
        "validation": ValidationRecord(script="v.py", exit_code=0, digest="sha256:ab", tail="ok\n"),
        "session_id": "5921294c-55cd-4911-91ca-88811f0d9977",
        "phase_digest": "d" * 64,
    }
    data.update(changes)
    return Checkpoint.model_validate(data)


def test_the_file_is_real_toon_that_decodes_to_the_same_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "phase_11.toon"
    write_checkpoint(path, sample())
    text = path.read_text()
    assert text.startswith("format: 1\n")
    assert "status: passed" in text
    assert not text.lstrip().startswith("{")  # TOON, not JSON
    decoded = toon_format.loads(text)
    assert decoded["executor_result"]["num_turns"] == 7
    read = read_checkpoint(path)
    assert read.format == "toon" and read.problem is None
    assert read.checkpoint == sample()


def test_floats_that_toon_turns_into_ints_come_back_as_floats(tmp_path: Path) -> None:
    path = tmp_path / "c.toon"
    write_checkpoint(path, sample(duration_s=1.0))
    assert "duration_s: 1\n" in path.read_text()
    read = read_checkpoint(path)
    assert read.checkpoint is not None
    assert read.checkpoint.duration_s == 1.0
    assert isinstance(read.checkpoint.duration_s, float)


texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@given(title=texts, tail=texts, error=texts)
@settings(max_examples=150, deadline=None)
def test_any_text_round_trips(title: str, tail: str, error: str) -> None:
    cp = sample(title=title, error=error, validation=ValidationRecord(tail=tail))
    read = decode_checkpoint(encode_checkpoint(cp), Path("x.toon"))
    assert read.problem is None, read.problem
    assert read.checkpoint == cp


def test_json_checkpoints_are_read_including_other_tools_status_words(tmp_path: Path) -> None:
    path = tmp_path / "phase_11.toon"
    path.write_text(json.dumps({"phase_id": 11, "status": "completed", "attempts": 1, "extra": [1, 2]}))
    read = read_checkpoint(path)
    assert read.format == "json"
    assert read.checkpoint is not None
    assert read.checkpoint.phase == "11"
    assert read.checkpoint.status is PhaseStatus.PASSED


def test_a_toon_magic_header_before_json_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "c.toon"
    path.write_bytes(b"TOON\x01" + json.dumps({"phase": "3", "status": "failed"}).encode())
    read = read_checkpoint(path)
    assert read.format == "json"
    assert read.checkpoint is not None and read.checkpoint.status is PhaseStatus.FAILED


def test_msgpack_is_reported_not_guessed(tmp_path: Path) -> None:
    # {"phase": 11, "status": "passed"} in msgpack, bare and behind a TOON magic header.
    packed = b"\x82\xa5phase\x0b\xa6status\xa6passed"
    for data in (packed, b"TOON" + packed, b"TOON\x01" + packed):
        path = tmp_path / "c.toon"
        path.write_bytes(data)
        read = read_checkpoint(path)
        assert read.checkpoint is None
        assert read.format == "msgpack"
        assert "msgpack checkpoint" in (read.problem or "")
        assert str(path) in (read.problem or "")


def test_junk_empty_and_missing_files() -> None:
    assert detect_format(b"\xff\xfe\x00binary") == "unknown"
    empty = decode_checkpoint(b"  \n", Path("e.toon"))
    assert empty.checkpoint is None and "empty" in (empty.problem or "")
    bad_toon = decode_checkpoint(b"status: [\n", Path("b.toon"))
    assert bad_toon.checkpoint is None and "b.toon" in (bad_toon.problem or "")
    no_status = decode_checkpoint(b'{"phase": 1}', Path("n.toon"))
    assert "field 'status'" in (no_status.problem or "")
    missing = read_checkpoint(Path("/nonexistent/dir/x.toon"))
    assert not missing.exists and missing.problem is None


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "c.toon"
    write_checkpoint(path, sample(status=PhaseStatus.RUNNING))
    write_checkpoint(path, sample())
    assert [p.name for p in path.parent.iterdir()] == ["c.toon"]
    assert read_checkpoint(path).checkpoint == sample()


def test_a_relative_frontmatter_checkpoint_path_lives_under_the_state_dir(tmp_path: Path) -> None:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    (plan_dir / "a.md").write_text('---\nphase: 11\ncheckpoint: "mine/phase_11.toon"\n---\nx\n')
    (plan_dir / "b.md").write_text("---\nphase: 12\n---\nx\n")
    plan = load_plan(plan_dir)
    store = CheckpointStore(plan_dir, tmp_path / "state")
    assert store.path_for(plan.phases["11"]) == tmp_path / "state" / "mine" / "phase_11.toon"
    assert store.path_for(plan.phases["12"]) == tmp_path / "state" / "checkpoints" / "phase_12.toon"
    store.save(plan.phases["11"], sample().model_copy(update={"phase": "11"}))
    assert (tmp_path / "state" / "mine" / "phase_11.toon").is_file()
    assert store.load(plan.phases["11"]).checkpoint == sample().model_copy(update={"phase": "11"})
    assert not (plan_dir / "mine").exists()


def test_a_checkpoint_of_another_phase_is_reported_not_used(tmp_path: Path) -> None:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    (plan_dir / "a.md").write_text("---\nphase: 11\n---\nx\n")
    plan = load_plan(plan_dir)
    store = CheckpointStore(plan_dir, tmp_path / "state")
    store.save(plan.phases["11"], sample().model_copy(update={"phase": "99"}))
    read = store.load(plan.phases["11"])
    assert read.checkpoint is None
    assert read.problem is not None
    assert "field 'phase': holds the checkpoint of phase 99, not of phase 11" in read.problem


def test_two_phases_declaring_one_checkpoint_path_make_the_plan_invalid(tmp_path: Path) -> None:
    plan_dir = tmp_path / "plan"
    plan_dir.mkdir()
    (plan_dir / "a.md").write_text('---\nphase: 1\ncheckpoint: "cp.toon"\n---\nx\n')
    (plan_dir / "b.md").write_text('---\nphase: 2\ncheckpoint: "cp.toon"\n---\nx\n')
    with pytest.raises(PlanInvalid) as info:
        load_plan(plan_dir)
    text = str(info.value.errors[0])
    assert "b.md" in text and "checkpoint" in text and "also the checkpoint of phase 1 (a.md)" in text
