"""install.sh from a clone: a venv, registrations merged, idempotent, --uninstall exact."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hookkit import REPO, payload_for

from lib import __version__
from lib.installer import EVENTS

USER = {
    "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "true"}]}]},
    "x": 1,
}


def _install(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "install.sh"), *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


def test_install_twice_then_uninstall(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / ".claude").mkdir(parents=True)
    settings = project / ".claude" / "settings.json"
    original = json.dumps(USER, indent=4).encode() + b"  \n"  # the user's own formatting
    settings.write_bytes(original)

    first = _install(str(project))
    assert first.returncode == 0, first.stderr
    installed = json.loads(settings.read_text())
    assert installed["x"] == 1 and installed["hooks"]["PreToolUse"][0] == USER["hooks"]["PreToolUse"][0]
    backups = list(settings.parent.glob("settings.json.*"))
    assert backups == [settings.parent / "settings.json.before-claude-hooks"]
    assert backups[0].read_bytes() == original

    assert "environment: creating" in first.stdout
    pre = subprocess.run(
        ["sh", "-c", installed["hooks"]["PreToolUse"][-1]["hooks"][0]["command"]],
        input=json.dumps(payload_for("PreToolUse", "Bash")).encode(),
        capture_output=True,
        env={"PATH": "/usr/bin:/bin", "CLAUDE_PROJECT_DIR": str(project)},
        timeout=60,
    )
    assert pre.returncode == 0 and b"Traceback" not in pre.stderr

    second = _install(str(project))
    assert second.returncode == 0
    assert "environment: " in second.stdout and "already up to date" in second.stdout
    assert f"settings: {settings} already up to date" in second.stdout
    assert json.loads(settings.read_text()) == installed
    assert len(list(settings.parent.glob("settings.json.*"))) == 1

    status = _install("--status", str(project))
    assert status.returncode == 0, status.stderr
    assert f"claude-hooks: installed in {project}" in status.stdout
    assert f"claude-hooks-runtime {__version__}" in status.stdout
    assert f"events:    {len(EVENTS)} registered" in status.stdout and "PreToolUse" in status.stdout
    assert f"backup:    {settings}.before-claude-hooks" in status.stdout

    removed = _install("--uninstall", str(project))
    assert removed.returncode == 0, removed.stderr
    assert settings.read_bytes() == original  # byte for byte: nothing else changed it since
    assert "restored" in removed.stdout
    # what the hook run above logged stays; nothing of the install does
    assert sorted(p.name for p in settings.parent.iterdir()) == ["logs", "settings.json", "state"]
    gone = _install("--status", str(project))
    assert gone.returncode == 1 and f"not installed in {project}" in gone.stdout


def test_uninstall_after_the_user_changed_settings_keeps_their_change(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    assert _install(str(project)).returncode == 0
    settings = project / ".claude" / "settings.json"
    assert not (project / ".claude" / "settings.json.before-claude-hooks").exists()  # there was no file
    changed = json.loads(settings.read_text())
    changed["model"] = "opus"
    settings.write_text(json.dumps(changed))
    removed = _install("--uninstall", str(project))
    assert removed.returncode == 0, removed.stderr
    assert json.loads(settings.read_text()) == {"model": "opus"}
    assert "it changed since the install" in removed.stdout


def test_a_failed_install_leaves_nothing_behind(tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "settings.json").write_text('{"hooks": {')
    failed = _install(str(project))
    assert failed.returncode == 1
    assert "settings.json: not valid JSON" in failed.stderr and "nothing was changed" in failed.stderr
    assert sorted(p.name for p in (project / ".claude").iterdir()) == ["settings.json"]


def test_registered_commands_work_from_any_cwd(installed_runtime: Path, tmp_path: Path) -> None:
    settings = json.loads((installed_runtime / ".claude" / "settings.json").read_text())
    (command,) = [h["command"] for g in settings["hooks"]["PreToolUse"] for h in g["hooks"]]
    payload = payload_for("PreToolUse", "Bash")
    proc = subprocess.run(
        ["sh", "-c", command],
        input=json.dumps(payload).encode(),
        capture_output=True,
        cwd=tmp_path,  # not the project
        env={"PATH": "/usr/bin:/bin", "CLAUDE_PROJECT_DIR": str(installed_runtime)},
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert (installed_runtime / ".claude" / "state").is_dir()
    assert not (tmp_path / ".claude").exists()


def test_install_rejects_a_missing_project(tmp_path: Path) -> None:
    proc = _install(str(tmp_path / "nope"))
    assert proc.returncode == 1 and "is not a directory" in proc.stderr
