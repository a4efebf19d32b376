"""Where each session's transcript is, and how long it was at the session's last Stop.

Written by the ``usage_marks`` hook (Stop, SubagentStop, SessionEnd) into the state store
``transcripts``; read by :mod:`lib.usage.report`. The hook only stats the file: parsing happens on the
reading side, off the hook's path. Shape::

    {"sessions": {"<session id>": {"transcript_path": "...", "offset": 48213, "updated_at": 1765000000.0,
                                   "agents": {"<agent id>": {"transcript_path": "...", "offset": 912}}}}}

Stdlib only (imported by a hook process).
"""

from __future__ import annotations

import os
import time

from lib.plain_data import nested_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.store import StateStore

__all__ = ["MARKS_STORE", "MAX_SESSIONS", "record_mark", "transcript_size"]

MARKS_STORE = "transcripts"
MAX_SESSIONS = 500
"""Marks kept; the ones updated longest ago go first."""


def _object(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}  # pyright: ignore[reportUnknownVariableType]


def _number(value: object) -> float:
    return float(value) if isinstance(value, (int, float)) else 0.0


def transcript_size(path: object) -> int | None:
    """The size of the transcript at ``path`` (a regular ``.jsonl`` file), else None."""
    if not isinstance(path, str) or not path.endswith(".jsonl") or "\0" in path:
        return None
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    import stat

    return st.st_size if stat.S_ISREG(st.st_mode) else None


def record_mark(
    store: StateStore,
    session_id: str,
    path: str,
    offset: int,
    *,
    agent_id: str | None = None,
    now: float | None = None,
) -> None:
    """Note that ``path`` (the session's transcript, or its subagent ``agent_id``'s) was ``offset``
    bytes long. An offset never goes back for the same file."""
    now = time.time() if now is None else now
    with store.transaction() as state:
        sessions = nested_object(state, "sessions")
        entry = target = nested_object(sessions, session_id)
        if agent_id:
            target = nested_object(nested_object(entry, "agents"), agent_id)
        old = target.get("offset")
        if target.get("transcript_path") != path or not isinstance(old, int) or offset > old:
            target["transcript_path"] = path
            target["offset"] = offset
        entry["updated_at"] = now
        if len(sessions) > MAX_SESSIONS:
            oldest = sorted(sessions, key=lambda sid: _number(_object(sessions[sid]).get("updated_at")))
            for sid in oldest[: len(sessions) - MAX_SESSIONS]:
                del sessions[sid]
