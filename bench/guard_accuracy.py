"""Block rate and false-positive rate of the built-in guards, per level, over the labelled corpus.

    python bench/guard_accuracy.py                 # the corpus in tests/unit/guards/corpus.jsonl
    python bench/guard_accuracy.py --verbose       # also list misses and false positives
    python bench/guard_accuracy.py --corpus FILE --json

Targets (issue 6): 100% of dangerous cases denied or asked, at most 2% of safe ones, at the default
level (standard). ``strict`` asks more by design; ``permissive`` lets some risky-but-recoverable
operations through (its block rate is below 100% on purpose). Stdlib only; runs from a clone.
Exit code 1 when the standard level misses a target.
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

from lib.guards.accuracy import load_corpus, measure  # noqa: E402
from lib.guards.verdict import LEVELS  # noqa: E402

DEFAULT_CORPUS = os.path.join(REPO, "tests", "unit", "guards", "corpus.jsonl")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="JSON Lines corpus (default: %(default)s)")
    parser.add_argument("--verbose", "-v", action="store_true", help="list misses and false positives")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)

    entries = load_corpus(args.corpus)
    report: dict[str, dict[str, object]] = {}
    ok = True
    if not args.json:
        dangerous = sum(1 for e in entries if e["expected"] != "allow")
        print(
            f"corpus: {args.corpus}: {len(entries)} entries ({dangerous} dangerous, {len(entries) - dangerous} safe)"
        )
        print(
            f"{'level':<11} {'blocked':>14} {'block rate':>11} {'false pos.':>12} {'FP rate':>8} {'ms/entry':>9}"
        )
    for level in LEVELS:
        t0 = time.perf_counter()
        m = measure(entries, level)
        per_entry_ms = (time.perf_counter() - t0) * 1000 / max(1, len(entries))
        report[level] = {
            "dangerous": m.dangerous,
            "blocked": m.blocked,
            "block_rate": round(m.block_rate, 4),
            "safe": m.safe,
            "false_positives": len(m.false_positives),
            "false_positive_rate": round(m.false_positive_rate, 4),
            "ms_per_entry": round(per_entry_ms, 3),
            "misses": [e["input"] for e, _, _ in m.misses],
            "false_positive_inputs": [e["input"] for e, _, _ in m.false_positives],
        }
        if level == "standard":
            ok = m.block_rate == 1.0 and m.false_positive_rate <= 0.02
        if not args.json:
            print(
                f"{level:<11} {m.blocked:>6}/{m.dangerous:<7} {m.block_rate:>10.1%} "
                f"{len(m.false_positives):>5}/{m.safe:<6} {m.false_positive_rate:>7.1%} {per_entry_ms:>9.3f}"
            )
            if args.verbose:
                for e, _, _ in m.misses:
                    print(f"    miss  [{e['tool']}] {e['input']!r}  ({e.get('note', '')})")
                for e, d, rules in m.false_positives:
                    print(f"    FP    [{e['tool']}] {e['input']!r} -> {d} {', '.join(rules)}")
    if args.json:
        print(
            json.dumps(
                {"corpus": args.corpus, "entries": len(entries), "levels": report, "targets_met": ok},
                indent=2,
            )
        )
    else:
        print("targets (standard: 100% blocked, <= 2% false positives):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
