"""A cloned repository can ship ``.claude/logs/hooks.jsonl`` as a symlink to the user's shell rc file,
or ``.claude/state`` as a symlink to some other folder. Nothing the hooks write may land there: every
file and folder is opened without following a symlink and refused with one clear warning."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hookkit import HookProject
from seckit import Cli, Fire

RC = "# ~/.bashrc\nexport PATH=$HOME/bin:$PATH\n"
PROMPT = "please run $(touch /tmp/claude-hooks-pwned) and `id`"

# (what is planted, relative to .claude/) : files the runtime creates or appends to
FILES = [
    "logs/hooks.jsonl",
    "logs/events.jsonl",
    "logs/traces.jsonl",
    "logs/hooks.jsonl.lock",
    "logs/events.jsonl.lock",
    "state/breakers.json",
    "state/breakers.json.lock",
    "state/sessions.json",
    "state/ratelimits.json",
    "state/config-cache.json",
    "logs/consumers/session-summary.0d8c7a4e-1b2f-4c3d-9e8f-7a6b5c4d3e2f.json",
]


def _session(fire: Fire) -> list[str]:
    """A short session that writes every log, every state file and a consumer offset; its stderr."""
    err = []
    err.append(fire("SessionStart").stderr)
    err.append(fire("UserPromptSubmit", prompt=PROMPT).stderr)
    err.append(fire("PreToolUse", "Bash", tool_input={"command": "ls"}).stderr)
    err.append(fire("PostToolUseFailure", "Bash", error="Exit code 1\nboom").stderr)
    err.append(fire("Stop").stderr)
    return err


@pytest.mark.parametrize("planted", FILES)
def test_a_symlinked_file_is_never_written_through(
    project: HookProject, fire: Fire, tmp_path: Path, planted: str
) -> None:
    rc = tmp_path / "bashrc"
    rc.write_text(RC)
    link = project.path / ".claude" / planted
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(rc)
    stderr = "".join(_session(fire))
    assert rc.read_text() == RC, f"{planted}: the hooks wrote through the symlink"
    assert link.is_symlink()  # refused, not silently replaced
    assert f"{link}: is a symbolic link; refusing" in stderr
    assert not Path("/tmp/claude-hooks-pwned").exists()


def test_each_refusal_is_one_warning_per_invocation(project: HookProject, fire: Fire, tmp_path: Path) -> None:
    rc = tmp_path / "bashrc"
    rc.write_text(RC)
    (project.path / ".claude" / "logs").mkdir(parents=True)
    (project.path / ".claude" / "logs" / "hooks.jsonl").symlink_to(rc)
    stderr = fire("PreToolUse", "Bash", tool_input={"command": "ls"}).stderr
    assert stderr.count("hooks.jsonl: is a symbolic link") == 1, stderr
    assert rc.read_text() == RC
    # the other logs are still written
    assert (project.path / ".claude" / "logs" / "events.jsonl").stat().st_size > 0


@pytest.mark.parametrize("folder", ["logs", "state", "logs/consumers"])
def test_a_symlinked_folder_is_refused(project: HookProject, fire: Fire, tmp_path: Path, folder: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = project.path / ".claude" / folder
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(elsewhere, target_is_directory=True)
    stderr = "".join(_session(fire))
    assert os.listdir(elsewhere) == [], f".claude/{folder} -> {elsewhere}: written through"
    assert f"{link}: is a symbolic link; refusing" in stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file to another user")
def test_a_file_owned_by_someone_else_is_refused(project: HookProject, fire: Fire) -> None:
    logs = project.path / ".claude" / "logs"
    logs.mkdir(parents=True)
    foreign = logs / "hooks.jsonl"
    foreign.write_text("")
    os.chown(foreign, 4242, 4242)
    stderr = fire("PreToolUse", "Bash", tool_input={"command": "ls"}).stderr
    assert "hooks.jsonl: is owned by uid 4242" in stderr
    assert foreign.read_text() == ""


def test_a_fifo_does_not_hang_a_hook(project: HookProject, fire: Fire) -> None:
    logs = project.path / ".claude" / "logs"
    logs.mkdir(parents=True)
    os.mkfifo(logs / "traces.jsonl")
    stderr = fire("PreToolUse", "Bash", tool_input={"command": "ls"}).stderr
    assert "traces.jsonl: is not a regular file" in stderr


def test_the_cli_does_not_read_through_a_symlink(
    project: HookProject, fire: Fire, cli: Cli, tmp_path: Path
) -> None:
    secret = tmp_path / "id_rsa.json"
    secret.write_text('{"ts": "2026-01-01T00:00:00Z", "message": "PRIVATE-CONTENT", "level": "info"}\n')
    logs = project.path / ".claude" / "logs"
    logs.mkdir(parents=True)
    (logs / "hooks.jsonl").symlink_to(secret)
    proc = cli("logs")
    assert "PRIVATE-CONTENT" not in proc.stdout
    assert "hooks.jsonl: is a symbolic link" in proc.stderr
