"""Retry policy: how many attempts a phase gets and how long to wait between them.

Pure logic: capped exponential backoff with "equal jitter" (half the delay fixed, half random),
so retries of phases that failed together spread out but never collapse to zero. The random
source is injectable.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["RetryPolicy"]


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts and backoff for one phase.

    ``max_attempts`` counts failed attempts (validation or executor failures) a phase may use;
    ``max_transient_retries`` separately bounds retries after API overload or rate-limit results,
    which are not phase failures. The n-th retry waits
    ``min(max_delay, base_delay * multiplier ** (n - 1))``, half of it fixed, half jittered.
    """

    max_attempts: int = 3
    base_delay: float = 2.0
    max_delay: float = 60.0
    multiplier: float = 2.0
    max_transient_retries: int = 5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("backoff delays must not be negative")
        if self.multiplier < 1:
            raise ValueError("backoff multiplier must be at least 1")
        if self.max_transient_retries < 0:
            raise ValueError("max_transient_retries must not be negative")

    def cap(self, retry: int) -> float:
        """The un-jittered delay before the ``retry``-th retry (1-based), capped."""
        if retry < 1:
            raise ValueError("retry numbers start at 1")
        # Avoid float overflow for huge retry counts: once past the cap, stay there.
        delay = self.base_delay
        for _ in range(retry - 1):
            delay *= self.multiplier
            if delay >= self.max_delay:
                return self.max_delay
        return min(delay, self.max_delay)

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """The jittered delay before the ``retry``-th retry: in ``[cap/2, cap]``."""
        cap = self.cap(retry)
        return cap / 2 + rand() * cap / 2

    def schedule(self, retries: int, rand: Callable[[], float] = random.random) -> list[float]:
        """The delays before retries 1..``retries`` (for display and tests)."""
        return [self.delay(n, rand) for n in range(1, retries + 1)]

    def should_retry(self, failed_attempts: int) -> bool:
        """True when a phase that has failed ``failed_attempts`` times gets another attempt."""
        return failed_attempts < self.max_attempts
