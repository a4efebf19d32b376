"""Merging our registrations into settings.json: idempotent, backed up, the user's entries untouched."""

from __future__ import annotations

import json
from pathlib import Path

from lib.installer import (
    EVENTS,
    MARKER,
    add_registrations,
    our_registrations,
    remove_registrations,
    update_settings_file,
)

REPO = Path(__file__).resolve().parents[2]

USER_SETTINGS = {
    "model": "opus",
    "permissions": {"allow": ["Bash(npm test)"]},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./my-guard.sh"}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],
    },
}


def test_example_file_is_exactly_what_we_register() -> None:
    example = json.loads((REPO / "settings.example.json").read_text())
    assert example == {"hooks": our_registrations()}
    assert set(example["hooks"]) == set(EVENTS)
    for event, groups in example["hooks"].items():
        (command,) = [h["command"] for g in groups for h in g["hooks"]]
        assert command == f'"$CLAUDE_PROJECT_DIR"/{MARKER} {event}'


def test_add_keeps_user_entries_first_and_untouched() -> None:
    merged = add_registrations(USER_SETTINGS)
    assert merged["model"] == "opus" and merged["permissions"] == USER_SETTINGS["permissions"]
    assert merged["hooks"]["PreToolUse"][0] == USER_SETTINGS["hooks"]["PreToolUse"][0]
    assert merged["hooks"]["Stop"][0] == USER_SETTINGS["hooks"]["Stop"][0]
    assert add_registrations(merged) == merged  # idempotent


def test_remove_takes_out_exactly_ours() -> None:
    assert remove_registrations(add_registrations(USER_SETTINGS)) == USER_SETTINGS
    assert remove_registrations(add_registrations({})) == {}


def test_a_group_mixing_ours_and_theirs_keeps_theirs() -> None:
    mixed = add_registrations({})
    mixed["hooks"]["Stop"][0]["hooks"].append({"type": "command", "command": "notify-send done"})
    cleaned = remove_registrations(mixed)
    assert cleaned == {"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}}


def test_file_update_backs_up_once_and_is_idempotent(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps(USER_SETTINGS))
    changed, backup = update_settings_file(str(tmp_path))
    assert changed and backup and json.loads(Path(backup).read_text()) == USER_SETTINGS
    assert update_settings_file(str(tmp_path)) == (False, None)
    assert len(list(settings.parent.glob("settings.json.bak-*"))) == 1
    changed, _ = update_settings_file(str(tmp_path), uninstall=True)
    assert changed and json.loads(settings.read_text()) == USER_SETTINGS


def test_an_older_copy_of_ours_is_replaced_not_doubled(tmp_path: Path) -> None:
    old = add_registrations({})
    old["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"] = 5
    merged = add_registrations(old)
    ours = [h for g in merged["hooks"]["PreToolUse"] for h in g["hooks"]]
    assert ours == our_registrations()["PreToolUse"][0]["hooks"]
