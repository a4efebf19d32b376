"""lib.fastjson gives what json gives (values, text, errors), without importing json on success."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lib import fastjson
from tests.hookkit import run_without_site

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30,
)


@given(JSON_VALUES)
def test_dumps_matches_json_compact(value: object) -> None:
    for ensure_ascii in (True, False):
        expected = json.dumps(value, separators=(",", ":"), ensure_ascii=ensure_ascii)
        assert fastjson.dumps(value, ensure_ascii=ensure_ascii) == expected


@given(JSON_VALUES)
def test_loads_round_trips_like_json(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert fastjson.loads(text) == json.loads(text)
    assert fastjson.loads(text.encode()) == json.loads(text.encode())
    assert fastjson.loads(f" \n\t{text}\r\n ") == value


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_fails_exactly_like_json(text: str) -> None:
    try:
        expected: object = json.loads(text)
    except json.JSONDecodeError as exc:
        with pytest.raises(json.JSONDecodeError) as got:
            fastjson.loads(text)
        assert (got.value.msg, got.value.pos) == (exc.msg, exc.pos)
    else:
        # compared through repr: NaN (which json accepts) is not equal to itself
        assert repr(fastjson.loads(text)) == repr(expected)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"{",
        b'{"a": 1} x',
        b'{"a": 1}{"b": 2}',
        b"[1, 2,]",
        b'{"a": NaN, "b": -Infinity}',
        b'"\xed\xa0\x80"',  # a lone surrogate in UTF-8: json accepts it (surrogatepass)
        '\ufeff{"a": 1}'.encode(),  # UTF-8 BOM in bytes: allowed
        '{"a": "é"}'.encode("utf-16"),
        '{"a": "é"}'.encode("utf-32-le"),
        b"\xff\xfe",
        b'{"a": "\x01"}',  # a raw control character: invalid in strict JSON
    ],
)
def test_edge_cases_match_json(raw: bytes) -> None:
    try:
        expected: object = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        with pytest.raises(type(exc)) as got:
            fastjson.loads(raw)
        assert str(got.value) == str(exc)
    else:
        got_value = fastjson.loads(raw)
        if isinstance(expected, dict) and any(
            isinstance(v, float) and math.isnan(v) for v in expected.values()
        ):
            assert json.dumps(got_value) == json.dumps(expected)
        else:
            assert got_value == expected


def test_bom_in_text_is_refused_like_json() -> None:
    with pytest.raises(json.JSONDecodeError, match="Unexpected UTF-8 BOM"):
        fastjson.loads('\ufeff{"a": 1}')


def test_dumps_options_match_json() -> None:
    class Thing:
        def __str__(self) -> str:
            return "thing"

    value = {"n": [1.5, float("inf")], "t": Thing(), 3: "int key", None: True}
    assert fastjson.dumps(value, ensure_ascii=False, default=str) == json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, default=str
    )
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        fastjson.dumps({"x": float("nan")}, allow_nan=False)
    with pytest.raises(TypeError, match="Object of type Thing is not JSON serializable"):
        fastjson.dumps({"t": Thing()})
    circular: list[object] = []
    circular.append(circular)
    with pytest.raises(ValueError, match="Circular reference"):
        fastjson.dumps(circular)


def test_the_hot_path_does_not_import_json_or_re() -> None:
    code = (
        "import sys; from lib import fastjson; "
        'v = fastjson.loads(b\'{"a": [1, 2.5, "\\\\u00e9", null]}\'); '
        "s = fastjson.dumps(v, ensure_ascii=False); "
        "print(s, 'json' in sys.modules, 're' in sys.modules)"
    )
    out = run_without_site(code)
    assert out.strip() == '{"a":[1,2.5,"é",null]} False False'


def test_errors_are_jsons_even_before_json_is_imported() -> None:
    code = (
        "import sys; from lib import fastjson\n"
        "for raw in (b'{\"a\": 1', b'[1,]', b'nope', b'{} x'):\n"
        "    try:\n"
        "        fastjson.loads(raw)\n"
        "    except ValueError as exc:\n"
        "        print(type(exc).__name__, exc)\n"
    )
    out = run_without_site(code)
    expected = []
    for raw in (b'{"a": 1', b"[1,]", b"nope", b"{} x"):
        with pytest.raises(json.JSONDecodeError) as exc:
            json.loads(raw)
        expected.append(f"JSONDecodeError {exc.value}")
    assert out.splitlines() == expected


def test_lone_surrogates_are_scrubbed_everywhere_and_pairs_joined() -> None:
    from lib.fastjson import dumps, loads, may_hold_surrogates, scrub_surrogates

    raw = b'{"a\\ud800": ["x\\udfff", {"k": "\\ud83d\\ude00 ok"}, 1, null], "b": "\xc3\xa9"}'
    assert may_hold_surrogates(raw) and not may_hold_surrogates(b'{"a": "plain \\u00e9"}')
    value = scrub_surrogates(loads(raw))
    assert value == {"a\ufffd": ["x\ufffd", {"k": "\U0001f600 ok"}, 1, None], "b": "\u00e9"}
    assert dumps(value, ensure_ascii=False).encode("utf-8")  # encodable now
    assert scrub_surrogates("\ud800\udc00") == "\U00010000"  # a split pair is joined
