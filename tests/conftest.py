"""Shared fixtures: a project with our hooks installed by ``install.sh`` (see :mod:`hookkit`)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookkit import REPO, RUNTIME_REL, HookProject


@pytest.fixture(scope="session")
def installed_runtime(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project where ``./install.sh`` installed the runtime (once per test session)."""
    project = tmp_path_factory.mktemp("installed") / "project"
    project.mkdir()
    proc = subprocess.run(
        ["bash", str(REPO / "install.sh"), str(project)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"install.sh failed:\n{proc.stdout}\n{proc.stderr}"
    return project


@pytest.fixture
def hook_project(installed_runtime: Path, tmp_path: Path) -> Iterator[HookProject]:
    """A fresh project sharing the installed runtime, with the registrations install.sh wrote."""
    project = tmp_path / "project"
    (project / ".claude").mkdir(parents=True)
    (project / RUNTIME_REL).symlink_to(installed_runtime / RUNTIME_REL)
    shutil.copy(installed_runtime / ".claude" / "settings.json", project / ".claude" / "settings.json")
    yield HookProject(project)
