"""When the demo's live Claude Code session cannot run, it says why in one line and the demo goes on."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.demo_live import SKIP_VAR, run_live


def test_switched_off_by_the_user(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SKIP_VAR, "0")
    assert run_live("/p", "/e2e", try_destructive=False).summary == "skipped"
    assert f"{SKIP_VAR}=0" in capsys.readouterr().out


@pytest.fixture
def live_not_switched_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SKIP_VAR, raising=False)


def harness(folder: Path, install_cli: str, **modules: str) -> None:
    """A harness folder: ``install_cli.sh`` with the script ``install_cli``, and each of ``modules``
    as ``<name>.py`` with its source."""
    (folder / "install_cli.sh").write_text(install_cli)
    for name, source in modules.items():
        (folder / f"{name}.py").write_text(source)


@pytest.mark.usefixtures("live_not_switched_off")
def test_without_node_and_npm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither node nor npm here
    assert run_live("/p", "/e2e", try_destructive=False).summary == "skipped"
    assert (
        "needs Node.js and npm to run Claude Code, and node and npm are not on PATH"
        in capsys.readouterr().out
    )


@pytest.mark.usefixtures("live_not_switched_off")
def test_without_the_harness_or_its_installer(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run_live("/p", str(tmp_path / "nowhere"), try_destructive=False).summary == "skipped"
    assert "(the end-to-end test harness) not found" in capsys.readouterr().out
    assert run_live("/p", str(tmp_path), try_destructive=False).summary == "skipped"
    assert f"{tmp_path / 'install_cli.sh'} not found" in capsys.readouterr().out


@pytest.mark.usefixtures("live_not_switched_off")
def test_a_failing_cli_install_shows_npms_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    harness(tmp_path, "echo fetching\necho 'npm error 404 Not Found'\nexit 3\n")
    assert run_live("/p", str(tmp_path), try_destructive=False).summary == "skipped"
    out = capsys.readouterr().out
    assert "npm error 404 Not Found" in out
    assert "install_cli.sh failed (exit 3); npm needs the npm registry the first time" in out


@pytest.fixture
def own_harness_modules() -> Iterator[None]:
    """The harness modules these tests load from their own folders, taken out of ``sys.modules``
    around the test (the e2e tests of the same run load the real ones under the same names)."""
    names = ("mock_anthropic", "claude_session")
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    yield
    for n in names:
        sys.modules.pop(n, None)
    sys.modules.update(saved)


@pytest.mark.usefixtures("live_not_switched_off", "own_harness_modules")
def test_a_harness_that_does_not_load_fails_the_live_part_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    installed = "echo 'Claude Code 2.1.328 already installed'\n"
    harness(tmp_path, installed, mock_anthropic="raise RuntimeError('broken harness')\n")
    outcome = run_live("/p", str(tmp_path), try_destructive=False)
    assert outcome.failed and outcome.summary == "harness not loadable"
    out = capsys.readouterr().out
    assert "Claude Code 2.1.328 already installed" in out
    assert f"could not load the harness from {tmp_path}: RuntimeError: broken harness" in out


@pytest.mark.usefixtures("live_not_switched_off", "own_harness_modules")
def test_a_harness_without_the_cli_skips_with_its_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    claude_session = (
        "class ClaudeNotInstalled(Exception):\n    pass\n\n\n"
        "def find_claude_bin():\n    raise ClaudeNotInstalled('the pinned CLI is not installed')\n"
    )
    harness(tmp_path, "true\n", mock_anthropic="", claude_session=claude_session)
    assert run_live("/p", str(tmp_path), try_destructive=False).summary == "skipped"
    assert "the pinned CLI is not installed" in capsys.readouterr().out
