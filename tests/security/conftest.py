"""The security suite drives the runtime from outside, as an attacker and a user would meet it: the
hook command ``install.sh`` registered (spawned as Claude Code spawns it), the files it leaves on
disk, and what ``python -m lib ...`` prints."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from hookkit import HookProject, HookResult, payload_for
from seckit import SESSION, Cli, Fire


@pytest.fixture
def project(hook_project: HookProject) -> HookProject:
    """A fresh project with our hooks installed (see tests/conftest.py)."""
    return hook_project


@pytest.fixture
def fire(project: HookProject) -> Fire:
    """``fire(event, tool=None, env=None, **fields)``: the recorded payload of ``event`` with ``fields``
    replaced, sent through the registered hook command; asserts the protocol still holds."""

    def run(
        event: str, tool: str | None = None, *, env: dict[str, str] | None = None, **fields: Any
    ) -> HookResult:
        payload = payload_for(event, tool, session_id=SESSION, cwd=str(project.path), **fields)
        result = project.run(payload, env=env)
        assert result.code == 0, result
        assert "Traceback" not in result.stderr, result.stderr
        result.json  # noqa: B018 - stdout is one JSON object or nothing
        return result

    return run


@pytest.fixture
def cli(project: HookProject) -> Cli:
    """``cli(*args)``: ``python -m lib --project <project> *args`` with the installed runtime."""

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = project.lib_command(*args, env=env)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc

    return run
