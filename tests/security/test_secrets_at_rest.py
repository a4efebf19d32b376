"""No secret at rest or on a terminal: a failing command's error text, a command's arguments and
environment, a prompt and a task go through the one redaction pass before they reach
``.claude/logs``, ``.claude/state`` or the output of ``python -m lib``."""

from __future__ import annotations

import json
from pathlib import Path

from hookkit import HookProject
from seckit import Cli, Fire, todo_write

# 22 secrets as they show up in the error output of a failing command (the measurement)
ERROR_SECRETS = {
    "anthropic": "sk-ant-api03-" + "Q" * 20 + "x7Yp2Lm9Kd4Rt8Vn3Bw6Hj1Fs5Gc0Za" + "AA",
    "openai": "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 3,
    "aws id": "AKIAIOSFODNN7EXAMPLE",
    "aws secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github": "ghp_" + "aB3dE5fG7hI9jK1lM3nO5pQ7rS9tU1vW3xY5",
    "gitlab": "glpat-" + "Zx8Cv7Bn6Mq5Wr4Ty3Ui",
    "slack": "xoxb-123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "google": "AIza" + "SyA-1234567890abcdefghijklmnopqrstu",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "bearer": "Bearer " + "tok3n-V4lue-0f-a-Bearer-hdr",
    "url password": "postgres://app:Pg-Url-Pass-77@db.internal:5432/app",
    "env password": "DB_PASSWORD=EnvPassw0rd88",
    "pgpassword": "PGPASSWORD=PgEnvSecret55",
    "mysql -p": "mysql -u root -pMyArgSecret44 app",
    "curl -u": "curl -u admin:CurlArgSecret33 https://api.internal",
    "docker login": "docker login -u ci -p DockerArgSecret22 registry.internal",
    "sshpass": "sshpass -p SshpassSecret11 ssh deploy@host",
    "redis-cli": "redis-cli -h cache -a RedisArgSecret00 ping",
    "aws configure": "aws configure set aws_secret_access_key AwsCfgSecret99zz",
    "long option": "deploytool --api-key LongOptSecret66 push",
    "private key": "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----",
}


def _secret_part(text: str) -> str:
    for marker in ("Bearer ", "Pass-", "Passw0rd", "Secret"):
        if marker in text:
            break
    else:
        return text if "PRIVATE KEY" not in text else "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
    words = [
        w for w in text.replace("=", " ").replace(":", " ").replace("@", " ").split() if marker.strip() in w
    ]
    return words[-1].removeprefix("-p") if words else text


SECRET_VALUES = [_secret_part(t) for t in ERROR_SECRETS.values()]


def _everything_on_disk(project: HookProject) -> str:
    out = []
    for path in sorted((project.path / ".claude").rglob("*")):
        if path.is_file() and "hooks-runtime" not in path.parts:
            out.append(f"== {path}\n{path.read_text(errors='replace')}")
    return "\n".join(out)


def test_the_corpus_holds_22_secrets() -> None:
    assert len(ERROR_SECRETS) == 22 and all(len(v) >= 8 for v in SECRET_VALUES)


def test_a_failing_commands_error_text_leaves_no_secret_anywhere(
    project: HookProject, fire: Fire, cli: Cli
) -> None:
    error = "Exit code 1\n" + "\n".join(f"{name}: {text}" for name, text in ERROR_SECRETS.items())
    fire("PreToolUse", "Bash", tool_input={"command": "./deploy.sh"})
    fire("PostToolUseFailure", "Bash", tool_input={"command": "./deploy.sh"}, error=error)
    breakers = json.dumps(project.state("breakers"))
    assert "last_error" in breakers and "REDACTED" in breakers
    disk = _everything_on_disk(project)
    shown = "\n".join(
        cli(*args).stdout
        for args in (
            ("breakers",),
            ("breakers", "--json"),
            ("logs",),
            ("logs", "--json"),
            ("events",),
            ("events", "--json"),
            ("traces",),
            ("status",),
            ("metrics",),
        )
    )
    leaked = [v for v in SECRET_VALUES if v in disk or v in shown]
    assert leaked == [], f"{len(leaked)} of {len(SECRET_VALUES)} secrets leaked: {leaked}"


def test_secrets_in_arguments_and_env_assignments_are_not_logged(
    project: HookProject, fire: Fire, cli: Cli
) -> None:
    for name in (
        "pgpassword",
        "mysql -p",
        "curl -u",
        "docker login",
        "sshpass",
        "redis-cli",
        "aws configure",
    ):
        command = ERROR_SECRETS[name] + (" psql -h db" if name == "pgpassword" else "")
        fire("PreToolUse", "Bash", tool_input={"command": command})
        fire("PostToolUse", "Bash", tool_input={"command": command}, tool_response={"stdout": command})
    disk = _everything_on_disk(project)
    assert "REDACTED" in disk
    leaked = [v for v in SECRET_VALUES if v in disk or v in cli("events", "--json").stdout]
    assert leaked == []


def test_prompts_and_tasks_are_redacted_before_they_are_stored(
    project: HookProject, fire: Fire, cli: Cli, tmp_path: Path
) -> None:
    token = "ghp_" + "Tk9" * 12
    fire("UserPromptSubmit", prompt=f"use GITHUB_TOKEN={token} to push")
    todos = [{"content": f"rotate {token} in CI", "status": "pending", "activeForm": f"Rotating {token}"}]
    todo_write(fire, todos)
    tasks = project.state("tasks")
    assert tasks, "the TodoWrite call was not captured"
    disk = _everything_on_disk(project)
    assert token not in disk
    for args in (("tasks",), ("tasks", "--json"), ("events",)):
        assert token not in cli(*args).stdout
