"""Every event install.sh registers, fired as Claude Code fires it, leaves a log record, a span and a
bus event, and answers with exit 0 and one JSON object or nothing."""

from __future__ import annotations

from typing import Any

import pytest
from hookkit import HookProject, payload_for

from lib.installer import EVENTS
from lib.protocol.events import EVENTS as SPECS

REQUIRED: dict[str, Any] = {"str": "x", "dict": {}, "list": [], "bool": False, "int": 1, "object": None}


def minimal_payload(event: str) -> dict[str, Any]:
    """The recorded payload of ``event`` if there is one, else the common fields plus the required ones."""
    try:
        return payload_for(event)
    except LookupError:
        pass
    base = payload_for("SessionStart")
    payload: dict[str, Any] = {"session_id": base["session_id"], "cwd": base["cwd"], "hook_event_name": event}
    for name, types, required in SPECS[event].fields:
        if required:
            payload[name] = REQUIRED[types[0].__name__]
    return payload


@pytest.mark.parametrize("event", EVENTS)
def test_each_registered_event_is_logged_traced_and_published(hook_project: HookProject, event: str) -> None:
    result = hook_project.run(minimal_payload(event))
    assert result.code == 0, result.stderr
    result.json  # noqa: B018  (asserts stdout is one JSON object or nothing)
    records = [r for r in hook_project.log_records("hooks") if r.get("hook") == "runtime"]
    assert [r["event"] for r in records] == [event]
    spans = hook_project.log_records("traces")
    assert any(
        s.get("name", "").startswith(event) or s.get("attributes", {}).get("hook.event") == event
        for s in spans
    ), spans
    published = hook_project.log_records("events")
    assert published and all(e.get("session_id") for e in published), published
