"""``hooks/plugin-hook.sh``, the plugin route's launcher, spawned as Claude Code spawns plugin hooks.

The first-use set-up itself (a venv and ``pip install`` of the plugin) runs in
``tests/e2e/test_plugin_e2e.py`` with the real CLI; here the environment is either made by hand (ready)
or being made by someone else (the set-up lock is held).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from hookkit import REPO, payload_for

from lib.installer import PLUGIN_LAUNCHER, write_entry_script

LAUNCHER = REPO / PLUGIN_LAUNCHER


def launch(
    event: str, payload: dict[str, object], data: Path, project: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    environ = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CLAUDE")},
        "CLAUDE_PLUGIN_ROOT": str(REPO),
        "CLAUDE_PLUGIN_DATA": str(data),
        "CLAUDE_PROJECT_DIR": str(project),
        **env,
    }
    return subprocess.run(
        [str(LAUNCHER), event],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def ready(data: Path, root: Path = REPO) -> None:
    """The plugin environment as the set-up leaves it, pointed at this interpreter and checkout."""
    runtime = data / "runtime"
    (runtime / "bin").mkdir(parents=True)
    site_dirs = [sysconfig.get_paths()["purelib"], str(REPO)]
    write_entry_script(str(runtime), python=sys.executable, site_dirs=site_dirs)
    (runtime / ".plugin-root").write_text(f"{root}\n")


def test_a_ready_environment_runs_the_hooks(tmp_path: Path, project: Path) -> None:
    data = tmp_path / "data"
    ready(data)
    done = launch(
        "PreToolUse", payload_for("PreToolUse", "Bash", tool_input={"command": "rm -rf ~"}), data, project
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert (project / ".claude" / "logs" / "hooks.jsonl").is_file()  # the project's logs, not the plugin's


def test_while_another_launcher_sets_up_deciding_events_ask(tmp_path: Path, project: Path) -> None:
    data = tmp_path / "data"
    ready(data, root=tmp_path / "an-older-plugin-version")  # stale: built from another plugin directory
    (data / "setup.lock").mkdir()
    done = launch("PreToolUse", payload_for("PreToolUse", "Bash"), data, project)
    assert done.returncode == 0
    answer = json.loads(done.stdout)["hookSpecificOutput"]
    assert answer["permissionDecision"] == "ask" and "setting up" in answer["permissionDecisionReason"]
    skill = launch("PreSkillShellCommand", {"hook_event_name": "PreSkillShellCommand"}, data, project)
    assert json.loads(skill.stdout)["hookSpecificOutput"]["permissionDecision"] == "ask"
    quiet = launch("Stop", payload_for("Stop"), data, project)
    assert (quiet.returncode, quiet.stdout) == (0, "")
    assert not (project / ".claude").exists()


def test_the_first_session_start_says_the_environment_was_set_up(tmp_path: Path, project: Path) -> None:
    data = tmp_path / "data"
    ready(data)
    runtime = data / "runtime" / "bin" / "claude-hooks"
    env = {**os.environ, "CLAUDE_PROJECT_DIR": str(project), "CLAUDE_PLUGIN_DATA": str(data)}
    payload = json.dumps(payload_for("SessionStart"))
    plain = subprocess.run(
        [str(runtime), "SessionStart"], input=payload, capture_output=True, text=True, env=env
    )
    assert "systemMessage" not in plain.stdout
    first = subprocess.run(
        [str(runtime), "SessionStart"],
        input=payload,
        capture_output=True,
        text=True,
        env={**env, "CLAUDE_HOOKS_PLUGIN_SETUP": "42"},
    )
    message = json.loads(first.stdout)["systemMessage"]
    assert "set up its Python environment" in message and "42 s" in message and str(data) in message
