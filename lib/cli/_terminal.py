"""The one terminal-escaping helper: every ``python -m lib`` command prints what came from a payload
(prompts, commands, tool names, errors, task subjects, state keys) through :func:`escape`, and JSON
lines through :func:`escape_json`.

A hook payload is written by whoever controls the model's input, and a terminal obeys the bytes it is
given: ESC starts a control sequence (move the cursor, rewrite the title, hide text), CR returns to the
start of the line and overwrites it, BEL rings, an embedded newline forges a line of output that looks
like our own, bidirectional overrides reorder what is shown. :func:`escape` shows each of them as a
visible escape (``\\x1b``, ``\\r``, ``\\n``, ``\\u202e``) instead.
"""

from __future__ import annotations

__all__ = ["escape", "escape_json"]

# C0 controls, DEL, C1 controls (U+0080-U+009F: 8-bit CSI and friends), line/paragraph separators,
# bidirectional marks, embeddings, overrides and isolates, the BOM / zero-width no-break space
_UNSAFE = [
    *range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, 0x200E, 0x200F,
    *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0xFEFF,
]  # fmt: skip
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}
_TEXT_TABLE: dict[int, str] = {
    c: _NAMED.get(c, f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}") for c in _UNSAFE
}
# in JSON output the C0 controls are already escaped by the encoder; the rest become \uXXXX escapes,
# which are valid JSON inside a string (the only place such a character can occur)
_JSON_TABLE: dict[int, str] = {c: f"\\u{c:04x}" for c in _UNSAFE if c >= 0x7F}


def escape(value: object) -> str:
    """``value`` as text with every control character shown as a visible escape (one line, inert)."""
    text = value if isinstance(value, str) else str(value)
    return text.translate(_TEXT_TABLE)


def escape_json(line: str) -> str:
    """A JSON text with DEL, C1 controls, line separators and bidi controls escaped as ``\\uXXXX``
    (still the same JSON value)."""
    return line.translate(_JSON_TABLE)
