"""Every captured payload validates; the hot-path field table agrees with the pydantic models."""

from __future__ import annotations

import types
import typing

import pytest
from hookkit import load_payloads

from lib.protocol.events import EVENTS, InputError, check_fields
from lib.protocol.models import INPUT_MODELS, HookInput, PostToolUseFailureInput, parse_input

PAYLOADS = load_payloads()


@pytest.mark.parametrize(
    "payload", PAYLOADS, ids=lambda p: f"{p['hook_event_name']}-{p.get('tool_name', '')}"
)
def test_captured_payloads_validate_in_both_views(payload: dict[str, object]) -> None:
    check_fields(payload, EVENTS[str(payload["hook_event_name"])])
    model = parse_input(payload)
    assert type(model).__name__ == f"{payload['hook_event_name']}Input"
    assert model.model_dump(exclude_unset=True) == payload  # nothing dropped, nothing invented


def test_unknown_fields_are_kept() -> None:
    payload = {**PAYLOADS[5], "brand_new_field": {"x": 1}}
    model = parse_input(payload)
    assert model.model_extra == {"brand_new_field": {"x": 1}}


def test_failure_payload_is_typed() -> None:
    failure = next(p for p in PAYLOADS if p["hook_event_name"] == "PostToolUseFailure")
    model = parse_input(failure)
    assert isinstance(model, PostToolUseFailureInput)
    assert model.error.startswith("Exit code") and model.is_interrupt is False


def test_unknown_event_parses_permissively() -> None:
    model = parse_input({"hook_event_name": "FutureEvent", "session_id": "s", "x": 1})
    assert type(model) is HookInput


def test_every_event_has_a_model_and_the_tables_agree() -> None:
    assert set(INPUT_MODELS) == set(EVENTS)
    simple = {str: str, dict: dict, list: list, bool: bool, int: int}
    for name, spec in EVENTS.items():
        fields = INPUT_MODELS[name].model_fields
        for field, types_, required in spec.fields:
            assert field in fields, f"{name}.{field} missing from the model"
            assert fields[field].is_required() == required, f"{name}.{field} required mismatch"
            if types_ == (object,):
                continue
            annotation = fields[field].annotation
            args = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,)
            origins = {typing.get_origin(a) or a for a in args} - {type(None)}
            assert origins == {simple[t] for t in types_}, f"{name}.{field}: {origins} != {types_}"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {}}, "missing required field 'session_id'"),
        ({"hook_event_name": "PreToolUse", "session_id": "s", "tool_input": {}}, "missing required field 'tool_name'"),
        (
            {"hook_event_name": "PreToolUse", "session_id": "s", "tool_name": "Bash", "tool_input": "ls"},
            "field 'tool_input' must be an object, got a string",
        ),
        (
            {"hook_event_name": "PostToolUseFailure", "session_id": "s", "tool_name": "Bash", "tool_input": {},
             "error": "x", "is_interrupt": "no"},
            "field 'is_interrupt' must be a boolean, got a string",
        ),
        (
            {"hook_event_name": "PostToolUse", "session_id": "s", "tool_name": "Bash", "tool_input": {},
             "duration_ms": True},
            "field 'duration_ms' must be an integer, got a boolean",
        ),
    ],
)  # fmt: skip
def test_field_errors_name_the_field(payload: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        check_fields(payload, EVENTS[str(payload["hook_event_name"])])
