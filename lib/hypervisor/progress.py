"""What the user sees while a run goes: one line per transition and a live progress line.

Transitions (``phase 12 passed in 3.1s``) go to ``out``. The live line (counts, running phases
with their attempt, elapsed time and the hook activity of their Claude sessions, ETA) is redrawn
in place on ``live`` when that is a terminal, and printed at most every ``plain_interval``
seconds otherwise (so logs stay readable).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

__all__ = ["Progress", "ProgressSnapshot", "RunningPhase", "format_duration", "format_progress_line"]


def format_duration(seconds: float | None) -> str:
    """``850ms``, ``12.3s``, ``4m05s``, ``1h02m``; ``-`` for ``None``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes}m{secs:02d}s"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}h{rest // 60:02d}m"


@dataclass(frozen=True)
class RunningPhase:
    """One running phase as the progress line shows it."""

    phase: str
    attempt: int
    elapsed_s: float
    tool_calls: int = 0
    tool_failures: int = 0
    breakers_open: int = 0


@dataclass(frozen=True)
class ProgressSnapshot:
    """Everything on the progress line."""

    total: int
    passed: int
    failed: int
    skipped: int
    running: Sequence[RunningPhase] = field(default_factory=tuple)
    waiting_retry: int = 0
    eta_s: float | None = None


def format_progress_line(snap: ProgressSnapshot, width: int = 200) -> str:
    """The live line, cut to ``width`` characters (pure)."""
    done = snap.passed + snap.failed + snap.skipped
    parts = [f"[{done}/{snap.total}] {snap.passed} passed"]
    if snap.failed:
        parts.append(f"{snap.failed} failed")
    if snap.skipped:
        parts.append(f"{snap.skipped} skipped")
    if snap.running:
        shown: list[str] = []
        for r in snap.running:
            text = f"{r.phase}#{r.attempt} {format_duration(r.elapsed_s)}"
            activity: list[str] = []
            if r.tool_calls:
                activity.append(f"{r.tool_calls} tools")
            if r.tool_failures:
                activity.append(f"{r.tool_failures} failed")
            if r.breakers_open:
                activity.append(f"{r.breakers_open} breaker{'s' if r.breakers_open != 1 else ''} open")
            if activity:
                text += " (" + ", ".join(activity) + ")"
            shown.append(text)
        parts.append("running " + ", ".join(shown))
    if snap.waiting_retry:
        parts.append(f"{snap.waiting_retry} waiting to retry")
    if snap.eta_s is not None:
        parts.append(f"ETA ~{format_duration(snap.eta_s)}")
    line = " · ".join(parts)
    return line if len(line) <= width else line[: width - 1] + "…"


class Progress:
    """Prints transitions and keeps the live line up to date."""

    def __init__(
        self,
        out: TextIO | None = None,
        live: TextIO | None = None,
        *,
        interactive_terminal: bool | None = None,
        plain_interval: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        quiet: bool = False,
    ) -> None:
        self.out = out if out is not None else sys.stdout
        self.live = live if live is not None else sys.stderr
        if interactive_terminal is None:
            isatty = getattr(self.live, "isatty", None)
            interactive_terminal = bool(isatty and isatty())
        self.tty = interactive_terminal
        self.plain_interval = plain_interval
        self.clock = clock
        self.quiet = quiet
        self._last_plain = clock()
        self._last_line = ""
        self._drawn = False

    def _clear(self) -> None:
        if self._drawn:
            self.live.write("\r\x1b[2K")
            self._drawn = False

    def event(self, text: str) -> None:
        """Print one transition line (above the live line)."""
        if self.quiet:
            return
        self._clear()
        self.out.write(text + "\n")
        self.out.flush()
        if self.tty and self._last_line:
            self._draw(self._last_line)

    def _draw(self, line: str) -> None:
        self.live.write("\r\x1b[2K" + line)
        self.live.flush()
        self._drawn = True

    def update(self, snap: ProgressSnapshot) -> None:
        """Refresh the live line."""
        if self.quiet:
            return
        line = format_progress_line(snap)
        if self.tty:
            if line != self._last_line or not self._drawn:
                self._draw(line)
        else:
            now = self.clock()
            if now - self._last_plain >= self.plain_interval and line != self._last_line:
                self.live.write(line + "\n")
                self.live.flush()
                self._last_plain = now
        self._last_line = line

    def close(self) -> None:
        """Remove the live line (end of run)."""
        if self.tty:
            self._clear()
            self.live.flush()
        self._last_line = ""
