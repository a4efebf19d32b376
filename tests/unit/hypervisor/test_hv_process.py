"""One phase's child process: cancellation before and during, stdin, the log's tail."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lib.hypervisor.process import AttemptControl, ProcessOutcome, read_tail, run_process


def test_a_cancelled_attempt_starts_nothing(tmp_path: Path) -> None:
    control = AttemptControl()
    control.cancel("the user quit")
    control.cancel("a later reason")
    assert control.reason == "the user quit" and control.wait(0.0) is True
    out = tmp_path / "logs" / "phase.log"
    done = run_process([sys.executable, "-c", "open('ran', 'w')"], cwd=tmp_path, env=os.environ,
                       output_path=out, timeout=10, control=control)  # fmt: skip
    assert done.cancelled and not done.ok and done.pid is None
    assert not (tmp_path / "ran").exists()


def test_stdin_reaches_the_child_and_its_output_the_log(tmp_path: Path) -> None:
    out = tmp_path / "phase.log"
    done = run_process([sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"],
                       cwd=tmp_path, env=os.environ, output_path=out, timeout=30,
                       stdin_data=b"the prompt")  # fmt: skip
    assert done.ok and done.exit_code == 0
    assert read_tail(out) == "THE PROMPT\n" and read_tail(out, limit=3) == "PT\n"


def test_a_tail_of_nothing_is_empty(tmp_path: Path) -> None:
    assert read_tail(None) == "" and read_tail(tmp_path / "missing.log") == ""
    assert ProcessOutcome(0, 1.0).ok and not ProcessOutcome(0, 1.0, timed_out=True).ok
    assert not ProcessOutcome(1, 1.0).ok
