"""Regular expressions compiled on first use, so a hook process that never needs one never imports
:mod:`re` (about 5 ms with ``enum`` and ``functools``): the guards keep ``re`` for rare paths only
(inline interpreter code, chmod modes, ``/etc`` startup files, fork-bomb text, ``re:`` allowlist
entries)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from re import Pattern

__all__ = ["compiled"]

_CACHE: dict[tuple[str, bool, bool], Pattern[str]] = {}


def compiled(pattern: str, *, verbose: bool = False, ignore_case: bool = False) -> Pattern[str]:
    """``re.compile(pattern)``, cached, importing ``re`` only now."""
    key = (pattern, verbose, ignore_case)
    found = _CACHE.get(key)
    if found is None:
        import re

        flags = (re.VERBOSE if verbose else 0) | (re.IGNORECASE if ignore_case else 0)
        found = _CACHE[key] = re.compile(pattern, flags)
    return found
