"""The one append-only JSONL file: a writer many processes share and a reader that never loses a record.

Writing. Every record is encoded with its newline and handed to the kernel in **one** ``os.write`` on
an ``O_APPEND`` descriptor: on Linux such a write never interleaves with other writers' (measured: 16
writers, records up to 1 MiB), whereas record and newline as two writes corrupt about half the lines.

Rotation. When a write leaves the file at or above ``max_bytes``, the writer renames ``<path>`` to
``<path>.<generation>`` and the next write creates a fresh ``<path>``; the ``backups`` newest rotated
files are kept. Rotation must not lose a record written by a process that opened the file before the
rename, and readers must know when a rotated file is complete. Both come from ``<path>.lock`` (never
deleted): every append holds an exclusive ``flock`` on it for the few microseconds of "check that my
descriptor is still ``<path>``, write" (readers take it shared to see a consistent generation). So no
append straddles a rename, a writer whose descriptor was rotated away reopens ``<path>`` before
writing, and a rotated file never changes again. The lock file also holds the current generation
number (the rotated files' names are the generations, so ``<path>.0`` is the oldest).

All or nothing. Because the appending writer holds the lock alone, a write that fails or stops short
(a full disk, a quota) is rolled back by truncating the file to its size before the write, so the
file is as it was and the next record, once there is space, lands whole on its own line. Should even
that fail, the next writer sees a file that does not end a line and starts a new line first: no
record is ever glued to a torn one. Files and the lock are opened through :mod:`lib.safe_files`
(never through a symlink, only regular files of the user's).

Positions. A record's position is ``generation << 40 | byte offset`` of its first byte: an integer that
grows with the order in which records reached the file, across rotations, and that tells the reader
exactly where to resume. The event bus (:meth:`JsonlWriter.append_positioned`) builds a record that
carries its own position under the same lock (unique and monotonic event ids across processes).

Reading. The reader stops at the last newline (a polling reader sees half-written records), skips a
line that does not parse instead of stopping at it (a writer killed mid-record leaves a torn line, and
other writers append after it), salvages a complete record glued after such a torn fragment, follows
the file across rotations and resumes from a stored position.

Stdlib only: every hook process imports this module.
"""

from __future__ import annotations

import os
import time

from lib import fastjson
from lib.plain_data import json_object, map_plain
from lib.safe_files import UnsafePathError, check_dir, ensure_dir, open_regular, warn_once

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends still work, rotation is not coordinated
    fcntl = None  # type: ignore[assignment]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Self

    Record = dict[str, object]
    Decoder = Callable[[bytes], object]

__all__ = [
    "OFFSET_BITS",
    "Entry",
    "JsonlReader",
    "JsonlWriter",
    "LockTimeout",
    "encode_record",
    "make_position",
    "rotated_generations",
    "split_position",
]

OFFSET_BITS = 40
"""Bits of a position that hold the byte offset (a file never grows past 1 TiB before rotating)."""
_OFFSET_MASK = (1 << OFFSET_BITS) - 1
_CHUNK = 256 * 1024


def make_position(generation: int, offset: int) -> int:
    """Combine a file generation and a byte offset into one ordered integer position."""
    return (generation << OFFSET_BITS) | offset


def split_position(position: int) -> tuple[int, int]:
    """Split a position into ``(generation, byte offset)``."""
    return position >> OFFSET_BITS, position & _OFFSET_MASK


