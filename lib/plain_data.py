"""Plain JSON-ready data: a record's fields as a dict, the nested objects of a JSON state, parsed
JSON values narrowed to typed objects and lists, and dicts, lists and tuples of any Python data
narrowed for reading (``plain_dict``, ``plain_sequence``) or rebuilt (``map_plain``).

Hot path (the breaker, the rate limiter, the event bus and the guards use it): stdlib-free, no
``dataclasses``, no ``typing`` at run time.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "fields_dict",
    "json_list",
    "json_object",
    "json_str_list",
    "map_plain",
    "nested_object",
    "plain_dict",
    "plain_sequence",
    "two_level_copy",
]


def fields_dict(obj: object, fields: tuple[str, ...] | Mapping[str, str]) -> dict[str, object]:
    """``obj``'s fields as a dict, in the order of ``fields`` (the JSON written keeps that order).

    ``fields`` is a tuple of attribute (or property) names, which are also the keys, or a mapping of
    key -> attribute name where the two differ.
    """
    if isinstance(fields, tuple):
        return {name: getattr(obj, name) for name in fields}
    return {key: getattr(obj, name) for key, name in fields.items()}


def nested_object(parent: dict[str, object], key: str) -> dict[str, object]:
    """The JSON object under ``key`` of ``parent``; a missing one, or a value that is not an object
    (a hand-edited or foreign file), is replaced by a new empty object stored under ``key``."""
    value = json_object(parent.get(key))
    if value is None:
        value = parent[key] = {}
    return value


def json_object(x: object) -> dict[str, object] | None:
    """``x`` if it is a JSON object (a dict; parsed JSON's keys are strings), else ``None``.

    The one place a parsed value is narrowed to an object: ``isinstance`` alone gives
    ``dict[Unknown, Unknown]``, which strict pyright reports at every use.
    """
    return x if isinstance(x, dict) else None  # pyright: ignore[reportUnknownVariableType]


def json_list(x: object) -> list[object] | None:
    """``x`` if it is a JSON array (a list), else ``None``."""
    return x if isinstance(x, list) else None  # pyright: ignore[reportUnknownVariableType]


def json_str_list(x: object) -> list[str]:
    """The strings of ``x`` when it is a JSON array, else ``[]``."""
    items = json_list(x)
    return [v for v in items if isinstance(v, str)] if items is not None else []


def plain_dict(x: object) -> Mapping[object, object] | None:
    """``x`` if it is a dict, else ``None``: Python data of any keys (log fields, span attributes),
    not only parsed JSON, typed for reading."""
    return x if isinstance(x, dict) else None  # pyright: ignore[reportUnknownVariableType]


def plain_sequence(x: object) -> Sequence[object] | None:
    """``x`` if it is a list or a tuple, else ``None``."""
    return x if isinstance(x, (list, tuple)) else None  # pyright: ignore[reportUnknownVariableType]


def map_plain(value: object, leaf: Callable[[object], object], key: Callable[[object], str] = str) -> object:
    """``value`` rebuilt: dicts (their keys through ``key``) and lists or tuples (as lists) are walked
    down to the other values, which ``leaf`` replaces."""
    mapping = plain_dict(value)
    if mapping is not None:
        return {key(k): map_plain(v, leaf, key) for k, v in mapping.items()}
    sequence = plain_sequence(value)
    if sequence is not None:
        return [map_plain(v, leaf, key) for v in sequence]
    return leaf(value)


def two_level_copy(data: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``data`` whose JSON object values are copied too (one level down: a config's
    tables, a state's records), so changing those does not change ``data``."""
    copy: dict[str, object] = {}
    for key, value in data.items():
        table = json_object(value)
        copy[key] = value if table is None else dict(table)
    return copy
