"""``lib.plain_data``: a record's fields as a dict, nested objects of a JSON state."""

from __future__ import annotations

from lib.plain_data import fields_dict, nested_object


class _Thing:
    __slots__ = ("a", "b")

    def __init__(self) -> None:
        self.a = 1
        self.b = "two"

    @property
    def c(self) -> int:
        return self.a + 2


def test_fields_dict_keeps_the_order_of_its_table_and_reads_properties() -> None:
    assert list(fields_dict(_Thing(), ("c", "a", "b")).items()) == [("c", 3), ("a", 1), ("b", "two")]


def test_fields_dict_with_a_mapping_renames_keys() -> None:
    assert list(fields_dict(_Thing(), {"b_key": "b", "a": "a"}).items()) == [("b_key", "two"), ("a", 1)]


def test_nested_object_returns_the_object_or_stores_a_new_one() -> None:
    inner: dict[str, object] = {"x": 1}
    state: dict[str, object] = {"ok": inner, "bad": [1, 2]}
    assert nested_object(state, "ok") is inner
    made = nested_object(state, "bad")
    assert made == {} and state["bad"] is made
    assert nested_object(state, "new") is state["new"]
