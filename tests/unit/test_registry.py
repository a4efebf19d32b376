"""The handler API users write against (lib/registry.py): registering, matching, and the event view."""

from __future__ import annotations

from pathlib import Path

import pytest
from hookkit import payload_for

from lib.paths import Paths
from lib.protocol.output import Outcome, deny
from lib.registry import HookEvent, HookRegistry


def event_for(tmp_path: Path, name: str, tool: str | None = None, **config: object) -> HookEvent:
    return HookEvent(name, payload_for(name, tool), paths=Paths(str(tmp_path)), config=dict(config))


def test_an_unknown_event_name_is_refused_with_the_names_to_use() -> None:
    registry = HookRegistry()
    with pytest.raises(ValueError, match=r"unknown hook event 'PreToolUse2'; use one of: .*PreToolUse"):
        registry.register("PreToolUse2", lambda e: None)


def test_handlers_match_like_claude_code_and_reregistering_replaces() -> None:
    registry = HookRegistry()

    @registry.hook("PreToolUse", matcher="Bash|Edit", name="policy")
    def first(event: HookEvent) -> Outcome | None:
        return None

    on_read = registry.register("PreToolUse", lambda e: None, matcher="Read", name="reads")
    assert [h.name for h in registry.handlers_for("PreToolUse", "Bash")] == ["policy"]
    assert [h.name for h in registry.handlers_for("PreToolUse", "Read")] == ["reads"]
    assert registry.handlers_for("PreToolUse", "Write") == []
    # an event without a matcher field runs every handler, as Claude Code does
    registry.register("UserPromptSubmit", lambda e: None, matcher="Bash", name="prompt")
    assert [h.name for h in registry.handlers_for("UserPromptSubmit", None)] == ["prompt"]
    # a module imported again replaces its handlers instead of doubling them
    registry.register("PreToolUse", lambda e: None, matcher="Bash", name="policy")
    assert [h.name for h in registry.handlers_for("PreToolUse", "Bash")] == ["policy"]
    assert len(registry.all()) == 3
    assert repr(on_read) == "Handler('reads', event='PreToolUse', matcher='Read')"
    registry.clear()
    assert registry.all() == []


def test_a_handler_without_a_name_is_labelled_by_its_module_and_function() -> None:
    registry = HookRegistry()

    def no_force_push(event: HookEvent) -> Outcome | None:
        return None

    handler = registry.register("Stop", no_force_push)
    assert (
        handler.name
        == f"{__name__}.test_a_handler_without_a_name_is_labelled_by_its_module_and_function.<locals>.no_force_push"
    )


def test_the_event_view_of_a_tool_call(tmp_path: Path) -> None:
    event = event_for(tmp_path, "PreToolUse", "Bash", guards={"level": "strict"})
    payload = payload_for("PreToolUse", "Bash")
    assert event.session_id == payload["session_id"]
    assert event.tool_name == "Bash"
    assert event.tool_input == payload["tool_input"]
    assert event.tool_use_id == payload["tool_use_id"]
    assert event.get("cwd") == payload["cwd"] and event.get("not-a-field", 3) == 3
    assert event.section("guards") == {"level": "strict"} and event.section("breaker") == {}
    model = event.model()
    assert type(model).__name__ == "PreToolUseInput" and model is event.model()  # validated once


def test_the_event_view_of_an_event_without_a_tool(tmp_path: Path) -> None:
    event = event_for(tmp_path, "UserPromptSubmit")
    assert (event.tool_name, event.tool_input, event.tool_use_id) == ("", {}, None)
    assert not event.denied
    event.pending = deny("no")
    assert event.denied


def test_handlers_log_publish_and_keep_state(tmp_path: Path) -> None:
    event = event_for(tmp_path, "PostToolUse", "Bash")
    event.log.handler = "mine"
    event.log.debug("d", n=1)
    event.log.info("i")
    event.log.warning("w")
    event.log.error("e", why="x")
    assert [(r["level"], r["message"], r["handler"]) for r in event.log.records] == [
        ("debug", "d", "mine"),
        ("info", "i", "mine"),
        ("warning", "w", "mine"),
        ("error", "e", "mine"),
    ]
    assert event.log.records[-1]["fields"] == {"why": "x"}
    event.publish("deploy.started", {"env": "prod"})
    assert event.published == [("deploy.started", {"env": "prod"})]
    store = event.store("counters")
    with store.transaction() as state:
        state["n"] = 1
    assert event.store("counters").read() == {"n": 1}
    assert (tmp_path / ".claude" / "state" / "counters.json").is_file()
