"""The locked JSON store: no lost updates across processes, atomic files, corrupt files set aside."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest
from store_contract import check_a_raising_transaction_writes_nothing

from lib import store as store_module
from lib.locking import FileLock, LockTimeout
from lib.store import JsonStore, StateError, open_store


def _increment(state_dir: str, n: int) -> None:
    s = open_store(state_dir, "counter", lock_timeout=30)
    for _ in range(n):
        with s.transaction() as state:
            state["n"] = int(state.get("n", 0)) + 1  # type: ignore[call-overload]


def test_16_processes_x_50_increments_end_at_800(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increment, args=(str(tmp_path), 50)) for _ in range(16)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    assert open_store(str(tmp_path), "counter").read() == {"n": 800}


def test_files_are_private_and_the_lock_file_stays(tmp_path: Path) -> None:
    s = open_store(str(tmp_path / "state"), "x")
    with s.transaction() as state:
        state["a"] = 1
    assert stat.S_IMODE(os.stat(s.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "state").st_mode) == 0o700
    assert os.path.exists(s.path + ".lock")  # never deleted: deleting breaks mutual exclusion


def test_exception_inside_a_transaction_writes_nothing(tmp_path: Path) -> None:
    check_a_raising_transaction_writes_nothing(open_store(str(tmp_path), "x"))


def test_unchanged_state_is_not_rewritten(tmp_path: Path) -> None:
    s = open_store(str(tmp_path), "x")
    with s.transaction() as state:
        state["a"] = 1
    before = os.stat(s.path).st_mtime_ns
    os.utime(s.path, ns=(1, 1))
    with s.transaction() as state:
        state["a"] = 1
    assert os.stat(s.path).st_mtime_ns == 1 != before


@pytest.mark.parametrize("content", [b'{"a": 1', b"\x00\x01garbage", b"[1, 2]", b'"text"'])
def test_corrupt_file_is_moved_aside_reported_and_replaced(tmp_path: Path, content: bytes) -> None:
    reports: list[tuple[str, str, str]] = []
    store_module.set_corruption_handler(lambda *r: reports.append(r))
    try:
        s = JsonStore(str(tmp_path / "breakers.json"))
        Path(s.path).write_bytes(content)
        with s.transaction() as state:
            assert state == {}
            state["fresh"] = True
        assert s.read() == {"fresh": True}
    finally:
        store_module.set_corruption_handler(store_module._warn_on_stderr)
    (report,) = reports
    assert report[0] == s.path and Path(report[1]).read_bytes() == content
    assert "corrupt" in report[1]


def test_corrupt_file_default_report_is_one_stderr_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = JsonStore(str(tmp_path / "x.json"))
    Path(s.path).write_text("{nope")
    assert s.read() == {}
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and s.path in err and "moved aside" in err


def test_lock_timeout_is_raised_not_a_hang(tmp_path: Path) -> None:
    s = open_store(str(tmp_path), "x", lock_timeout=0.2)
    holder = FileLock(s.path + ".lock")
    holder_proc = multiprocessing.get_context("spawn").Process(
        target=_hold_lock, args=(s.path + ".lock", 3.0)
    )
    holder_proc.start()
    try:
        _wait_until_locked(s.path + ".lock")
        with pytest.raises(LockTimeout) as err, s.transaction():
            pass
        assert s.path + ".lock" in str(err.value) and "lock_timeout_seconds" in str(err.value)
        assert s.read() == {}  # reads never wait
    finally:
        holder_proc.terminate()
        holder_proc.join()
    assert not holder.is_locked


def _hold_lock(path: str, seconds: float) -> None:
    import time

    with FileLock(path, timeout=5):
        Path(path + ".held").touch()
        time.sleep(seconds)


def _wait_until_locked(path: str) -> None:
    import time

    deadline = time.monotonic() + 10
    while not os.path.exists(path + ".held"):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_symlink_at_the_lock_path_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "x.json.lock").symlink_to(target)
    with (
        pytest.raises(OSError, match="is a symbolic link"),
        JsonStore(str(tmp_path / "x.json")).transaction(),
    ):
        pass


def test_non_serialisable_state_names_the_file(tmp_path: Path) -> None:
    s = open_store(str(tmp_path), "x")
    with pytest.raises(StateError, match=r"x.json: state is not JSON-serialisable"), s.transaction() as state:
        state["bad"] = object()


def test_durable_writes_fsync_and_non_durable_ones_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with open_store(str(tmp_path), "breakers").transaction() as state:
        state["a"] = 1
    assert len(synced) == 1
    windows = open_store(str(tmp_path), "ratelimits", durable=False)
    with windows.transaction() as state:
        state["a"] = 1
    assert len(synced) == 1  # no fsync, but still an atomic replace
    assert windows.read() == {"a": 1} and not os.path.exists(windows.path + ".tmp")
