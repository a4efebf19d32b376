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

from lib.hypervisor.options import (
    EXIT_INTERRUPTED,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    Mode,
    OrphanPolicy,
    RunOptions,
    RunUnavailable,
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


def _env_option(parser: argparse.ArgumentParser, flag: str, env: str, default: float, text: str) -> None:
    """A number option whose default the environment variable ``env`` may override: a whole number of
    at least 1 (``N``) when ``default`` is an int, else seconds, not negative (``S``)."""
    parse, metavar = (_positive_int, "N") if isinstance(default, int) else (_non_negative_float, "S")
    parser.add_argument(flag, type=parse, default=_env_number(env, default), metavar=metavar, help=text)


_CLAUDE_OPTIONS = ("binary", "model", "allowed_tools", "disallowed_tools", "permission_mode", "max_turns")
"""The ``ClaudeOptions`` fields the "claude executor" options set (their ``dest`` is the field's name)."""

_ASSUME_DONE_HELP = "phases outside the plan folder (named in depends_on) that were done elsewhere"


def _phase_list(
    parser: argparse.ArgumentParser | argparse._MutuallyExclusiveGroup,  # pyright: ignore[reportPrivateUsage]
    flag: str,
    text: str,
) -> None:
    """An option taking phase ids, space- or comma-separated, repeatable."""
    parser.add_argument(
        flag, metavar="PHASE", nargs="+", action="extend", type=_phase_ids, default=None, help=text
    )


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
    _phase_list(select, "--only", "run only these phases (ids, space- or comma-separated)")
    select.add_argument(
        "--from", dest="from_phase", metavar="PHASE", help="start at this phase of the execution order"
    )
    _env_option(
        run, "--max-parallel", "HYPERVISOR_MAX_PARALLEL", 4, "parallel mode: phases at once (default 4)"
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
    _env_option(
        run,
        "--max-attempts",
        "HYPERVISOR_MAX_ATTEMPTS",
        3,
        "failed attempts per phase before it fails (default 3)",
    )
    _env_option(
        run,
        "--backoff-base",
        "HYPERVISOR_BACKOFF_BASE",
        2.0,
        "first retry delay in seconds, doubled per retry (default 2)",
    )
    _env_option(run, "--backoff-max", "HYPERVISOR_BACKOFF_MAX", 60.0, "retry delay cap (default 60)")
    _env_option(
        run,
        "--breaker-threshold",
        "HYPERVISOR_BREAKER_THRESHOLD",
        5,
        "stop the run after N consecutive failed attempts (default 5)",
    )
    run.add_argument(
        "--timeout",
        type=_non_negative_float,
        default=None,
        metavar="S",
        help="wall-clock limit per attempt (default: none for shell, 3600 for claude)",
    )
    run.add_argument("--validation-timeout", type=_non_negative_float, default=600.0, metavar="S")
    _env_option(
        run,
        "--kill-grace",
        "HYPERVISOR_KILL_GRACE",
        5.0,
        "SIGTERM to SIGKILL delay when stopping a phase (default 5)",
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
    run.add_argument(
        "--orphans",
        choices=[p.value for p in OrphanPolicy],
        default=OrphanPolicy.KILL.value,
        help="--resume after a crash: kill (default) or wait for attempts still running from the dead run",
    )
    run.add_argument(
        "--no-worktrees",
        action="store_true",
        help="parallel mode: run Claude phases in the project folder instead of their own git worktrees",
    )
    _phase_list(run, "--assume-done", _ASSUME_DONE_HELP)
    run.add_argument(
        "--max-budget-usd",
        type=_non_negative_float,
        default=None,
        metavar="USD",
        help="cap on the whole run's cost (default: budget_usd in the plan); no attempt starts that could "
        "exceed it, and each claude call gets what is left as its own --max-budget-usd",
    )
    run.add_argument("--show-prompts", action="store_true", help="dry run: print each Claude prompt")
    run.add_argument("--quiet", action="store_true", help="print only the final summary")
    claude = run.add_argument_group("claude executor")
    claude.add_argument(
        "--claude-bin",
        dest="binary",
        metavar="CLAUDE_BIN",
        default=None,
        help="the claude executable (env HYPERVISOR_CLAUDE_BIN)",
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

    check = sub.add_parser("check", help="validate a plan and print its order and waves")
    check.add_argument("plan_dir", metavar="PLAN_DIR", type=Path)
    check.add_argument("--state-dir", type=Path, default=None)
    _phase_list(check, "--assume-done", _ASSUME_DONE_HELP)

    status = sub.add_parser("status", help="per phase: status, attempts, duration, last error, history")
    status.add_argument("plan_dir", metavar="PLAN_DIR", type=Path)
    status.add_argument("--state-dir", type=Path, default=None)
    _phase_list(status, "--assume-done", _ASSUME_DONE_HELP)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _given_phases(args: argparse.Namespace, dest: str) -> list[str]:
    """The phase ids given to a repeatable :func:`_phase_list` option (``dest``), in order."""
    groups: list[list[str]] = getattr(args, dest, None) or []
    return [p for group in groups for p in group]


def _load(plan_dir: Path, err: TextIO, args: argparse.Namespace | None = None) -> object:
    from lib.hypervisor.checkpoints import default_checkpoint_path, read_checkpoint
    from lib.hypervisor.plan import PlanInvalid, load_plan
    from lib.hypervisor.resume import pass_stamp

    assumed = set(_given_phases(args, "assume_done")) if args is not None else set[str]()
    state_dir = (getattr(args, "state_dir", None) if args is not None else None) or plan_dir / ".hypervisor"

    def done_elsewhere(phase_id: str) -> bool:
        if phase_id in assumed:
            return True
        read = read_checkpoint(default_checkpoint_path(state_dir, phase_id))
        return pass_stamp(read.checkpoint) is not None

    try:
        plan = load_plan(plan_dir, external_done=done_elsewhere)
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

    plan = _load(args.plan_dir, err, args)
    if not isinstance(plan, Plan):
        return EXIT_INVALID
    if args.command == "check":
        return _check(plan, out, err)
    if args.command == "status":
        return _status(plan, args, out)
    return _run(plan, args, out, err)


def _check(plan: object, out: TextIO, err: TextIO) -> int:
    from lib.hypervisor.plan import Plan
    from lib.hypervisor.validation import missing_scripts

    assert isinstance(plan, Plan)
    out.write(f"plan {plan.name!r}: {len(plan.phases)} phase(s), valid\n")
    out.write(f"order: {', '.join(plan.graph.order)}\n")
    for n, wave in enumerate(plan.graph.waves, start=1):
        out.write(f"wave {n}: {', '.join(wave)}\n")
    for problem in missing_scripts(plan.ordered(), plan.directory, Path.cwd()):
        err.write(f"hypervisor: warning: {problem}; `run` will not start until it exists\n")
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


def _options(args: argparse.Namespace, plan_budget: float | None = None) -> RunOptions:
    from lib.hypervisor.retry import RetryPolicy

    return RunOptions(
        mode=Mode(args.mode),
        project_dir=(args.project_dir or Path.cwd()).resolve(),
        state_dir=args.state_dir.resolve() if args.state_dir else None,
        resume=args.resume,
        only=tuple(_given_phases(args, "only")),
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
        budget_usd=args.max_budget_usd if args.max_budget_usd is not None else plan_budget,
        orphans=OrphanPolicy(args.orphans),
        worktrees=not args.no_worktrees,
        assume_done=tuple(_given_phases(args, "assume_done")),
    )


def _run(plan: object, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from lib.hypervisor.bridge import LearningLog
    from lib.hypervisor.checkpoints import CheckpointStore
    from lib.hypervisor.dry_run import dry_run
    from lib.hypervisor.executors import build_executors
    from lib.hypervisor.plan import ClaudeOptions, Plan
    from lib.hypervisor.progress import Progress
    from lib.hypervisor.report import print_report
    from lib.hypervisor.routing import FrontmatterSkillRouter
    from lib.hypervisor.runner import Runner

    assert isinstance(plan, Plan)
    options = _options(args, plan.budget_usd)
    claude_defaults = ClaudeOptions.model_validate({name: getattr(args, name) for name in _CLAUDE_OPTIONS})
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
            # Without Claude phases there are no hook events to listen to: a project without
            # Claude Code set up gets nothing created in it.
            mesh=open_mesh(
                options.project_dir,
                warn=_warner(err),
                own_dir=None if any(router.route(p).name == "claude" for p in plan.ordered()) else state_dir,
            ),
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
    print_report(report, out)
    return report.exit_code


def _warner(err: TextIO) -> Callable[[str], None]:
    def warn(text: str) -> None:
        err.write(f"hypervisor: warning: {text}\n")

    return warn
