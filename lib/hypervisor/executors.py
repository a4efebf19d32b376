"""Executors: what actually carries out a phase (agent delegation).

``claude`` runs the headless Claude Code CLI (``claude -p PROMPT --output-format json``) and reads
its final result object; ``shell`` runs the phase's ``command``. Both run through
:func:`lib.hypervisor.process.run_process` (own process group, wall-clock timeout, cancellation).
An executor reports an :class:`ExecutorResult`; the phase's validation script then decides.
"""

from __future__ import annotations

import os
import re
import shlex
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from lib.hypervisor.accounting import spend_from_result
from lib.hypervisor.plan import ClaudeOptions, Phase
from lib.hypervisor.process import AttemptControl, ProcessOutcome, read_tail, run_process
from lib.hypervisor.prompt import PromptInputs, build_prompt
from lib.plain_data import json_list, json_object

__all__ = [
    "AttemptContext",
    "ClaudeExecutor",
    "ExecutorResult",
    "Outcome",
    "ShellExecutor",
    "classify_claude_result",
    "find_result_object",
]

Outcome = Literal["success", "failed", "timeout", "transient", "interrupted", "error"]

# argv entries are limited to 128 KiB on Linux; longer prompts go through stdin.
_MAX_ARGV_PROMPT = 100_000


@dataclass(frozen=True)
class AttemptContext:
    """What one attempt of a phase needs to know."""

    plan_name: str
    phase: Phase
    attempt: int
    run_id: str
    plan_dir: Path
    project_dir: Path
    log_dir: Path
    env: Mapping[str, str]
    timeout: float | None
    validation_command: str | None = None
    previous_error: str | None = None
    previous_validation_output: str | None = None
    lessons: Sequence[str] = ()
    session_id: str | None = None
    kill_grace: float = 5.0
    budget_usd: float | None = None
    """What is left of the run's budget: the most this attempt may spend (``--max-budget-usd``)."""

    @property
    def output_path(self) -> Path:
        """Where the executor's output for this attempt is kept."""
        return self.log_dir / f"phase_{self.phase.id}.attempt-{self.attempt}.log"


@dataclass
class ExecutorResult:
    """How an executor's run of a phase ended.

    ``outcome``: ``success``; ``failed`` (the executor reported failure); ``timeout``;
    ``transient`` (API overload or rate limit: retried, not a phase failure); ``interrupted``
    (cancelled by the hypervisor); ``error`` (could not start).
    """

    outcome: Outcome
    exit_code: int | None
    duration_s: float
    summary: dict[str, Any] = field(default_factory=dict[str, Any])
    session_id: str | None = None
    cost_usd: float | None = None
    output_tail: str = ""
    error: str | None = None
    error_class: str | None = None
    spend: dict[str, Any] = field(default_factory=dict[str, Any])
    """Cost and tokens the executor reported (see :mod:`lib.hypervisor.accounting`)."""

    @property
    def ok(self) -> bool:
        """Whether the executor itself succeeded."""
        return self.outcome == "success"


def _common_result(
    outcome: ProcessOutcome, ctx: AttemptContext, control: AttemptControl
) -> ExecutorResult | None:
    """The result for start errors, cancellations and timeouts, or ``None`` to classify further."""
    tail = read_tail(outcome.output_path)
    if outcome.start_error:
        return ExecutorResult(
            "error",
            None,
            outcome.duration_s,
            output_tail=tail,
            error=outcome.start_error,
            error_class="start_error",
        )
    if outcome.cancelled:
        reason = control.reason or "interrupted"
        return ExecutorResult(
            "interrupted",
            outcome.exit_code,
            outcome.duration_s,
            output_tail=tail,
            error=reason,
            error_class="interrupted",
        )
    if outcome.timed_out:
        return ExecutorResult(
            "timeout",
            outcome.exit_code,
            outcome.duration_s,
            output_tail=tail,
            error=f"timed out after {ctx.timeout:g}s; the process group was killed",
            error_class="timeout",
        )
    return None


