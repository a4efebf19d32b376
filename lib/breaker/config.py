"""Validated breaker configuration (pydantic): the library's config and the ``[breaker]`` section.

Not on the hook path: hooks get these values from the validated config cache as plain dicts and
build :class:`lib.breaker.machine.BreakerParams` from them. Importing :mod:`lib.circuit_breaker`
does not import pydantic either; ``CircuitBreakerConfig`` is loaded on first access.

The ``[breaker]`` section of ``.claude/hooks.toml``::

    [breaker]
    enabled = true
    max_failures = 5                  # failures of one key in a row, with no progress in between
    cooldown_seconds = 60.0
    bash_key = "normalized"           # "tool" | "first_word" | "normalized" (Bash:git push)
    shared_keys = ["WebFetch", "WebSearch", "mcp__*"]   # scoped across sessions; the rest per session
    progress_tools = ["Edit", "Write", "MultiEdit", "NotebookEdit"]
    broken_exit_codes = [126, 127]

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
    """The circuit breaker on Claude's tool calls. Each call has a key naming what fails (``Bash:pytest``,
    ``Bash:git push``, ``WebFetch``, ``mcp__github__create_issue``); ``max_failures`` failures of a key
    in a row with no progress in between (a success of that key, or a successful edit or write of a
    file) open its breaker for the cooldown. Keys in ``shared_keys`` (failures from outside: servers,
    the network) block every session of the project; all others only the session that failed. A Bash
    failure in ``broken_exit_codes`` or a timeout counts for the shared ``Bash:<program>`` key. An
    override applies to the first of: its exact key, the tool name, a glob matching the key."""

    enabled: bool = Field(True, description="Put a circuit breaker in front of Claude's tool calls.")
    bash_key: Literal["tool", "first_word", "normalized"] = Field(
        "normalized",
        description="Breaker key for Bash: 'normalized' (Bash:git push, Bash:pytest), 'first_word' "
        "(Bash:git) or 'tool' (one breaker for all of Bash).",
    )
    shared_keys: list[str] = Field(
        default_factory=lambda: ["WebFetch", "WebSearch", "mcp__*"],
        description="Keys or globs whose failures come from outside (servers, network): their breakers "
        "are shared by every session of the project (and every machine on Redis). Other keys are per "
        "session. Replacing the list drops the defaults; list them again to keep them.",
    )
    progress_tools: list[str] = Field(
        default_factory=lambda: ["Edit", "Write", "MultiEdit", "NotebookEdit"],
        description="Tools whose success is progress: it resets every breaker of the session, so a "
        "test-fix loop never opens one.",
    )
    broken_exit_codes: list[int] = Field(
        default_factory=lambda: [126, 127],
        description="Bash exit codes meaning the program itself is broken (127 not found, 126 not "
        "executable; timeouts too): they count for the shared Bash:<program> key.",
    )
    overrides: dict[str, BreakerOverride] = Field(
        default_factory=dict,
        description="Per-key settings: a key (Bash:git), a tool name (Read) or a glob (mcp__github__*); "
        "fields left out keep the section's values; enabled = false turns the breaker off for it.",
    )

    @model_validator(mode="after")
    def _check_overrides(self) -> BreakerSettings:
        for name in ("shared_keys", "progress_tools"):
            if any(not item.strip() for item in getattr(self, name)):
                raise ValueError(f"{name}: an entry is empty; remove it or write a tool name or glob")
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
