"""Cost and tokens of every attempt, phase and run totals, and a run budget that stops the run.

The ``claude`` here is a stand-in printing the result object ``claude -p --output-format json``
prints, with scripted cost and usage; the real CLI against the mock Messages API is in
tests/e2e/test_hypervisor_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import toon_format
from hvkit import FakeClaude, Workspace, assert_ok


def spent(
    cost: float, inp: int, out: int, read: int = 0, write: int = 0, model: str = "claude-x"
) -> dict[str, object]:
    return {
        "extra": {
            "total_cost_usd": cost,
            "usage": {
                "input_tokens": inp,
                "output_tokens": out,
                "cache_read_input_tokens": read,
                "cache_creation_input_tokens": write,
            },
            "modelUsage": {
                model: {
                    "inputTokens": inp,
                    "outputTokens": out,
                    "cacheReadInputTokens": read,
                    "cacheCreationInputTokens": write,
                    "costUSD": cost,
                }
            },
        }
    }


def run_record(ws: Workspace) -> dict[str, object]:
    paths = sorted((ws.state / "runs").glob("*.toon"))
    data = toon_format.loads(paths[-1].read_text())
    assert isinstance(data, dict)
    return data


def test_every_attempt_s_cost_and_tokens_are_summed_per_phase_and_run(
    empty_ws: Workspace, fake_claude: FakeClaude
) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ntitle: One\nvalidation_script: check.py", "Write done.txt\n")
    empty_ws.write_phase("b.md", "phase: 2\ntitle: Two\ndepends_on: [1]", "Anything\n")
    (empty_ws.plan / "check.py").write_text(
        "import pathlib, sys; sys.exit(0 if pathlib.Path('done.txt').exists() else 1)"
    )
    script = {
        "1": [spent(0.25, 100, 10, 1000, 50), {**spent(0.5, 200, 20, 2000, 0), "touch": "done.txt"}],
        "2": [spent(0.125, 7, 3, 0, 0, model="claude-y")],
    }
    proc = empty_ws.run_claude(fake_claude, script)
    assert_ok(proc)
    one = empty_ws.checkpoint("1")
    assert one["spend"]["cost_usd"] == 0.75  # both attempts, not only the last
    assert (one["spend"]["input_tokens"], one["spend"]["output_tokens"]) == (300, 30)
    assert (one["spend"]["cache_read_tokens"], one["spend"]["cache_write_tokens"]) == (3000, 50)
    assert [e["spend"]["cost_usd"] for e in one["attempt_log"]] == [0.25, 0.5]
    record = run_record(empty_ws)
    total = record["spend"]
    assert isinstance(total, dict)
    assert total["cost_usd"] == 0.875 and total["input_tokens"] == 307 and total["output_tokens"] == 33
    assert set(total["models"]) == {"claude-x", "claude-y"}
    assert total["models"]["claude-x"]["cost_usd"] == 0.75
    assert "total: $0.8750, 307 in / 33 out / 3,000 cache read / 50 cache write tokens" in proc.stdout
    tokens = [e.get("tokens") for e in empty_ws.learning()]
    assert tokens[0] == {
        "input_tokens": 100,
        "output_tokens": 10,
        "cache_read_tokens": 1000,
        "cache_write_tokens": 50,
    }
    status = json.loads(empty_ws.hv("status", "--json").stdout)
    assert status["spend"]["cost_usd"] == 0.875
    assert next(p for p in status["phases"] if p["phase"] == "1")["spend"]["cost_usd"] == 0.75
    assert "$0.8750" in empty_ws.hv("status").stdout


def test_the_run_budget_stops_new_attempts_and_caps_each_call(
    empty_ws: Workspace, fake_claude: FakeClaude
) -> None:
    empty_ws.write_phase("a.md", "phase: 1\ntitle: One\nbudget_usd: 1.0", "x\n")
    empty_ws.write_phase("b.md", "phase: 2\ntitle: Two\ndepends_on: [1]", "x\n")
    empty_ws.write_phase("c.md", "phase: 3\ntitle: Three\ndepends_on: [2]", "x\n")
    script = {p: [spent(0.4, 1, 1)] for p in ("1", "2", "3")}
    proc = empty_ws.run_claude(fake_claude, script)
    assert_ok(proc, 1)
    # 1 and 2 cost 0.8; a third attempt could cost 0.4 more than the 0.2 left: it never starts.
    assert not (empty_ws.state / "checkpoints" / "phase_3.toon").exists()
    assert "the next attempt could cost $0.4000" in proc.stdout and "$0.2000 left" in proc.stdout
    record = run_record(empty_ws)
    assert record["status"] == "budget_exhausted" and record["budget_usd"] == 1.0
    calls = sorted(Path(fake_claude[1]["FAKE_PROMPTS"]).glob("call-*.json"))
    budgets = [json.loads(c.read_text())["argv"] for c in calls]
    caps = [argv[argv.index("--max-budget-usd") + 1] for argv in budgets]
    assert caps == ["1", "0.6"]  # each call gets what is left of the run's budget
    # --max-budget-usd on the command line overrides the plan's budget_usd.
    again = empty_ws.run_claude(fake_claude, script, "--max-budget-usd", "5")
    assert_ok(again)
