"""Built-in rate limit on Claude's tool calls: a sliding window per tool, per session or project.

Over the limit, PreToolUse denies the call (or, with ``action = "ask"``, asks the user) and says how
many calls remain and when the window frees a slot. Calls refused by an earlier handler are not
counted. State: ``.claude/state/ratelimits.json``; settings: ``[rate_limit]`` in
``.claude/hooks.toml``; logic: :mod:`lib.rate_limiter`.
"""

from __future__ import annotations

from lib.protocol.output import Outcome, ask, deny
from lib.rate_limiter import RateLimiter, RateLimitSettings, ToolRateLimits
from lib.registry import hook

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.registry import HookEvent


@hook("PreToolUse", name="rate_limit.check")
def check(event: HookEvent) -> Outcome | None:
    """Count the call in its window; deny or ask when the window is full."""
    if event.denied:
        return None
    settings = RateLimitSettings.from_mapping(event.section("rate_limit"))
    if settings.rule_for(event.tool_name) is None:
        return None
    limits = ToolRateLimits(RateLimiter(event.store("ratelimits", durable=False)), settings)
    decision = limits.check(event.tool_name, event.session_id or None)
    if decision is None or decision.allowed:
        return None
    reason = limits.reason(event.tool_name, decision)
    payload: dict[str, object] = {
        "key": decision.key,
        "tool_name": event.tool_name,
        "tool_use_id": event.tool_use_id,
        "used": decision.used,
        "limit": decision.limit,
        "window_seconds": decision.window_seconds,
        "retry_after": decision.retry_after,
        "action": settings.action,
    }
    event.publish("ratelimit.exceeded", payload)
    if settings.action == "ask":
        return ask(reason)
    event.publish("tool.denied", {**payload, "by": ["rate_limit.check"], "reason": reason})
    return deny(reason)
