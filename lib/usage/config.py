"""The ``[usage]`` section of ``.claude/hooks.toml`` (pydantic; not on the hook path)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PriceOverride", "UsageSection"]


class PriceOverride(BaseModel):
    """US dollars per million tokens for one model (keys left out keep the table's value; a model
    not in the table needs at least ``input`` and ``output``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: float | None = Field(None, ge=0)
    output: float | None = Field(None, ge=0)
    cache_write_5m: float | None = Field(None, ge=0)
    cache_write_1h: float | None = Field(None, ge=0)
    cache_read: float | None = Field(None, ge=0)


class UsageSection(BaseModel):
    """Token and cost figures read from Claude Code's transcripts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Read the transcripts for token and cost figures.")
    prices: dict[str, PriceOverride] = Field(
        default_factory=dict,
        description="Prices per model id prefix, USD per million tokens, over the built-in table "
        "(python -m lib status --json shows the date it was taken).",
    )
