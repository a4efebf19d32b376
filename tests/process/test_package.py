"""The package route, as a user takes it: build the wheel and sdist, check them with twine, install the
wheel (not editable) into a fresh virtual environment, ``claude-hooks install`` into a fresh project,
then the recorded Claude Code session through the hooks it registered.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookkit import PAYLOADS, REPO

from lib import __version__
from lib.installer import EVENTS

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600)
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built wheel and sdist of this checkout."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, REPO)
    return out


@pytest.fixture(scope="module")
def tool_env(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtual environment with the wheel installed, as pipx or uv tool makes one."""
    env = tmp_path_factory.mktemp("tool-env") / "venv"
    venv.create(env, with_pip=True)
    (wheel,) = dist.glob("*.whl")
    run(env / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    yield env


def test_wheel_and_sdist_pass_twine_check(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert names == [
        f"claude_hooks_runtime-{__version__}-py3-none-any.whl",
        f"claude_hooks_runtime-{__version__}.tar.gz",
    ]
    checked = run(sys.executable, "-m", "twine", "check", "--strict", *dist.iterdir())
    assert checked.stdout.count("PASSED") == 2, checked.stdout


def test_installed_package_runs_a_recorded_session(tool_env: Path, tmp_path: Path) -> None:
    claude_hooks = tool_env / "bin" / "claude-hooks"
    shown = run(claude_hooks, "--version")
    assert shown.stdout.strip() == f"claude-hooks-runtime {__version__}"
    # installed from the wheel, not from this checkout
    where = run(tool_env / "bin" / "python", "-c", "import lib; print(lib.__file__)", cwd=tmp_path).stdout
    assert str(tool_env) in where and str(REPO) not in where

    project = tmp_path / "project"
    project.mkdir()
    installed = run(claude_hooks, "install", project)
    assert f"registered {len(EVENTS)} events" in installed.stdout
    settings = json.loads((project / ".claude" / "settings.json").read_text())
    assert set(settings["hooks"]) == set(EVENTS)

    # The recorded session, each payload through the registered command as Claude Code runs it.
    replay = run(tool_env / "bin" / "python", "-m", "lib.demo", project, PAYLOADS, cwd=project)
    assert "-> DENY" in replay.stdout, replay.stdout
    records = [
        json.loads(line) for line in (project / ".claude" / "logs" / "hooks.jsonl").read_text().splitlines()
    ]
    events = {r["event"] for r in records if r.get("hook") == "runtime"}
    assert {"SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "SessionEnd"} <= events
    assert any(r.get("fields", {}).get("decision") == "deny" for r in records)

    status = json.loads(run(claude_hooks, "status", project, "--json").stdout)
    assert (status["route"], status["version"], status["events_missing"]) == ("package", __version__, [])
    doctor = run(claude_hooks, "doctor", project, "--claude", "/bin/false", check=False)
    assert "[FAIL]" not in doctor.stdout, doctor.stdout
    assert "[ok  ] hook command" in doctor.stdout

    removed = run(claude_hooks, "uninstall", project)
    assert "removed our hooks" in removed.stdout
    settings_after = project / ".claude" / "settings.json"  # the install created it: uninstall deletes it
    assert not settings_after.exists() or "hooks" not in json.loads(settings_after.read_text())
    assert not (project / ".claude" / "hooks-runtime").exists()
    assert (project / ".claude" / "logs" / "hooks.jsonl").exists()  # logs stay
