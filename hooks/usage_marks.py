"""Note where the session's transcript is and how long it is, for the token and cost figures.

On Stop, SubagentStop and SessionEnd: one ``stat`` of the transcript Claude Code names in the payload
(``transcript_path``, or ``agent_transcript_path`` for a subagent) and one small write to the state
store ``transcripts`` (:mod:`lib.usage.marks`). Nothing is parsed here; ``python -m lib status``,
``metrics`` and the dashboard read the transcript up to the noted length.

Switch it off with ``runtime.disabled_builtins = ["usage_marks"]`` in ``.claude/hooks.toml``.
"""

from __future__ import annotations

from lib.registry import HookEvent, hook
from lib.usage.marks import MARKS_STORE, record_mark, transcript_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.protocol.output import Outcome


@hook("Stop", name="usage_marks")
@hook("SubagentStop", name="usage_marks")
@hook("SessionEnd", name="usage_marks")
def usage_marks(event: HookEvent) -> Outcome | None:
    """Record the transcript's path and length (no output)."""
    if not event.session_id:
        return None
    agent = event.get("agent_id")
    agent_id = agent if isinstance(agent, str) and agent else None
    path = event.get("agent_transcript_path") if agent_id and event.name == "SubagentStop" else None
    if path is None:
        path = event.get("transcript_path")
    size = transcript_size(path)
    if size is None or not isinstance(path, str):
        return None
    if agent_id and event.name != "SubagentStop":
        agent_id = None  # a subagent's Stop names the parent's transcript: mark it for the session
    record_mark(event.store(MARKS_STORE), event.session_id, path, size, agent_id=agent_id)
    return None
