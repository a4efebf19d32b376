"""Turn a guard's verdict into the hook's answer, and leave a trace of every decision.

Each decision (allow included) is published on the bus as ``guard.decision`` and logged through the
handler's :class:`~lib.registry.EventLog`: denies as warnings, asks as info, allows at debug level
(``logging.level = "debug"`` shows them). A deny or ask becomes the PreToolUse answer. An allow is
answered with *no opinion* (``None``), never ``allow``: an explicit allow would skip Claude Code's own
permission prompts.
"""

from __future__ import annotations

import os
import time

from lib.guards import switch
from lib.protocol.output import ask, deny

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.guards.verdict import Verdict
    from lib.protocol.output import Outcome
    from lib.registry import HookEvent

__all__ = ["TOPIC", "answer", "guards_off", "judged_cwd", "skipped"]

#: Bus topic of guard decisions.
TOPIC = "guard.decision"
_SUBJECT_CHARS = 300
#: The event :func:`guards_off` answered last, with its answer.
_last_asked: tuple[HookEvent, str | None] | None = None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SUBJECT_CHARS else text[: _SUBJECT_CHARS - 3] + "..."


def guards_off(event: HookEvent) -> str | None:
    """Why the guards are off for this event's session (the user's switch), or ``None``.

    Asked once per event: the Bash and file guards of one tool call share the answer."""
    global _last_asked
    if _last_asked is not None and _last_asked[0] is event:
        return _last_asked[1]
    why = _why_off(event)
    _last_asked = (event, why)
    return why


def _why_off(event: HookEvent) -> str | None:
    if switch.env_off(os.environ):
        return f"{switch.ENV}={os.environ.get(switch.ENV, '')} in Claude Code's environment"
    session_id = event.session_id
    if not session_id:
        return None
    try:
        state = event.store(switch.STORE).read()
    except Exception as exc:  # state backend down: the switch is bookkeeping, so judge as if on
        event.log.warning(f"guard switch unreadable, guards stay on: {type(exc).__name__}: {exc}")
        return None
    entry = switch.session_off(state, session_id, time.time())
    if entry is None:
        return None
    until = entry.get("until")
    when = (
        f" until {time.strftime('%H:%M:%S', time.localtime(until))}"
        if isinstance(until, (int, float))
        else ""
    )
    return f"switched off for this session with `python -m lib guards off`{when}"


def judged_cwd(event: HookEvent, guard: str) -> str | None:
    """Where the tool call runs (the event's absolute ``cwd``, else the project directory), or ``None``
    when the user switched the guards off (recorded by :func:`skipped`): what a guard hook asks first."""
    why = guards_off(event)
    if why is not None:
        skipped(event, guard, why)
        return None
    cwd = event.get("cwd")
    return cwd if isinstance(cwd, str) and cwd.startswith("/") else event.paths.project_dir


def skipped(event: HookEvent, guard: str, why: str) -> None:
    """Record that a guard did not look at this call because the user switched the guards off."""
    payload: dict[str, object] = {
        "guard": guard,
        "decision": "off",
        "reason": why,
        "tool_name": event.tool_name,
        "tool_use_id": event.tool_use_id,
    }
    event.publish(TOPIC, payload)
    event.log.debug(f"{guard} guard off: {why}", **payload)


def answer(event: HookEvent, verdict: Verdict, *, subject: str, level: str) -> Outcome | None:
    """Log and publish ``verdict``; return the PreToolUse answer for a deny or an ask."""
    payload: dict[str, object] = {
        "guard": verdict.guard,
        "decision": verdict.decision,
        "rule": verdict.rule_id,
        "guard_level": level,
        "tool_name": event.tool_name,
        "tool_use_id": event.tool_use_id,
        "subject": _short(subject),
        "findings": [{**f.to_dict(), "decision": d} for f, d in verdict.findings][:10],
    }
    if verdict.reason:
        payload["reason"] = verdict.reason
    event.publish(TOPIC, payload)
    message = f"{verdict.guard} guard: {verdict.decision}" + (
        f" ({verdict.rule_id})" if verdict.rule_id else ""
    )
    level_name = {"deny": "warning", "ask": "info"}.get(verdict.decision, "debug")
    event.log.log(level_name, message, **payload)
    if verdict.decision == "deny":
        return deny(verdict.reason)
    if verdict.decision == "ask":
        return ask(verdict.reason)
    return None
