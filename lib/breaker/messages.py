"""What the tool breakers say: to Claude when a call is refused or a breaker opens, and to the user.

Pure text formatting over plain values; the wording names the key, its scope, the streak, the last
error line, when the call may be retried and what counts as progress.
"""

from __future__ import annotations

import time

from lib.breaker.keys import SHARED
from lib.breaker.machine import HALF_OPEN

__all__ = ["denial_reason", "error_summary", "opened_notice", "progress_hint", "retry_when"]


def error_summary(error: str | None, limit: int = 240) -> str:
    """The telling part of an error message on one line: its first line, and its last if different.

    Bash failures read ``Exit code 1`` followed by the output; the last line is usually the cause.
    """
    if not error:
        return "(no error message)"
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    if not lines:
        return "(no error message)"
    text = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def retry_when(retry_at: float, now: float) -> str:
    """``in 42s (at 12:00:00 UTC)``."""
    seconds = max(0, round(retry_at - now))
    clock = time.strftime("%H:%M:%S UTC", time.gmtime(retry_at))
    return f"in {seconds}s (at {clock})"


def _or_list(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def _command(key: str) -> str | None:
    return key[len("Bash:") :] if key.startswith("Bash:") else None


def progress_hint(key: str, scope: str, progress_tools: tuple[str, ...]) -> str:
    """What lets the call run again before its cooldown ends."""
    command = _command(key)
    if scope == SHARED:
        if command is not None:
            return (
                f"The program `{command.split(' ', 1)[0]}` itself looks broken (not found, not executable "
                "or timing out): check it is installed and on PATH, or do the work another way."
            )
        return (
            "Its failures come from outside this session (a server, the network, a service), so "
            "editing files does not unblock it: use another source or approach meanwhile."
        )
    what = f"running `{command}`" if command is not None else f"calling {key}"
    if not progress_tools:
        return f"Change something before {what} again; repeating the same call will not help."
    return (
        f"Change something before {what} again: a successful {_or_list(progress_tools)} of a file "
        "(or a success of this same call) ends the block; repeating the same call will not."
    )


def _where(scope: str) -> str:
    return "across this project's sessions" if scope == SHARED else "in this session"


def denial_reason(
    *,
    key: str,
    scope: str,
    state: str,
    streak: int,
    last_error: str | None,
    retry_at: float | None,
    now: float,
    progress_tools: tuple[str, ...],
) -> str:
    """The deny reason Claude reads for a call refused by breaker ``key``."""
    last = error_summary(last_error)
    if retry_at is None:
        return (
            f"Circuit breaker: `{key}` is blocked by the user (forced open) until they reset it. "
            f"Last error: {last}. Do not retry it; take a different approach."
        )
    when = retry_when(retry_at, now)
    if state == HALF_OPEN:
        return (
            f"Circuit breaker: `{key}` failed repeatedly {_where(scope)} (last error: {last}) and a trial "
            f"call is now checking whether it works again. Do not call it now; it may be retried {when} "
            "at the latest. Meanwhile try a different approach."
        )
    return (
        f"Circuit breaker open: `{key}` failed {streak} times in a row {_where(scope)} with no progress "
        f"in between. Last error: {last}. It is blocked and may be retried {when}. "
        f"{progress_hint(key, scope, progress_tools)}"
    )


def opened_notice(
    *,
    key: str,
    scope: str,
    streak: int,
    last_error: str | None,
    cooldown: float | None,
    reopened: bool,
    progress_tools: tuple[str, ...] = (),
) -> tuple[str, str]:
    """What Claude and the user are told when breaker ``key`` opens: ``(context, system message)``."""
    length = f"{cooldown:.0f}s" if cooldown is not None else "a while"
    what = "is still failing and has" if reopened else "has"
    for_whom = "for every session of this project" if scope == SHARED else "in this session"
    context = (
        f"Circuit breaker: `{key}` {what} now failed {streak} times in a row {_where(scope)} "
        f"(last error: {error_summary(last_error)}). Further calls are blocked {for_whom} for {length}. "
        f"{progress_hint(key, scope, progress_tools)}"
    )
    system = (
        f"claude-hooks: circuit breaker '{key}' ({scope}) opened after {streak} consecutive failures; "
        f"blocked {for_whom} for {length}. "
        f"To clear it: .claude/hooks-runtime/bin/python -m lib breakers reset '{key}'"
    )
    return context, system
