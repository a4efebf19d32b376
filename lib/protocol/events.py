"""The Claude Code hook events: names, matcher fields, blocking rules and input fields.

This table is the hot path's view of the protocol (stdlib only, checked in microseconds). The pydantic
models in :mod:`lib.protocol.models` describe the same fields for typed use; a unit test keeps the
two in step. Sources: the protocol reference, payloads captured from Claude Code 2.1.328 and the input schemas in
the 2.1.332 CLI (``PreSkillShellCommand``, ``PreModelSwitch``, ``PostModelSwitch``).

``permission`` marks the events whose answer is a permission decision the guards give (PreToolUse,
PreSkillShellCommand, PermissionRequest): there a call the runtime cannot judge is asked, never let
through (:mod:`lib.runtime`).
"""

from __future__ import annotations

__all__ = [
    "COMMON_FIELDS",
    "EVENTS",
    "EventSpec",
    "InputError",
    "check_fields",
]

# (field, accepted python types, required)
FieldSpec = tuple[str, tuple[type, ...], bool]

_STR = (str,)
_DICT = (dict,)
_LIST = (list,)
_BOOL = (bool,)
_INT = (int,)
_ANY = (object,)

COMMON_FIELDS: tuple[FieldSpec, ...] = (
    ("hook_event_name", _STR, True),
    ("session_id", _STR, True),
    ("transcript_path", _STR, False),
    ("cwd", _STR, False),
    ("permission_mode", _STR, False),
    ("prompt_id", _STR, False),
    ("effort", _DICT, False),
    ("agent_id", _STR, False),
    ("agent_type", _STR, False),
)


class EventSpec:
    """What the runtime needs to know about one event."""

    __slots__ = ("can_block", "fields", "matcher_field", "name", "permission")

    def __init__(
        self,
        name: str,
        *,
        matcher_field: str | None,
        can_block: bool,
        fields: tuple[FieldSpec, ...] = (),
        permission: bool = False,
    ) -> None:
        self.name = name
        self.matcher_field = matcher_field
        self.can_block = can_block
        self.fields = fields
        self.permission = permission


_TOOL = (("tool_name", _STR, True), ("tool_input", _DICT, True))
_MODEL_SWITCH = (("from_model", _STR, False), ("to_model", _STR, False), ("requested_model", _STR, False),
                 ("source", _STR, False))  # fmt: skip

