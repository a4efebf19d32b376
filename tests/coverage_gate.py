"""The coverage gate ``tests/run.sh`` runs after pytest: every file of ``lib/`` and ``hooks/`` and the total.

Combines the data every process of the run wrote (the test process, hooks spawned as Claude Code
spawns them, the CLI, the phase runner and its children; see ``[tool.coverage.run]`` in
pyproject.toml), prints coverage.py's report, then the files under the per-file floor. The two
thresholds live in pyproject.toml: ``[tool.coverage.report] fail_under`` (the total) and
``[tool.coverage_gate] per_file_fail_under`` (each file).

    .venv/bin/python tests/coverage_gate.py                 combine, report, exit 1 below a threshold
    .venv/bin/python tests/coverage_gate.py --report-only   the same, exit 0 whatever the figures
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import coverage
from coverage.exceptions import NoDataError

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = REPO / "pyproject.toml"
GATED = ("lib", "hooks")


@dataclass(frozen=True)
class FileCoverage:
    """One source file's line coverage."""

    path: str  # relative to the repository, with forward slashes
    statements: int
    missing: int

    @property
    def percent(self) -> float:
        return 100.0 if self.statements == 0 else 100.0 * (self.statements - self.missing) / self.statements


@dataclass(frozen=True)
class Thresholds:
    total: float
    per_file: float


def thresholds(pyproject: Path = PYPROJECT) -> Thresholds:
    """The two floors from pyproject.toml (an error names the missing key)."""
    tool = tomllib.loads(pyproject.read_text())["tool"]
    try:
        total = float(tool["coverage"]["report"]["fail_under"])
        per_file = float(tool["coverage_gate"]["per_file_fail_under"])
    except KeyError as exc:
        raise SystemExit(
            f"coverage_gate: {pyproject} lacks {exc}: set [tool.coverage.report] fail_under and "
            "[tool.coverage_gate] per_file_fail_under"
        ) from None
    return Thresholds(total=total, per_file=per_file)


def gated_sources(repo: Path = REPO) -> list[str]:
    """Every Python file the gate covers, relative to ``repo``."""
    return sorted(p.relative_to(repo).as_posix() for top in GATED for p in (repo / top).rglob("*.py"))


def measure(cov: coverage.Coverage, repo: Path = REPO) -> list[FileCoverage]:
    """Line coverage of every gated file (a file no process ever imported counts its statements as missed)."""
    results = []
    for rel in gated_sources(repo):
        _, statements, _, missing, _ = cov.analysis2(str(repo / rel))
        results.append(FileCoverage(rel, len(statements), len(missing)))
    return results


def offenders(files: list[FileCoverage], floor: float) -> list[FileCoverage]:
    """Files under ``floor`` percent, least covered first."""
    return sorted((f for f in files if f.percent < floor), key=lambda f: (f.percent, f.path))


def total_percent(files: list[FileCoverage]) -> float:
    statements = sum(f.statements for f in files)
    missing = sum(f.missing for f in files)
    return 100.0 if statements == 0 else 100.0 * (statements - missing) / statements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--report-only", action="store_true", help="print the figures, never fail")
    args = parser.parse_args(argv)
    limits = thresholds()
    cov = coverage.Coverage(config_file=str(PYPROJECT), data_file=str(REPO / ".coverage"))
    cov.load()  # what an earlier combine kept (tests/run.sh erases it before pytest)
    try:
        cov.combine(data_paths=[str(REPO)], keep=False)
    except NoDataError:
        pass  # nothing new to combine: report what .coverage already holds
    cov.save()
    cov.load()
    try:
        cov.report(skip_covered=True, show_missing=False, sort="cover", file=sys.stdout)
    except NoDataError:
        print("coverage_gate: no coverage data; run the tests through tests/run.sh", file=sys.stderr)
        return 0 if args.report_only else 1
    files = measure(cov)
    total = total_percent(files)
    below = offenders(files, limits.per_file)
    print()
    print(
        f"coverage gate: total {total:.1f}% (floor {limits.total:g}%), {len(files)} files in {', '.join(GATED)}"
    )
    if below:
        print(f"{len(below)} files under {limits.per_file:g}%:")
        for f in below:
            print(f"  {f.percent:5.1f}%  {f.path}  ({f.missing} of {f.statements} statements never ran)")
    failed = bool(below) or total < limits.total
    if failed and not args.report_only:
        print("coverage gate: FAILED (tests/coverage_gate.py; thresholds in pyproject.toml)", file=sys.stderr)
        return 1
    print("coverage gate: " + ("below a threshold (report only)" if failed else "passed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
