"""At the end of each turn, tell the user in one line what Claude's tools did in this session.

The Stop hook reads the session's events from the bus through a durable consumer
(``session-summary.<session_id>``), so each event is counted once even though the hook runs after
every turn: the running totals are saved with the consumer's acknowledgements, in one atomic write.
The line goes to the user as a ``systemMessage`` and to the log::

    Session so far: 12 tool calls (Bash 7, Read 3, Edit 2), 2 failed, 1 denied, 0 breaker openings; this turn: 4 calls, 1 failed

Switch it off with ``runtime.disabled_builtins = ["session_summary"]`` in ``.claude/hooks.toml``.
"""

from __future__ import annotations

from lib.event_bus import EventBus
from lib.plain_data import json_object
from lib.protocol.output import Outcome, system_message
from lib.registry import HookEvent, hook

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.backends.redis_bus import RedisEventBus

__all__ = ["format_summary", "summarize"]

TOPICS = ("tool.pre", "tool.post", "tool.failure", "tool.denied", "breaker.opened")
_COUNTERS = ("calls", "failures", "denials", "breaker_openings")


def _counts(value: object) -> dict[str, int]:
    data = json_object(value) or {}
    return {k: int(v) for k, v in data.items() if isinstance(v, int) and not isinstance(v, bool)}


def format_summary(totals: dict[str, object], turn: dict[str, int]) -> str:
    """The one-line summary from the session totals and this turn's counts."""
    per_tool = _counts(totals.get("per_tool"))
    calls = int(totals.get("calls", 0))  # type: ignore[call-overload]
    tools = ", ".join(f"{name} {n}" for name, n in sorted(per_tool.items(), key=lambda kv: (-kv[1], kv[0])))
    line = f"Session so far: {calls} tool call{'s' if calls != 1 else ''}" + (f" ({tools})" if tools else "")
    line += (
        f", {totals.get('failures', 0)} failed, {totals.get('denials', 0)} denied, "
        f"{totals.get('breaker_openings', 0)} breaker opening{'s' if totals.get('breaker_openings') != 1 else ''}"
    )
    line += f"; this turn: {turn['calls']} call{'s' if turn['calls'] != 1 else ''}"
    if turn["failures"]:
        line += f", {turn['failures']} failed"
    if turn["denials"]:
        line += f", {turn['denials']} denied"
    if turn["breaker_openings"]:
        line += f", {turn['breaker_openings']} breaker opening{'s' if turn['breaker_openings'] != 1 else ''}"
    return line


def summarize(
    bus: EventBus | RedisEventBus, session_id: str
) -> tuple[str, dict[str, object], dict[str, int]]:
    """Count the session's new events, save the totals with the acknowledgements, return the line."""
    consumer = bus.consumer(f"session-summary.{session_id}", topics=TOPICS, session_id=session_id)
    events = consumer.read()
    turn: dict[str, int] = dict.fromkeys(_COUNTERS, 0)
    per_tool = _counts(consumer.state.get("per_tool"))
    seen: set[str] = set()
    for event in events:
        payload = event.payload
        tool = str(payload.get("tool_name") or "unknown")
        if event.topic in ("tool.pre", "tool.post", "tool.failure"):
            use_id = str(payload.get("tool_use_id") or f"#{event.id}")
            if use_id not in seen:
                seen.add(use_id)
                turn["calls"] += 1
                per_tool[tool] = per_tool.get(tool, 0) + 1
        if event.topic == "tool.failure":
            turn["failures"] += 1
        elif event.topic == "tool.denied":
            turn["denials"] += 1
        elif event.topic == "breaker.opened":
            turn["breaker_openings"] += 1
    totals: dict[str, object] = {
        key: int(consumer.state.get(key, 0)) + turn[key]  # type: ignore[call-overload]
        for key in _COUNTERS
    }
    totals["per_tool"] = per_tool
    totals["turns"] = int(consumer.state.get("turns", 0)) + 1  # type: ignore[call-overload]
    consumer.state.clear()
    consumer.state.update(totals)
    consumer.commit()
    return format_summary(totals, turn), totals, turn


@hook("Stop", name="session_summary")
def session_summary(event: HookEvent) -> Outcome | None:
    """Show the session's tool activity in one line and log it."""
    if not event.session_id:
        return None
    logging = event.section("logging")
    from lib.backends import open_bus

    bus = open_bus(
        event.paths.log_dir,
        event.config,
        project_dir=event.paths.project_dir,
        max_bytes=int(logging.get("rotate_max_bytes", 10 * 1024 * 1024)),  # type: ignore[call-overload]
        backups=int(logging.get("rotate_backups", 5)),  # type: ignore[call-overload]
        lock_timeout=float(event.section("state").get("lock_timeout_seconds", 1.0)),  # type: ignore[arg-type]
    )
    try:
        line, totals, turn = summarize(bus, event.session_id)
    finally:
        bus.close()
    event.log.info(line, summary=totals, turn=turn)
    return system_message(line)
