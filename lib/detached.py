"""Detached background workers started by hooks: is one running, start one, hold its lock.

A hook that leaves work for a background process (a notification to send, spans to ship) calls
:func:`ensure_running`. It costs one ``open`` and one non-blocking ``flock`` when the worker runs,
and one ``posix_spawn`` (no ``fork`` of the hook, no ``subprocess`` import) when it does not. The
worker runs in its own session with stdin and stdout on ``/dev/null`` and stderr appended to
``<state_dir>/workers/<name>.log``, so Claude Code never waits for it and a dead receiver can never
delay a hook.

The worker holds an exclusive ``flock`` on ``<state_dir>/workers/<name>.lock`` (:class:`WorkerLock`)
for as long as it runs; a second one started meanwhile finds the lock taken and exits. Kernel locks
die with their process, so a crashed worker never blocks the next one. A hook that has just spawned
a worker touches the lock file: for :data:`SPAWN_GRACE_SECONDS` after that, other hooks do not spawn
another while the first one is still starting up.

No lost wake-up: a hook writes its work first and probes the lock after; a worker that is about to
exit releases the lock first and looks for work once more after (see :meth:`WorkerLock.release`).

Stdlib only (hot path).
"""

from __future__ import annotations

import os
import sys
import time

from lib.locking import is_held as is_running  # whether a worker holds its lock (a probe, never a wait)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from lib.paths import Paths

    Step = Callable[[], bool | float]
    HasWork = Callable[[], bool]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no background workers
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "NOTIFY_SENDER",
    "OTEL_SHIPPER",
    "SPAWN_GRACE_SECONDS",
    "WORKER_DIR",
    "DetachedWorker",
    "WorkerLock",
    "ensure_running",
    "is_running",
    "run_until_idle",
    "start_worker",
    "worker_argv",
    "worker_paths",
]

WORKER_DIR = "workers"
NOTIFY_SENDER = "notify"
"""The notification sender (:mod:`lib.notify.sender`)."""
OTEL_SHIPPER = "otel-shipper"
"""The OTLP shipper (:mod:`lib.otel.shipper`)."""
WORKER_COMMANDS = {
    NOTIFY_SENDER: ("notify", "send", "--follow"),
    OTEL_SHIPPER: ("otel", "ship", "--follow"),
}
"""The ``python -m lib`` command each worker runs."""
SPAWN_GRACE_SECONDS = 2.0
"""After a hook spawned a worker, others wait this long for it to take its lock before spawning again."""


def worker_paths(state_dir: str, name: str) -> tuple[str, str]:
    """``(lock file, stderr log)`` of worker ``name``."""
    directory = os.path.join(state_dir, WORKER_DIR)
    return os.path.join(directory, name + ".lock"), os.path.join(directory, name + ".log")


def ensure_running(state_dir: str, name: str, argv: list[str], *, now: float | None = None) -> bool:
    """Start ``argv`` as detached worker ``name`` unless one runs or was started just now; True if
    this call started it."""
    lock_path, log_path = worker_paths(state_dir, name)
    if is_running(lock_path):
        return False
    try:
        started = os.stat(lock_path).st_mtime
    except OSError:
        started = 0.0
    current = time.time() if now is None else now
    if 0 <= current - started < SPAWN_GRACE_SECONDS:
        return False
    directory = os.path.dirname(lock_path)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.utime(fd, (current, current))
    finally:
        os.close(fd)
    spawn(argv, log_path)
    return True


def spawn(argv: list[str], log_path: str) -> int:
    """Start ``argv`` in a new session, stdin/stdout on ``/dev/null``, stderr appended to ``log_path``;
    returns its pid (never waited for)."""
    null = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, null, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, null, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600),
    ]
    return os.posix_spawn(argv[0], argv, os.environ, file_actions=actions, setsid=True)


def worker_argv(project_dir: str, name: str) -> list[str]:
    """The command line of worker ``name``: ``python -m lib --project DIR <command>`` with this
    interpreter (the runtime's own venv Python when run by the hook command)."""
    return [sys.executable, "-m", "lib", "--project", project_dir, *WORKER_COMMANDS[name]]


def start_worker(state_dir: str, project_dir: str, name: str) -> bool:
    """Start worker ``name`` for the project unless one runs or was started a moment ago; True if
    this call started it. Hooks call this once their records are written."""
    return ensure_running(state_dir, name, worker_argv(project_dir, name))


class WorkerLock:
    """The worker's side: hold ``<state_dir>/workers/<name>.lock`` while running."""

    __slots__ = ("_fd", "path")

    def __init__(self, state_dir: str, name: str) -> None:
        self.path = worker_paths(state_dir, name)[0]
        self._fd = -1

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd >= 0

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another worker holds it."""
        if self._fd >= 0:
            return True
        directory = os.path.dirname(self.path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go of the lock (a worker about to exit then checks once more for work, and takes the
        lock again with :meth:`acquire` if there is some)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> WorkerLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def run_until_idle(
    lock: WorkerLock,
    step: Callable[[], bool | float],
    *,
    has_work: Callable[[], bool],
    follow: bool,
    linger: float,
    stop: Callable[[], bool] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    poll: float = 0.25,
) -> None:
    """A worker's main loop, holding ``lock`` (taken by the caller): call ``step()`` again and again.

    ``step`` returns True when it did work, False when there was nothing to do, or a number of
    seconds to wait before trying again (it failed; counted as idle time). Without ``follow`` the
    loop ends at the first call that did no work; with it, once no work came for ``linger``
    seconds (or ``stop()`` says so): it then releases the lock and asks ``has_work()`` once more,
    and goes on if there is work and the lock is still free (no lost wake-up, see the module doc).
    """
    idle_since = clock()
    while True:
        result = step()
        if result is True:
            idle_since = clock()
            continue
        if not follow or (stop is not None and stop()):
            return
        if clock() - idle_since >= linger:
            lock.release()
            if has_work() and lock.acquire():
                idle_since = clock()
                continue
            return
        sleep(poll if result is False else float(result))


class DetachedWorker:
    """Base of a detached worker (the notification sender, the OTLP shipper): :meth:`run_locked`
    takes the worker's :class:`WorkerLock`, runs its loop (:func:`run_until_idle`) and lets go.

    A subclass sets ``paths``, ``linger``, ``clock`` and ``sleep`` in its constructor.
    """

    paths: Paths
    linger: float
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    def run_locked(
        self,
        name: str,
        start: Callable[[], tuple[Step, HasWork]],
        close: Callable[[], None],
        *,
        poll: float,
        follow: bool,
        stop: Callable[[], bool] | None,
    ) -> bool:
        """Unless another worker ``name`` holds its lock: take it, ``start()`` the work (its ``step``
        and ``has_work``), loop until idle (looking every ``poll`` seconds; ``follow``: for
        ``linger`` seconds, or until ``stop()``), then release the lock and ``close()``. False when
        another worker runs (nothing started)."""
        lock = WorkerLock(self.paths.state_dir, name)
        if not lock.acquire():
            return False
        try:
            step, has_work = start()
            run_until_idle(
                lock,
                step,
                has_work=has_work,
                follow=follow,
                linger=self.linger,
                stop=stop,
                clock=self.clock,
                sleep=self.sleep,
                poll=poll,
            )
        finally:
            lock.release()
            close()
        return True
