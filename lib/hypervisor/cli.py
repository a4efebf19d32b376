"""``python -m lib.hypervisor``: run a plan, check it, or show its status.

Exit codes: 0 every selected phase passed; 1 a phase failed (or phases were not run because of a
failure or the circuit breaker); 2 the plan or the command line is invalid (nothing ran);
3 the run could not start (another hypervisor holds the plan); 130 interrupted (Ctrl-C, SIGTERM,
or ``quit`` in interactive mode).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TextIO, TypeVar, cast

from lib.hypervisor.runner import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    Mode,
    RunOptions,
    RunReport,
)

__all__ = ["build_parser", "main"]


Number = TypeVar("Number", int, float)

_ENV_EXPECTED = {
    int: "an integer; unset it or give a whole number",
    float: "a number; unset it or give seconds",
}


def _env_number(name: str, default: Number) -> Number:
    """The environment variable ``name`` read as the type of ``default`` (an int or a float);
    ``default`` when it is unset or blank."""
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    try:
        return type(default)(value)
    except ValueError:
        raise SystemExit(f"hypervisor: {name}={value!r} is not {_ENV_EXPECTED[type(default)]}") from None


def _number_type(
    convert: Callable[[str], Number], expected: str, low: Number, too_low: str
) -> Callable[[str], Number]:
    """An argparse ``type``: ``convert`` the text, refusing what is not ``expected`` or is below ``low``."""

    def parse(text: str) -> Number:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {expected}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r} {too_low}")
        return value

    return parse


_positive_int = _number_type(int, "a whole number", 1, "must be at least 1")
_non_negative_float = _number_type(float, "a number of seconds", 0.0, "must not be negative")


def _phase_ids(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``run``, ``check``, ``status``)."""
    parser = argparse.ArgumentParser(
        prog="python -m lib.hypervisor",
        description="Run a plan of Markdown phase files in dependency order, validated and checkpointed.",
        epilog="Exit codes: 0 all passed, 1 some failed, 2 invalid plan or usage, 3 plan busy, 130 interrupted. "
        "See docs/hypervisor.md.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,check,status}")

    run = sub.add_parser("run", help="run the phases of a plan")
    run.add_argument("plan_dir", metavar="PLAN_DIR", type=Path, help="folder of phase files")
    run.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.SEQUENTIAL.value)
    run.add_argument("--resume", action="store_true", help="skip phases whose checkpoint says passed")
    select = run.add_mutually_exclusive_group()
    select.add_argument(
        "--only",
        metavar="PHASE",
        nargs="+",
        action="extend",
        type=_phase_ids,
        default=None,
        help="run only these phases (ids, space- or comma-separated)",
    )
    select.add_argument(
        "--from", dest="from_phase", metavar="PHASE", help="start at this phase of the execution order"
    )
    run.add_argument(
        "--max-parallel",
        type=_positive_int,
        default=_env_number("HYPERVISOR_MAX_PARALLEL", 4),
        metavar="N",
        help="parallel mode: phases at once (default 4)",
    )
    run.add_argument(
        "--keep-going",
        action="store_true",
        help="after a failure, still run every phase whose dependencies passed",
    )
    run.add_argument(
        "--executor",
        choices=["claude", "shell"],
        default=None,
        help="executor for phases whose frontmatter names none "
        "(default: shell if the phase has a command, else claude)",
    )
    run.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        help="where executors and validation scripts run (default: current folder)",
    )
    run.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="checkpoints, logs and the learning log (default: PLAN_DIR/.hypervisor)",
    )
    run.add_argument(
        "--max-attempts",
        type=_positive_int,
        default=_env_number("HYPERVISOR_MAX_ATTEMPTS", 3),
        metavar="N",
        help="failed attempts per phase before it fails (default 3)",
    )
    run.add_argument(
        "--backoff-base",
        type=_non_negative_float,
        metavar="S",
        default=_env_number("HYPERVISOR_BACKOFF_BASE", 2.0),
        help="first retry delay in seconds, doubled per retry (default 2)",
    )
    run.add_argument(
        "--backoff-max",
        type=_non_negative_float,
        metavar="S",
        default=_env_number("HYPERVISOR_BACKOFF_MAX", 60.0),
        help="retry delay cap (default 60)",
    )
    run.add_argument(
        "--breaker-threshold",
        type=_positive_int,
        metavar="N",
        default=_env_number("HYPERVISOR_BREAKER_THRESHOLD", 5),
        help="stop the run after N consecutive failed attempts (default 5)",
    )
    run.add_argument(
        "--timeout",
        type=_non_negative_float,
        default=None,
        metavar="S",
        help="wall-clock limit per attempt (default: none for shell, 3600 for claude)",
    )
    run.add_argument("--validation-timeout", type=_non_negative_float, default=600.0, metavar="S")
    run.add_argument(
        "--kill-grace",
        type=_non_negative_float,
        metavar="S",
        default=_env_number("HYPERVISOR_KILL_GRACE", 5.0),
        help="SIGTERM to SIGKILL delay when stopping a phase (default 5)",
    )
    run.add_argument(
        "--no-sequential-fallback",
        action="store_true",
        help="parallel mode: keep running in parallel after a failure",
    )
    run.add_argument(
        "--session-breaker-limit",
        type=int,
        default=3,
        metavar="N",
        help="stop a Claude session after N circuit breakers opened in it (0: never)",
    )
    run.add_argument("--show-prompts", action="store_true", help="dry run: print each Claude prompt")
    run.add_argument("--quiet", action="store_true", help="print only the final summary")
    claude = run.add_argument_group("claude executor")
    claude.add_argument(
        "--claude-bin", default=None, help="the claude executable (env HYPERVISOR_CLAUDE_BIN)"
    )
    claude.add_argument("--model", default=None)
    claude.add_argument("--allowed-tools", default=None, help="comma-separated, passed as --allowedTools")
    claude.add_argument(
        "--disallowed-tools", default=None, help="comma-separated, passed as --disallowedTools"
    )
    claude.add_argument(
        "--permission-mode",
        default=None,
        choices=["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto"],
    )
    claude.add_argument("--max-turns", type=_positive_int, default=None)
    claude.add_argument("--max-budget-usd", type=float, default=None)

    check = sub.add_parser("check", help="validate a plan and print its order and waves")
    check.add_argument("plan_dir", metavar="PLAN_DIR", type=Path)

    status = sub.add_parser("status", help="per phase: status, attempts, duration, last error, history")
    status.add_argument("plan_dir", metavar="PLAN_DIR", type=Path)
    status.add_argument("--state-dir", type=Path, default=None)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _load(plan_dir: Path, err: TextIO) -> object:
    from lib.hypervisor.plan import PlanInvalid, load_plan

    try:
        plan = load_plan(plan_dir)
    except PlanInvalid as exc:
        err.write(f"hypervisor: the plan in {plan_dir} is invalid ({len(exc.errors)} problem(s)):\n")
        for error in exc.errors:
            err.write(f"  error: {error}\n")
        for warning in exc.warnings:
            err.write(f"  warning: {warning}\n")
        return None
    for warning in plan.warnings:
        err.write(f"hypervisor: warning: {warning}\n")
    return plan


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Entry point; returns the exit code."""
    out = out or cast(TextIO, sys.stdout)
    err = err or cast(TextIO, sys.stderr)
    args = build_parser().parse_args(argv)
    try:
        return _main(args, out, err)
    except KeyboardInterrupt:
        err.write("hypervisor: interrupted\n")
        return EXIT_INTERRUPTED


def _main(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lib.hypervisor.plan import Plan

    plan = _load(args.plan_dir, err)
    if not isinstance(plan, Plan):
        return EXIT_INVALID
    if args.command == "check":
        return _check(plan, out, err)
    if args.command == "status":
        return _status(plan, args, out)
    return _run(plan, args, out, err)


def _check(plan: object, out: TextIO, err: TextIO) -> int:
    from lib.hypervisor.plan import Plan
    from lib.hypervisor.validation import resolve_script

    assert isinstance(plan, Plan)
    out.write(f"plan {plan.name!r}: {len(plan.phases)} phase(s), valid\n")
    out.write(f"order: {', '.join(plan.graph.order)}\n")
    for n, wave in enumerate(plan.graph.waves, start=1):
        out.write(f"wave {n}: {', '.join(wave)}\n")
    project = Path.cwd()
    for phase in plan.ordered():
        script = phase.meta.validation_script
        if script and resolve_script(script, plan.directory, project) is None:
            err.write(
                f"hypervisor: warning: {phase.path}: field 'validation_script': {script!r} not found in "
                f"{plan.directory} or {project}; the phase will fail until it exists\n"
            )
    return EXIT_OK


def _status(plan: object, args: argparse.Namespace, out: TextIO) -> int:
    import orjson

    from lib.hypervisor.plan import Plan
    from lib.hypervisor.status import collect_status, print_status

    assert isinstance(plan, Plan)
    state_dir = args.state_dir or plan.directory / ".hypervisor"
    rows, summary = collect_status(plan, state_dir)
    if args.json:
        payload = {**summary, "phases": [r.as_dict() for r in rows]}
        out.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        print_status(rows, summary, out)
    return EXIT_OK


def _options(args: argparse.Namespace) -> RunOptions:
    from lib.hypervisor.retry import RetryPolicy

    return RunOptions(
        mode=Mode(args.mode),
        project_dir=(args.project_dir or Path.cwd()).resolve(),
        state_dir=args.state_dir.resolve() if args.state_dir else None,
        resume=args.resume,
        only=tuple(p for group in (args.only or []) for p in group),
        from_phase=args.from_phase,
        max_parallel=args.max_parallel,
        keep_going=args.keep_going,
        retry=RetryPolicy(
            max_attempts=args.max_attempts,
            base_delay=args.backoff_base,
            max_delay=max(args.backoff_max, args.backoff_base),
        ),
        breaker_threshold=args.breaker_threshold,
        phase_timeout=args.timeout or None,
        validation_timeout=args.validation_timeout,
        kill_grace=args.kill_grace,
        sequential_fallback=not args.no_sequential_fallback,
        session_breaker_limit=args.session_breaker_limit,
    )


def _run(plan: object, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lib.hypervisor.bridge import LearningLog
    from lib.hypervisor.checkpoints import CheckpointStore
    from lib.hypervisor.dry_run import dry_run
    from lib.hypervisor.executors import build_executors
    from lib.hypervisor.plan import ClaudeOptions, Plan
    from lib.hypervisor.progress import Progress
    from lib.hypervisor.routing import FrontmatterSkillRouter
    from lib.hypervisor.runner import Runner, RunUnavailable

    assert isinstance(plan, Plan)
    options = _options(args)
    claude_defaults = ClaudeOptions(
        binary=args.claude_bin,
        model=args.model,
        allowed_tools=args.allowed_tools,
        disallowed_tools=args.disallowed_tools,
        permission_mode=args.permission_mode,
        max_turns=args.max_turns,
        max_budget_usd=args.max_budget_usd,
    )
    router = FrontmatterSkillRouter(build_executors(claude_defaults), default=args.executor)
    try:
        if options.mode is Mode.DRY_RUN:
            return dry_run(plan, options, router, out, show_prompts=args.show_prompts)
        from lib.hypervisor.events import open_mesh

        state_dir = options.resolved_state_dir(plan.directory)
        runner = Runner(
            plan,
            options,
            router=router,
            memory=CheckpointStore(plan.directory, state_dir),
            mesh=open_mesh(options.project_dir, warn=_warner(err)),
            learning=LearningLog(state_dir / "learning.jsonl"),
            progress=Progress(out, err, quiet=args.quiet),
        )
        runner.prepare()
    except ValueError as exc:
        err.write(f"hypervisor: {exc}\n")
        return EXIT_INVALID
    try:
        report = runner.run()
    except RunUnavailable as exc:
        err.write(f"hypervisor: {exc}\n")
        return EXIT_UNAVAILABLE
    except OSError as exc:
        err.write(f"hypervisor: cannot write the run state: {exc}; check --state-dir is writable\n")
        return EXIT_UNAVAILABLE
    _print_report(report, out)
    return report.exit_code


def _warner(err: TextIO) -> Callable[[str], None]:
    def warn(text: str) -> None:
        err.write(f"hypervisor: warning: {text}\n")

    return warn


def _print_report(report: RunReport, out: TextIO) -> None:
    from lib.hypervisor.progress import format_duration

    out.write(
        f"\nrun {report.run_id}: {report.status}" + (f" ({report.reason})" if report.reason else "") + "\n"
    )
    width = max((len(p) for p in report.phases), default=5)
    for phase_id, phase in report.phases.items():
        line = f"  {phase_id.ljust(width)}  {phase.status}"
        if phase.attempts:
            line += f", {phase.attempts} attempt(s), {format_duration(phase.duration_s)}"
        if phase.error:
            line += f": {' '.join(phase.error.split())[:200]}"
        out.write(line + "\n")
    out.write(f"exit code {report.exit_code}\n")
