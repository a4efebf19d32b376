"""Hypervisor benchmarks (not tests): planning a large plan, and parallel speed-up.

1. Dry run of a generated plan of N phases (default 500): random dependencies on earlier phases
   (0-3 each), some parallel groups and declared waves. Reports the whole command
   (``python -m lib.hypervisor run PLAN --mode dry_run``, median of R runs) and, in-process, the
   parts: loading and validating the files, building the graph, printing the dry run.
2. Parallel speed-up: K independent phases each sleeping S seconds, run with the shell executor in
   sequential mode and in parallel mode with ``--max-parallel`` 2, 4 and K. Reports wall time and
   speed-up over sequential (ideal: min(K, max-parallel)).
3. Many phases: M independent shell phases running ``true`` (default 500), sequential and
   parallel (``--max-parallel`` W, default 16): the runner's own cost per phase (a checkpoint
   written when it starts and when it ends, a learning event, bus events, the run record).

    .venv/bin/python bench/hypervisor_bench.py [--phases 500] [--runs 5] [--independent 8] [--sleep 0.5]
        [--many 500] [--many-width 16]
    .venv/bin/python bench/hypervisor_bench.py --json     # one JSON object on stdout

Results are also written to ``bench/results/hypervisor.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def generate_plan(folder: Path, phases: int, seed: int = 7) -> None:
    """Write ``phases`` phase files with a random DAG, groups and a few declared waves."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    group_of: dict[int, str] = {}
    for start in range(10, phases - 5, 50):
        for member in range(start, start + 3):
            group_of[member] = f"g{start}"
    for n in range(1, phases + 1):
        candidates = [
            d
            for d in range(max(1, n - 40), n)
            if group_of.get(d) is None or group_of.get(d) != group_of.get(n)
        ]
        deps = sorted(rng.sample(candidates, k=min(len(candidates), rng.randint(0, 3)))) if candidates else []
        if n in group_of:
            # Members of one group share their dependencies so they can run together.
            first = min(m for m, g in group_of.items() if g == group_of[n])
            deps = [d for d in range(max(1, first - 5), first)][:2]
        lines = [
            "plan: bench",
            'version: "1.0"',
            f"phase: {n}",
            f'title: "Generated phase {n}"',
            'effort: "S"',
            f"depends_on: [{', '.join(map(str, deps))}]",
            f"parallel_group: {group_of[n]}" if n in group_of else "parallel_group: null",
            f'validation_script: "validation/validate_phase_{n}.py"',
            f'checkpoint: "checkpoints/phase_{n}.toon"',
            'recovery_plan: "re-run"',
            'status: "pending"',
            f"command: 'echo phase {n}'",
        ]
        body = f"# Phase {n}\n\n" + "Do the generated work.\n" * 20
        (folder / f"{n:04d}-phase.md").write_text("---\n" + "\n".join(lines) + "\n---\n" + body)


def bench_dry_run(phases: int, runs: int) -> dict[str, float | int]:
    from lib.hypervisor.dry_run import dry_run
    from lib.hypervisor.executors import build_executors
    from lib.hypervisor.options import Mode, RunOptions
    from lib.hypervisor.plan import load_plan
    from lib.hypervisor.routing import FrontmatterSkillRouter

    with tempfile.TemporaryDirectory(prefix="hv-bench-") as tmp:
        plan_dir = Path(tmp) / "plan"
        generate_plan(plan_dir, phases)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        walls = []
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "lib.hypervisor", "run", str(plan_dir), "--mode", "dry_run"],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp,
            )
            walls.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                raise SystemExit(f"dry run failed ({proc.returncode}):\n{proc.stderr}")
        loads, prints = [], []
        plan = None
        for _ in range(runs):
            t0 = time.perf_counter()
            plan = load_plan(plan_dir)
            loads.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            dry_run(
                plan,
                RunOptions(mode=Mode.DRY_RUN, project_dir=Path(tmp)),
                FrontmatterSkillRouter(build_executors()),
                io.StringIO(),
            )
            prints.append(time.perf_counter() - t0)
        assert plan is not None
        graph_times = []
        from lib.hypervisor.graph import PhaseGraph

        nodes = [p.node() for p in plan.phases.values()]
        for _ in range(runs):
            t0 = time.perf_counter()
            PhaseGraph.build(nodes)
            graph_times.append(time.perf_counter() - t0)
        return {
            "phases": phases,
            "waves": len(plan.graph.waves),
            "dry_run_command_ms": round(statistics.median(walls) * 1000, 1),
            "load_and_validate_ms": round(statistics.median(loads) * 1000, 1),
            "graph_build_ms": round(statistics.median(graph_times) * 1000, 2),
            "dry_run_print_ms": round(statistics.median(prints) * 1000, 1),
        }


