"""Attempts that outlived their runner: find their process group again, then kill or wait for it.

Each attempt's child runs in its own process group (its pid is the group id); the checkpoint
records that pid and the process's start time (``/proc/<pid>/stat`` field 22), so a resume can tell
the attempt's group from an unrelated process that reused the pid.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

__all__ = ["group_alive", "process_start", "settle"]


def process_start(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (``None`` when unknown or gone)."""
    fields = _stat_fields(str(pid))
    try:
        return int(fields[19]) if fields else None
    except (IndexError, ValueError):
        return None


def _stat_fields(pid: str) -> list[bytes] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return data[data.rfind(b")") + 2 :].split()


def group_alive(pgid: int) -> bool:
    """Whether any live (not zombie) process of the group ``pgid`` is still there."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        pids = [name for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return True
    for pid in pids:
        fields = _stat_fields(pid)
        # fields[0] is the state, fields[2] the process group.
        if fields and len(fields) > 2 and fields[2] == str(pgid).encode() and fields[0] != b"Z":
            return True
    return False


def _is_ours(pid: int, started: int | None) -> bool:
    """The group is the attempt's: its leader is gone (the id cannot be reused while the group
    lives) or is the very process recorded (same start time)."""
    if not group_alive(pid):
        return False
    now = process_start(pid)
    return now is None or started is None or now == started


def settle(
    pid: int,
    started: int | None,
    *,
    wait: bool,
    grace: float,
    say: Callable[[str], None],
    what: str,
    poll: float = 0.2,
) -> str | None:
    """Kill (SIGTERM, then SIGKILL after ``grace``) or wait for the attempt's process group.

    Returns what was done (``killed`` / ``waited for``), or ``None`` when nothing of it was left.
    """
    if not _is_ours(pid, started):
        return None
    if wait:
        say(f"{what}: its process group {pid} is still running; waiting for it to end (--orphans wait)")
        while group_alive(pid):
            time.sleep(poll)
        return "waited for"
    say(f"{what}: its process group {pid} is still running; stopping it (--orphans kill)")
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while group_alive(pid) and time.monotonic() < deadline:
        time.sleep(min(poll, grace) or poll)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    while group_alive(pid):
        time.sleep(0.02)
    return "killed"
