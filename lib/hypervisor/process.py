"""Run one child process for a phase: its own process group, a wall-clock timeout, cancellation.

Executors and validation scripts both run through :func:`run_process`. The child starts in a new
session (so a terminal's Ctrl-C reaches only the hypervisor, which then stops children cleanly),
writes its output to a file (no pipe can fill up), and on timeout or cancellation its whole
process group gets SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from lib.safe_files import ensure_dir, open_regular

__all__ = ["AttemptControl", "ProcessOutcome", "read_tail", "run_process"]

TAIL_CHARS = 4000


def _create(path: Path) -> BinaryIO:
    """A phase's log file, truncated, never through a symlink (:mod:`lib.safe_files`)."""
    return os.fdopen(open_regular(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC), "wb")


class AttemptControl:
    """Shared between the runner (main thread) and one attempt (worker thread).

    The runner calls :meth:`cancel`; the worker's process loop notices within a poll interval and
    stops the child's process group. ``on_spawn`` is told each child pid as it starts.
    """

    def __init__(self, on_spawn: Callable[[int], None] | None = None) -> None:
        self._event = threading.Event()
        self.reason: str | None = None
        self.on_spawn = on_spawn

    def cancel(self, reason: str) -> None:
        """Ask the attempt to stop (first reason wins)."""
        if self.reason is None:
            self.reason = reason
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early on cancellation; returns ``cancelled``."""
        return self._event.wait(timeout)


@dataclass
class ProcessOutcome:
    """How a child process ended."""

    exit_code: int | None
    duration_s: float
    timed_out: bool = False
    cancelled: bool = False
    start_error: str | None = None
    pid: int | None = None
    output_path: Path | None = None
    extra: dict[str, str] = field(default_factory=dict[str, str])

    @property
    def ok(self) -> bool:
        """Exit code 0, not stopped."""
        return self.exit_code == 0 and not self.timed_out and not self.cancelled


def read_tail(path: Path | None, limit: int = TAIL_CHARS) -> str:
    """The last ``limit`` characters of a text file (``""`` when missing)."""
    if path is None:
        return ""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit * 4))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    return text[-limit:]


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group, then SIGKILL it if the leader is still there after ``grace``."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
    # Stragglers in the group that ignored SIGTERM must not outlive the attempt.
    _signal_group(proc.pid, signal.SIGKILL)


def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    output_path: Path,
    timeout: float | None,
    control: AttemptControl | None = None,
    stdin_data: bytes | None = None,
    stderr_path: Path | None = None,
    kill_grace: float = 5.0,
    poll_interval: float = 0.05,
) -> ProcessOutcome:
    """Run ``argv`` to completion, a timeout, or cancellation.

    stdout goes to ``output_path`` (stderr too, unless ``stderr_path`` is given).
    """
    ensure_dir(str(output_path.parent))
    started = time.monotonic()
    if control is not None and control.cancelled:
        return ProcessOutcome(None, 0.0, cancelled=True, output_path=output_path)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(_create(output_path))
        err = stack.enter_context(_create(stderr_path)) if stderr_path is not None else None
        stdin_file = None
        if stdin_data is not None:
            import tempfile

            stdin_file = stack.enter_context(tempfile.TemporaryFile())
            stdin_file.write(stdin_data)
            stdin_file.seek(0)
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=stdin_file if stdin_file is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err if err is not None else subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return ProcessOutcome(
                None,
                time.monotonic() - started,
                start_error=f"cannot start {argv[0]!r}: {exc.strerror or exc}",
                output_path=output_path,
            )
        if control is not None and control.on_spawn is not None:
            control.on_spawn(proc.pid)
        deadline = None if timeout is None else started + timeout
        timed_out = cancelled = False
        try:
            while True:
                try:
                    proc.wait(timeout=poll_interval)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if control is not None and control.cancelled:
                    cancelled = True
                    _stop(proc, kill_grace)
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out = True
                    _stop(proc, kill_grace)
                    break
        except BaseException:
            _stop(proc, kill_grace)
            raise
        return ProcessOutcome(
            proc.returncode,
            time.monotonic() - started,
            timed_out=timed_out,
            cancelled=cancelled,
            pid=proc.pid,
            output_path=output_path,
        )
