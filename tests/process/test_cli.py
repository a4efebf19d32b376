"""``python -m lib`` driven as a user runs it: which project it reads (and that reading changes nothing
on disk), ``config`` and ``guards check``.

``python -m lib COMMAND`` runs in a shell from the project, a subfolder of it, or a folder that is no
project at all, with ``--project`` before or after the command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hookkit import REPO

READING = (
    ["status"],
    ["status", "--json"],
    ["events"],
    ["breakers"],
    ["ratelimits"],
    ["guards"],
    ["tasks"],
    ["logs"],
    ["traces"],
    ["metrics"],
    ["config"],
    ["config", "show"],
)


def lib_cli(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``python -m lib ARGS`` run in ``cwd`` by a user whose home folder is ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_HOOKS_", "CLAUDE_PROJECT_DIR"))}
    env.update(HOME=str(home), PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])))
    return subprocess.run(
        [sys.executable, "-m", "lib", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home folder with Claude Code's per-user ``~/.claude`` (settings of its own)."""
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    (home / ".claude" / "settings.json").write_text("{}\n")
    return home


@pytest.fixture
def project(home: Path) -> Path:
    """A project under the home folder, with a config and a subfolder tree."""
    project = home / "code" / "app"
    (project / ".claude").mkdir(parents=True)
    (project / ".claude" / "hooks.toml").write_text("[breaker]\nmax_failures = 7\n")
    (project / "src" / "deep").mkdir(parents=True)
    return project


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_reading_commands_create_no_file_or_folder(command: list[str], project: Path, home: Path) -> None:
    before = tree(home)
    result = lib_cli(*command, cwd=project / "src" / "deep", home=home)
    assert result.returncode == 0, result.stderr
    assert tree(home) == before


def test_a_project_folder_that_does_not_exist_is_an_error_and_is_not_created(
    tmp_path: Path, home: Path
) -> None:
    missing = tmp_path / "no-such-project"
    for args in (["--project", str(missing), "status"], ["status", "--project", str(missing)]):
        result = lib_cli(*args, cwd=tmp_path, home=home)
        assert result.returncode == 2
        assert f"--project {missing}: no such directory" in result.stderr
        assert result.stdout == ""
        assert not missing.exists()


def test_run_from_a_subfolder_the_project_is_found_upward(project: Path, home: Path) -> None:
    result = lib_cli("config", "show", cwd=project / "src" / "deep", home=home)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["breaker"]["max_failures"] == 7
    check = lib_cli("config", cwd=project / "src", home=home)
    assert check.stdout.strip() == f"ok: {project / '.claude' / 'hooks.toml'}"


def test_the_home_folders_claude_folder_is_not_taken_for_a_project(home: Path) -> None:
    elsewhere = home / "notes"
    elsewhere.mkdir()
    before = tree(home)
    result = lib_cli("config", cwd=elsewhere, home=home)
    assert result.returncode == 0, result.stderr
    # the nearest .claude/ upward is ~/.claude: not a project, so the current folder is used
    assert result.stdout.strip() == f"ok: {elsewhere / '.claude' / 'hooks.toml'} (absent: defaults)"
    assert lib_cli("status", cwd=elsewhere, home=home).returncode == 0
    assert tree(home) == before


def test_project_works_before_or_after_the_command_and_its_action(
    project: Path, tmp_path: Path, home: Path
) -> None:
    for args in (
        ["--project", str(project), "config", "show"],
        ["config", "show", "--project", str(project)],
        ["config", "--project", str(project), "show"],
    ):
        result = lib_cli(*args, cwd=tmp_path, home=home)
        assert result.returncode == 0, (args, result.stderr)
        assert json.loads(result.stdout)["breaker"]["max_failures"] == 7
    off = lib_cli("guards", "off", "--session", "s1", "--project", str(project), cwd=tmp_path, home=home)
    assert off.returncode == 0, off.stderr
    listed = lib_cli("guards", "--json", "--project", str(project), cwd=tmp_path, home=home)
    assert "s1" in listed.stdout
    assert (project / ".claude" / "state" / "guards.json").exists()  # a change creates the state folder


def test_a_change_in_a_project_without_state_creates_the_folder_it_needs(project: Path, home: Path) -> None:
    result = lib_cli("guards", "off", "--session", "s2", cwd=project / "src", home=home)
    assert result.returncode == 0, result.stderr
    state = json.loads((project / ".claude" / "state" / "guards.json").read_text())
    assert "s2" in json.dumps(state)


def test_config_check_answers_in_json_too(project: Path, home: Path) -> None:
    ok = lib_cli("config", "--json", cwd=project, home=home)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {
        "file": str(project / ".claude" / "hooks.toml"),
        "exists": True,
        "valid": True,
        "error": None,
    }
    (project / ".claude" / "hooks.toml").write_text("[breaker]\nmax_failures = 'many'\n")
    bad = lib_cli("config", "check", "--json", cwd=project, home=home)
    assert bad.returncode == 1
    answer = json.loads(bad.stdout)
    assert answer["valid"] is False
    assert "max_failures" in answer["error"]
    assert "hooks.toml" in answer["error"]
    human = lib_cli("config", cwd=project, home=home)
    assert human.returncode == 1
    assert human.stdout.startswith("error: ") and "max_failures" in human.stdout


def test_config_reference_lists_every_key_in_json_and_markdown(project: Path, home: Path) -> None:
    result = lib_cli("config", "reference", "--json", cwd=project, home=home)
    assert result.returncode == 0, result.stderr
    sections = {s["section"]: s for s in json.loads(result.stdout)}
    assert {"runtime", "breaker"} <= set(sections)
    keys = {k["key"]: k for k in sections["breaker"]["keys"]}
    assert keys["max_failures"]["default"] == 5
    assert keys["max_failures"]["type"] == "integer"
    markdown = lib_cli("config", "reference", cwd=project, home=home).stdout
    assert "| `max_failures` | integer | `5` |" in markdown
    help_text = lib_cli("config", "--help", cwd=project, home=home).stdout
    assert "--json" in help_text and "reference" in help_text and "show" in help_text


@pytest.mark.parametrize(
    ("text", "tool", "decision"),
    [
        (".env", "Read", "deny"),
        ("~/.ssh/id_rsa", "Read", "deny"),
        ("src/app.py", "Read", "allow"),
        ("ls -la", "Bash", "allow"),
        ("./deploy.sh", "Bash", "allow"),
        ("rm -rf /opt/data", "Bash", "deny"),
    ],
)
def test_guards_check_judges_a_path_as_a_read_and_says_so(
    text: str, tool: str, decision: str, project: Path, home: Path
) -> None:
    (project / ".env").write_text("TOKEN=x\n")
    (project / "src" / "app.py").write_text("print(1)\n")
    answer = lib_cli("guards", "check", text, "--json", cwd=project, home=home)
    data = json.loads(answer.stdout)
    assert (data["tool"], data["decision"]) == (tool, decision), answer.stdout
    human = lib_cli("guards", "check", text, cwd=project, home=home)
    assert human.stdout.startswith(decision)
    said = f"judged as a Read of the path {text}" in human.stdout
    assert said == (tool == "Read")
    assert human.returncode == (0 if decision == "allow" else 1)


def test_guards_check_with_tool_bash_judges_a_path_as_a_command(project: Path, home: Path) -> None:
    answer = json.loads(
        lib_cli("guards", "check", ".env", "--tool", "Bash", "--json", cwd=project, home=home).stdout
    )
    assert answer["tool"] == "Bash"
