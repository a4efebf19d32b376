"""Pydantic models of every Claude Code hook input (CLI 2.1.328 payloads and the protocol reference).

Unknown fields are kept, never rejected: Claude Code adds fields often (``prompt_id`` and ``effort``
arrived this way). ``parse_input`` picks the model by ``hook_event_name``; an event we do not know
yet parses as the permissive :class:`HookInput`.
"""

# Each event model narrows the frozen ``hook_event_name`` to its Literal; frozen fields cannot be
# reassigned, so the narrowing pyright's mutable-override rule warns about is sound here.
# pyright: reportIncompatibleVariableOverride=false

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["INPUT_MODELS", "HookInput", "parse_input"]


class Effort(BaseModel):
    """The model's effort level, on tool-context events."""

    model_config = ConfigDict(extra="allow", frozen=True)
    level: str


class HookInput(BaseModel):
    """Fields every event carries (``session_id``, ``hook_event_name``) and the common optional ones."""

    model_config = ConfigDict(extra="allow", frozen=True)

    hook_event_name: str
    session_id: str
    transcript_path: str | None = None
    cwd: str | None = None
    permission_mode: str | None = None
    prompt_id: str | None = None
    effort: Effort | None = None
    agent_id: str | None = None
    agent_type: str | None = None


class SessionStartInput(HookInput):
    hook_event_name: Literal["SessionStart"]
    source: str | None = None
    model: str | None = None
    session_title: str | None = None


class SetupInput(HookInput):
    hook_event_name: Literal["Setup"]
    trigger: str | None = None


class InstructionsLoadedInput(HookInput):
    hook_event_name: Literal["InstructionsLoaded"]
    file_path: str | None = None
    memory_type: str | None = None
    load_reason: str | None = None


class UserPromptSubmitInput(HookInput):
    hook_event_name: Literal["UserPromptSubmit"]
    prompt: str


class UserPromptExpansionInput(HookInput):
    hook_event_name: Literal["UserPromptExpansion"]
    command_name: str | None = None
    prompt: str | None = None


class MessageDisplayInput(HookInput):
    hook_event_name: Literal["MessageDisplay"]
    delta: str | None = None


class ToolInput(HookInput):
    """Base of the tool events: ``tool_name`` and ``tool_input``."""

    tool_name: str
    tool_input: dict[str, Any]


class PreToolUseInput(ToolInput):
    hook_event_name: Literal["PreToolUse"]
    tool_use_id: str | None = None


class PreSkillShellCommandInput(ToolInput):
    """An inline shell command (``!`cmd` ``) of a slash command or skill, before it runs (CLI 2.1.332).

    ``tool_name`` is the shell tool that runs it (``Bash`` or ``PowerShell``), ``tool_input.command``
    the command with its arguments filled in; answered like PreToolUse (``permissionDecision``)."""

    hook_event_name: Literal["PreSkillShellCommand"]
    tool_use_id: str | None = None
    command_name: str | None = None
    command_source: str | None = None
    invoked_by: str | None = None


class PermissionRequestInput(ToolInput):
    hook_event_name: Literal["PermissionRequest"]
    permission_suggestions: list[Any] | None = None


class PermissionDeniedInput(ToolInput):
    hook_event_name: Literal["PermissionDenied"]
    tool_use_id: str | None = None
    reason: str | None = None


class PostToolUseInput(ToolInput):
    hook_event_name: Literal["PostToolUse"]
    tool_response: Any = None
    tool_use_id: str | None = None
    duration_ms: int | None = None


class PostToolUseFailureInput(ToolInput):
    hook_event_name: Literal["PostToolUseFailure"]
    tool_use_id: str | None = None
    error: str
    is_interrupt: bool | None = None
    duration_ms: int | None = None


class ToolCall(BaseModel):
    """One call in a PostToolBatch; ``tool_response`` is the text the model saw."""

    model_config = ConfigDict(extra="allow", frozen=True)
    tool_name: str
    tool_input: dict[str, Any] = Field(default_factory=dict)
    tool_use_id: str | None = None
    tool_response: Any = None


class PostToolBatchInput(HookInput):
    hook_event_name: Literal["PostToolBatch"]
    tool_calls: list[ToolCall]


class NotificationInput(HookInput):
    hook_event_name: Literal["Notification"]
    message: str | None = None
    title: str | None = None
    notification_type: str | None = None


class SubagentStartInput(HookInput):
    hook_event_name: Literal["SubagentStart"]