class ShellExecutor:
    """Runs the phase's ``command`` (a string for ``sh -c``, or an argv list) in the project folder."""

    name = "shell"

    def describe(self, ctx: AttemptContext) -> str:
        """The command as one shell line."""
        return shlex.join(self.command(ctx))

    def command(self, ctx: AttemptContext) -> list[str]:
        """``sh -c COMMAND`` or the argv list from the frontmatter."""
        command = ctx.phase.meta.command
        if command is None:
            raise ValueError(
                f"{ctx.phase.path}: field 'command': the shell executor needs a command; add `command:`"
            )
        if isinstance(command, str):
            return ["/bin/sh", "-c", command]
        return list(command)

    def run(self, ctx: AttemptContext, control: AttemptControl) -> ExecutorResult:
        """Run the command; exit code 0 is success."""
        try:
            argv = self.command(ctx)
        except ValueError as exc:
            return ExecutorResult("error", None, 0.0, error=str(exc), error_class="config_error")
        outcome = run_process(
            argv,
            cwd=ctx.project_dir,
            env=ctx.env,
            output_path=ctx.output_path,
            timeout=ctx.timeout,
            control=control,
            kill_grace=ctx.kill_grace,
        )
        common = _common_result(outcome, ctx, control)
        if common is not None:
            return common
        tail = read_tail(outcome.output_path)
        summary: dict[str, Any] = {"exit_code": outcome.exit_code, "log": str(ctx.output_path)}
        if outcome.exit_code == 0:
            return ExecutorResult("success", 0, outcome.duration_s, summary=summary, output_tail=tail)
        return ExecutorResult(
            "failed",
            outcome.exit_code,
            outcome.duration_s,
            summary=summary,
            output_tail=tail,
            error=f"command exited {outcome.exit_code}",
            error_class="exit_code",
        )


# -- claude ------------------------------------------------------------------------------------

_TRANSIENT = re.compile(
    r"overloaded|rate[ _-]?limit|too many requests|\b(429|529)\b|temporarily unavailable", re.IGNORECASE
)


def find_result_object(stdout: bytes) -> dict[str, Any] | None:
    """The final ``{"type": "result", ...}`` object printed by ``claude -p --output-format json``.

    The whole output is normally that one object; if other lines precede it (warnings, a
    ``stream-json`` transcript), the last line that parses as a result object wins.
    """
    text = stdout.strip()
    if not text:
        return None
    try:
        whole = orjson.loads(text)
    except orjson.JSONDecodeError:
        whole = None
    whole_object = json_object(whole)
    if whole_object is not None and whole_object.get("type") == "result":
        return whole_object
    for item in reversed(json_list(whole) or []):
        item_object = json_object(item)
        if item_object is not None and item_object.get("type") == "result":
            return item_object
    for line in reversed(text.splitlines()):
        line = line.strip()
        if not line.startswith(b"{"):
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        result = json_object(obj)
        if result is not None and result.get("type") == "result":
            return result
    return None


def classify_claude_result(result: dict[str, Any]) -> tuple[Outcome, str | None, str | None]:
    """``(outcome, error, error_class)`` for a result object (pure)."""
    subtype = str(result.get("subtype") or "")
    is_error = bool(result.get("is_error"))
    if not is_error and subtype == "success":
        return "success", None, None
    text = str(result.get("result") or "")
    status = result.get("api_error_status")
    if status in (429, 503, 529) or (is_error and _TRANSIENT.search(text)):
        return "transient", f"API overloaded or rate limited: {text[:300]}", "api_overloaded"
    if subtype and subtype != "success":
        return "failed", f"claude ended with {subtype}" + (f": {text[:300]}" if text else ""), subtype
    return "failed", f"claude reported an error: {text[:300]}", "claude_error"


