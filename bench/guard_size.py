"""Guard time against command size: the Bash and file guards judging one command, 1 KB .. 1 MB.

    python bench/guard_size.py                  # every shape at 1, 4, 16, 64, 256 and 1024 KB
    python bench/guard_size.py --sizes 1,64,1024 --rounds 5 --json out.json

What a PreToolUse Bash hook spends in the guards (:class:`lib.guards.bash_policy.BashPolicy` and
:class:`lib.guards.file_policy.FilePolicy`, both judging the same command, in process, as the hooks
do; interpreter start-up is not included: ``bench/hook_latency.py`` measures that). Shapes an attacker
uses to make a parser slow: many words, one long word, many variables, pipelines, chains, nested
substitutions, quotes, heredocs, brace lists. Prints the best-of-N wall and CPU time per shape and
size and the decision; the time must stay near-linear and under 1 s at 1 MB (the hook's watchdog,
``runtime.budget_seconds``, answers ``ask`` at 10 s whatever happens). Stdlib only; runs from a clone.
Exit code 1 when a 1 MB command takes 1 s or more.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lib.guards import shell_parse  # noqa: E402
from lib.guards.bash_policy import BashPolicy  # noqa: E402
from lib.guards.file_policy import FilePolicy  # noqa: E402
from lib.guards.verdict import RANK  # noqa: E402

CONTEXT = {"cwd": "/home/dev/src/app", "project_dir": "/home/dev/src/app", "home": "/home/dev"}


def _repeat(prefix: str, unit: str, size: int, suffix: str = "") -> str:
    return prefix + unit * max(1, (size - len(prefix) - len(suffix)) // len(unit)) + suffix


SHAPES = {
    "words after rm -rf ~": lambda n: _repeat("rm -rf ~; echo", " word", n),
    "one long word": lambda n: _repeat("echo ", "a", n),
    "variables": lambda n: _repeat("X=1; cat", " $AVERYLONGVARIABLENAME", n),
    "joined variables": lambda n: _repeat("echo ", "${AVERYLONGVARIABLENAME}", n),
    "pipeline": lambda n: _repeat("cat a", " | grep b", n),
    "chain": lambda n: _repeat("true", " && ls", n),
    "substitutions": lambda n: _repeat("echo ", "$(echo a)", n),
    "nested substitutions": lambda n: "echo " + "$(" * min(n // 4, 5000) + "x" + ")" * min(n // 4, 5000),
    "single quotes": lambda n: _repeat("echo '", "a b ", n, "'"),
    "double quotes": lambda n: _repeat('echo "', "$a b ", n, '"'),
    "heredoc": lambda n: _repeat("cat <<'EOF'\n", "line of text\n", n, "EOF"),
    "brace lists": lambda n: _repeat("echo", " {a,b}{c,d}", n),
}


def measure(sizes_kb: list[int], rounds: int) -> list[dict[str, object]]:
    """Best-of-``rounds`` wall and CPU time of both guards for every shape and size."""
    bash, files = BashPolicy(), FilePolicy(resolve=None)
    rows: list[dict[str, object]] = []
    for shape, make in SHAPES.items():
        for kb in sizes_kb:
            command = make(kb * 1024)
            best = cpu = float("inf")
            decision = "allow"
            for _ in range(rounds):
                shell_parse._last = None  # no reuse of the previous round's parse
                t0, c0 = time.perf_counter(), time.process_time()
                v = bash.evaluate(command, **CONTEXT)
                f = files.evaluate_tool("Bash", {"command": command}, **CONTEXT)
                best = min(best, time.perf_counter() - t0)
                cpu = min(cpu, time.process_time() - c0)
                decision = max(v.decision, f.decision, key=RANK.__getitem__)
            rows.append(
                {"shape": shape, "kb": kb, "chars": len(command), "seconds": round(best, 4),
                 "cpu_seconds": round(cpu, 4), "decision": decision}
            )  # fmt: skip
            print(
                f"{shape:22} {kb:5} KB {best * 1000:9.1f} ms wall {cpu * 1000:9.1f} ms cpu  {decision}",
                flush=True,
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,16,64,256,1024", help="sizes in KB, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="runs per case; the best is kept")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    rows = measure([int(s) for s in args.sizes.split(",")], args.rounds)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(rows, fh, indent=2)
    worst = max((r for r in rows if r["kb"] == 1024), key=lambda r: float(r["seconds"]), default=None)  # type: ignore[arg-type]
    if worst is not None:
        print(f"slowest at 1 MB: {worst['shape']} {float(worst['seconds']) * 1000:.0f} ms")  # type: ignore[arg-type]
        if float(worst["seconds"]) >= 1.0:  # type: ignore[arg-type]
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
