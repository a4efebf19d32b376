"""What a handler answers, how answers combine, and the one JSON object printed for Claude Code.

Handlers return an :class:`Outcome` built with the helpers below (or ``None`` for no opinion).
Several outcomes for one event merge with Claude Code's own rules: permission decisions by
precedence deny > defer > ask > allow, additional contexts and system messages concatenated, any
block or ``continue: false`` wins. :func:`render` then emits only the fields the event honours, always
with ``hookSpecificOutput.hookEventName``, and never the deprecated top-level approve/block of
PreToolUse.
"""

from __future__ import annotations

__all__ = [
    "PRECEDENCE",
    "Outcome",
    "allow",
    "ask",
    "block",
    "context",
    "defer",
    "deny",
    "merge",
    "render",
    "stop",
    "system_message",
]

#: Higher wins when several handlers decide on one tool call.
PRECEDENCE = {"allow": 1, "ask": 2, "defer": 3, "deny": 4}


class Outcome:
    """One handler's answer. Build it with :func:`deny`, :func:`context`, ... and combine with ``|``."""

    __slots__ = (
        "additional_context",
        "block_reason",
        "permission",
        "permission_reason",
        "stop_reason",
        "system_messages",
        "updated_input",
    )

    def __init__(
        self,
        *,
        permission: str | None = None,
        permission_reason: str | None = None,
        updated_input: dict[str, object] | None = None,
        additional_context: tuple[str, ...] = (),
        block_reason: str | None = None,
        stop_reason: str | None = None,
        system_messages: tuple[str, ...] = (),
    ) -> None:
        if permission is not None and permission not in PRECEDENCE:
            raise ValueError(f"permission must be one of {sorted(PRECEDENCE)}, got {permission!r}")
        self.permission = permission
        self.permission_reason = permission_reason
        self.updated_input = updated_input
        self.additional_context = additional_context
        self.block_reason = block_reason
        self.stop_reason = stop_reason
        self.system_messages = system_messages

    def __or__(self, other: Outcome) -> Outcome:
        return merge((self, other))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Outcome):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self) -> str:
        fields = ", ".join(f"{s}={getattr(self, s)!r}" for s in self.__slots__ if getattr(self, s))
        return f"Outcome({fields})"

    @property
    def is_empty(self) -> bool:
        """True when the outcome says nothing at all."""
        return not any(getattr(self, s) for s in self.__slots__)

    @property
    def stops(self) -> bool:
        """True when the outcome asks Claude Code to stop (``continue: false``)."""
        return self.stop_reason is not None


def allow(reason: str | None = None, *, updated_input: dict[str, object] | None = None) -> Outcome:
    """Approve the tool call (PreToolUse) or the permission request; optionally rewrite its input."""
    return Outcome(permission="allow", permission_reason=reason, updated_input=updated_input)


def deny(reason: str) -> Outcome:
    """Refuse the tool call; ``reason`` is shown to Claude, so say what to do instead."""
    return Outcome(permission="deny", permission_reason=reason)


def ask(reason: str) -> Outcome:
    """Have Claude Code ask the user; ``reason`` is shown to the user."""
    return Outcome(permission="ask", permission_reason=reason)


def defer(reason: str | None = None) -> Outcome:
    """Leave the decision to the calling program (``-p`` mode with a single tool call)."""
    return Outcome(permission="defer", permission_reason=reason)


def context(text: str) -> Outcome:
    """Add ``text`` to Claude's context next to the prompt, tool result or session start."""
    return Outcome(additional_context=(text,))


def block(reason: str) -> Outcome:
    """Block the event's action (prompt, stop, compaction, post-tool feedback) with ``reason``."""
    return Outcome(block_reason=reason)


def stop(reason: str) -> Outcome:
    """Stop Claude after this hook (``continue: false``); ``reason`` is shown to the user."""
    return Outcome(stop_reason=reason)


def system_message(text: str) -> Outcome:
    """Show ``text`` to the user as a warning line."""
    return Outcome(system_messages=(text,))


def _join(parts: list[str], sep: str) -> str | None:
    return sep.join(parts) if parts else None