def _result_summary(result: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for key in ("subtype", "is_error", "num_turns", "total_cost_usd", "duration_ms", "session_id"):
        if key in result:
            summary[key] = result[key]
    denials = json_list(result.get("permission_denials"))
    if denials is not None:
        summary["permission_denials"] = len(denials)
    text = result.get("result")
    if isinstance(text, str):
        summary["result"] = text[:500]
    return summary


@dataclass
class ClaudeExecutor:
    """Runs ``claude -p PROMPT --output-format json`` with the phase's options.

    ``defaults`` come from the command line; a phase's ``claude:`` frontmatter overrides them
    field by field. The hypervisor picks the session id (``--session-id``) so it can match the
    hook events of the session on the event bus.
    """

    defaults: ClaudeOptions = field(default_factory=ClaudeOptions)
    name: str = "claude"

    def options(self, phase: Phase) -> ClaudeOptions:
        """The effective options for ``phase``."""
        if phase.meta.claude is None:
            return self.defaults
        return phase.meta.claude.merged_over(self.defaults)

    def prompt(self, ctx: AttemptContext) -> str:
        """The prompt for this attempt."""
        meta = ctx.phase.meta
        return build_prompt(
            PromptInputs(
                plan_name=ctx.plan_name,
                phase_id=ctx.phase.id,
                title=ctx.phase.title,
                body=ctx.phase.body,
                attempt=ctx.attempt,
                validation_command=ctx.validation_command,
                previous_error=ctx.previous_error,
                previous_validation_output=ctx.previous_validation_output,
                recovery_plan=meta.recovery_plan,
                lessons=ctx.lessons,
            )
        )

    def _argv(self, ctx: AttemptContext, prompt: str | None) -> list[str]:
        opts = self.options(ctx.phase)
        binary = opts.binary or os.environ.get("HYPERVISOR_CLAUDE_BIN") or "claude"
        argv = [binary, "-p"]
        if prompt is not None:
            argv.append(prompt)
        argv += ["--output-format", "json"]
        if ctx.session_id:
            argv += ["--session-id", ctx.session_id]
        if opts.model:
            argv += ["--model", opts.model]
        if opts.permission_mode:
            argv += ["--permission-mode", opts.permission_mode]
        if opts.max_turns is not None:
            argv += ["--max-turns", str(opts.max_turns)]
        caps = [c for c in (opts.max_budget_usd, ctx.budget_usd) if c is not None]
        if caps:
            argv += ["--max-budget-usd", f"{min(caps):g}"]
        if opts.append_system_prompt:
            argv += ["--append-system-prompt", opts.append_system_prompt]
        # Variadic list options last, each as one comma-joined value, so they cannot swallow others.
        if opts.allowed_tools:
            argv += ["--allowedTools", ",".join(opts.allowed_tools)]
        if opts.disallowed_tools:
            argv += ["--disallowedTools", ",".join(opts.disallowed_tools)]
        if opts.extra_args:
            argv += list(opts.extra_args)
        return argv

    def command(self, ctx: AttemptContext) -> list[str]:
        """The argv, with the prompt in place (or read from stdin when it is too long for argv)."""
        prompt = self.prompt(ctx)
        return self._argv(ctx, prompt if len(prompt.encode()) <= _MAX_ARGV_PROMPT else None)

    def describe(self, ctx: AttemptContext) -> str:
        """The command as one shell line, the prompt shown as a placeholder (see ``--show-prompts``)."""
        prompt = self.prompt(ctx)
        in_argv = len(prompt.encode()) <= _MAX_ARGV_PROMPT
        argv = self._argv(ctx, prompt if in_argv else None)
        placeholder = f"<prompt of phase {ctx.phase.id}: {len(prompt)} chars{'' if in_argv else ' on stdin'}>"
        words = [shlex.quote(word) for word in argv]
        if in_argv:
            words[2] = placeholder  # the prompt follows ``-p``
        else:
            words.insert(2, placeholder)
        return " ".join(words)

    def run(self, ctx: AttemptContext, control: AttemptControl) -> ExecutorResult:
        """Run claude, then classify its final result object."""
        prompt = self.prompt(ctx)
        session_id = ctx.session_id or str(uuid.uuid4())
        if ctx.session_id is None:
            ctx = _with_session(ctx, session_id)
        in_argv = len(prompt.encode()) <= _MAX_ARGV_PROMPT
        argv = self._argv(ctx, prompt if in_argv else None)
        stderr_path = ctx.output_path.with_suffix(".stderr.log")
        outcome = run_process(
            argv,
            cwd=ctx.project_dir,
            env=ctx.env,
            output_path=ctx.output_path,
            stderr_path=stderr_path,
            timeout=ctx.timeout,
            control=control,
            stdin_data=None if in_argv else prompt.encode(),
            kill_grace=ctx.kill_grace,
        )
        common = _common_result(outcome, ctx, control)
        if common is not None:
            common.session_id = session_id
            if not common.output_tail:
                common.output_tail = read_tail(stderr_path)
            return common
        try:
            stdout = ctx.output_path.read_bytes()
        except OSError:
            stdout = b""
        stderr_tail = read_tail(stderr_path, 2000)
        result = find_result_object(stdout)
        if result is None:
            error = f"claude exited {outcome.exit_code} without a result object"
            if stderr_tail.strip():
                error += f": {stderr_tail.strip().splitlines()[-1][:300]}"
            transient = bool(_TRANSIENT.search(stderr_tail))
            return ExecutorResult(
                "transient" if transient else "failed",
                outcome.exit_code,
                outcome.duration_s,
                summary={"exit_code": outcome.exit_code},
                session_id=session_id,
                output_tail=stderr_tail or read_tail(ctx.output_path),
                error=error,
                error_class="api_overloaded" if transient else "no_result",
            )
        verdict, reason, error_class = classify_claude_result(result)
        summary = _result_summary(result)
        spend = spend_from_result(result)
        return ExecutorResult(
            verdict,
            outcome.exit_code,
            outcome.duration_s,
            summary=summary,
            session_id=str(result.get("session_id") or session_id),
            cost_usd=spend.get("cost_usd"),
            spend=spend,
            output_tail=str(result.get("result") or "")[-2000:],
            error=reason,
            error_class=error_class,
        )


def _with_session(ctx: AttemptContext, session_id: str) -> AttemptContext:
    from dataclasses import replace

    return replace(ctx, session_id=session_id)


def build_executors(
    claude_defaults: ClaudeOptions | None = None,
) -> dict[str, ShellExecutor | ClaudeExecutor]:
    """One executor of each kind, keyed by name."""
    return {"shell": ShellExecutor(), "claude": ClaudeExecutor(defaults=claude_defaults or ClaudeOptions())}
