"""``claude-hooks install|uninstall|status|doctor|version`` and the checks behind ``doctor``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lib import __version__, doctor, manage
from lib.installer import EVENTS, RUNTIME_DIR
from lib.runtime import main as claude_hooks

PRE_TOOL_USE = {
    "hook_event_name": "PreToolUse",
    "session_id": "s-1",
    "tool_name": "Bash",
    "tool_input": {"command": "rm -rf ~"},
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the user's settings (enabledPlugins) live there
    path = tmp_path / "project"
    path.mkdir()
    return path


def fake_claude(tmp_path: Path, version: str) -> str:
    """An executable that answers ``--version`` like the Claude Code CLI does."""
    script = tmp_path / f"claude-{version}"
    script.write_text(f"#!/bin/sh\necho '{version} (Claude Code)'\n")
    script.chmod(0o755)
    return str(script)


def test_install_writes_an_entry_script_that_guards_and_registers_every_event(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert claude_hooks(["install", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"registered {len(EVENTS)} events" in out
    entry = project / RUNTIME_DIR / "bin" / "claude-hooks"
    done = subprocess.run(
        [str(entry), "PreToolUse"],
        input=json.dumps(PRE_TOOL_USE),
        capture_output=True,
        text=True,
        env={**os.environ, "CLAUDE_PROJECT_DIR": str(project)},
        timeout=60,
    )
    answer = json.loads(done.stdout)
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert (project / RUNTIME_DIR / ".gitignore").read_text() == "*\n"
    # a second install changes nothing in settings.json
    assert manage.install(str(project))[2].endswith("already up to date")


def test_status_reports_route_version_events_and_backups(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text('{"model": "opus"}\n')
    assert claude_hooks(["status", str(project)]) == 0
    assert "installed: no" in capsys.readouterr().out
    manage.install(str(project))
    info = manage.installation(str(project))
    assert (info["route"], info["version"], info["python"]) == ("package", __version__, sys.executable)
    assert info["events_missing"] == [] and len(info["settings_backups"]) == 1
    assert claude_hooks(["status", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["events_registered"] == list(EVENTS)
    assert claude_hooks(["status", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"{len(EVENTS)} of {len(EVENTS)} registered" in out and "backup:" in out


def test_install_refuses_an_install_sh_environment_without_force(project: Path) -> None:
    runtime = project / RUNTIME_DIR
    runtime.mkdir(parents=True)
    (runtime / "pyvenv.cfg").write_text("home = /usr/bin\n")
    assert manage.installation(str(project))["route"] == "install.sh"
    with pytest.raises(ValueError, match=r"install.sh --uninstall"):
        manage.install(str(project))
    manage.install(str(project), force=True)
    assert not (runtime / "pyvenv.cfg").exists()
    assert manage.installation(str(project))["route"] == "package"


def test_uninstall_removes_hooks_and_entry_script_and_keeps_logs(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manage.install(str(project))
    assert (project / ".claude" / "logs").is_dir()  # made (git-ignored) by the install
    assert claude_hooks(["uninstall", str(project)]) == 0
    assert "removed our hooks" in capsys.readouterr().out
    assert not (project / RUNTIME_DIR).exists() and (project / ".claude" / "logs").is_dir()
    assert not (project / ".claude" / "settings.json").exists()  # the install had created it
    assert claude_hooks(["uninstall", str(project / "missing")]) == 1
    assert "is not a directory" in capsys.readouterr().err


def test_version_help_and_readers_share_the_command(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert claude_hooks(["--version"]) == 0
    assert capsys.readouterr().out == f"claude-hooks-runtime {__version__}\n"
    assert claude_hooks(["--help"]) == 0
    assert "claude-hooks EVENT" in capsys.readouterr().out
    assert claude_hooks(["--project", str(project), "config", "reference"]) == 0  # a python -m lib reader
    assert "[breaker]" in capsys.readouterr().out


def test_doctor_on_a_healthy_install(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manage.install(str(project))
    assert claude_hooks(["doctor", str(project), "--claude", fake_claude(tmp_path, "2.1.332")]) == 0
    out = capsys.readouterr().out
    assert "[FAIL]" not in out and "[ok  ] hook command" in out and out.rstrip().endswith("all checks passed")


def test_doctor_names_each_problem_and_its_fix(project: Path, tmp_path: Path) -> None:
    checks = doctor.run_checks(str(project), claude=str(tmp_path / "no-such-claude"))
    python = checks[0]
    assert (python["status"], python["fix"]) == ("fail", "claude-hooks install")

    manage.install(str(project))
    settings = project / ".claude" / "settings.json"
    data = json.loads(settings.read_text())
    del data["hooks"]["Stop"]
    settings.write_text(json.dumps(data))
    (project / ".claude" / "hooks.toml").write_text("[breaker]\nmax_failures = 'many'\n")
    shutil.rmtree(project / ".claude" / "logs")
    os.symlink(tmp_path, project / ".claude" / "logs")
    (project / ".claude" / "state").mkdir(mode=0o755, exist_ok=True)
    os.chmod(project / ".claude" / "state", 0o755)
    by_name = {}
    for check in doctor.run_checks(str(project), claude=fake_claude(tmp_path, "2.1.100")):
        by_name.setdefault(check["check"], []).append(check)
    assert by_name["events"][0]["status"] == "warn" and "missing: Stop" in by_name["events"][0]["detail"]
    assert by_name["config"][0]["status"] == "fail" and "max_failures" in by_name["config"][0]["detail"]
    assert by_name["log dir"][0]["status"] == "fail" and by_name["log dir"][0]["fix"].startswith("rm ")
    assert by_name["state dir"][0]["status"] == "warn" and "chmod 700" in by_name["state dir"][0]["fix"]
    unsent = by_name["claude cli"][0]
    assert (
        unsent["status"] == "warn"
        and "DirectoryAdded" in unsent["detail"]
        and "MessageDisplay" in unsent["detail"]
    )
    report = doctor.render(doctor.run_checks(str(project), claude=fake_claude(tmp_path, "9.0.0")))
    assert "newer than" in report and "fix: " in report and "problem(s)" in report


def test_doctor_sees_a_plugin_registering_the_hooks_twice(project: Path, tmp_path: Path) -> None:
    user_settings = tmp_path / "home" / ".claude" / "settings.json"
    user_settings.parent.mkdir(parents=True)
    user_settings.write_text(json.dumps({"enabledPlugins": {"hooks-runtime@hooks-runtime": True}}))
    events = [c for c in doctor.run_checks(str(project), claude="/bin/false") if c["check"] == "events"]
    assert [c["status"] for c in events] == ["ok"] and "plugin" in events[0]["detail"]
    manage.install(str(project))
    events = [c for c in doctor.run_checks(str(project), claude="/bin/false") if c["check"] == "events"]
    assert [c["status"] for c in events] == ["ok", "warn"] and "runs twice" in events[1]["detail"]


def test_doctor_reports_a_broken_interpreter(project: Path) -> None:
    manage.install(str(project))
    entry = project / RUNTIME_DIR / "bin" / "claude-hooks"
    entry.write_text(entry.read_text().replace(sys.executable, "/nonexistent/python3", 1))
    checks = {c["check"]: c for c in doctor.run_checks(str(project), claude="/bin/false")}
    assert checks["python"]["status"] == "fail" and "/nonexistent/python3" in checks["python"]["detail"]
    assert checks["hook command"]["status"] == "fail"
