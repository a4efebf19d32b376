"""Fixtures of the hypervisor process tests (see :mod:`hvkit`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hvkit import FakeClaude, Workspace, install_fake_claude


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def empty_ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path, plan_source=None)


@pytest.fixture
def fake_claude(tmp_path: Path) -> FakeClaude:
    return install_fake_claude(tmp_path)
