"""Plain JSON-ready data: a record's fields as a dict, the nested objects of a JSON state, and
parsed JSON values narrowed to typed objects, arrays and string arrays (``json_object`` ...), and
dicts, lists and tuples of any Python data narrowed for reading (``plain_dict``, ``plain_sequence``).

Hot path (the breaker, the rate limiter, the event bus and the guards use it): stdlib-free, no
``dataclasses``, no ``typing`` at run time.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import TypeGuard

__all__ = [
    "fields_dict",
    "json_list",
    "json_object",
    "json_str_list",
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


def _is_json_object(value: object) -> TypeGuard[dict[str, object]]:
    return isinstance(value, dict)


def _is_json_list(value: object) -> TypeGuard[list[object]]:
    return isinstance(value, list)


def json_object(value: object) -> dict[str, object] | None:
    """``value`` as a JSON object, or None if it is not a dict (parsed JSON's keys are strings)."""
    return value if _is_json_object(value) else None


def json_list(value: object) -> list[object] | None:
    """``value`` as a JSON array, or None if it is not a list."""
    return value if _is_json_list(value) else None


def _is_str_list(items: list[object]) -> TypeGuard[list[str]]:
    return all(isinstance(item, str) for item in items)


def json_str_list(value: object) -> list[str] | None:
    """``value`` as a JSON array of strings, or None if it is not a list or holds a non-string."""
    items = json_list(value)
    return items if items is not None and _is_str_list(items) else None


def _is_dict(value: object) -> TypeGuard[Mapping[object, object]]:
    return isinstance(value, dict)


def _is_sequence(value: object) -> TypeGuard[Sequence[object]]:
    return isinstance(value, (list, tuple))


def plain_dict(value: object) -> Mapping[object, object] | None:
    """``value`` when it is a dict, else None: Python data of any keys (log fields, span
    attributes), not only parsed JSON, typed for reading."""
    return value if _is_dict(value) else None


def plain_sequence(value: object) -> Sequence[object] | None:
    """``value`` when it is a list or a tuple, else None."""
    return value if _is_sequence(value) else None


def two_level_copy(data: Mapping[str, object]) -> dict[str, object]:
    """A copy of ``data`` whose JSON object values are copied too (one level down: a config's
    tables, a state's records), so changing those does not change ``data``."""
    copy: dict[str, object] = {}
    for key, value in data.items():
        table = json_object(value)
        copy[key] = value if table is None else dict(table)
    return copy


def nested_object(parent: dict[str, object], key: str) -> dict[str, object]:
    """The JSON object under ``key`` of ``parent``; a missing one, or a value that is not an object
    (a hand-edited or foreign file), is replaced by a new empty object stored under ``key``."""
    value = json_object(parent.get(key))
    if value is None:
        value = parent[key] = {}
    return value