class LockTimeout(OSError):
    """The rotation lock of a JSONL file was not taken in time (a writer is stuck holding it)."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(
            f"{path}: lock not acquired within {timeout:g}s; another process holds it "
            "(check for a stopped hook process, or raise logging.lock_timeout_seconds)"
        )
        self.path = path


def _finite(value: object) -> object:
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    return value


def _jsonable(value: object) -> object:
    """Replace what strict JSON cannot hold (NaN, infinities, non-string keys) by safe stand-ins."""
    return map_plain(value, _finite)


def encode_record(record: Record) -> bytes:
    """Encode one record as a compact JSON line (newline included); unknown objects become ``str``."""
    try:
        text = fastjson.dumps(record, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:
        text = fastjson.dumps(_jsonable(record), ensure_ascii=False, default=str)
    return (text + "\n").encode("utf-8", "surrogatepass")


def rotated_generations(path: str) -> list[int]:
    """The generations of the rotated files ``<path>.<n>`` that exist, oldest first."""
    directory, base = os.path.split(path)
    prefix = base + "."
    found: list[int] = []
    try:
        names = os.listdir(directory or ".")
    except FileNotFoundError:
        return found
    for name in names:
        if name.startswith(prefix):
            suffix = name[len(prefix) :]
            if suffix.isdigit():
                found.append(int(suffix))
    found.sort()
    return found


def _lock(fd: int, op: int, path: str, timeout: float) -> None:
    """``flock`` with a deadline: non-blocking attempts with a short exponential back-off."""
    if fcntl is None:  # pragma: no cover - Windows
        return
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    deadline = time.monotonic() + timeout
    delay = 0.0002
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LockTimeout(path + ".lock", timeout)
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.005)
        try:
            fcntl.flock(fd, op | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            continue


def _unlock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _open_lock_file(path: str, *, create: bool) -> int:
    """Open ``<path>.lock`` (read-write, 0600, never through a symlink, a regular file of ours); -1
    if a reader cannot open it."""
    try:
        return open_regular(path + ".lock", os.O_RDWR | (os.O_CREAT if create else 0))
    except OSError:
        if create:
            raise
    try:  # a reader in a read-only log directory
        return open_regular(path + ".lock", os.O_RDONLY, owner=False)
    except OSError:
        return -1


def _open_for_reading(path: str) -> int:
    """A log file opened for reading, never through a symlink (refused with a warning: -1)."""
    try:
        return open_regular(path, os.O_RDONLY, owner=False)
    except UnsafePathError as exc:
        warn_once(path, str(exc))
        return -1


def _resync_prefix(fd: int, size: int) -> bytes:
    """``b"\\n"`` when the file does not end a line (a torn record a failed write could not roll
    back): the next record then starts on a line of its own instead of being glued to it."""
    if size and os.pread(fd, 1, size - 1) != b"\n":
        return b"\n"
    return b""


def _current_generation(lock_fd: int, path: str) -> int:
    """The generation of ``<path>`` itself: stored in the lock file, else one past the newest rotated."""
    if lock_fd >= 0:
        raw = os.pread(lock_fd, 32, 0).strip()
        if raw.isdigit():
            return int(raw)
    rotated = rotated_generations(path)
    return rotated[-1] + 1 if rotated else 0


# close(), with-block exit and collection, shared by JsonlWriter and JsonlReader (which hold the same
# two descriptors) as plain functions rather than a base class: one class less to build per hook start.


class _LogFile:
    """What a writer and a reader share: the data file's and the lock file's descriptors (``-1``
    when closed), closed by :meth:`close`, at the end of a ``with`` block, or when collected."""

    __slots__ = ("_fd", "_lock_fd")

    _fd: int
    _lock_fd: int

    def close(self) -> None:
        """Close the open descriptors (a writer reopens them on its next append)."""
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                os.close(fd)
        self._fd = self._lock_fd = -1

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class JsonlWriter(_LogFile):
    """Appends records to one JSONL file, safely shared by many processes, with size-based rotation.

    ``max_bytes`` <= 0 disables rotation; ``backups`` rotated files are kept (at least one, so a
    reader that is behind can finish the file it was reading). Files are created 0600.
    """

    __slots__ = ("backups", "lock_timeout", "max_bytes", "path")

    def __init__(
        self, path: str, *, max_bytes: int = 10 * 1024 * 1024, backups: int = 5, lock_timeout: float = 2.0
    ) -> None:
        if max_bytes >= 1 << OFFSET_BITS:
            raise ValueError(f"{path}: max_bytes={max_bytes} is too large; use less than 1 TiB")
        self.path = path
        self.max_bytes = max_bytes
        self.backups = max(1, backups)
        self.lock_timeout = lock_timeout
        self._fd = -1
        self._lock_fd = -1

    # -- public API -------------------------------------------------------------------------------

    def append(self, record: Record) -> int:
        """Append one record; return its position (see :func:`make_position`)."""
        return self.append_bytes(encode_record(record))

    def append_bytes(self, line: bytes) -> int:
        """Append one already-encoded line (must end with its only newline); return its position."""
        if not line.endswith(b"\n") or b"\n" in line[:-1]:
            raise ValueError(f"{self.path}: a JSONL record must be one line ending with a newline")
        return self._append_lines([line])[0]

    def append_many(self, records: list[Record]) -> list[int]:
        """Append several records with one lock and one ``write`` (they land next to each other, in
        order); return their positions. What a hook process writes to one file goes through here."""
        if not records:
            return []
        return self._append_lines([encode_record(r) for r in records])

    def _append_lines(self, lines: list[bytes]) -> list[int]:
        data = lines[0] if len(lines) == 1 else b"".join(lines)
        lock_fd = self._lock_file()
        _lock(lock_fd, _EX, self.path, self.lock_timeout)
        try:
            fd = self._data_fd()
            offset, end = self._write(fd, data, os.fstat(fd).st_size)
            generation = _current_generation(lock_fd, self.path)
        finally:
            _unlock(lock_fd)
        if 0 < self.max_bytes <= end:
            self._rotate(end)
        positions: list[int] = []
        for line in lines:
            positions.append(make_position(generation, offset))
            offset += len(line)
        return positions

    def append_positioned(self, build: Callable[[int], Record]) -> tuple[int, Record]:
        """Append ``build(position)``, a record that contains its own position; return both.

        The lock is held exclusively across ``fstat`` and the write so that the position handed to
        ``build`` is exactly where the record lands.
        """
        return self.append_positioned_many([build])[0]

    def append_positioned_many(self, builds: list[Callable[[int], Record]]) -> list[tuple[int, Record]]:
        """:meth:`append_positioned` for several records: one exclusive lock, one ``write``; each
        ``build`` gets the position its record lands at (right after the previous one's)."""
        if not builds:
            return []
        lock_fd = self._lock_file()
        _lock(lock_fd, _EX, self.path, self.lock_timeout)
        try:
            fd = self._data_fd()
            generation = _current_generation(lock_fd, self.path)
            size = os.fstat(fd).st_size
            offset = size + len(_resync_prefix(fd, size))
            out: list[tuple[int, Record]] = []
            lines: list[bytes] = []
            for build in builds:
                position = make_position(generation, offset)
                record = build(position)
                line = encode_record(record)
                out.append((position, record))
                lines.append(line)
                offset += len(line)
            end = self._write(fd, lines[0] if len(lines) == 1 else b"".join(lines), size)[1]
        finally:
            _unlock(lock_fd)
        if 0 < self.max_bytes <= end:
            self._rotate(end)
        return out

    def rotate(self) -> int | None:
        """Rotate now (whatever the size); return the generation given to the old file, or None if empty."""
        return self._rotate(None)

    # -- internals --------------------------------------------------------------------------------

    def _lock_file(self) -> int:
        if self._lock_fd < 0:
            directory = os.path.dirname(self.path) or "."
            check_dir(directory)
            try:
                self._lock_fd = _open_lock_file(self.path, create=True)
            except FileNotFoundError:
                ensure_dir(directory)
                self._lock_fd = _open_lock_file(self.path, create=True)
        return self._lock_fd

    def _data_fd(self) -> int:
        """The descriptor of ``<path>`` as it is now (reopened if it was rotated away). Lock held."""
        fd = self._fd
        if fd >= 0:
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            own = os.fstat(fd)
            if st is not None and st.st_ino == own.st_ino and st.st_dev == own.st_dev:
                return fd
            os.close(fd)
            self._fd = -1
        self._fd = open_regular(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT)
        return self._fd

    def _write(self, fd: int, data: bytes, size: int) -> tuple[int, int]:
        """Append ``data`` to the file of ``size`` bytes (exclusive lock held) in one ``os.write``;
        return the offsets where it starts and ends.

        All or nothing: a write that fails or stops short (a full disk, a quota, a signal) is rolled
        back by truncating the file to ``size``, and the error is raised. A file that does not end a
        line (a torn record left by a writer that could not roll back) first gets a newline."""
        prefix = _resync_prefix(fd, size)
        if prefix:
            data = prefix + data
        try:
            written = os.write(fd, data)
            while written < len(data):  # short write: a full disk or a signal; it fails or completes
                written += os.write(fd, data[written:])
        except BaseException:
            try:
                os.ftruncate(fd, size)
            except OSError:  # pragma: no cover - the next writer re-synchronises on a line boundary
                pass
            raise
        return size + len(prefix), size + len(data)

    def _rotate(self, seen_end: int | None) -> int | None:
        lock_fd = self._lock_file()
        try:
            _lock(lock_fd, _EX, self.path, self.lock_timeout)
        except LockTimeout:
            return None  # busy writers: a later append retries, nothing is lost
        try:
            try:
                size = os.stat(self.path).st_size
            except FileNotFoundError:
                return None
            if size == 0 or (seen_end is not None and size < self.max_bytes):
                return None  # someone else rotated first
            generation = max(_current_generation(lock_fd, self.path), 0)
            existing = rotated_generations(self.path)
            if existing and existing[-1] >= generation:
                generation = existing[-1] + 1  # the counter was lost; never overwrite a rotated file
            os.rename(self.path, f"{self.path}.{generation}")
            os.ftruncate(lock_fd, 0)
            os.pwrite(lock_fd, f"{generation + 1}\n".encode(), 0)
            for old in existing:
                if old <= generation - self.backups:
                    try:
                        os.unlink(f"{self.path}.{old}")
                    except FileNotFoundError:
                        pass
            return generation
        finally:
            _unlock(lock_fd)


_SH = fcntl.LOCK_SH if fcntl is not None else 0
_EX = fcntl.LOCK_EX if fcntl is not None else 0


class Entry:
    """One record read from a JSONL file, with where it starts and where the next one starts."""

    __slots__ = ("next_position", "position", "record")

    def __init__(self, position: int, next_position: int, record: Record) -> None:
        self.position = position
        self.next_position = next_position
        self.record = record

    def __repr__(self) -> str:
        return f"Entry(position={self.position}, next_position={self.next_position}, record={self.record!r})"


def _salvage(line: bytes, decode: Decoder) -> tuple[int, object] | None:
    """Find a complete record glued after a torn fragment (``{"a":1,"b{"ts":...}``)."""
    start = line.find(b'{"', 1)
    while start != -1:
        try:
            return start, decode(line[start:])
        except ValueError:
            start = line.find(b'{"', start + 1)
    return None


class JsonlReader(_LogFile):
    """Reads records from a JSONL file and its rotated predecessors, from a position, optionally following.

    ``start`` is a position (see :func:`make_position`) to start at; None starts at the oldest
    rotated file still kept. ``lock_timeout`` bounds the wait for a writer's lock (:class:`LockTimeout`). A stored :attr:`Entry.next_position` resumes right after that entry. A
    line that does not parse is counted in :attr:`skipped` and passed over.
    """

    def __init__(
        self,
        path: str,
        *,
        start: int | None = None,
        decoder: Decoder | None = None,
        lock_timeout: float = 5.0,
    ) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self.skipped = 0
        self._decode: Decoder = decoder or fastjson.loads
        self._lock_fd = -1  # opened once the lock file exists (writers create it before the data)
        self._fd = -1
        self._generation = -1
        self._offset = 0
        if start is not None:
            self._generation, self._offset = split_position(start)

    @property
    def position(self) -> int:
        """Where the next read starts (store it to resume later)."""
        if self._generation < 0:
            return make_position(self._oldest_generation(), 0)
        return make_position(self._generation, self._offset)

    def read(self, limit: int | None = None) -> list[Entry]:
        """Every complete record available now (at most ``limit``), advancing the position."""
        out: list[Entry] = []
        for entry in self._drain():
            out.append(entry)
            if limit is not None and len(out) >= limit:
                break
        return out

    def __iter__(self) -> Iterator[Entry]:
        """Every complete record available now."""
        return self._drain()

    def follow(
        self, *, poll_interval: float = 0.2, stop: Callable[[], bool] | None = None
    ) -> Iterator[Entry]:
        """Yield records as they are appended, across rotations, until ``stop()`` returns true."""
        while True:
            got = False
            for entry in self._drain():
                got = True
                yield entry
            if stop is not None and stop():
                return
            if not got:
                time.sleep(poll_interval)

    # -- internals --------------------------------------------------------------------------------

    def _lock(self) -> int:
        if self._lock_fd < 0:  # not there yet (no writer so far), or unreadable: try again next time
            self._lock_fd = _open_lock_file(self.path, create=False)
        return self._lock_fd

    def _oldest_generation(self) -> int:
        rotated = rotated_generations(self.path)
        return rotated[0] if rotated else _current_generation(self._lock(), self.path)

    def _open_generation(self) -> bool:
        """Open the file of ``self._generation`` (or the next one that exists); False if none yet.

        Under the shared lock no rotation can run, so the generation counter and the file names
        agree. Without a lock file (a writer on a platform without ``flock``, or a lock file we may
        not open) the view is checked twice instead."""
        lock_fd = self._lock()
        if lock_fd >= 0:
            _lock(lock_fd, _SH, self.path, self.lock_timeout)
            try:
                return self._open_consistent(lock_fd)
            finally:
                _unlock(lock_fd)
        for _ in range(100):
            before = _current_generation(-1, self.path)
            opened = self._open_consistent(-1)
            if _current_generation(-1, self.path) == before:
                return opened
            if self._fd >= 0:  # a rotation ran meanwhile: the name may not match the generation
                os.close(self._fd)
                self._fd = -1
        return False

    def _open_consistent(self, lock_fd: int) -> bool:
        current = _current_generation(lock_fd, self.path)
        if self._generation < 0 or self._generation > current:
            # first read, or the log was reset under a stored position: start at the oldest file
            rotated = rotated_generations(self.path)
            self._generation = rotated[0] if rotated else current
            self._offset = 0
        if self._generation >= current:
            return self._open_current()
        try:
            self._fd = _open_for_reading(f"{self.path}.{self._generation}")
            if self._fd >= 0:
                return True
        except FileNotFoundError:  # deleted by retention: continue with the oldest kept
            pass
        later = [g for g in rotated_generations(self.path) if g > self._generation]
        self._generation = later[0] if later else current
        self._offset = 0
        if not later:
            return self._open_current()
        self._fd = _open_for_reading(f"{self.path}.{self._generation}")
        return self._fd >= 0

    def _open_current(self) -> bool:
        try:
            self._fd = _open_for_reading(self.path)
        except FileNotFoundError:
            return False
        if self._fd < 0:
            return False
        if self._offset > os.fstat(self._fd).st_size:
            self._offset = 0  # truncated or replaced under a stored position
        return True

    def _file_state(self) -> str:
        """``current``, ``rotated`` (renamed away: it never grows again) or ``replaced`` (deleted or
        truncated by hand: start the new file from its beginning)."""
        own = os.fstat(self._fd)
        try:
            st: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            st = None
        # the counter is read after the name: a rotation renames first and counts before anyone
        # can create the new file, so a changed inode always comes with a changed counter
        lock_fd = self._lock()
        if lock_fd >= 0 and self._generation < _current_generation(lock_fd, self.path):
            return "rotated"
        if st is None:
            return "rotated" if lock_fd < 0 else "current"
        if (st.st_ino, st.st_dev) != (own.st_ino, own.st_dev):
            return "rotated" if lock_fd < 0 else "replaced"
        if own.st_size < self._offset:
            return "replaced"
        return "current"

    def _drain(self) -> Iterator[Entry]:
        while True:
            if self._fd < 0 and not self._open_generation():
                return
            yield from self._read_lines()
            state = self._file_state()
            if state == "current":
                return
            if state == "rotated":
                # complete now: read what it got before the rename, then go on with the next file
                yield from self._read_lines()
                if os.fstat(self._fd).st_size > self._offset:
                    self.skipped += 1  # the torn last record of a writer that died mid-write
                self._generation += 1
            os.close(self._fd)
            self._fd = -1
            self._offset = 0

    def _read_lines(self) -> Iterator[Entry]:
        fd, generation, decode = self._fd, self._generation, self._decode
        size = _CHUNK
        while True:
            base = self._offset
            chunk = os.pread(fd, size, base)
            last_nl = chunk.rfind(b"\n")
            if last_nl < 0:
                if len(chunk) < size:
                    return  # nothing, or an incomplete record still being written
                size *= 2  # one record larger than the buffer
                continue
            size = _CHUNK
            start = 0
            while start <= last_nl:
                nl = chunk.index(b"\n", start)
                line = chunk[start:nl]
                line_pos = base + start
                start = nl + 1
                self._offset = base + start
                if not line.strip():
                    continue
                try:
                    record = decode(line)
                except ValueError:
                    self.skipped += 1
                    salvaged = _salvage(line, decode)
                    if salvaged is None:
                        continue
                    skip, record = salvaged
                    line_pos += skip
                fields = json_object(record)
                if fields is None:
                    self.skipped += 1
                    continue
                yield Entry(
                    make_position(generation, line_pos), make_position(generation, self._offset), fields
                )
