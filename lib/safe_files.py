"""The one place that opens, creates and replaces the runtime's own files and folders.

A project is untrusted input: a cloned repository can hold ``.claude/logs/hooks.jsonl`` as a symlink
to ``~/.bashrc``, or ``.claude/state`` as a symlink to another folder. Everything the runtime writes
(state, locks, logs and their rotated files, consumer offsets, the config cache, tasks, hypervisor
checkpoints and logs) goes through here, so that:

- a file is opened with ``O_NOFOLLOW`` (and ``O_NONBLOCK``, so a planted FIFO cannot hang a hook) and
  is refused unless it is a regular file owned by the user running the hook;
- a folder the runtime writes into is refused when it is a symlink, not a folder, or not the user's
  (only the last component is checked: a project that lives under a symlinked home still works);
- a whole-file write goes to a temp file with a unique name next to the target, is flushed, and
  replaces the target with ``rename``; the temp file is removed on any failure (a full disk leaves
  neither a half file nor a ``*.tmp`` behind).

A refusal raises :class:`UnsafePathError` (an ``OSError``), whose message names the file, what is
wrong and the fix. Readers that carry on without the file call :func:`warn_once`.

Stdlib only, no ``re``/``pathlib``: every hook process imports this module.
"""

from __future__ import annotations

import errno
import os
import stat
import sys

__all__ = [
    "UnsafePathError",
    "atomic_write",
    "check_dir",
    "ensure_dir",
    "open_regular",
    "read_regular",
    "warn_once",
]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_SAFE_FLAGS = _O_NOFOLLOW | _O_CLOEXEC | _O_NONBLOCK
_geteuid = getattr(os, "geteuid", None)


class UnsafePathError(OSError):
    """A path the runtime would write or read is a symlink, not a regular file/folder, or not ours."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(
            errno.EPERM,
            f"{path}: {problem}; refusing to read or write through it. Remove it "
            "(the runtime creates a real one of yours in its place)",
        )
        self.path = path
        self.problem = problem

    def __str__(self) -> str:
        return str(self.strerror)


_warned: set[str] = set()


def warn_once(path: str, message: str) -> None:
    """One ``claude-hooks: warning:`` line on stderr per path and process."""
    if path in _warned:
        return
    _warned.add(path)
    try:
        sys.stderr.write(f"claude-hooks: warning: {message}\n")
    except (OSError, ValueError):  # pragma: no cover - stderr closed
        pass


def _problem(st: os.stat_result, *, directory: bool, owner: bool = True) -> str | None:
    """What is wrong with the object ``st`` describes, or None when it may be used."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if directory and not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    if not directory and not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if owner and _geteuid is not None and st.st_uid != _geteuid():
        return f"is owned by uid {st.st_uid}, not by you (uid {_geteuid()})"
    return None


def open_regular(path: str, flags: int, mode: int = 0o600, *, owner: bool = True) -> int:
    """``os.open(path, flags)`` without following a symlink; the file must be a regular file of ours
    (``owner=False``, for a reader: of anyone).

    Raises :class:`UnsafePathError` for a symlink, a non-regular file or someone else's file;
    other ``OSError`` (``FileNotFoundError``, ``ENOSPC``...) pass through.
    """
    try:
        fd = os.open(path, flags | _SAFE_FLAGS, mode)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO):
            try:
                st = os.lstat(path)
            except OSError:
                raise exc from None
            problem = _problem(st, directory=False, owner=owner)
            if problem is not None:
                raise UnsafePathError(path, problem) from None
        raise
    try:
        problem = _problem(os.fstat(fd), directory=False, owner=owner)
    except BaseException:
        os.close(fd)
        raise
    if problem is not None:
        os.close(fd)
        raise UnsafePathError(path, problem)
    return fd


def read_regular(path: str, *, owner: bool = True) -> bytes | None:
    """The whole content of ``path`` (None when it does not exist); :class:`UnsafePathError` when
    it is not a regular file (of ours, unless ``owner=False``)."""
    try:
        fd = open_regular(path, os.O_RDONLY, owner=owner)
    except FileNotFoundError:
        return None
    try:
        chunks: list[bytes] = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    finally:
        os.close(fd)


_checked_dirs: set[str] = set()


def check_dir(path: str) -> None:
    """Raise :class:`UnsafePathError` when the folder ``path`` exists but is a symlink, not a folder
    or not ours (checked once per process); a missing folder passes."""
    if path in _checked_dirs:
        return
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    problem = _problem(st, directory=True)
    if problem is not None:
        raise UnsafePathError(path, problem)
    _checked_dirs.add(path)


def ensure_dir(path: str) -> None:
    """Create the folder ``path`` (0700, parents too) unless it exists; refuse it like :func:`check_dir`."""
    path = path or "."
    check_dir(path)
    if path in _checked_dirs:
        return
    os.makedirs(path, mode=0o700, exist_ok=True)
    check_dir(path)


def atomic_write(
    path: str, data: bytes, *, durable: bool = True, mode: int = 0o600, tmp: str | None = None
) -> None:
    """Replace the file ``path`` with ``data``: all of it or nothing, never through a symlink.

    The data goes to a temp file next to ``path`` (never followed), is fsynced when ``durable``, and
    is renamed over ``path``. On any failure the temp file is removed and the old content stays; the
    ``OSError`` is raised. A symlink (or foreign file) at ``path`` is refused. A caller that holds a
    lock on ``path`` passes a fixed ``tmp`` name (a killed writer's leftover is then reused, never
    accumulated); otherwise the name is unique to this process (``<path>.tmp-<pid>-<n>``).
    """
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None:
        problem = _problem(st, directory=False)
        if problem is not None:
            raise UnsafePathError(path, problem)
    if tmp is not None:
        fd = open_regular(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    else:
        fd, tmp = _exclusive_tmp(path, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _exclusive_tmp(path: str, mode: int) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE_FLAGS
    attempt = 0
    while True:
        tmp = f"{path}.tmp-{os.getpid()}-{attempt}"
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:  # a leftover of a killed process that had our pid: the next name
            attempt += 1
            if attempt >= 100:  # pragma: no cover - 100 leftovers with our pid
                raise
