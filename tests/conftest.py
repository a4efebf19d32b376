"""Shared fixtures: a project with our hooks installed by ``install.sh`` (see :mod:`hookkit`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookkit import REPO, RUNTIME_REL, HookProject

_COVERAGE_VARS = ("COVERAGE_PROCESS_CONFIG", "COVERAGE_PROCESS_START")
_shim_key = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """When the run measures coverage (``tests/run.sh``), measure it in every Python child too.

    coverage.py's subprocess patch covers interpreters of this virtual environment (its ``.pth``
    file). The runtime install.sh puts in a project has its own environment without coverage.py, so
    a directory holding a link to coverage.py and a ``sitecustomize`` that starts it goes on
    ``PYTHONPATH`` for every child; the installed hook command (``python -S``) starts coverage itself
    (lib/installer.py). Without coverage nothing changes.
    """
    if not any(os.environ.get(name) for name in _COVERAGE_VARS):
        return
    import coverage

    shim = Path(tempfile.mkdtemp(prefix="claude-hooks-coverage-"))
    (shim / "coverage").symlink_to(Path(coverage.__file__).parent)
    (shim / "sitecustomize.py").write_text(
        "import os\n\n"
        "if os.environ.get('COVERAGE_PROCESS_CONFIG') or os.environ.get('COVERAGE_PROCESS_START'):\n"
        "    try:\n        from coverage import process_startup\n\n        process_startup()\n"
        "    except Exception:\n        pass\n"
    )
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(shim) + (os.pathsep + old if old else "")
    config.stash[_shim_key] = shim


def pytest_unconfigure(config: pytest.Config) -> None:
    shim = config.stash.get(_shim_key, None)
    if shim is not None:
        shutil.rmtree(shim, ignore_errors=True)


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
