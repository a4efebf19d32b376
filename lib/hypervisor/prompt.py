"""The prompt a phase gives Claude: the phase's instructions plus what earlier attempts taught.

Pure text assembly, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["PromptInputs", "build_prompt"]


@dataclass(frozen=True)
class PromptInputs:
    """Everything a phase prompt is built from."""

    plan_name: str
    phase_id: str
    title: str
    body: str
    attempt: int = 1
    validation_command: str | None = None
    previous_error: str | None = None
    previous_validation_output: str | None = None
    recovery_plan: str | None = None
    lessons: Sequence[str] = field(default_factory=tuple)


def build_prompt(inputs: PromptInputs) -> str:
    """The full prompt for one attempt of a phase."""
    parts = [
        f"You are executing phase {inputs.phase_id} ({inputs.title}) of the plan "
        f"{inputs.plan_name!r}. Carry out the phase instructions below completely, in the "
        "current working directory.",
    ]
    if inputs.validation_command:
        parts.append(
            "The phase counts as done only when this validation command exits 0: "
            f"`{inputs.validation_command}`. Run it yourself before you finish and fix what it reports."
        )
    parts.append("## Phase instructions\n\n" + inputs.body.strip())
    if inputs.attempt > 1:
        retry = [f"## This is attempt {inputs.attempt}: the previous attempt failed"]
        if inputs.previous_error:
            retry.append(f"Reason: {inputs.previous_error}")
        if inputs.previous_validation_output:
            retry.append(
                "Output of the validation on the previous attempt (fix what it reports):\n\n```\n"
                + inputs.previous_validation_output.strip()
                + "\n```"
            )
        if inputs.recovery_plan:
            retry.append(f"The plan's recovery plan for this phase: {inputs.recovery_plan}")
        parts.append("\n\n".join(retry))
    if inputs.lessons:
        parts.append(
            "## Lessons from earlier failures of this phase\n\n"
            + "\n".join(f"- {lesson}" for lesson in inputs.lessons)
        )
    return "\n\n".join(parts) + "\n"
