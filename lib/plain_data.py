"""Plain JSON-ready data: a record's fields as a dict, and the nested objects of a JSON state.

Hot path (the breaker, the rate limiter, the event bus and the guards use it): stdlib-free, no
``dataclasses``, no ``typing`` at run time.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["fields_dict", "nested_object"]


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
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value  # pyright: ignore[reportUnknownVariableType]


def json_object(value: object) -> dict[str, object] | None:
    """``value`` when it is a JSON object (a dict), else ``None``."""
    return value if isinstance(value, dict) else None


def json_list(value: object) -> list[object] | None:
    """``value`` when it is a JSON array (a list), else ``None``."""
    return value if isinstance(value, list) else None


def json_str_list(value: object) -> list[str]:
    """The strings of ``value`` when it is a JSON array, else ``[]``."""
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
