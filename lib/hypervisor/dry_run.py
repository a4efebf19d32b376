"""Dry runs: print the exact order, the waves and every command, and write nothing.

Reads checkpoints (to say what ``--resume`` would skip) but never creates a file or a folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from lib.hypervisor.bridge import LearningLog, lessons_for
from lib.hypervisor.checkpoints import CheckpointStore
from lib.hypervisor.executors import AttemptContext, ClaudeExecutor
from lib.hypervisor.options import RunOptions, select_phases
from lib.hypervisor.plan import Plan
from lib.hypervisor.resume import input_digest, plan_resume
from lib.hypervisor.routing import FrontmatterSkillRouter
from lib.hypervisor.validation import describe_validation

__all__ = ["dry_run"]


def dry_run(
    plan: Plan,
    options: RunOptions,
    router: FrontmatterSkillRouter,
    out: TextIO,
    *,
    show_prompts: bool = False,
) -> int:
    """Describe the run ``options`` would make; returns the exit code (0)."""
    selected = select_phases(plan, options.only, options.from_phase)
    selected_set = set(selected)
    state_dir = options.resolved_state_dir(plan.directory)
    store = CheckpointStore(plan.directory, state_dir)
    graph = plan.graph
    w = out.write
    w(
        f"Plan {plan.name!r} ({plan.directory}): {len(plan.phases)} phases, {len(graph.waves)} waves; "
        f"{len(selected)} selected. Dry run: nothing is run or written.\n"
    )
    w(f"Order (sequential and interactive modes): {', '.join(selected)}\n")
    w(f"Waves (parallel mode, at most {max(1, options.max_parallel)} at once):\n")
    for n, wave in enumerate(graph.waves, start=1):
        members = [p for p in wave if p in selected_set]
        if not members:
            continue
        groups: dict[str, list[str]] = {}
        for p in members:
            group = plan.phases[p].meta.parallel_group
            if group is not None:
                groups.setdefault(group, []).append(p)
        extra = "".join(f"  [parallel_group {g}: {', '.join(m)}]" for g, m in groups.items())
        w(f"  wave {n}: {', '.join(members)}{extra}\n")
    w("\n")
    reads = {p: store.load(plan.phases[p]) for p in graph.order}
    digests = {p: input_digest(plan.phases[p], plan.directory, options.project_dir) for p in graph.order}
    decision = plan_resume(plan, selected, reads, digests, resume=True)
    history = LearningLog(state_dir / "learning.jsonl").events(plan.name)
    would_skip = 0
    for phase_id in selected:
        phase = plan.phases[phase_id]
        meta = phase.meta
        engine = router.route(phase)
        ctx = AttemptContext(
            plan_name=plan.name,
            phase=phase,
            attempt=1,
            run_id="<run-id>",
            plan_dir=plan.directory,
            project_dir=options.project_dir,
            log_dir=state_dir / "logs",
            env={},
            timeout=None,
            validation_command=describe_validation(
                meta.validation_script, plan.directory, options.project_dir
            ),
            session_id="<new-session-uuid>" if engine.name == "claude" else None,
            lessons=lessons_for(history, phase_id),
            budget_usd=options.budget_usd,
        )
        deps = ", ".join(meta.depends_on) or "none"
        w(f"phase {phase_id}: {phase.title}  ({phase.path.name})\n")
        info = f"  depends on {deps} · wave {graph.wave_of[phase_id]} · executor {engine.name}"
        if meta.parallel_group:
            info += f" · parallel_group {meta.parallel_group}"
        timeout = (
            meta.timeout
            or options.phase_timeout
            or (options.claude_timeout if engine.name == "claude" else None)
        )
        info += f" · timeout {f'{timeout:g}s' if timeout else 'none'}"
        w(info + "\n")
        try:
            w(f"  run:        {engine.describe(ctx)}\n")
        except ValueError as exc:
            w(f"  run:        cannot run: {exc}\n")
        if meta.validation_script:
            w(f"  validate:   {ctx.validation_command}  (cwd {options.project_dir})\n")
        else:
            w("  validate:   no validation_script: the executor's own success decides\n")
        read = reads[phase_id]
        where = _relative(read.path)
        if read.problem:
            state = f"unreadable ({read.problem})"
        elif read.checkpoint is None:
            state = "none yet"
        else:
            cp = read.checkpoint
            state = f"{cp.status}, {cp.attempts} attempt(s)"
            if options.resume and phase_id in decision.skipped:
                state += "; --resume would skip it"
                would_skip += 1
            elif options.resume and phase_id in decision.reruns:
                state += f"; {decision.reruns[phase_id]}, so --resume would run it again"
        w(f"  checkpoint: {where}  ({state})\n")
        if show_prompts and isinstance(engine, ClaudeExecutor):
            prompt = engine.prompt(ctx)
            w("  prompt:\n" + "".join(f"    | {line}\n" for line in prompt.splitlines()))
    if options.resume:
        w(f"\n--resume would skip {would_skip} phase(s) that passed before.\n")
    return 0


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
