"""Built-in circuit breaker on Claude's tool calls: stop Claude from hammering a failing call.

- PostToolUseFailure records a failure of the call's key (an interrupt by the user only frees a trial
  slot); the failure that opens the breaker tells Claude and the user.
- PostToolUse records a success; a successful edit or write of a file is progress and resets the
  session's breakers (a test-fix loop never opens one).
- PreToolUse denies while the breaker is open, with a reason written for Claude; after the
  cooldown it lets one trial call through (a lease on its ``tool_use_id``).
- PostToolBatch and PermissionDenied give back trial slots of calls that never ran.

State: ``.claude/state/breakers.json``; settings: ``[breaker]`` in ``.claude/hooks.toml``; logic:
:mod:`lib.breaker.tools`. A storage problem raises, and the runtime applies ``runtime.fail_mode``.
"""

from __future__ import annotations

from lib.breaker.machine import CLOSED, HALF_OPEN, OPEN
from lib.breaker.storage import JsonStoreStorage
from lib.breaker.tools import ToolBreakers, ToolBreakerSettings
from lib.plain_data import json_list, json_object
from lib.protocol.output import Outcome, context, deny, merge, system_message
from lib.registry import hook

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.registry import HookEvent

_TOPICS = {OPEN: "breaker.opened", HALF_OPEN: "breaker.half_open", CLOSED: "breaker.closed"}


def _breakers(event: HookEvent) -> ToolBreakers | None:
    section = event.section("breaker")
    if section.get("enabled") is False and not section.get("overrides"):
        return None
    settings = ToolBreakerSettings.from_mapping(section)
    return ToolBreakers(JsonStoreStorage(event.store("breakers")), settings, session_id=event.session_id)


def _publish_changes(event: HookEvent, breakers: ToolBreakers) -> None:
    if not breakers.changes:
        return
    from lib.breaker.messages import error_summary

    for change in breakers.changes:
        snap = change.snapshot
        event.publish(
            _TOPICS[change.new_state],
            {
                "key": snap.key,
                "name": change.name,
                "scope": snap.scope,
                "session": snap.session,
                "tool_name": event.tool_name or None,
                "from": change.old_state,
                "to": change.new_state,
                "consecutive_failures": snap.consecutive_failures,
                "retry_at": snap.retry_at,
                "cooldown_seconds": snap.cooldown,
                "last_error": error_summary(snap.last_error) if snap.last_error else None,
            },
        )
        event.log.info(
            f"circuit breaker {change.name} {change.old_state} -> {change.new_state}",
            key=snap.key,
            scope=snap.scope,
            consecutive_failures=snap.consecutive_failures,
        )


@hook("PreToolUse", name="breaker.check")
def check(event: HookEvent) -> Outcome | None:
    """Deny the call while its breaker is open (or its half-open trial slots are taken)."""
    if event.denied:
        return None  # refused already: do not take a trial slot for a call that will not run
    breakers = _breakers(event)
    if breakers is None:
        return None
    denial = breakers.check(event.tool_name, event.tool_input, event.tool_use_id)
    _publish_changes(event, breakers)
    if denial is None:
        return None
    err = denial.error
    event.publish(
        "tool.denied",
        {
            "by": ["breaker.check"],
            "reason": denial.reason,
            "key": denial.key,
            "scope": denial.scope,
            "tool_name": event.tool_name,
            "tool_use_id": event.tool_use_id,
            "state": err.state,
            "retry_at": err.retry_at,
            "retry_after": err.retry_after,
        },
    )
    return deny(denial.reason)


@hook("PostToolUse", name="breaker.success")
def success(event: HookEvent) -> Outcome | None:
    """Count a success (closes a half-open breaker after ``success_threshold`` of them)."""
    breakers = _breakers(event)
    if breakers is None:
        return None
    breakers.record_success(event.tool_name, event.tool_input, event.tool_use_id)
    _publish_changes(event, breakers)
    return None


@hook("PostToolUseFailure", name="breaker.failure")
def failure(event: HookEvent) -> Outcome | None:
    """Count a failure; when it opens the breaker, say so to Claude and to the user."""
    breakers = _breakers(event)
    if breakers is None:
        return None
    error = event.get("error")
    breakers.record_failure(
        event.tool_name,
        event.tool_input,
        event.tool_use_id,
        error if isinstance(error, str) else None,
        is_interrupt=event.get("is_interrupt") is True,
    )
    _publish_changes(event, breakers)
    opened = [c for c in breakers.changes if c.new_state == OPEN]
    if not opened:
        return None
    from lib.breaker.messages import opened_notice

    snap = opened[-1].snapshot
    notice, message = opened_notice(
        key=snap.key,
        scope=snap.scope or "shared",
        streak=snap.consecutive_failures,
        last_error=snap.last_error,
        cooldown=snap.cooldown,
        reopened=opened[-1].old_state != CLOSED,
        progress_tools=breakers.settings.progress_tools,
    )
    return merge([context(notice), system_message(message)])


def _release(event: HookEvent, tool_use_ids: list[str]) -> None:
    breakers = _breakers(event)
    if breakers is None or not tool_use_ids:
        return
    released = breakers.release_calls(tool_use_ids)
    if released:
        event.log.info("released half-open trial slots of calls that never reported", keys=released)


@hook("PostToolBatch", name="breaker.batch")
def batch(event: HookEvent) -> Outcome | None:
    """Free trial slots still held by calls of the finished batch (they were refused or lost)."""
    calls = json_list(event.get("tool_calls")) or []
    ids = [call.get("tool_use_id") for c in calls if (call := json_object(c)) is not None]
    _release(event, [i for i in ids if isinstance(i, str)])
    return None


@hook("PermissionDenied", name="breaker.permission_denied")
def permission_denied(event: HookEvent) -> Outcome | None:
    """A call refused by the permission classifier never runs: free its trial slot."""
    if event.tool_use_id:
        _release(event, [event.tool_use_id])
    return None
