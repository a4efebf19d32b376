"""A full disk: the hooks keep answering, an append lands whole or not at all, state is never half
written, no temp file is left behind, and once space returns every new record lands on its own line.

Runs on a real small filesystem (a tmpfs mounted for the test); skipped, saying why, where the test
may not mount one (not root, or no CAP_SYS_ADMIN in the container)."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookkit import HookProject
from seckit import Fire

from lib.jsonl import JsonlReader, JsonlWriter


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KB tmpfs, unmounted afterwards."""
    mnt = tmp_path / "small-fs"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs to fill (needs root and CAP_SYS_ADMIN): {proc.stderr.strip()}"
        )
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(directory: Path, name: str, leave: int = 0) -> Path:
    """Write a filler file until the filesystem has about ``leave`` bytes free (0: until ENOSPC)."""
    path = directory / name
    with open(path, "wb", buffering=0) as f:
        while True:
            st = os.statvfs(directory)
            free = st.f_bavail * st.f_frsize
            if free <= leave:
                break
            try:
                f.write(b"\0" * min(4096, max(free - leave, 1)))
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1] if path.exists() else []


def test_an_append_on_a_full_disk_leaves_the_file_as_it_was(small_fs: Path) -> None:
    path = small_fs / "events.jsonl"
    with JsonlWriter(str(path)) as writer:
        writer.append({"n": 0})
        _fill(small_fs, "filler", leave=0)
        before = path.read_bytes()
        big = {"n": 1, "blob": "x" * 20_000}  # needs new pages: the kernel takes part of it, then ENOSPC
        with pytest.raises(OSError) as info:
            writer.append(big)
        assert info.value.errno == errno.ENOSPC
        assert path.read_bytes() == before
        (small_fs / "filler").unlink()
        writer.append({"n": 2})
    with JsonlReader(str(path)) as reader:
        assert [e.record for e in reader] == [{"n": 0}, {"n": 2}]
        assert reader.skipped == 0


def test_hooks_on_a_full_disk_lose_nothing_once_space_returns(
    project: HookProject, fire: Fire, small_fs: Path
) -> None:
    env = {"CLAUDE_HOOKS_LOG_DIR": str(small_fs / "logs"), "CLAUDE_HOOKS_STATE_DIR": str(small_fs / "state")}

    def call(use_id: str) -> str:
        command = {"command": f"echo {use_id}"}
        err = fire("PreToolUse", "Bash", env=env, tool_use_id=use_id, tool_input=command).stderr
        err += fire(
            "PostToolUseFailure",
            "Bash",
            env=env,
            tool_use_id=use_id,
            tool_input=command,
            error=f"Exit code 1 {use_id}",
        ).stderr
        return err

    for i in range(3):  # state and logs exist before the disk fills up
        call(f"toolu_before_{i}")
    breakers_before = json.loads((small_fs / "state" / "breakers.json").read_text())
    assert breakers_before

    filler = _fill(small_fs, "filler", leave=6000)
    full_warnings = ""
    for i in range(40):
        full_warnings += call(f"toolu_filling_{i}")
        if "No space left" in full_warnings:
            break
    filler2 = _fill(small_fs, "filler2", leave=0)
    for i in range(3):
        full_warnings += call(f"toolu_full_{i}")
    assert "No space left" in full_warnings

    state = small_fs / "state"
    assert json.loads((state / "breakers.json").read_text())  # old state intact, never half written
    filler.unlink()
    filler2.unlink()
    after = [f"toolu_after_{i}" for i in range(5)]
    for use_id in after:
        assert "No space left" not in call(use_id)

    leftovers = [p.name for p in small_fs.rglob("*") if ".tmp" in p.name]
    assert leftovers == [], f"temp files outlived their writer: {leftovers}"
    for name in ("hooks.jsonl", "events.jsonl", "traces.jsonl"):
        lines = _lines(small_fs / "logs" / name)
        assert lines, name
        for line in lines:
            json.loads(line)  # no torn line, no two records glued together
        text = b"\n".join(lines).decode()
        missing = [u for u in after if u not in text]
        assert missing == [], f"{name}: records written after space returned are missing: {missing}"
    for path in state.glob("*.json"):
        json.loads(path.read_text())
    breakers = json.loads((state / "breakers.json").read_text())
    assert "toolu_after_4" in json.dumps(breakers) or breakers != breakers_before
