"""lib.safe_files: no file or folder is used through a symlink, foreign files are refused, whole-file
writes are all or nothing and leave no temp file behind."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from lib import safe_files
from lib.safe_files import (
    UnsafePathError,
    atomic_write,
    check_dir,
    ensure_dir,
    open_regular,
    read_regular,
    warn_once,
)


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    safe_files._checked_dirs.clear()
    safe_files._warned.clear()


def test_regular_file_is_created_0600_and_read_back(tmp_path: Path) -> None:
    path = str(tmp_path / "a.json")
    atomic_write(path, b'{"a": 1}')
    assert read_regular(path) == b'{"a": 1}'
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert read_regular(str(tmp_path / "missing")) is None
    assert os.listdir(tmp_path) == ["a.json"]


def test_symlink_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "bashrc"
    target.write_text("# rc\n")
    link = tmp_path / "hooks.jsonl"
    link.symlink_to(target)
    with pytest.raises(UnsafePathError, match=r"hooks\.jsonl: is a symbolic link; refusing") as info:
        open_regular(str(link), os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    assert info.value.errno == errno.EPERM and info.value.path == str(link)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        read_regular(str(link))
    with pytest.raises(UnsafePathError, match="symbolic link"):
        atomic_write(str(link), b"x")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        open_regular(str(dangling), os.O_WRONLY | os.O_CREAT)
    assert target.read_text() == "# rc\n"
    assert not (tmp_path / "nowhere").exists()


def test_fifo_and_folder_are_not_regular_files(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UnsafePathError, match="not a regular file"):
        open_regular(str(fifo), os.O_WRONLY | os.O_APPEND)  # no reader: must not hang
    with pytest.raises(UnsafePathError, match="not a regular file"):
        read_regular(str(fifo))
    with pytest.raises(UnsafePathError, match="not a regular file"):
        read_regular(str(tmp_path))


def test_foreign_owner_is_refused_for_writers_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "state.json"
    path.write_text("{}")
    monkeypatch.setattr(safe_files, "_geteuid", lambda: os.getuid() + 4242)
    with pytest.raises(UnsafePathError, match="owned by uid"):
        read_regular(str(path))
    assert read_regular(str(path), owner=False) == b"{}"
    with pytest.raises(UnsafePathError, match="owned by uid"):
        check_dir(str(tmp_path))


def test_folders(tmp_path: Path) -> None:
    made = tmp_path / "a" / "b"
    ensure_dir(str(made))
    assert made.is_dir() and made.stat().st_mode & 0o777 == 0o700
    ensure_dir(str(made))  # cached
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "logs"
    link.symlink_to(elsewhere)
    with pytest.raises(UnsafePathError, match="logs: is a symbolic link"):
        ensure_dir(str(link))
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(UnsafePathError, match="not a folder"):
        check_dir(str(file))
    check_dir(str(tmp_path / "missing"))  # a missing folder passes


def test_failed_write_keeps_the_old_content_and_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "s.json")
    atomic_write(path, b"old")
    real_write = os.write

    def full_disk(fd: int, data: bytes | memoryview) -> int:
        if len(data) > 4:
            real_write(fd, bytes(data[:4]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    for tmp in (None, path + ".tmp"):
        with pytest.raises(OSError, match="No space"):
            atomic_write(path, b"new content", tmp=tmp)
        assert read_regular(path) == b"old"
        assert sorted(os.listdir(tmp_path)) == ["s.json"]


def test_unique_temp_names_skip_leftovers(tmp_path: Path) -> None:
    path = str(tmp_path / "c.toon")
    Path(f"{path}.tmp-{os.getpid()}-0").write_text("leftover of a killed process with our pid")
    atomic_write(path, b"data", durable=False)
    assert read_regular(path) == b"data"


def test_warn_once_per_path(capsys: pytest.CaptureFixture[str]) -> None:
    warn_once("/p", "one")
    warn_once("/p", "two")
    warn_once("/q", "three")
    assert capsys.readouterr().err == "claude-hooks: warning: one\nclaude-hooks: warning: three\n"
