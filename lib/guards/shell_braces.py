"""Bash brace expansion (``{a,b}``, ``{1..5}``, ``{a..e}``, nested, at most 64 words) for the shell parser.

Imported by :mod:`lib.guards.shell_parse` only for a word with an unquoted ``{``.
"""

from __future__ import annotations

from lib.guards.shell_words import LIT, TILDE, TILDE_CHARS, span

__all__ = ["MAX_WORDS", "TooManyWords", "brace_expand", "brace_texts"]

#: the most words one word may expand to before the parser gives up on it (the line is then asked)
MAX_WORDS = 64
_MAX_BRACE = MAX_WORDS


class TooManyWords(Exception):
    """A brace expansion would make more than :data:`MAX_WORDS` words: judging only the first ones
    would let the rest through unseen (``rm -rf {a{1..64},/}``), so the caller stops analysing."""


def brace_texts(text: str) -> list[str]:
    """Brace expansion of a word that is one unquoted literal without ``~`` (the commonest case):
    the same values as :func:`brace_expand`, as strings, without building a part list per value."""
    found = _find_brace(text) if "{" in text else None
    if found is None:
        return [text]
    start, end, alternatives = found
    head, tail = text[:start], text[end + 1 :]
    if len(alternatives) > _MAX_BRACE:
        raise TooManyWords
    out: list[str] = []
    for alt in alternatives:
        value = head + alt + tail
        if "{" in value:
            out.extend(brace_texts(value))
        else:
            out.append(value)
        if len(out) > _MAX_BRACE:
            raise TooManyWords
    return out


def brace_expand(parts: list[tuple[object, ...]]) -> list[list[tuple[object, ...]]]:
    """Bash brace expansion over the unquoted literal parts of a word; raises :class:`TooManyWords`
    past :data:`MAX_WORDS` words."""
    for idx, p in enumerate(parts):
        if p[0] != LIT or p[2] or "{" not in str(p[1]):
            continue
        text = str(p[1])
        found = _find_brace(text)
        if found is None:
            continue
        start, end, alternatives = found
        if len(alternatives) > _MAX_BRACE:
            raise TooManyWords
        out: list[list[tuple[object, ...]]] = []
        for alt in alternatives:
            new_text = text[:start] + alt + text[end + 1 :]
            replaced: list[tuple[object, ...]] = [(LIT, new_text, False)]
            if idx == 0 and new_text.startswith("~"):  # brace expansion happens before tilde expansion
                end_user = span(new_text, 1, TILDE_CHARS)
                if end_user == len(new_text) or new_text[end_user] == "/":
                    replaced = [(TILDE, new_text[1:end_user])]
                    if new_text[end_user:]:
                        replaced.append((LIT, new_text[end_user:], False))
            new_parts = [*parts[:idx], *replaced, *parts[idx + 1 :]]
            out.extend(brace_expand(new_parts))
            if len(out) > _MAX_BRACE:
                raise TooManyWords
        return out
    return [parts]


def _find_brace(text: str) -> tuple[int, int, list[str]] | None:
    """The first ``{a,b}`` or ``{1..5}`` group in ``text``: (start, end, alternatives)."""
    i = 0
    n = len(text)
    while i < n:
        start = text.find("{", i)
        if start < 0 or (start > 0 and text[start - 1] == "$"):
            if start < 0:
                return None
            i = start + 1
            continue
        close = text.find("}", start)
        if close < 0:
            return None  # no group can close after this point
        inner = text[start + 1 : close]
        if "{" not in inner:  # not nested (the usual case): no walk over every character
            if "," in inner:
                return start, close, inner.split(",")
            seq = _brace_sequence(inner)
            if seq is not None:
                return start, close, seq
            i = start + 1
            continue
        depth = 0
        commas: list[int] = []
        for j in range(start, n):
            ch = text[j]
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    inner = text[start + 1 : j]
                    if commas:
                        cuts = [start, *commas, j]
                        return start, j, [text[cuts[k] + 1 : cuts[k + 1]] for k in range(len(cuts) - 1)]
                    seq = _brace_sequence(inner)
                    if seq is not None:
                        return start, j, seq
                    break
            elif ch == "," and depth == 1:
                commas.append(j)
        i = start + 1
    return None


def _small_int(text: str, digits: int) -> int | None:
    body = text[1:] if text.startswith("-") else text
    if not body or len(body) > digits or not body.isdigit() or not body.isascii():
        return None
    return int(text)


def _brace_sequence(inner: str) -> list[str] | None:
    """``{1..5}``, ``{10..0..2}``, ``{a..e}`` -> the values (:class:`TooManyWords` past the cap)."""
    pieces = inner.split("..")
    if len(pieces) in (2, 3):
        a, b = _small_int(pieces[0], 6), _small_int(pieces[1], 6)
        step = _small_int(pieces[2], 4) if len(pieces) == 3 else 1
        if a is not None and b is not None and step is not None:
            step = abs(step) or 1
            rng = range(a, b + 1, step) if a <= b else range(a, b - 1, -step)
            if len(rng) > _MAX_BRACE:
                raise TooManyWords
            return [str(v) for v in rng]
    if len(pieces) == 2 and all(len(p) == 1 and p.isascii() and p.isalpha() for p in pieces):
        x, y = ord(pieces[0]), ord(pieces[1])
        letters = range(x, y + 1) if x <= y else range(x, y - 1, -1)
        if len(letters) > _MAX_BRACE:
            raise TooManyWords
        return [chr(v) for v in letters]
    return None
