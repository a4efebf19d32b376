"""A JSON state store shared by short-lived hook processes.

One file holds one JSON object. Every write is an atomic replace (a temp file in the same directory,
fsync, rename), so a reader never sees half a file and needs no lock: a PreToolUse check stays
lock-free. Writers serialise through :class:`lib.locking.FileLock` on ``<file>.lock`` and use
:meth:`JsonStore.transaction` for read-modify-write, so no update is lost between processes.

A file that does not parse (truncated by a full disk, edited by hand) is moved aside to
``<file>.corrupt-<timestamp>`` for inspection, reported through the corruption handler, and replaced
by a fresh state: the hook goes on.
"""

from __future__ import annotations

import os
import sys
import time

from lib import fastjson
from lib.locking import FileLock, LockTimeout
from lib.plain_data import json_object
from lib.safe_files import UnsafePathError, atomic_write, ensure_dir, read_regular

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager
    from typing import Protocol

    CorruptionHandler = Callable[[str, str, str], None]

    class StateStore(Protocol):
        """A JSON state document with lock-free reads and locked transactions: :class:`JsonStore`,
        or a Redis document of :mod:`lib.backends` (same API)."""

        @property
        def path(self) -> str:
            """Where the document lives (for messages)."""
            ...

        def read(self) -> dict[str, object]:
            """A snapshot, without locking ({} when missing or corrupt)."""
            ...

        def transaction(self) -> AbstractContextManager[dict[str, object]]:
            """Lock, yield the state as a mutable dict, write it back if changed."""
            ...


__all__ = ["JsonStore", "LockTimeout", "StateError", "encode_state", "open_store", "set_corruption_handler"]


class StateError(Exception):
    """A state file cannot be read or written; the message names the file and the fix."""


def _warn_on_stderr(path: str, moved_to: str, reason: str) -> None:
    sys.stderr.write(f"claude-hooks: warning: {path}: {reason}; moved aside to {moved_to}, starting fresh\n")


_corruption_handler: CorruptionHandler = _warn_on_stderr


def set_corruption_handler(handler: CorruptionHandler) -> None:
    """Route corrupt-file reports ``(path, moved_to, reason)`` to ``handler`` (log, event, stderr)."""
    global _corruption_handler
    _corruption_handler = handler


class _Transaction:
    __slots__ = ("_lock", "_original", "_store", "state")

    def __init__(self, store: JsonStore) -> None:
        self._store = store
        self._lock = FileLock(store.path + ".lock", store.lock_timeout)
        self._original = b""
        self.state: dict[str, object] = {}

    def __enter__(self) -> dict[str, object]:
        self._lock.acquire()
        try:
            self._original, self.state = self._store._load()  # pyright: ignore[reportPrivateUsage]
        except BaseException:
            self._lock.release()
            raise
        return self.state

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                data = encode_state(self.state, self._store.path)
                if data != self._original:
                    self._store._replace(data)  # pyright: ignore[reportPrivateUsage]
        finally:
            self._lock.release()


def encode_state(state: dict[str, object], path: str) -> bytes:
    """``state`` as the compact UTF-8 JSON a store writes (the file store and the Redis store);
    :class:`StateError` naming ``path`` when it holds something JSON cannot carry."""
    try:
        return fastjson.dumps(state, ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise StateError(f"{path}: state is not JSON-serialisable ({exc}); store only plain data") from exc


class JsonStore:
    """One JSON object on disk: lock-free reads, locked read-modify-write transactions."""

    __slots__ = ("durable", "lock_timeout", "path")

    def __init__(self, path: str, *, lock_timeout: float = 1.0, durable: bool = True) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        #: fsync each write before the rename. Without it a write is still atomic for every process
        #: (never half a file), but the last update may be lost if the machine itself goes down.
        self.durable = durable

    def read(self) -> dict[str, object]:
        """Return a snapshot of the state without locking ({} when the file is missing or corrupt)."""
        return self._load()[1]

    def transaction(self) -> _Transaction:
        """Lock, load and yield the state as a mutable dict; write it back atomically if it changed.

        Raises :class:`LockTimeout` when the lock is not taken within ``lock_timeout``. An exception
        inside the block writes nothing.
        """
        return _Transaction(self)

    def clear(self) -> None:
        """Replace the state by an empty object (under the lock)."""
        with self.transaction() as state:
            state.clear()

    def _load(self) -> tuple[bytes, dict[str, object]]:
        try:
            raw = read_regular(self.path)
        except UnsafePathError as exc:
            if exc.problem == "is not a regular file" and os.path.isdir(self.path):
                raise StateError(
                    f"{self.path}: is a directory; remove it so the state file can be created"
                ) from exc
            raise StateError(str(exc)) from exc
        if raw is None:
            return b"", {}
        if not raw.strip():
            return raw, {}
        try:
            state = fastjson.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._quarantine(f"not valid JSON ({str(exc).splitlines()[0][:120]})")
            return b"", {}
        fields = json_object(state)
        if fields is None:
            self._quarantine(f"top level is {type(state).__name__}, expected a JSON object")
            return b"", {}
        return raw, fields

    def _quarantine(self, reason: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        moved_to = f"{self.path}.corrupt-{stamp}-{os.getpid()}"
        try:
            os.rename(self.path, moved_to)
        except FileNotFoundError:
            return  # another process moved it aside first
        _corruption_handler(self.path, moved_to, reason)

    def _replace(self, data: bytes) -> None:
        # only the lock holder writes the temp file: a killed writer's leftover is reused, and a
        # failed write (a full disk) removes it and leaves the old state in place
        try:
            atomic_write(self.path, data, durable=self.durable, tmp=self.path + ".tmp")
        except UnsafePathError as exc:
            raise StateError(str(exc)) from exc
        except OSError as exc:
            raise StateError(
                f"{self.path}: cannot write state ({exc.strerror or exc}); "
                "check free disk space and that the state directory is writable"
            ) from exc


def open_store(state_dir: str, name: str, *, lock_timeout: float = 1.0, durable: bool = True) -> JsonStore:
    """Return the store ``<state_dir>/<name>.json``, creating ``state_dir`` (0700) if needed."""
    ensure_dir(state_dir)
    return JsonStore(os.path.join(state_dir, name + ".json"), lock_timeout=lock_timeout, durable=durable)


def iter_stores(state_dir: str) -> Iterator[str]:
    """Yield the names of the stores in ``state_dir`` (for the CLI)."""
    try:
        names = sorted(os.listdir(state_dir))
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(".json"):
            yield name[: -len(".json")]