def _independent_plan(folder: Path, count: int, command: str) -> Path:
    """``count`` phases without dependencies, each running ``command``."""
    plan_dir = folder / "plan"
    plan_dir.mkdir()
    for n in range(1, count + 1):
        (plan_dir / f"{n:04d}.md").write_text(f"---\nphase: {n}\ncommand: '{command}'\n---\nWork.\n")
    return plan_dir


def _timed_runs(plan_dir: Path, widths: list[int | None]) -> dict[str, float]:
    """Wall time of a run per width (``None``: sequential; else parallel with that width)."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    walls: dict[str, float] = {}
    for width in widths:
        name = "sequential" if width is None else f"parallel_{width}"
        argv = [sys.executable, "-m", "lib.hypervisor", "run", str(plan_dir), "--quiet"]
        argv += ["--state-dir", str(plan_dir.parent / f"state-{name}")]
        if width is not None:
            argv += ["--mode", "parallel", "--max-parallel", str(width)]
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=plan_dir.parent)
        walls[name] = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{name} run failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return walls


def bench_parallel(independent: int, sleep: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="hv-bench-par-") as tmp:
        plan_dir = _independent_plan(Path(tmp), independent, f"sleep {sleep}")
        results = _timed_runs(plan_dir, [None, *sorted({2, 4, independent})])
        base = results["sequential"]
        return {
            "independent_phases": independent,
            "sleep_s": sleep,
            "wall_s": {k: round(v, 3) for k, v in results.items()},
            "speedup": {k: round(base / v, 2) for k, v in results.items() if k != "sequential"},
        }


def bench_many(count: int, width: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="hv-bench-many-") as tmp:
        walls = _timed_runs(_independent_plan(Path(tmp), count, "true"), [None, width])
        return {
            "phases": count,
            "wall_s": {k: round(v, 2) for k, v in walls.items()},
            "per_phase_ms": {k: round(v / count * 1000, 1) for k, v in walls.items()},
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phases", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--independent", type=int, default=8)
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--many", type=int, default=500)
    parser.add_argument("--many-width", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = {
        "dry_run": bench_dry_run(args.phases, args.runs),
        "parallel": bench_parallel(args.independent, args.sleep),
        "many": bench_many(args.many, args.many_width),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    out_dir = REPO / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "hypervisor.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report))
        return 0
    d = report["dry_run"]
    print(f"dry run of a generated {d['phases']}-phase plan ({d['waves']} waves), median of {args.runs}:")
    print(f"  whole command (python -m lib.hypervisor run --mode dry_run): {d['dry_run_command_ms']} ms")
    print(f"  load + validate {d['phases']} files (YAML + pydantic + graph): {d['load_and_validate_ms']} ms")
    print(f"  graph build alone: {d['graph_build_ms']} ms; printing the dry run: {d['dry_run_print_ms']} ms")
    p = report["parallel"]
    assert isinstance(p, dict)
    print(f"parallel speed-up, {p['independent_phases']} independent phases sleeping {p['sleep_s']} s each:")
    for name, wall in p["wall_s"].items():
        speed = p["speedup"].get(name)
        print(f"  {name:<12} {wall:6.2f} s" + (f"   x{speed}" if speed else ""))
    m = report["many"]
    assert isinstance(m, dict)
    print(f"{m['phases']} independent shell phases running `true`:")
    for name, wall in m["wall_s"].items():
        print(f"  {name:<12} {wall:6.2f} s   ({m['per_phase_ms'][name]} ms per phase)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
