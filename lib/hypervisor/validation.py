"""Validation scripts: the only judge of whether a phase is done (exit code 0).

A relative ``validation_script`` is looked up first in the plan folder, then in the project
folder (the hypervisor's working directory, or ``--project-dir``). ``.py`` scripts run with the
hypervisor's Python, ``.sh`` with ``bash``, anything else directly (it must be executable) or,
when not executable, with ``sh``. The script runs in the project folder.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.hypervisor.checkpoints import ValidationRecord
from lib.hypervisor.plan import Phase
from lib.hypervisor.process import AttemptControl, read_tail, run_process

__all__ = ["ValidationOutcome", "missing_scripts", "resolve_script", "run_validation", "script_argv"]


def resolve_script(script: str, plan_dir: Path, project_dir: Path) -> Path | None:
    """Where ``script`` is: absolute as given; relative under the plan folder, else the project."""
    candidate = Path(script).expanduser()
    if candidate.is_absolute():
        return candidate if candidate.is_file() else None
    for base in (plan_dir, project_dir):
        path = base / candidate
        if path.is_file():
            return path.resolve()
    return None


def missing_scripts(phases: Sequence[Phase], plan_dir: Path, project_dir: Path) -> list[str]:
    """One message (file, field, where it was looked for) per phase whose validation script is missing."""
    return [
        f"{phase.path}: field 'validation_script': {phase.meta.validation_script!r} not found in "
        f"{plan_dir} or {project_dir}"
        for phase in phases
        if phase.meta.validation_script
        and resolve_script(phase.meta.validation_script, plan_dir, project_dir) is None
    ]


def script_argv(path: Path) -> list[str]:
    """The command that runs a validation script, chosen by its extension."""
    suffix = path.suffix.lower()
    if suffix == ".py":
        return [sys.executable, str(path)]
    if suffix in (".sh", ".bash"):
        return ["bash", str(path)]
    if os.access(path, os.X_OK):
        return [str(path)]
    return ["sh", str(path)]


def describe_validation(script: str | None, plan_dir: Path, project_dir: Path) -> str | None:
    """The validation command as a shell line (for prompts and dry runs), or ``None``."""
    if script is None:
        return None
    path = resolve_script(script, plan_dir, project_dir)
    if path is None:
        return f"{script} (not found in {plan_dir} or {project_dir})"
    return shlex.join(script_argv(path))


@dataclass(frozen=True)
class ValidationOutcome:
    """The result of validating one attempt."""

    passed: bool
    record: ValidationRecord
    error: str | None = None


def run_validation(
    script: str,
    *,
    plan_dir: Path,
    project_dir: Path,
    env: Mapping[str, str],
    output_path: Path,
    timeout: float | None,
    control: AttemptControl | None = None,
    kill_grace: float = 5.0,
) -> ValidationOutcome:
    """Run the phase's validation script; passed means exit code 0."""
    path = resolve_script(script, plan_dir, project_dir)
    if path is None:
        message = (
            f"validation script {script!r} not found (looked in {plan_dir} and {project_dir}); "
            "create it or fix `validation_script`"
        )
        return ValidationOutcome(False, ValidationRecord(script=script, tail=message), message)
    outcome = run_process(
        script_argv(path),
        cwd=project_dir,
        env=env,
        output_path=output_path,
        timeout=timeout,
        control=control,
        kill_grace=kill_grace,
    )
    digest = _digest(output_path)
    tail = read_tail(output_path)
    record = ValidationRecord(
        script=str(path),
        exit_code=outcome.exit_code,
        digest=digest,
        tail=tail,
        duration_s=round(outcome.duration_s, 3),
    )
    if outcome.start_error:
        return ValidationOutcome(False, record, f"validation: {outcome.start_error}")
    if outcome.cancelled:
        return ValidationOutcome(False, record, "validation interrupted")
    if outcome.timed_out:
        return ValidationOutcome(False, record, f"validation timed out after {timeout:g}s")
    if outcome.exit_code != 0:
        return ValidationOutcome(False, record, f"validation exited {outcome.exit_code}")
    return ValidationOutcome(True, record)


def _digest(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None