class SubagentStopInput(HookInput):
    hook_event_name: Literal["SubagentStop"]
    stop_hook_active: bool | None = None
    last_assistant_message: str | None = None
    agent_transcript_path: str | None = None


class TaskInput(HookInput):
    """Base of the task events: the task's id, subject and description."""

    task_id: str | None = None
    task_subject: str | None = None
    task_description: str | None = None


class TaskCreatedInput(TaskInput):
    hook_event_name: Literal["TaskCreated"]


class TaskCompletedInput(TaskInput):
    hook_event_name: Literal["TaskCompleted"]


class StopInput(HookInput):
    hook_event_name: Literal["Stop"]
    stop_hook_active: bool | None = None
    last_assistant_message: str | None = None
    background_tasks: list[Any] | None = None
    session_crons: list[Any] | None = None


class StopFailureInput(HookInput):
    hook_event_name: Literal["StopFailure"]
    error: str | None = None
    error_details: str | None = None


class TeammateIdleInput(HookInput):
    hook_event_name: Literal["TeammateIdle"]


class ConfigChangeInput(HookInput):
    hook_event_name: Literal["ConfigChange"]
    source: str | None = None
    file_path: str | None = None


class CwdChangedInput(HookInput):
    hook_event_name: Literal["CwdChanged"]
    old_cwd: str | None = None
    new_cwd: str | None = None


class DirectoryAddedInput(HookInput):
    hook_event_name: Literal["DirectoryAdded"]
    directory: str | None = None
    source: str | None = None


class FileChangedInput(HookInput):
    hook_event_name: Literal["FileChanged"]
    file_path: str | None = None
    event: str | None = None


class WorktreeCreateInput(HookInput):
    hook_event_name: Literal["WorktreeCreate"]
    name: str | None = None


class WorktreeRemoveInput(HookInput):
    hook_event_name: Literal["WorktreeRemove"]
    worktree_path: str | None = None


class PreCompactInput(HookInput):
    hook_event_name: Literal["PreCompact"]
    trigger: str | None = None
    custom_instructions: str | None = None


class PostCompactInput(HookInput):
    hook_event_name: Literal["PostCompact"]
    trigger: str | None = None
    compact_summary: str | None = None


class ModelSwitchInput(HookInput):
    """Base of the model-switch events: the model before, after and as requested, and who asked."""

    from_model: str | None = None
    to_model: str | None = None
    requested_model: str | None = None
    source: str | None = None


class PreModelSwitchInput(ModelSwitchInput):
    hook_event_name: Literal["PreModelSwitch"]


class PostModelSwitchInput(ModelSwitchInput):
    hook_event_name: Literal["PostModelSwitch"]


class SessionEndInput(HookInput):
    hook_event_name: Literal["SessionEnd"]
    reason: str | None = None


class ElicitationInput(HookInput):
    hook_event_name: Literal["Elicitation"]
    mcp_server_name: str | None = None
    message: str | None = None


class ElicitationResultInput(HookInput):
    hook_event_name: Literal["ElicitationResult"]
    mcp_server_name: str | None = None
    action: str | None = None


INPUT_MODELS: dict[str, type[HookInput]] = {
    cls.model_fields["hook_event_name"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in (
        SessionStartInput, SetupInput, InstructionsLoadedInput, UserPromptSubmitInput,
        UserPromptExpansionInput, MessageDisplayInput, PreToolUseInput, PreSkillShellCommandInput,
        PermissionRequestInput, PreModelSwitchInput, PostModelSwitchInput,
        PermissionDeniedInput, PostToolUseInput, PostToolUseFailureInput, PostToolBatchInput,
        NotificationInput, SubagentStartInput, SubagentStopInput, TaskCreatedInput, TaskCompletedInput,
        StopInput, StopFailureInput, TeammateIdleInput, ConfigChangeInput, CwdChangedInput,
        DirectoryAddedInput, FileChangedInput, WorktreeCreateInput, WorktreeRemoveInput, PreCompactInput,
        PostCompactInput, SessionEndInput, ElicitationInput, ElicitationResultInput,
    )
}  # fmt: skip


def parse_input(payload: dict[str, Any]) -> HookInput:
    """Validate ``payload`` into the model of its ``hook_event_name`` (unknown events: ``HookInput``)."""
    model = INPUT_MODELS.get(str(payload.get("hook_event_name")), HookInput)
    return model.model_validate(payload)
