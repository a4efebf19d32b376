"""Glob matching for protected-path patterns, without :mod:`re` (the file guard runs on every Read,
Write and Edit; importing ``re``/``fnmatch`` would cost a hook process several milliseconds).

Syntax: ``*`` and ``?`` (not across ``/``), ``[abc]``, ``[a-z]``, ``[!x]``/``[^x]``, ``**`` (any
characters, ``/`` included) and ``**/`` (any number of leading directories, none included). Matching
ignores case.
"""

from __future__ import annotations

__all__ = ["Glob", "has_magic", "literal_chars"]

_STAR, _DSTAR, _DSTAR_SLASH, _ANY, _SET, _LIT = range(6)  # tokens
_TOKENS, _EXACT, _SUFFIX, _PREFIX, _UNDER, _ANYDIR, _ANYDIR_UNDER = range(7)  # shapes


def has_magic(text: str) -> bool:
    """True when ``text`` has glob characters."""
    return "*" in text or "?" in text or "[" in text


def literal_chars(pattern: str) -> str:
    """``pattern`` without wildcards, bracket sets, braces and commas (``.env*`` -> ``.env``)."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "[":
            j = pattern.find("]", i + 2)
            if j >= 0:
                i = j + 1
                continue
        if c not in "*?{},[":
            out.append(c)
        i += 1
    return "".join(out)


def _parse_set(pattern: str, i: int) -> tuple[tuple[object, ...], int] | None:
    """A ``[...]`` set starting at ``pattern[i] == '['``: (token, index after it) or None."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    start = j
    if j < len(pattern) and pattern[j] == "]":
        j += 1  # a leading ']' is literal
    end = pattern.find("]", j)
    if end < 0:
        return None
    body = pattern[start:end]
    singles: set[str] = set()
    ranges: list[tuple[str, str]] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            ranges.append((body[k], body[k + 2]))
            k += 3
        else:
            singles.add(body[k])
            k += 1
    return (_SET, frozenset(singles), tuple(ranges), negate), end + 1


def _tokenize(text: str) -> tuple[tuple[object, ...], ...]:
    """The tokens of a (lower-cased) pattern for :func:`_match`."""
    tokens: list[tuple[object, ...]] = []
    lit: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        token: tuple[object, ...] | None = None
        if c == "*":
            if text.startswith("**", i):
                i += 2
                if i < n and text[i] == "/":
                    i += 1
                    token = (_DSTAR_SLASH,)
                else:
                    token = (_DSTAR,)
            else:
                i += 1
                token = (_STAR,)
        elif c == "?":
            i += 1
            token = (_ANY,)
        elif c == "[":
            parsed = _parse_set(text, i)
            if parsed is not None:
                token, i = parsed
        if token is None:
            lit.append(c)
            i += 1
            continue
        if lit:
            tokens.append((_LIT, "".join(lit)))
            lit = []
        tokens.append(token)
    if lit:
        tokens.append((_LIT, "".join(lit)))
    return tuple(tokens)


def _shape(text: str) -> tuple[int, str]:
    """How a (lower-cased) pattern is matched: one of the string-method shapes with its literal, or
    ``_TOKENS``. Most protected-path patterns (``id_rsa``, ``*.pem``, ``.env.*``, ``.ssh/**``,
    ``**/.git/**``) have a shape, so they are neither tokenized nor matched recursively."""
    if not has_magic(text):
        return _EXACT, text
    if text.startswith("**/"):
        rest = text[3:]
        if rest and not has_magic(rest):
            return _ANYDIR, rest
        if rest.endswith("**") and rest[:-2] and not has_magic(rest[:-2]):
            return _ANYDIR_UNDER, rest[:-2]
        return _TOKENS, ""
    if text.startswith("*") and not has_magic(text[1:]):
        return _SUFFIX, text[1:]
    if text.endswith("**") and not has_magic(text[:-2]):
        return _UNDER, text[:-2]
    if text.endswith("*") and not has_magic(text[:-1]):
        return _PREFIX, text[:-1]
    return _TOKENS, ""


class Glob:
    """A compiled glob; :meth:`match` tests a whole string."""

    __slots__ = ("literal", "pattern", "shape", "tokens")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        text = pattern.lower()
        self.shape, self.literal = _shape(text)
        self.tokens = _tokenize(text) if self.shape == _TOKENS else ()

    def match(self, text: str) -> bool:
        """True when the whole of ``text`` matches (case-insensitively)."""
        t = text.lower()
        shape, lit = self.shape, self.literal
        if shape == _EXACT:
            return t == lit
        if shape == _SUFFIX:  # *lit: no '/' before lit
            return t.endswith(lit) and "/" not in t[: len(t) - len(lit)]
        if shape == _PREFIX:  # lit*: no '/' after lit
            return t.startswith(lit) and "/" not in t[len(lit) :]
        if shape == _UNDER:  # lit**
            return t.startswith(lit)
        if shape == _ANYDIR:  # **/lit: lit after zero or more whole directories
            return t == lit or t.endswith("/" + lit)
        if shape == _ANYDIR_UNDER:  # **/lit**
            return t.startswith(lit) or "/" + lit in t
        return _match(self.tokens, 0, t, 0, {})

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"


def _in_set(token: tuple[object, ...], ch: str) -> bool:
    _, singles, ranges, negate = token
    hit = ch in singles or any(lo <= ch <= hi for lo, hi in ranges)  # type: ignore[operator, attr-defined]
    return hit != negate


def _match(
    tokens: tuple[tuple[object, ...], ...], ti: int, text: str, si: int, memo: dict[tuple[int, int], bool]
) -> bool:
    key = (ti, si)
    if key in memo:
        return memo[key]
    result = False
    n = len(text)
    while True:
        if ti == len(tokens):
            result = si == n
            break
        token = tokens[ti]
        kind = token[0]
        if kind == _LIT:
            lit = str(token[1])
            if not text.startswith(lit, si):
                break
            si += len(lit)
            ti += 1
            continue
        if kind == _ANY:
            if si >= n or text[si] == "/":
                break
            si += 1
            ti += 1
            continue
        if kind == _SET:
            if si >= n or text[si] == "/" or not _in_set(token, text[si]):
                break
            si += 1
            ti += 1
            continue
        if kind == _STAR:
            end = text.find("/", si)
            end = n if end < 0 else end
            result = any(_match(tokens, ti + 1, text, k, memo) for k in range(si, end + 1))
            break
        if kind == _DSTAR:
            result = any(_match(tokens, ti + 1, text, k, memo) for k in range(si, n + 1))
            break
        # _DSTAR_SLASH: zero or more whole leading directories
        starts = [si] + [k + 1 for k in range(si, n) if text[k] == "/"]
        result = any(_match(tokens, ti + 1, text, k, memo) for k in starts)
        break
    memo[key] = result
    return result
