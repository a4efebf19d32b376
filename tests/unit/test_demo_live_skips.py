"""When the demo's live Claude Code session cannot run, it says why in one line and the demo goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.demo_live import SKIP_VAR, run_live


def test_switched_off_by_the_user(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(SKIP_VAR, "0")
    assert run_live("/p", "/e2e", try_destructive=False).summary == "skipped"
    assert f"{SKIP_VAR}=0" in capsys.readouterr().out


def test_without_node_and_npm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv(SKIP_VAR, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # neither node nor npm here
    assert run_live("/p", "/e2e", try_destructive=False).summary == "skipped"
    assert (
        "needs Node.js and npm to run Claude Code, and node and npm are not on PATH"
        in capsys.readouterr().out
    )


def test_without_the_harness_or_its_installer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv(SKIP_VAR, raising=False)
    assert run_live("/p", str(tmp_path / "nowhere"), try_destructive=False).summary == "skipped"
    assert "(the end-to-end test harness) not found" in capsys.readouterr().out
    assert run_live("/p", str(tmp_path), try_destructive=False).summary == "skipped"
    assert f"{tmp_path / 'install_cli.sh'} not found" in capsys.readouterr().out


def test_a_failing_cli_install_shows_npms_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv(SKIP_VAR, raising=False)
    (tmp_path / "install_cli.sh").write_text("echo fetching\necho 'npm error 404 Not Found'\nexit 3\n")
    assert run_live("/p", str(tmp_path), try_destructive=False).summary == "skipped"
    out = capsys.readouterr().out
    assert "npm error 404 Not Found" in out
    assert "install_cli.sh failed (exit 3); npm needs the npm registry the first time" in out
