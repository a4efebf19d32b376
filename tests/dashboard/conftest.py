"""Fixtures of the dashboard tests: a project filled by a recorded Claude Code session (replayed
through the installed hook commands), the dashboard serving it, and a real headless Chromium.

Chromium is Debian's ``chromium`` (``tests/dashboard/install_chromium.sh``, run by ``tests/run.sh``),
driven through the DevTools protocol by Playwright's Python client (``playwright`` from PyPI; its
bundled driver talks to the system browser, so ``playwright install`` is never needed).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashkit import (
    CHROMIUM_ARGS,
    DashboardProcess,
    FilledProject,
    chromium_path,
    recorded_payloads,
    start_dashboard,
    write_transcript,
)
from hookkit import HookProject


@pytest.fixture(scope="module")  # Playwright holds an asyncio loop while it runs: end it with the module
def browser() -> Iterator[Any]:
    """A headless Chromium driven over the DevTools protocol (one per test session)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (own context: no cookies from another test); page errors fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda error: errors.append(str(error)))
    p.set_default_timeout(15_000)
    yield p
    context.close()
    assert not errors, f"errors in the page: {errors}"


@pytest.fixture
def filled_project(hook_project: HookProject, tmp_path: Path) -> FilledProject:
    """A project after a recorded session: tool calls, a denial, an open breaker, a transcript."""
    session_id = str(uuid.uuid4())
    transcript = write_transcript(tmp_path / "home" / ".claude" / "projects" / "p" / f"{session_id}.jsonl")
    filled = FilledProject(hook_project, session_id, transcript)
    for payload in recorded_payloads(hook_project.path, session_id, transcript):
        filled.fire(payload)
    return filled


@pytest.fixture
def dashboard(filled_project: FilledProject) -> Iterator[DashboardProcess]:
    """The dashboard of the filled project, stopped after the test."""
    dash = start_dashboard(filled_project.path)
    yield dash
    dash.proc.terminate()
    try:
        dash.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        dash.proc.kill()
        dash.proc.wait()
