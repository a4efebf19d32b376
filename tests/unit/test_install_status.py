"""``install.sh --status`` (lib/install_status.py) on projects in every state an install leaves."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lib.install_status import format_status, install_status, main
from lib.installer import RUNTIME_DIR, add_registrations


def _runtime(project: Path, *, command: bool = True) -> Path:
    runtime = project / RUNTIME_DIR
    (runtime / "bin").mkdir(parents=True)
    (runtime / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.7\n")
    dist = runtime / "lib" / "python3.11" / "site-packages" / "claude_hooks_runtime-0.1.0.dist-info"
    dist.mkdir(parents=True)
    if command:
        script = runtime / "bin" / "claude-hooks"
        script.write_text("#!/bin/sh\n")
        os.chmod(script, 0o755)
    return runtime


def test_a_project_without_anything_is_not_installed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"claude-hooks: not installed in {tmp_path}")
    assert "runtime:   none" in out and "events:    none registered" in out


def test_some_events_missing_are_named(tmp_path: Path) -> None:
    _runtime(tmp_path)
    settings = add_registrations({})
    del settings["hooks"]["Stop"]
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps(settings))
    status = install_status(str(tmp_path))
    assert status["installed"] and status["missing_events"] == ["Stop"]
    assert status["version"] == "0.1.0" and status["python"] == "3.11.7"
    text = format_status(status)
    assert "not registered: Stop (run ./install.sh again)" in text
    assert "(claude-hooks-runtime 0.1.0, Python 3.11.7)" in text


def test_a_missing_command_and_an_invalid_settings_file_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _runtime(tmp_path, command=False)
    (tmp_path / ".claude" / "settings.json").write_text("{nope")
    assert main(str(tmp_path), as_json=True) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["command"] is None and "not valid JSON" in status["settings_error"]
    text = format_status(status)
    assert "command:   missing (run ./install.sh again)" in text
    assert "settings:  " in text and "not valid JSON" in text
