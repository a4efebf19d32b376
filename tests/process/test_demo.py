"""``./install.sh --demo`` from the clone, as a newcomer runs it: what they see on the terminal.

The demo installs the runtime into a throwaway sample project (a fresh virtual environment: the
slow part, run once per module), replays the recorded session through the installed hook commands,
runs a real Claude Code session (the pinned CLI of ``tests/e2e``, against the scripted mock Messages
API) and prints a summary with the logs path. Without Node.js the live session is skipped in one line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hookkit import PAYLOADS, REPO

LIVE_HEADER = "Part 2: a live Claude Code session in the sample project"
SKIP_MARK = "live Claude Code session skipped"


@dataclass
class Row:
    """One row of the live session's transcript table."""

    number: str
    call: str
    hooks: str
    text: str
    contexts: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        """How many calls the row stands for (``3-7`` folds five identical calls)."""
        first, _, last = self.number.partition("-")
        return int(last or first) - int(first) + 1


@dataclass
class Demo:
    """What ``./install.sh --demo`` printed, split into its parts."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    @property
    def project(self) -> Path:
        [line] = [ln for ln in self.lines if ln.startswith("  cd ")]
        return Path(line[len("  cd ") :])

    def between(self, start: str, end: str) -> list[str]:
        """The lines from the first one starting with ``start`` up to the next starting with ``end``."""
        lines = self.lines
        first = next(i for i, ln in enumerate(lines) if ln.startswith(start))
        last = next((i for i in range(first + 1, len(lines)) if lines[i].startswith(end)), len(lines))
        return lines[first:last]

    def live_rows(self) -> list[Row]:
        """The transcript table, parsed by the columns of its header line."""
        lines = self.between(LIVE_HEADER, "Summary:")
        header_at = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("#  "))
        header = lines[header_at]
        call_col, hooks_col, text_col = (header.index(h) for h in ("tool call", "our hooks", "what Claude"))
        rows: list[Row] = []
        for line in lines[header_at + 1 :]:
            if not line.strip():
                break
            if line[:text_col].strip():
                assert line[hooks_col - 1] == " " and line[text_col - 1] == " ", f"misaligned row: {line!r}"
                rows.append(
                    Row(
                        number=line[:call_col].strip(),
                        call=line[call_col:hooks_col].strip(),
                        hooks=line[hooks_col:text_col].strip(),
                        text=line[text_col:].strip(),
                    )
                )
            elif line[text_col:].startswith("+ "):
                rows[-1].contexts.append(line[text_col + 2 :].strip())
            elif rows[-1].contexts:
                rows[-1].contexts[-1] += " " + line.strip()
            else:
                rows[-1].text += " " + line.strip()
        return rows


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_HOOKS_")}
    env.pop("CLAUDE_PROJECT_DIR", None)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """``./install.sh --demo``, once for this module (its sample project lands in a pytest temp dir)."""
    tmp = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        ["bash", str(REPO / "install.sh"), "--demo"],
        capture_output=True,
        text=True,
        timeout=900,
        env=_clean_env(TMPDIR=str(tmp)),
        stdin=subprocess.DEVNULL,
    )
    return Demo(proc.returncode, proc.stdout, proc.stderr)


def _live_rows_or_fail(demo: Demo) -> list[Row]:
    skipped = [ln for ln in demo.lines if SKIP_MARK in ln]
    if skipped:
        pytest.fail(f"the demo skipped its live session: {skipped[0]} (run tests/e2e/install_cli.sh)")
    return demo.live_rows()


def test_the_demo_finishes_without_a_traceback(demo: Demo) -> None:
    assert demo.returncode == 0, f"exit {demo.returncode}\n{demo.stdout[-3000:]}\n{demo.stderr[-3000:]}"
    assert "Traceback" not in demo.stdout + demo.stderr
    assert demo.lines[0].startswith("claude-hooks: installing into ")


def test_the_replay_prints_every_recorded_event_with_its_decision_in_aligned_columns(demo: Demo) -> None:
    recorded = [json.loads(ln) for ln in PAYLOADS.read_text().splitlines() if ln.strip()]
    part = demo.between("Part 1: replay", "Part 2")
    assert part[0] == f"Part 1: replay {len(recorded)} hook events recorded from a Claude Code session"
    rows = [ln for ln in part if " -> " in ln]
    assert len({ln.index(" -> ") for ln in rows}) == 1, "the decision column is not aligned:\n" + "\n".join(
        rows
    )
    # The recorded session first, in order: every event went through an installed command.
    assert [ln.split()[0] for ln in rows[: len(recorded)]] == [p["hook_event_name"] for p in recorded]
    assert any(re.match(r"  PreToolUse +Bash +echo hello +-> no objection$", ln) for ln in rows)
    for scene in ("a destructive command", "a read of the project's secrets", "a tool that keeps failing"):
        assert any(ln.startswith(f"Scene: {scene}") for ln in part), scene
    assert any(re.fullmatch(r"Replay: \d+ call\(s\) denied\.", ln) for ln in part)


@pytest.mark.e2e
def test_the_live_session_runs_a_harmless_call_and_denies_the_deploy(demo: Demo) -> None:
    rows = _live_rows_or_fail(demo)
    part = demo.between(LIVE_HEADER, "Summary:")
    assert any("Claude Code 2.1.328" in ln for ln in part)
    assert rows[0].call == "Bash: ls src scripts" and rows[0].hooks == "allow"
    assert "app.py" in rows[0].text  # it ran, and the model got its output
    [deploy] = [r for r in rows if r.call == "Bash: ./deploy.sh production"]
    assert (deploy.hooks, deploy.text) == (
        "DENY",
        "PreToolUse:Bash hook error: Deploys go through CI: open a PR instead.",
    )
    denied = [r for r in rows if r.hooks == "DENY"]
    assert all(r.text.startswith("PreToolUse:Bash hook error: ") for r in denied)
    result = next(ln for ln in part if ln.startswith("  result: "))
    count = sum(r.count for r in denied)
    assert result.startswith("  result: success, exit 0, ") and result.endswith(
        f" {count} permission_denials:"
    )
    listed = part[part.index(result) + 1 : part.index(result) + 1 + count]
    assert sorted(ln.split(None, 1)[1] for ln in listed) == sorted(
        r.call for r in denied for _ in range(r.count)
    )
    assert any(ln.startswith("  Claude's final answer: ") for ln in part)


@pytest.mark.e2e
def test_the_live_session_shows_the_circuit_breaker_stopping_a_failing_command(demo: Demo) -> None:
    rows = [r for r in _live_rows_or_fail(demo) if r.call == "Bash: sh scripts/migrate.sh"]
    *failures, last = rows
    assert failures and all(r.hooks == "allow" and r.text.startswith("Exit code 1") for r in failures)
    assert any(
        "PostToolUseFailure hook context" in c and "Circuit breaker" in c for c in failures[-1].contexts
    )
    assert last.hooks == "DENY" and last.text.startswith("PreToolUse:Bash hook error: Circuit breaker")


@pytest.mark.e2e
def test_the_live_session_shows_the_bash_guard_denying_a_destructive_command(demo: Demo) -> None:
    [row] = [r for r in _live_rows_or_fail(demo) if r.call == "Bash: rm -rf ~/"]
    assert row.hooks == "DENY" and row.text.startswith("PreToolUse:Bash hook error: ")


def test_the_summary_says_where_the_logs_are_and_its_commands_work(demo: Demo) -> None:
    project = demo.project
    log_dir = project / ".claude" / "logs"
    summary = demo.between("Summary:", "\0")
    assert re.match(r"Summary: replay \d+ call\(s\) denied; live session: ", summary[0])
    logs_line = summary[1]
    assert logs_line.startswith(f"Logs, traces and events: {log_dir} (hooks.jsonl ")
    assert (log_dir / "hooks.jsonl").stat().st_size > 0
    session = re.search(r"\(session ([0-9a-f-]{36})\)", summary[0])
    assert session, summary[0]
    sid = session.group(1)[:8]
    commands = [
        ln.split("#")[0].split() for ln in summary if ln.startswith("  .claude/hooks-runtime/bin/python")
    ]
    assert [c[1:] for c in commands] == [
        ["-m", "lib", "logs", "--session", sid],
        ["-m", "lib", "traces", "show", sid],
        ["-m", "lib", "events", "--session", sid],
    ]
    for command in commands:
        proc = subprocess.run(
            command, cwd=project, capture_output=True, text=True, timeout=60, env=_clean_env()
        )
        assert proc.returncode == 0, f"{command}: {proc.stderr}"
        assert "Deploys go through CI" in proc.stdout, f"{command}: the live session's denial is not shown"


def test_without_node_the_replay_runs_and_the_live_session_is_skipped_in_one_line(
    demo: Demo, tmp_path: Path
) -> None:
    project = demo.project
    bin_dir = tmp_path / "bin"  # a PATH with a shell and nothing else: no node, no npm
    bin_dir.mkdir()
    (bin_dir / "sh").symlink_to("/bin/sh")
    proc = subprocess.run(
        [str(project / ".claude" / "hooks-runtime" / "bin" / "python"), "-m", "lib.demo", str(project),
         str(PAYLOADS), "--e2e-dir", str(REPO / "tests" / "e2e")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=_clean_env(PATH=str(bin_dir)),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout.splitlines()
    assert out[0].startswith("Part 1: replay ")
    [skipped] = [ln for ln in out if SKIP_MARK in ln]
    assert skipped.startswith("Part 2: ") and "node and npm are not on PATH" in skipped
    assert LIVE_HEADER not in proc.stdout
    assert any(ln.startswith("Summary: replay ") and ln.endswith("live session: skipped.") for ln in out)
    assert "Traceback" not in proc.stdout + proc.stderr
