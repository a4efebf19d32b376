"""Built-in task capture: Claude's todo list and tasks mirrored into ``.claude/state/tasks.json``.

PostToolUse of ``TodoWrite``, ``TaskCreate``, ``TaskUpdate``, ``TaskList`` and ``TaskGet`` (only
calls that succeeded reach PostToolUse), plus the ``TaskCreated`` / ``TaskCompleted`` events when
they are registered. Each change is published as ``task.created``, ``task.updated`` or
``task.completed``; ``python -m lib tasks`` lists the tasks per session. Logic: :mod:`lib.tasks`.
Switch it off with ``runtime.disabled_builtins = ["tasks"]``.
"""

from __future__ import annotations

import time

from lib.registry import hook
from lib.tasks import STORE, TOOLS, TaskChange, apply_hook_event, capture

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.protocol.output import Outcome
    from lib.registry import HookEvent


def _report(event: HookEvent, changes: list[TaskChange]) -> None:
    for change in changes:
        payload = change.payload()
        payload["tool_use_id"] = event.tool_use_id
        event.publish(change.topic, payload)
    if changes:
        event.log.info(
            f"tasks: {len(changes)} change(s) from {event.tool_name or event.name}",
            changes=[f"{c.kind} {c.task.get('id')} ({c.task.get('status')})" for c in changes][:20],
        )


@hook("PostToolUse", matcher="|".join(TOOLS), name="tasks.capture")
def capture_tool_call(event: HookEvent) -> Outcome | None:
    """Mirror a successful task-tool call into the task store."""
    if not event.session_id:
        return None
    with event.store(STORE).transaction() as state:
        changes = capture(
            state,
            event.session_id,
            event.tool_name,
            event.tool_input,
            event.get("tool_response"),
            now=time.time(),
            tool_use_id=event.tool_use_id,
        )
    _report(event, changes)
    return None


@hook("TaskCreated", name="tasks.created")
@hook("TaskCompleted", name="tasks.completed")
def capture_task_event(event: HookEvent) -> Outcome | None:
    """Mirror Claude Code's own TaskCreated / TaskCompleted events."""
    if not event.session_id:
        return None
    with event.store(STORE).transaction() as state:
        changes = apply_hook_event(state, event.session_id, event.name, event.data, now=time.time())
    _report(event, changes)
    return None
