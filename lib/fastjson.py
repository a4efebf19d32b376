"""JSON for the hook's hot path: the C codec behind :mod:`json`, without the cost of importing ``json``.

``import json`` imports ``re`` and compiles the regular expressions of ``json.decoder``,
``json.scanner`` and ``json.encoder``: about 8 ms of CPU per hook process on a 2-core machine, more
than everything else a PostToolUse hook does. The work itself is done by ``_json``, the C accelerator
``json`` uses when it is there; this module drives it directly, so :func:`loads` and :func:`dumps`
give exactly what ``json.loads`` and ``json.dumps(..., separators=(",", ":"))`` give, including their
error types and messages (an error imports ``json`` to raise its ``json.JSONDecodeError``).
Without ``_json`` (another interpreter) both functions are ``json``'s own.

Stdlib only (besides the import-free :mod:`lib.plain_data`): every hook process imports this module.
"""

from __future__ import annotations

from lib.plain_data import map_plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["dumps", "loads", "may_hold_surrogates", "scrub_surrogates"]

_WHITESPACE = " \t\n\r"  # JSON's whitespace, exactly (str.strip() without arguments strips more)
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _DecoderContext:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder`` (its defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _decode_error(message: str, doc: str, pos: int) -> ValueError:
    from json import JSONDecodeError

    return JSONDecodeError(message, doc, pos)


def _text(data: str | bytes | bytearray) -> str:
    """``data`` as text, decoded the way ``json.loads`` decodes bytes."""
    if isinstance(data, str):
        if data.startswith("\ufeff"):
            raise _decode_error("Unexpected UTF-8 BOM (decode using utf-8-sig)", data, 0)
        return data
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"the JSON object must be str, bytes or bytearray, not {data.__class__.__name__}")
    head = bytes(data[:4])
    if head.startswith(b"\xef\xbb\xbf"):
        return bytes(data[3:]).decode("utf-8", "surrogatepass")
    if b"\x00" in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16/32: rare, json's path
        import json

        return data.decode(json.detect_encoding(data), "surrogatepass")
    return data.decode("utf-8", "surrogatepass")


def _no_default(value: object) -> object:
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


try:
    import _json

    _scan_once = _json.make_scanner(_DecoderContext())  # type: ignore[arg-type]  # reads the attributes
    _encode_str = _json.encode_basestring
    _encode_ascii = _json.encode_basestring_ascii
    _make_encoder = _json.make_encoder
except (ImportError, AttributeError):  # pragma: no cover - interpreters without the C accelerator
    _json = None  # type: ignore[assignment]


def loads(data: str | bytes | bytearray) -> object:
    """Parse one JSON document (text, or bytes in UTF-8/16/32): ``json.loads(data)``."""
    if _json is None:  # pragma: no cover
        import json

        return json.loads(data)
    text = _text(data)
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan_once(text, start)
    except StopIteration as err:
        raise _decode_error("Expecting value", text, err.value) from None
    except SystemError:
        # Python 3.11's _json raises its JSONDecodeError only if json.decoder is already imported
        # (else "returned NULL without setting an exception"): let json itself raise the error.
        import json

        return json.loads(data)
    if end != len(text):
        rest = text[end:]
        extra = end + len(rest) - len(rest.lstrip(_WHITESPACE))
        if extra != len(text):
            raise _decode_error("Extra data", text, extra)
    return value


def dumps(
    value: object,
    *,
    ensure_ascii: bool = True,
    allow_nan: bool = True,
    default: Callable[[object], object] | None = None,
) -> str:
    """Compact JSON text: ``json.dumps(value, separators=(",", ":"), ...)`` with the same options."""
    if _json is None:  # pragma: no cover
        import json

        return json.dumps(
            value, separators=(",", ":"), ensure_ascii=ensure_ascii, allow_nan=allow_nan, default=default
        )
    encoder = _make_encoder(
        {},  # markers: detect circular references, as json does by default
        default or _no_default,
        _encode_ascii if ensure_ascii else _encode_str,
        None,  # indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        allow_nan,
    )
    return "".join(encoder(value, 0))


def may_hold_surrogates(raw: bytes) -> bool:
    """True when JSON bytes might decode to a string with a lone UTF-16 surrogate: a ``\\uD8xx``..
    ``\\uDFxx`` escape, or the bytes of an encoded surrogate (``0xED``, which UTF-8 text in
    U+D000..U+D7FF also starts with). A cheap test that spares :func:`scrub_surrogates` its walk."""
    return b"\\ud" in raw or b"\\uD" in raw or b"\xed" in raw


def _scrub_text(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # UTF-16 round trip: a lone surrogate becomes U+FFFD (what Node's UTF-8 encoder writes for it,
        # so the shell would run exactly this text), a split pair is joined.
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text


def scrub_surrogates(value: object) -> object:
    """``value`` (parsed JSON) with every lone surrogate in its strings and keys replaced by U+FFFD.

    JSON allows ``"\\ud800"``; Python keeps it as a string that no UTF-8 encoder accepts, so an
    answer, a log record or a state file holding it would fail to write. Scrubbed once where the
    payload is parsed, every later writer sees encodable text."""
    return map_plain(value, _scrub_value, _scrub_key)


def _scrub_value(value: object) -> object:
    return _scrub_text(value) if isinstance(value, str) else value


def _scrub_key(key: object) -> str:
    return _scrub_text(str(key))
