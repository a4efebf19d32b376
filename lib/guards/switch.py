"""The guards' off switch, per Claude Code session, flipped only by the user.

Two ways, neither reachable by Claude through a tool call:

- the environment variable ``CLAUDE_HOOKS_GUARDS=off`` set when starting Claude Code (hooks inherit
  Claude Code's environment, not the Bash tool's): guards off for that session;
- ``python -m lib guards off --session ID [--for 30m]`` in the user's terminal, recorded in
  ``.claude/state/guards.json``; ``python -m lib guards on --session ID`` turns them back on.

Claude cannot flip either: the Bash guard denies commands that run the guards CLI or set the
variable (rule ``guard-off``), and the file guard denies writes to ``.claude/state/``.
"""

from __future__ import annotations

from lib.plain_data import json_object, nested_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ENV", "STORE", "env_off", "prune", "session_off", "turn_off", "turn_on"]

#: The environment variable that switches the guards off for the session it is set in.
ENV = "CLAUDE_HOOKS_GUARDS"
#: The state store (``.claude/state/guards.json``) holding per-session switches.
STORE = "guards"
_OFF_VALUES = frozenset({"off", "0", "false", "no", "disabled", "disable"})


def env_off(environ: Mapping[str, str]) -> bool:
    """True when ``CLAUDE_HOOKS_GUARDS`` says off."""
    return environ.get(ENV, "").strip().lower() in _OFF_VALUES


def _entries(state: Mapping[str, object]) -> dict[str, object]:
    off = json_object(state.get("off"))
    return off if off is not None else {}


def session_off(state: Mapping[str, object], session_id: str, now: float) -> dict[str, object] | None:
    """The switch entry that turns the guards off for ``session_id`` now, if any."""
    entry = json_object(_entries(state).get(session_id))
    if entry is None:
        return None
    until = entry.get("until")
    if isinstance(until, (int, float)) and not isinstance(until, bool) and until <= now:
        return None
    return entry


def turn_off(
    state: dict[str, object], session_id: str, *, now: float, until: float | None = None, note: str = ""
) -> dict[str, object]:
    """Record that the user turned the guards off for ``session_id`` (until ``until``, or for good)."""
    if not session_id:
        raise ValueError("a session id is needed to switch the guards off")
    off = nested_object(state, "off")
    entry: dict[str, object] = {"since": now, "until": until}
    if note:
        entry["note"] = note
    off[session_id] = entry
    prune(state, now)
    return entry


def turn_on(state: dict[str, object], session_id: str) -> bool:
    """Turn the guards back on for ``session_id``; False when they were not off."""
    off = json_object(state.get("off"))
    if off is not None and session_id in off:
        del off[session_id]
        return True
    return False


def _expired(entry: dict[str, object] | None, now: float) -> bool:
    """True for a switch entry that is not an object or whose ``until`` has passed."""
    if entry is None:
        return True
    until = entry.get("until")
    return isinstance(until, (int, float)) and until <= now


def prune(state: dict[str, object], now: float) -> list[str]:
    """Drop expired switches; returns their session ids."""
    off = json_object(state.get("off"))
    if off is None:
        return []
    expired = [sid for sid, entry in off.items() if _expired(json_object(entry), now)]
    for sid in expired:
        del off[sid]
    return expired
