"""Cost and token accounting: what ``claude -p --output-format json`` reported, per attempt and summed.

The CLI's final result object carries ``total_cost_usd``, ``usage`` (``input_tokens``,
``output_tokens``, ``cache_read_input_tokens``, ``cache_creation_input_tokens``) and
``modelUsage`` (per model: ``inputTokens``, ``outputTokens``, ``cacheReadInputTokens``,
``cacheCreationInputTokens``, ``costUSD``). :func:`spend_from_result` keeps exactly those numbers
(no price table: the CLI already priced them); :func:`add` sums them for a phase or a run. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lib.plain_data import json_object

__all__ = ["TOKEN_FIELDS", "add", "budget_verdict", "describe", "spend_from_result", "total"]

TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
"""The token counts kept per attempt, phase, run and model."""

_USAGE_KEYS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_read_input_tokens": "cache_read_tokens",
    "cache_creation_input_tokens": "cache_write_tokens",
}
_MODEL_KEYS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheReadInputTokens": "cache_read_tokens",
    "cacheCreationInputTokens": "cache_write_tokens",
}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _tokens(source: Mapping[str, object], keys: Mapping[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for key, name in keys.items():
        value = _number(source.get(key))
        if value is not None and value >= 0:
            out[name] = int(value)
    return out


def spend_from_result(result: Mapping[str, Any]) -> dict[str, Any]:
    """``{cost_usd, input_tokens, ..., models: {name: {...}}}`` from a claude result object."""
    spend: dict[str, Any] = {}
    cost = _number(result.get("total_cost_usd"))
    if cost is not None and cost >= 0:
        spend["cost_usd"] = cost
    usage = json_object(result.get("usage"))
    if usage is not None:
        spend.update(_tokens(usage, _USAGE_KEYS))
    models = json_object(result.get("modelUsage"))
    if models is not None:
        per_model: dict[str, dict[str, Any]] = {}
        for name, value in models.items():
            numbers = json_object(value)
            if numbers is None:
                continue
            entry: dict[str, Any] = dict(_tokens(numbers, _MODEL_KEYS))
            model_cost = _number(numbers.get("costUSD"))
            if model_cost is not None and model_cost >= 0:
                entry["cost_usd"] = model_cost
            per_model[str(name)] = entry
        if per_model:
            spend["models"] = per_model
    return spend


def add(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """The sum of two spends (missing numbers count as 0; a cost stays absent when both lack it)."""
    out: dict[str, Any] = {}
    for key in ("cost_usd", *TOKEN_FIELDS):
        if key in a or key in b:
            value = a.get(key, 0) + b.get(key, 0)
            out[key] = round(value, 6) if key == "cost_usd" else int(value)
    models: dict[str, dict[str, Any]] = {}
    for source in (a, b):
        source_models: Mapping[str, Mapping[str, Any]] = source.get("models") or {}
        for name, numbers in source_models.items():
            models[name] = add(models.get(name, {}), numbers)
    if models:
        out["models"] = models
    return out


def total(spends: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of any number of spends."""
    out: dict[str, Any] = {}
    for spend in spends:
        out = add(out, spend)
    return out


def budget_verdict(budget: float | None, spent: float, next_estimate: float) -> str | None:
    """Why the next attempt must not start under ``budget`` (``None``: it may start).

    ``next_estimate`` is what an attempt may cost: the dearest attempt of this run so far.
    """
    if budget is None:
        return None
    left = budget - spent
    if left <= 0:
        return f"run budget exhausted: spent ${spent:.4f} of ${budget:g}"
    if next_estimate > left:
        return (
            f"run budget: spent ${spent:.4f} of ${budget:g}; the next attempt could cost "
            f"${next_estimate:.4f} (the dearest attempt so far), more than the ${left:.4f} left"
        )
    return None


def describe(spend: Mapping[str, Any]) -> str:
    """``$0.0123, 1,200 in / 340 out / 5,000 cache read / 0 cache write tokens`` (``""`` when empty)."""
    if not spend:
        return ""
    parts: list[str] = []
    if "cost_usd" in spend:
        parts.append(f"${spend['cost_usd']:.4f}")
    if any(k in spend for k in TOKEN_FIELDS):
        parts.append(
            f"{spend.get('input_tokens', 0):,} in / {spend.get('output_tokens', 0):,} out / "
            f"{spend.get('cache_read_tokens', 0):,} cache read / {spend.get('cache_write_tokens', 0):,} "
            "cache write tokens"
        )
    return ", ".join(parts)
