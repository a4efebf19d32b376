"""Every event registered, in every route (install.sh, the package, the plugin, settings.example.json).

The Claude Code settings schema on SchemaStore (``claude-code-settings.json``) lists 30 hook events
under ``hooks`` with ``additionalProperties: false``; a group holds only ``matcher`` and ``hooks``; a
command handler only ``type``, ``command``, ``timeout`` (> 0), ``async``, ``asyncRewake``, ``shell``,
``if``, ``statusMessage`` and ``args``. The schema cannot be vendored here, so :func:`schema_problems`
states those rules and the tests hold our output to them. Events the CLI added after the schema's
last update (``DirectoryAdded``, 2.1.219; ``PreSkillShellCommand``, 2.1.332; ``PreModelSwitch``,
``PostModelSwitch``) are accepted by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lib import __version__
from lib.installer import EVENTS, NOT_REGISTERED, PLUGIN_LAUNCHER, our_registrations, plugin_hooks
from lib.protocol.events import EVENTS as KNOWN

REPO = Path(__file__).resolve().parents[2]

SCHEMA_EVENTS = frozenset(
    [
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PermissionRequest",
        "Notification",
        "UserPromptSubmit",
        "Stop",
        "StopFailure",
        "SubagentStart",
        "SubagentStop",
        "PreCompact",
        "PostCompact",
        "Elicitation",
        "ElicitationResult",
        "TeammateIdle",
        "TaskCompleted",
        "Setup",
        "InstructionsLoaded",
        "CwdChanged",
        "FileChanged",
        "ConfigChange",
        "WorktreeCreate",
        "WorktreeRemove",
        "SessionStart",
        "SessionEnd",
        "PostToolBatch",
        "TaskCreated",
        "PermissionDenied",
        "UserPromptExpansion",
        "MessageDisplay",
    ]
)
NEWER_THAN_SCHEMA = frozenset({"DirectoryAdded", "PreSkillShellCommand", "PreModelSwitch", "PostModelSwitch"})
COMMAND_FIELDS = frozenset(
    {"type", "command", "timeout", "async", "asyncRewake", "shell", "if", "statusMessage", "args"}
)


def schema_problems(hooks: dict[str, Any]) -> list[str]:
    """What the settings schema's ``hooks`` rules reject in ``hooks`` (empty: valid)."""
    problems = []
    for event, groups in hooks.items():
        if event not in SCHEMA_EVENTS | NEWER_THAN_SCHEMA:
            problems.append(f"unknown event {event}")
        for group in groups:
            if set(group) - {"matcher", "hooks"} or "hooks" not in group:
                problems.append(f"{event}: group keys {sorted(group)}")
            for handler in group["hooks"]:
                if set(handler) - COMMAND_FIELDS or handler.get("type") != "command":
                    problems.append(f"{event}: handler keys {sorted(handler)}")
                if not isinstance(handler.get("command"), str) or not handler["command"]:
                    problems.append(f"{event}: empty command")
                if not isinstance(handler.get("timeout"), int) or handler["timeout"] <= 0:
                    problems.append(f"{event}: timeout {handler.get('timeout')!r}")
    return problems


def test_every_known_event_is_registered_but_worktree_create() -> None:
    assert set(EVENTS) == set(KNOWN) - NOT_REGISTERED
    assert {"WorktreeCreate"} == NOT_REGISTERED
    assert len(SCHEMA_EVENTS) == 30 and SCHEMA_EVENTS - set(KNOWN) == set()
    assert set(EVENTS) >= SCHEMA_EVENTS - NOT_REGISTERED


def test_registrations_fit_the_settings_schema() -> None:
    assert schema_problems(our_registrations()) == []
    assert schema_problems(plugin_hooks()["hooks"]) == []
    assert schema_problems({"Bogus": [{"hooks": [{"type": "command", "command": "x", "timeout": 0}]}]}) == [
        "unknown event Bogus",
        "Bogus: timeout 0",
    ]
    assert our_registrations()["MessageDisplay"][0]["hooks"][0]["timeout"] == 10


def test_plugin_hooks_file_is_generated_from_the_registrations() -> None:
    on_disk = json.loads((REPO / "hooks" / "hooks.json").read_text())
    assert on_disk == plugin_hooks(), "regenerate: python -m lib.installer plugin-hooks > hooks/hooks.json"
    assert set(on_disk["hooks"]) == set(EVENTS)
    for event, groups in on_disk["hooks"].items():
        (handler,) = groups[0]["hooks"]
        assert handler["command"] == f'"${{CLAUDE_PLUGIN_ROOT}}"/{PLUGIN_LAUNCHER} {event}'
    assert on_disk["hooks"]["SessionStart"][0]["hooks"][0]["timeout"] == 600
    assert (REPO / PLUGIN_LAUNCHER).stat().st_mode & 0o111


def test_plugin_manifests_carry_the_package_version() -> None:
    plugin = json.loads((REPO / ".claude-plugin" / "plugin.json").read_text())
    market = json.loads((REPO / ".claude-plugin" / "marketplace.json").read_text())
    assert plugin["version"] == __version__
    (entry,) = market["plugins"]
    assert (entry["name"], entry["source"], entry["version"]) == (plugin["name"], "./", __version__)
    # Claude Code reserves plugin names starting with "claude-"
    assert not plugin["name"].startswith("claude-") and not market["name"].startswith("claude-")
    assert f"## {__version__} " in (REPO / "CHANGELOG.md").read_text()
