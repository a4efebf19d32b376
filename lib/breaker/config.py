"""Validated breaker configuration (pydantic): the library's config and the ``[breaker]`` section.

Not on the hook path: hooks get these values from the validated config cache as plain dicts and
build :class:`lib.breaker.machine.BreakerParams` from them. Importing :mod:`lib.circuit_breaker`
does not import pydantic either; ``CircuitBreakerConfig`` is loaded on first access.

The ``[breaker]`` section of ``.claude/hooks.toml``::

    [breaker]
    enabled = true
    max_failures = 5
    cooldown_seconds = 60.0
    bash_key = "first_word"           # "tool" | "first_word" | "normalized"

    [breaker.overrides."Bash:npm"]    # a key, a tool name, or a glob such as "mcp__github__*"
    max_failures = 10

    [breaker.overrides.Read]
    enabled = false
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lib.breaker.machine import PARAM_NAMES, BreakerParams

__all__ = ["BASH_KEY_MODES", "BreakerOverride", "BreakerSettings", "CircuitBreakerConfig"]

BASH_KEY_MODES = ("tool", "first_word", "normalized")


class CircuitBreakerConfig(BaseModel):
    """How a breaker trips and recovers (see :mod:`lib.breaker.machine` for the exact rules)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_failures: int = Field(5, ge=1, description="Consecutive failures that open the breaker.")
    cooldown_seconds: float = Field(
        60.0, gt=0, allow_inf_nan=False, description="How long the breaker stays open after it first opens."
    )
    half_open_max: int = Field(1, ge=1, description="Trial calls admitted at once while half-open.")
    success_threshold: int = Field(2, ge=1, description="Trial successes in a row that close the breaker.")
    half_open_lease_seconds: float = Field(
        300.0,
        gt=0,
        allow_inf_nan=False,
        description="A trial call that never reports back (interrupted, refused, crashed) frees its "
        "half-open slot after this long.",
    )
    failure_rate_threshold: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Also open when this fraction (0-1] of the last window_size calls failed; null: off.",
    )
    window_size: int = Field(20, ge=1, le=1000, description="Calls the failure-rate window holds.")
    minimum_calls: int = Field(
        10, ge=1, description="Calls needed in the window before the failure rate counts."
    )
    cooldown_multiplier: float = Field(
        2.0,
        ge=1,
        allow_inf_nan=False,
        description="Each re-opening from half-open multiplies the cooldown by this (1: constant).",
    )
    max_cooldown_seconds: float = Field(
        600.0, gt=0, allow_inf_nan=False, description="Cap of the grown cooldown (>= cooldown_seconds)."
    )

    @model_validator(mode="after")
    def _check_consistency(self) -> CircuitBreakerConfig:
        if self.max_cooldown_seconds < self.cooldown_seconds:
            raise ValueError(
                f"max_cooldown_seconds ({self.max_cooldown_seconds:g}) is below cooldown_seconds "
                f"({self.cooldown_seconds:g}); raise max_cooldown_seconds or lower cooldown_seconds"
            )
        if self.failure_rate_threshold is not None and self.minimum_calls > self.window_size:
            raise ValueError(
                f"minimum_calls ({self.minimum_calls}) exceeds window_size "
                f"({self.window_size}), so the failure rate could never trip; "
                "lower minimum_calls or raise window_size"
            )
        return self

    def to_params(self) -> BreakerParams:
        """The plain parameters the state machine takes."""
        return BreakerParams.from_object(self)


class BreakerOverride(BaseModel):
    """Per-key changes to the ``[breaker]`` defaults; unset fields inherit them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool | None = None
    max_failures: int | None = Field(None, ge=1)
    cooldown_seconds: float | None = Field(None, gt=0, allow_inf_nan=False)
    half_open_max: int | None = Field(None, ge=1)
    success_threshold: int | None = Field(None, ge=1)
    half_open_lease_seconds: float | None = Field(None, gt=0, allow_inf_nan=False)
    failure_rate_threshold: float | None = Field(None, gt=0, le=1)
    window_size: int | None = Field(None, ge=1, le=1000)
    minimum_calls: int | None = Field(None, ge=1)
    cooldown_multiplier: float | None = Field(None, ge=1, allow_inf_nan=False)
    max_cooldown_seconds: float | None = Field(None, gt=0, allow_inf_nan=False)


class BreakerSettings(CircuitBreakerConfig):
    """The ``[breaker]`` section: defaults for every tool's breaker, the Bash key mode, overrides.

    Breaker keys: the tool name (``Bash``, ``Read``, ``mcp__github__create_issue``); with
    ``bash_key = "first_word"`` a Bash call is keyed ``Bash:<program>`` (``Bash:git``), with
    ``"normalized"`` ``Bash:<program> <subcommand>`` (``Bash:git push``). An override applies to the
    first of: its exact key, the tool name, a glob pattern matching the key (in file order).
    """

    enabled: bool = Field(True, description="Put a circuit breaker in front of Claude's tool calls.")
    bash_key: Literal["tool", "first_word", "normalized"] = Field(
        "tool",
        description="Breaker key for Bash: 'tool' (one breaker for all of Bash), 'first_word' "
        "(Bash:git) or 'normalized' (Bash:git push).",
    )
    overrides: dict[str, BreakerOverride] = Field(
        default_factory=dict,
        description="Per-key settings: a key (Bash:git), a tool name (Read) or a glob (mcp__github__*); "
        "fields left out keep the section's values; enabled = false turns the breaker off for it.",
    )

    @model_validator(mode="after")
    def _check_overrides(self) -> BreakerSettings:
        base = {name: getattr(self, name) for name in PARAM_NAMES}
        for key, override in self.overrides.items():
            if not key.strip():
                raise ValueError("overrides: a key is empty; use a tool name, 'Bash:<program>' or a glob")
            merged = {**base, **override.model_dump(exclude_none=True, exclude={"enabled"})}
            try:
                CircuitBreakerConfig(**merged)
            except ValidationError as exc:
                first = exc.errors()[0]
                raise ValueError(f"overrides.{key!r}: {first['msg']}") from None
        return self
