"""Circuit breaker: stop calling what keeps failing, probe it after a cooldown, recover.

The public API (the implementation lives in :mod:`lib.breaker`)::

    from lib.circuit_breaker import CircuitBreaker, CircuitBreakerConfig, get_circuit_breaker

    breaker = get_circuit_breaker("search", CircuitBreakerConfig(max_failures=3, cooldown_seconds=30))

    @breaker.protect(fallback=lambda query: [])
    async def search(query: str) -> list[str]: ...

    with breaker.protect():
        flaky()

States: CLOSED -> OPEN after ``max_failures`` consecutive failures (or a failure rate over a
sliding window); OPEN -> HALF_OPEN for the first caller after the cooldown; HALF_OPEN admits at most
``half_open_max`` trial calls at once, each holding a lease that expires, closes after
``success_threshold`` successes and re-opens (with a longer cooldown) on any failure. State can be
shared between processes through the project's ``.claude/state/breakers.json``
(:class:`JsonStoreStorage`).

Importing this module loads no third-party package: :class:`CircuitBreakerConfig` (pydantic) is
imported on first access, so hook processes that only need the state machine stay fast.
"""

from __future__ import annotations

from lib.breaker.api import (
    BreakerSnapshot,
    CircuitBreaker,
    CircuitBreakerError,
    CircuitBreakerRegistry,
    Permit,
    Protection,
    StateChange,
    default_registry,
    get_circuit_breaker,
)
from lib.breaker.machine import CLOSED, HALF_OPEN, OPEN, STATES, BreakerParams
from lib.breaker.storage import JsonStoreStorage, MemoryStorage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.breaker.config import BreakerSettings as BreakerSettings
    from lib.breaker.config import CircuitBreakerConfig as CircuitBreakerConfig
    from lib.breaker.machine import ParamsLike as ParamsLike
    from lib.breaker.storage import BreakerStorage as BreakerStorage

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "OPEN",
    "STATES",
    "BreakerParams",
    "BreakerSettings",
    "BreakerSnapshot",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "CircuitBreakerError",
    "CircuitBreakerRegistry",
    "JsonStoreStorage",
    "MemoryStorage",
    "Permit",
    "Protection",
    "StateChange",
    "default_registry",
    "get_circuit_breaker",
]

_LAZY = {"CircuitBreakerConfig", "BreakerSettings"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from lib.breaker import config

        value = getattr(config, name)
        globals()[name] = value
        return value
    if name in ("BreakerStorage", "ParamsLike"):
        raise AttributeError(
            f"{name} is a typing Protocol for annotations only; import it under TYPE_CHECKING "
            "(from lib.breaker.storage / lib.breaker.machine)"
        )
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
