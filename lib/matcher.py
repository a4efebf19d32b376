"""Claude Code's matcher rules, so our handlers select events exactly as Claude Code selects hooks.

- ``None``, ``""`` or ``"*"`` match everything.
- A pattern of only letters, digits, ``_``, ``-``, spaces, ``,`` and ``|`` is an exact name or a list
  of exact names (``Edit|Write``, ``Edit, Write``); case-sensitive.
- Anything else is an unanchored regular expression (JavaScript ``RegExp.test``, here ``re.search``):
  ``Edit.*`` also matches ``NotebookEdit``; anchor with ``^Edit$``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["MatcherError", "compile_matcher"]

_EXACT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_- ,|")


class MatcherError(ValueError):
    """A matcher pattern is not a valid regular expression."""


def _match_all(value: str) -> bool:
    return True


def compile_matcher(pattern: str | None) -> Callable[[str], bool]:
    """Return a predicate telling whether a value (tool name, source, ...) matches ``pattern``."""
    if pattern is None or pattern.strip() in ("", "*"):
        return _match_all
    if all(c in _EXACT_CHARS for c in pattern):
        names = frozenset(n.strip() for n in pattern.replace(",", "|").split("|") if n.strip())
        return names.__contains__
    import re

    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise MatcherError(f"matcher {pattern!r} is not a valid regular expression: {exc}") from None
    return lambda value: regex.search(value) is not None
