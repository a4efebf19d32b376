"""The file lock's edges: re-entry, releasing what is not held, a lock file that cannot be made."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.locking import FileLock


def test_the_lock_is_reentrant_and_a_stray_release_is_harmless(tmp_path: Path) -> None:
    lock = FileLock(str(tmp_path / "s.lock"), timeout=1.0)
    lock.release()  # not held: nothing happens
    lock.acquire()
    lock.acquire()
    assert lock.is_locked
    lock.release()
    assert lock.is_locked  # still held once
    lock.release()
    assert not lock.is_locked
    other = FileLock(str(tmp_path / "s.lock"), timeout=0.2)
    other.acquire()  # free again for another holder
    other.release()


def test_a_lock_in_a_missing_folder_names_the_file_and_the_fix(tmp_path: Path) -> None:
    lock = FileLock(str(tmp_path / "no-such-dir" / "s.lock"), timeout=0.2)
    with pytest.raises(OSError, match=r"s\.lock: cannot open lock file .*check the state directory exists"):
        lock.acquire()
    assert not lock.is_locked
