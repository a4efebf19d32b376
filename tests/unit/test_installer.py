"""Merging our registrations into settings.json: idempotent, backed up, the user's entries untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib import __version__
from lib.installer import (
    EVENTS,
    MARKER,
    add_registrations,
    entry_script,
    our_registrations,
    remove_registrations,
    update_settings_file,
    write_entry_script,
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
    assert update_settings_file(str(tmp_path)) == (False, backup)
    assert len(list(settings.parent.glob("settings.json.*"))) == 1
    changed, _ = update_settings_file(str(tmp_path), uninstall=True)
    assert changed and json.loads(settings.read_text()) == USER_SETTINGS
    assert not Path(backup).exists()  # put back in place


def test_an_upgrade_of_our_registrations_keeps_the_first_backup(tmp_path: Path) -> None:
    settings = tmp_path / ".claude" / "settings.json"
    settings.parent.mkdir()
    original = json.dumps(USER_SETTINGS).encode()
    settings.write_bytes(original)
    update_settings_file(str(tmp_path))
    older = json.loads(settings.read_text())
    older["hooks"]["PreToolUse"][-1]["hooks"][0]["timeout"] = 5  # what an older version registered
    settings.write_text(json.dumps(older))
    changed, backup = update_settings_file(str(tmp_path))
    assert changed and backup and Path(backup).read_bytes() == original
    # nothing changed the file since the upgrade: the user's first file comes back byte for byte
    update_settings_file(str(tmp_path), uninstall=True)
    assert settings.read_bytes() == original


def test_an_older_copy_of_ours_is_replaced_not_doubled(tmp_path: Path) -> None:
    old = add_registrations({})
    old["hooks"]["PreToolUse"][0]["hooks"][0]["timeout"] = 5
    merged = add_registrations(old)
    ours = [h for g in merged["hooks"]["PreToolUse"] for h in g["hooks"]]
    assert ours == our_registrations()["PreToolUse"][0]["hooks"]


# -- the claude-hooks entry script ------------------------------------------------------------------


def _run_script(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run([str(script), *args], capture_output=True, text=True, env=env, timeout=60)


def test_entry_script_runs_python_without_site_or_collector_and_finds_the_runtime(tmp_path: Path) -> None:
    python = os.path.realpath(sys.executable)
    text = entry_script(python, [str(REPO)])
    assert text.startswith(f"#!{python} -S\n") and "import re" not in text
    script = tmp_path / "claude-hooks"
    script.write_text(
        text.replace(
            "from lib.runtime import main",
            "print(sys.flags.no_site, gc.isenabled())\nfrom lib.runtime import main",
        )
    )
    script.chmod(0o755)
    proc = _run_script(script, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["1 False", f"claude-hooks-runtime {__version__}"]


def test_entry_script_with_a_long_or_spaced_interpreter_path_goes_through_sh(tmp_path: Path) -> None:
    where = tmp_path / ("a very long directory name " * 5).strip()
    where.mkdir()
    python = where / "python"
    python.symlink_to(os.path.realpath(sys.executable))
    text = entry_script(str(python), [str(REPO)])
    assert text.startswith("#!/bin/sh\n")
    script = tmp_path / "claude-hooks"
    script.write_text(text)
    script.chmod(0o755)
    proc = _run_script(script, "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"claude-hooks-runtime {__version__}\n"


def test_write_entry_script_refuses_another_interpreter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="run this with"):
        write_entry_script(str(tmp_path))


def test_entry_script_starts_coverage_only_when_asked_and_never_fails_because_of_it(tmp_path: Path) -> None:
    import coverage

    site = str(Path(coverage.__file__).parent.parent)  # where coverage.py is importable from
    script = tmp_path / "claude-hooks"
    script.write_text(
        entry_script(os.path.realpath(sys.executable), [str(REPO), site]).replace(
            "from lib.runtime import main",
            "print('coverage' in sys.modules)\nfrom lib.runtime import main",
        )
    )
    script.chmod(0o755)
    quiet = {"COVERAGE_PROCESS_CONFIG": "", "COVERAGE_PROCESS_START": ""}
    broken = {"COVERAGE_PROCESS_CONFIG": "", "COVERAGE_PROCESS_START": str(tmp_path / "no-such.toml")}
    for extra, loaded in ((quiet, "False"), (broken, "True")):
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")} | extra
        proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines()[0] == loaded  # a broken coverage set-up does not stop the hook
        assert proc.stdout.splitlines()[1].startswith("usage: claude-hooks")
