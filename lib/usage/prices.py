"""The price table: US dollars per million tokens, per model, with the date it was taken.

The figures are the list prices Claude Code 2.1.328 itself uses for ``total_cost_usd`` (its
``costBasis: "list"``), read from that release on :data:`PRICES_TAKEN`. A model id matches the
longest table key it starts with, so dated ids (``claude-sonnet-4-5-20250929``) and suffixes
(``claude-opus-5-5[1m]``) find their family. Override or add models in ``.claude/hooks.toml``::

    [usage.prices."claude-opus-5-5"]
    input = 4.0
    output = 20.0
    cache_write_5m = 5.0
    cache_write_1h = 8.0
    cache_read = 0.2

Pure data and arithmetic, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

__all__ = ["PRICES", "PRICES_SOURCE", "PRICES_TAKEN", "ModelPrice", "cost_of", "price_for", "prices_with"]

PRICES_TAKEN = "2026-12-06"
"""When the table below was read."""
PRICES_SOURCE = "list prices of Claude Code 2.1.328 (the CLI's own cost table)"


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    @classmethod
    def tier(cls, input: float, output: float, cache_read: float | None = None) -> ModelPrice:
        """Anthropic's usual ratios: 5-minute cache writes 1.25x input, 1-hour 2x, reads 0.1x."""
        return cls(input, output, input * 1.25, input * 2, input / 10 if cache_read is None else cache_read)


_T15_75 = ModelPrice.tier(15, 75)
_T5_25 = ModelPrice.tier(5, 25)
_T3_15 = ModelPrice.tier(3, 15)
_T10_50 = ModelPrice.tier(10, 50)

PRICES: dict[str, ModelPrice] = {
    "claude-3-5-haiku": ModelPrice(0.8, 4, 1, 1.6, 0.08),
    "claude-haiku-4-5": ModelPrice(1, 5, 1.25, 2, 0.1),
    "claude-haiku-5-5": ModelPrice(0.1, 0.5, 0.125, 0.2, 0.01),
    "claude-3-5-sonnet": _T3_15,
    "claude-3-7-sonnet": _T3_15,
    "claude-sonnet-4": _T3_15,
    "claude-sonnet-4-0": _T3_15,
    "claude-sonnet-4-5": _T3_15,
    "claude-sonnet-4-6": _T3_15,
    "claude-sonnet-5": ModelPrice.tier(2, 10),
    "claude-sonnet-5-5": ModelPrice.tier(2, 10, cache_read=0.1),
    "claude-opus-4": _T15_75,
    "claude-opus-4-0": _T15_75,
    "claude-opus-4-1": _T15_75,
    "claude-opus-4-5": _T5_25,
    "claude-opus-4-6": _T5_25,
    "claude-opus-4-7": _T5_25,
    "claude-opus-4-8": _T5_25,
    "claude-opus-5": _T5_25,
    "claude-opus-5-5": ModelPrice.tier(4, 20, cache_read=0.2),
    "claude-fable-5": _T10_50,
    "claude-fable-5-1": ModelPrice.tier(10, 50, cache_read=0.25),
    "claude-fable-5-2": ModelPrice.tier(8, 40, cache_read=0.2),
    "claude-mythos-5": _T10_50,
    "claude-mythos-5-1": ModelPrice.tier(10, 50, cache_read=0.25),
    "claude-mythos-5-2": ModelPrice.tier(8, 40, cache_read=0.2),
}
"""Prices by model id prefix (see :data:`PRICES_TAKEN`)."""


def prices_with(overrides: Mapping[str, object] | None) -> dict[str, ModelPrice]:
    """The table with the ``[usage.prices]`` entries of the config (plain dicts) laid over it."""
    table = dict(PRICES)
    for model, entry in (overrides or {}).items():
        if isinstance(entry, Mapping):
            base = price_for(model, table)
            values = {field: _price(cast("Mapping[str, object]", entry).get(field)) for field in _FIELDS}
            if base is None and values["input"] is not None and values["output"] is not None:
                base = ModelPrice.tier(values["input"], values["output"])
            if base is None:
                continue
            table[model] = ModelPrice(*(v if v is not None else getattr(base, k) for k, v in values.items()))
    return table


_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")


def _price(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def price_for(model: str, table: Mapping[str, ModelPrice] | None = None) -> ModelPrice | None:
    """The price of ``model``: the longest key it starts with, or None (an unknown model)."""
    table = PRICES if table is None else table
    best: str | None = None
    for key in table:
        if model.startswith(key) and (best is None or len(key) > len(best)):
            best = key
    return table[best] if best is not None else None


def cost_of(
    price: ModelPrice,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_5m_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    cache_read_tokens: int = 0,
) -> float:
    """US dollars for these token counts."""
    return (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_write_5m_tokens * price.cache_write_5m
        + cache_write_1h_tokens * price.cache_write_1h
        + cache_read_tokens * price.cache_read
    ) / 1_000_000