EVENTS: dict[str, EventSpec] = {
    spec.name: spec
    for spec in (
        EventSpec("SessionStart", matcher_field="source", can_block=False,
                  fields=(("source", _STR, False), ("model", _STR, False), ("session_title", _STR, False))),
        EventSpec("Setup", matcher_field="trigger", can_block=False, fields=(("trigger", _STR, False),)),
        EventSpec("InstructionsLoaded", matcher_field="load_reason", can_block=False,
                  fields=(("file_path", _STR, False), ("memory_type", _STR, False), ("load_reason", _STR, False))),
        EventSpec("UserPromptSubmit", matcher_field=None, can_block=True, fields=(("prompt", _STR, True),)),
        EventSpec("UserPromptExpansion", matcher_field="command_name", can_block=True,
                  fields=(("command_name", _STR, False), ("prompt", _STR, False))),
        EventSpec("MessageDisplay", matcher_field=None, can_block=False, fields=(("delta", _STR, False),)),
        EventSpec("PreToolUse", matcher_field="tool_name", can_block=True, permission=True,
                  fields=(*_TOOL, ("tool_use_id", _STR, False))),
        EventSpec("PreSkillShellCommand", matcher_field="tool_name", can_block=True, permission=True,
                  fields=(*_TOOL, ("tool_use_id", _STR, False), ("command_name", _STR, False),
                          ("command_source", _STR, False), ("invoked_by", _STR, False))),
        EventSpec("PermissionRequest", matcher_field="tool_name", can_block=True, permission=True,
                  fields=(*_TOOL, ("permission_suggestions", _LIST, False))),
        EventSpec("PermissionDenied", matcher_field="tool_name", can_block=False,
                  fields=(*_TOOL, ("tool_use_id", _STR, False), ("reason", _STR, False))),
        EventSpec("PostToolUse", matcher_field="tool_name", can_block=True,
                  fields=(*_TOOL, ("tool_response", _ANY, False), ("tool_use_id", _STR, False),
                          ("duration_ms", _INT, False))),
        EventSpec("PostToolUseFailure", matcher_field="tool_name", can_block=False,
                  fields=(*_TOOL, ("tool_use_id", _STR, False), ("error", _STR, True),
                          ("is_interrupt", _BOOL, False), ("duration_ms", _INT, False))),
        EventSpec("PostToolBatch", matcher_field=None, can_block=True, fields=(("tool_calls", _LIST, True),)),
        EventSpec("Notification", matcher_field="notification_type", can_block=False,
                  fields=(("message", _STR, False), ("title", _STR, False), ("notification_type", _STR, False))),
        EventSpec("SubagentStart", matcher_field="agent_type", can_block=False),
        EventSpec("SubagentStop", matcher_field="agent_type", can_block=True,
                  fields=(("stop_hook_active", _BOOL, False), ("last_assistant_message", _STR, False))),
        EventSpec("TaskCreated", matcher_field=None, can_block=True,
                  fields=(("task_id", _STR, False), ("task_subject", _STR, False))),
        EventSpec("TaskCompleted", matcher_field=None, can_block=True,
                  fields=(("task_id", _STR, False), ("task_subject", _STR, False))),
        EventSpec("Stop", matcher_field=None, can_block=True,
                  fields=(("stop_hook_active", _BOOL, False), ("last_assistant_message", _STR, False),
                          ("background_tasks", _LIST, False), ("session_crons", _LIST, False))),
        EventSpec("StopFailure", matcher_field="error", can_block=False, fields=(("error", _STR, False),)),
        EventSpec("TeammateIdle", matcher_field=None, can_block=True),
        EventSpec("ConfigChange", matcher_field="source", can_block=True,
                  fields=(("source", _STR, False), ("file_path", _STR, False))),
        EventSpec("CwdChanged", matcher_field=None, can_block=False,
                  fields=(("old_cwd", _STR, False), ("new_cwd", _STR, False))),
        EventSpec("DirectoryAdded", matcher_field="source", can_block=False,
                  fields=(("directory", _STR, False), ("source", _STR, False))),
        EventSpec("FileChanged", matcher_field="file_path", can_block=False,
                  fields=(("file_path", _STR, False), ("event", _STR, False))),
        EventSpec("WorktreeCreate", matcher_field=None, can_block=True, fields=(("name", _STR, False),)),
        EventSpec("WorktreeRemove", matcher_field=None, can_block=False, fields=(("worktree_path", _STR, False),)),
        EventSpec("PreCompact", matcher_field="trigger", can_block=True,
                  fields=(("trigger", _STR, False), ("custom_instructions", _STR, False))),
        EventSpec("PostCompact", matcher_field="trigger", can_block=False,
                  fields=(("trigger", _STR, False), ("compact_summary", _STR, False))),
        EventSpec("PreModelSwitch", matcher_field="to_model", can_block=True, fields=_MODEL_SWITCH),
        EventSpec("PostModelSwitch", matcher_field="to_model", can_block=False, fields=_MODEL_SWITCH),
        EventSpec("SessionEnd", matcher_field="reason", can_block=False, fields=(("reason", _STR, False),)),
        EventSpec("Elicitation", matcher_field="mcp_server_name", can_block=True,
                  fields=(("mcp_server_name", _STR, False), ("message", _STR, False))),
        EventSpec("ElicitationResult", matcher_field="mcp_server_name", can_block=True,
                  fields=(("mcp_server_name", _STR, False), ("action", _STR, False))),
    )
}  # fmt: skip


class InputError(ValueError):
    """The hook's stdin is not a payload we can act on; the message is one line for stderr."""


def _type_name(types: tuple[type, ...]) -> str:
    names = {str: "a string", dict: "an object", list: "an array", bool: "a boolean", int: "an integer"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def check_fields(payload: dict[str, object], spec: EventSpec) -> None:
    """Raise :class:`InputError` naming the first missing or mistyped field of ``payload``."""
    for fields in (COMMON_FIELDS, spec.fields):
        for name, types, required in fields:
            value = payload.get(name)
            if value is None:
                if required:
                    raise InputError(f"{spec.name} payload is missing required field {name!r}")
                continue
            if types is _ANY:
                continue
            ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
            if not ok:
                raise InputError(
                    f"{spec.name} payload field {name!r} must be {_type_name(types)}, got {_json_type(value)}"
                )
