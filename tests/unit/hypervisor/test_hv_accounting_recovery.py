"""Cost/token accounting, the budget verdict, and the evidence for a sequential fallback (pure)."""

from __future__ import annotations

from lib.hypervisor.accounting import add, budget_verdict, describe, spend_from_result, total
from lib.hypervisor.executors import ExecutorResult
from lib.hypervisor.recovery import fallback_evidence

RESULT = {
    "type": "result",
    "total_cost_usd": 0.0176,
    "usage": {
        "input_tokens": 2000,
        "output_tokens": 400,
        "cache_read_input_tokens": 6000,
        "cache_creation_input_tokens": 80,
        "server_tool_use": {"web_search_requests": 0},
    },
    "modelUsage": {
        "claude-opus-5-5": {
            "inputTokens": 2000,
            "outputTokens": 400,
            "cacheReadInputTokens": 6000,
            "cacheCreationInputTokens": 80,
            "costUSD": 0.0176,
            "contextWindow": 1000000,
        },
        "broken": "not a mapping",
    },
}


def test_the_spend_is_read_from_the_cli_result_object() -> None:
    spend = spend_from_result(RESULT)
    assert spend == {
        "cost_usd": 0.0176,
        "input_tokens": 2000,
        "output_tokens": 400,
        "cache_read_tokens": 6000,
        "cache_write_tokens": 80,
        "models": {
            "claude-opus-5-5": {
                "input_tokens": 2000,
                "output_tokens": 400,
                "cache_read_tokens": 6000,
                "cache_write_tokens": 80,
                "cost_usd": 0.0176,
            }
        },
    }


def test_junk_numbers_are_ignored() -> None:
    junk = {"total_cost_usd": "lots", "usage": {"input_tokens": True, "output_tokens": -3}, "modelUsage": []}
    assert spend_from_result(junk) == {}
    assert spend_from_result({"total_cost_usd": -1.0, "modelUsage": {"m": {"costUSD": None}}}) == {
        "models": {"m": {}}
    }


def test_spends_add_up_per_field_and_per_model() -> None:
    one = spend_from_result(RESULT)
    two = {"cost_usd": 0.5, "input_tokens": 1, "models": {"other": {"cost_usd": 0.5}}}
    both = add(one, two)
    assert both["cost_usd"] == 0.5176 and both["input_tokens"] == 2001 and both["output_tokens"] == 400
    assert set(both["models"]) == {"claude-opus-5-5", "other"}
    assert total([one, one, two])["models"]["claude-opus-5-5"]["cost_usd"] == 0.0352
    assert add({}, {}) == {} and total([]) == {}
    assert "cost_usd" not in add({"input_tokens": 1}, {"output_tokens": 2})


def test_the_budget_verdict_stops_before_an_attempt_that_could_exceed_it() -> None:
    assert budget_verdict(None, 100.0, 100.0) is None
    assert budget_verdict(1.0, 0.0, 0.0) is None
    assert budget_verdict(1.0, 0.5, 0.4) is None
    exceed = budget_verdict(1.0, 0.8, 0.4)
    assert exceed is not None and "could cost $0.4000" in exceed and "$0.2000 left" in exceed
    gone = budget_verdict(1.0, 1.2, 0.0)
    assert gone is not None and "exhausted: spent $1.2000 of $1" in gone


def test_a_spend_is_described_in_one_line() -> None:
    assert describe({}) == ""
    assert describe({"cost_usd": 0.5}) == "$0.5000"
    text = describe(spend_from_result(RESULT))
    assert text == "$0.0176, 2,000 in / 400 out / 6,000 cache read / 80 cache write tokens"


def result(
    outcome: str = "failed", *, error: str = "", tail: str = "", exit_code: int | None = 1
) -> ExecutorResult:
    return ExecutorResult(outcome, exit_code, 1.0, error=error, output_tail=tail)  # type: ignore[arg-type]


def test_an_ordinary_failure_is_no_evidence_for_a_fallback() -> None:
    assert fallback_evidence("1", result(error="command exited 1"), overlapped=True) is None
    assert fallback_evidence("1", result("timeout"), overlapped=False) is None


def test_timeouts_and_exhaustion_while_others_ran_are() -> None:
    timeout = fallback_evidence("1", result("timeout"), overlapped=True)
    assert timeout is not None and "timed out while other phases ran" in timeout
    for text in ("fork: Resource temporarily unavailable", "OSError: [Errno 28] No space left on device",
                 "fatal: Unable to create '/x/.git/index.lock': File exists"):  # fmt: skip
        reason = fallback_evidence("2", result(tail=text), overlapped=True)
        assert reason is not None and "ran out of a resource" in reason, text
    killed = fallback_evidence("3", result(exit_code=-9), overlapped=True)
    assert killed is not None and "out-of-memory" in killed
    assert fallback_evidence("3", result("interrupted", exit_code=-9), overlapped=True) is None