def merge(outcomes: tuple[Outcome, ...] | list[Outcome]) -> Outcome:
    """Combine outcomes as Claude Code combines parallel hooks (see the module docstring)."""
    permission: str | None = None
    reasons: list[str] = []
    updated: dict[str, object] | None = None
    contexts: list[str] = []
    blocks: list[str] = []
    stops: list[str] = []
    messages: list[str] = []
    for o in outcomes:
        if o.permission is not None:
            if permission is None or PRECEDENCE[o.permission] > PRECEDENCE[permission]:
                permission, reasons = o.permission, []
                updated = None
            if o.permission == permission:
                if o.permission_reason:
                    reasons.append(o.permission_reason)
                if o.updated_input is not None:
                    updated = o.updated_input
        contexts.extend(o.additional_context)
        if o.block_reason is not None:
            blocks.append(o.block_reason)
        if o.stop_reason is not None:
            stops.append(o.stop_reason)
        messages.extend(o.system_messages)
    return Outcome(
        permission=permission,
        permission_reason=_join(reasons, "; "),
        updated_input=updated if permission == "allow" else None,
        additional_context=tuple(contexts),
        block_reason=_join(blocks, "\n"),
        stop_reason=_join(stops, "; ") if stops else None,
        system_messages=tuple(messages),
    )


# Events whose hookSpecificOutput.additionalContext Claude Code reads.
_CONTEXT_EVENTS = frozenset(
    {
        "SessionStart", "Setup", "SubagentStart", "UserPromptSubmit", "UserPromptExpansion",
        "PreToolUse", "PostToolUse", "PostToolUseFailure", "PostToolBatch", "Stop", "SubagentStop",
        "PostModelSwitch",
    }
)  # fmt: skip
# Events answered with ``hookSpecificOutput.permissionDecision`` (+ reason): PreToolUse's shape.
# ``updatedInput`` only on PreToolUse (the CLI refuses a rewritten skill command or model switch).
_DECISION_EVENTS = frozenset({"PreToolUse", "PreSkillShellCommand", "PreModelSwitch"})
# Events that honour a top-level ``decision: "block"`` + ``reason``.
_BLOCK_EVENTS = frozenset(
    {
        "UserPromptSubmit", "UserPromptExpansion", "PostToolUse", "PostToolBatch", "Stop",
        "SubagentStop", "TaskCreated", "ConfigChange", "PreCompact",
    }
)  # fmt: skip


def render(event_name: str, outcome: Outcome) -> tuple[dict[str, object] | None, list[str]]:
    """Return the JSON object to print for ``event_name`` (``None``: print nothing) and warnings.

    Warnings name fields a handler set that this event does not honour (they are dropped).
    """
    out: dict[str, object] = {}
    specific: dict[str, object] = {}
    warnings: list[str] = []
    block_reason = outcome.block_reason

    if outcome.permission is not None:
        if event_name in _DECISION_EVENTS:
            specific["permissionDecision"] = outcome.permission
            if outcome.permission_reason:
                specific["permissionDecisionReason"] = outcome.permission_reason
            if outcome.updated_input is not None and outcome.permission == "allow":
                if event_name == "PreToolUse":
                    specific["updatedInput"] = outcome.updated_input
                else:
                    warnings.append(f"{event_name} cannot change its input; dropped updatedInput")
        elif event_name == "PermissionRequest":
            if outcome.permission == "allow":
                decision: dict[str, object] = {"behavior": "allow"}
                if outcome.updated_input is not None:
                    decision["updatedInput"] = outcome.updated_input
                specific["decision"] = decision
            elif outcome.permission == "deny":
                specific["decision"] = {"behavior": "deny", "message": outcome.permission_reason or "denied"}
            # ask/defer: no decision, Claude Code shows its normal prompt
        else:
            warnings.append(f"{event_name} has no permission decision; dropped {outcome.permission!r}")

    if block_reason is not None:
        if event_name in _DECISION_EVENTS:
            if outcome.permission != "deny":
                specific["permissionDecision"] = "deny"
                specific["permissionDecisionReason"] = block_reason
        elif event_name in _BLOCK_EVENTS:
            out["decision"] = "block"
            out["reason"] = block_reason
        else:
            warnings.append(f"{event_name} cannot be blocked; dropped block reason")

    if outcome.additional_context:
        if event_name in _CONTEXT_EVENTS:
            specific["additionalContext"] = "\n\n".join(outcome.additional_context)
        else:
            warnings.append(f"{event_name} takes no additionalContext; dropped it")

    if outcome.stop_reason is not None:
        out["continue"] = False
        out["stopReason"] = outcome.stop_reason
    if outcome.system_messages:
        out["systemMessage"] = "\n".join(outcome.system_messages)
    if specific:
        out["hookSpecificOutput"] = {"hookEventName": event_name, **specific}
    return (out or None), warnings
