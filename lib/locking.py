"""Inter-process exclusive lock on a file, with a timeout that never hangs.

On POSIX this is a kernel ``flock`` taken directly: ``filelock`` (our dependency for platforms
without ``fcntl``) costs ~40 ms to import, more than a whole hook's budget, and polls every 50 ms.
Here a non-blocking attempt is retried with a short exponential back-off (0.5 ms up to 2 ms), so a
lock held for a few hundred microseconds is taken within a millisecond or two.

The traps ``filelock`` learnt the hard way are kept: the lock file is opened with ``O_NOFOLLOW``
(a symlink planted at the lock path is refused, CVE-2025-68146/CVE-2026-22701), created 0600, and
never deleted on release (deleting it breaks mutual exclusion: a waiter holds a lock on the
unlinked inode while a newcomer locks a fresh file). Kernel locks die with their process, so a
crashed hook can never leave a stale lock behind.

:func:`is_held` asks, without waiting, whether another process holds such a lock (a detached worker's,
the hypervisor's plan lock).
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class LockTimeout(Exception):
    """The lock at ``path`` was not taken within ``timeout`` seconds."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        super().__init__(
            f"{path}: lock not acquired within {timeout:g}s (another hook holds it); "
            "raise lock_timeout_seconds in .claude/hooks.toml [state] if this repeats"
        )


def is_held(path: str) -> bool:
    """Whether a process holds the lock at ``path`` now (a :class:`FileLock`, or any exclusive
    ``flock``): a shared, non-blocking probe that never waits and never creates the file. Without
    ``flock`` (Windows) it cannot tell, and says held."""
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # releases the probe's shared lock
    return False


class FileLock:
    """An exclusive, re-entrant-per-instance lock on ``path`` usable as a context manager."""

    __slots__ = ("_depth", "_fallback", "_fd", "path", "timeout")

    def __init__(self, path: str, timeout: float = 1.0) -> None:
        self.path = path
        self.timeout = timeout
        self._fd = -1
        self._depth = 0
        self._fallback: object | None = None

    @property
    def is_locked(self) -> bool:
        """Whether this instance currently holds the lock."""
        return self._depth > 0

    def acquire(self) -> None:
        """Take the lock or raise :class:`LockTimeout` after ``timeout`` seconds."""
        if self._depth:
            self._depth += 1
            return
        if fcntl is None:  # pragma: no cover - Windows
            self._acquire_with_filelock()
        else:
            self._acquire_flock()
        self._depth = 1

    def release(self) -> None:
        """Release the lock (the lock file stays in place on purpose)."""
        if not self._depth:
            return
        self._depth -= 1
        if self._depth:
            return
        if self._fallback is not None:  # pragma: no cover - Windows
            self._fallback.release()  # type: ignore[attr-defined]
            self._fallback = None
            return
        fd, self._fd = self._fd, -1
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)  # pyright: ignore[reportOptionalMemberAccess]
        finally:
            os.close(fd)

    def _acquire_flock(self) -> None:
        from lib.safe_files import UnsafePathError, open_regular

        try:
            fd = open_regular(self.path, os.O_RDWR | os.O_CREAT)
        except UnsafePathError:
            raise
        except OSError as exc:
            raise OSError(
                exc.errno,
                f"{self.path}: cannot open lock file ({exc.strerror}); "
                "check the state directory exists and is writable, and that the path is not a symlink",
            ) from exc
        deadline = time.monotonic() + self.timeout
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # pyright: ignore[reportOptionalMemberAccess]
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    os.close(fd)
                    raise LockTimeout(self.path, self.timeout) from None
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.002)
                continue
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            return

    def _acquire_with_filelock(self) -> None:  # pragma: no cover - Windows
        import filelock

        lock = filelock.FileLock(self.path, timeout=self.timeout, poll_interval=0.005)
        try:
            lock.acquire()
        except filelock.Timeout:
            raise LockTimeout(self.path, self.timeout) from None
        self._fallback = lock

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
