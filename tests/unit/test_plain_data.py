"""``lib.plain_data``: a record's fields as a dict, nested objects of a JSON state."""

from __future__ import annotations

from lib.plain_data import (
    fields_dict,
    json_list,
    json_object,
    json_str_list,
    map_plain,
    nested_object,
    plain_dict,
    plain_sequence,
    two_level_copy,
)


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


def test_json_object_and_json_list_return_the_value_itself_or_none() -> None:
    obj: dict[str, object] = {"a": 1}
    arr: list[object] = [1, "x"]
    assert json_object(obj) is obj and json_object(arr) is None and json_object(None) is None
    assert json_list(arr) is arr and json_list(obj) is None and json_list("ab") is None


def test_json_str_list_keeps_the_strings_of_a_list() -> None:
    assert json_str_list(["a", 1, "b", None]) == ["a", "b"]
    assert json_str_list([]) == [] and json_str_list("a") == [] and json_str_list({"a": 1}) == []


def test_plain_dict_and_plain_sequence_take_any_keys_lists_and_tuples() -> None:
    mapping = {1: "one", None: 2}
    pair = (1, "a")
    assert plain_dict(mapping) is mapping and plain_dict([1]) is None
    assert plain_sequence(pair) is pair and plain_sequence([1]) == [1]
    assert plain_sequence({1: 2}) is None and plain_sequence("ab") is None


def test_two_level_copy_copies_the_nested_objects_but_not_deeper() -> None:
    deep: dict[str, object] = {"z": 1}
    inner: dict[str, object] = {"x": 1, "deep": deep}
    data: dict[str, object] = {"t": inner, "n": 3, "l": [1]}
    copy = two_level_copy(data)
    assert copy == data and copy["t"] is not inner and copy["l"] is data["l"]
    copied = json_object(copy["t"])
    assert copied is not None and copied["deep"] is deep


def test_map_plain_rebuilds_dicts_and_sequences_and_replaces_the_other_values() -> None:
    value = {1: (2, "a"), "b": [{"c": None}]}
    doubled = map_plain(value, lambda v: v * 2 if isinstance(v, int) else v)
    assert doubled == {"1": [4, "a"], "b": [{"c": None}]}
    assert map_plain({"k": 1}, str, key=lambda k: f"<{k}>") == {"<k>": "1"}
    assert map_plain(3, str) == "3"
