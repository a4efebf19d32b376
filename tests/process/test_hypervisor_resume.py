"""Stopping and resuming: Ctrl-C, SIGKILL mid-run, ``--resume``, ``--only``/``--from``, foreign
checkpoints. The hypervisor is spawned as a user would, and killed as a user (or the OOM killer)
would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import toon_format
from hookkit import alive
from hvkit import Workspace, assert_ok


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


@pytest.fixture
def slow_ws(tmp_path: Path) -> Workspace:
    """1 -> 2 -> 3, where 2 runs long the first time (it leaves a marker) and is quick after."""
    ws = Workspace(tmp_path, plan_source=None)
    ws.write_phase("1.md", "phase: 1\ntitle: First\ncommand: 'echo run >> one.log'")
    ws.write_phase(
        "2.md",
        "phase: 2\ntitle: Slow\ndepends_on: [1]\n"
        "command: 'if [ -f two.marker ]; then echo quick; else touch two.marker; sleep 30; fi'",
    )
    ws.write_phase("3.md", "phase: 3\ntitle: Last\ndepends_on: [2]\ncommand: 'echo run >> three.log'")
    return ws


def start(ws: Workspace, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ws.command("run", str(ws.plan), *args),
        cwd=ws.project,
        env=ws.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_running(ws: Workspace, phase: str, timeout: float = 20) -> dict[str, object]:
    """Wait until the checkpoint of ``phase`` says running with the pid of its command."""
    path = ws.state / "checkpoints" / f"phase_{phase}.toon"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            data = toon_format.loads(path.read_text())
            if isinstance(data, dict) and data.get("status") == "running" and data.get("pid"):
                return data
        time.sleep(0.05)
    raise AssertionError(f"phase {phase} never started running")


def test_ctrl_c_stops_running_phases_records_them_and_resume_finishes(slow_ws: Workspace) -> None:
    proc = start(slow_ws)
    running = wait_for_running(slow_ws, "2")
    child = int(str(running["pid"]))
    assert alive(child)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, out + err
    assert "interrupted (SIGINT)" in out
    assert not alive(child), "the phase's command outlived Ctrl-C"
    cp = slow_ws.checkpoint("2")
    assert cp["status"] == "interrupted" and "pid" not in cp
    assert slow_ws.checkpoint("1")["status"] == "passed"
    assert not (slow_ws.state / "checkpoints" / "phase_3.toon").exists()
    assert slow_ws.events()[-1]["payload"]["status"] == "interrupted"

    resumed = slow_ws.hv("run", "--resume")
    assert_ok(resumed)
    assert "phase 1 skipped: passed in an earlier run (--resume)" in resumed.stdout
    assert (slow_ws.project / "one.log").read_text() == "run\n"  # phase 1 was not redone
    assert slow_ws.checkpoint("2")["status"] == "passed"
    assert (slow_ws.project / "three.log").read_text() == "run\n"


def test_sigterm_is_an_interruption_too(slow_ws: Workspace) -> None:
    proc = start(slow_ws)
    wait_for_running(slow_ws, "2")
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=15)
    assert proc.returncode == 130
    assert "interrupted (SIGTERM)" in out


def learning(ws: Workspace) -> list[dict[str, object]]:
    path = ws.state / "learning.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def runs(ws: Workspace) -> list[dict[str, object]]:
    out = []
    for path in sorted((ws.state / "runs").glob("*.toon")):
        data = toon_format.loads(path.read_text())
        assert isinstance(data, dict)
        out.append(data)
    return out


def test_sigkill_mid_run_then_resume_kills_the_orphan_and_records_the_crash(slow_ws: Workspace) -> None:
    proc = start(slow_ws)
    running = wait_for_running(slow_ws, "2")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    # The command of phase 2 leads its own process group and outlives a SIGKILLed hypervisor.
    child = int(str(running["pid"]))
    assert alive(child)
    assert slow_ws.checkpoint("2")["status"] == "running"  # what a crash leaves behind
    status = slow_ws.hv("status", "--json")
    last = json.loads(status.stdout)["last_run"]
    assert last["status"] == "crashed"  # its runner is dead, whatever the record said

    resumed = slow_ws.hv("run", "--resume", "--kill-grace", "1")
    assert_ok(resumed)
    assert not alive(child), "the crashed run's attempt was not stopped"
    assert "phase 2 was still running when run" in resumed.stdout
    assert "recorded as crashed" in resumed.stdout
    assert "stopping it (--orphans kill)" in resumed.stdout
    assert "phase 1 skipped" in resumed.stdout
    assert (slow_ws.project / "one.log").read_text() == "run\n"
    started = [e["payload"]["phase"] for e in slow_ws.events() if e["topic"] == "phase.started"]
    assert started == ["1", "2", "2", "3"]  # first run: 1, 2; resumed run: 2, 3
    assert all(slow_ws.checkpoint(p)["status"] == "passed" for p in ("1", "2", "3"))
    crashed = [e for e in learning(slow_ws) if e["outcome"] == "crashed"]
    assert len(crashed) == 1 and crashed[0]["phase"] == "2" and crashed[0]["pid"] == child
    first, second = runs(slow_ws)
    assert first["status"] == "crashed" and "died" in str(first["reason"])
    assert second["status"] == "passed" and second["resume"] is True
    log = slow_ws.checkpoint("2")["attempt_log"]
    assert isinstance(log, list) and [e["outcome"] for e in log] == ["crashed", "passed"]
    assert log[0]["run_id"] == first["run_id"] and log[1]["run_id"] == second["run_id"]


def test_resume_can_wait_for_the_orphan_instead(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, plan_source=None)
    ws.write_phase(
        "1.md",
        "phase: 1\ncommand: 'if [ -f m ]; then echo again; else touch m; sleep 2; echo first > first.txt; fi'",
    )
    proc = start(ws)
    running = wait_for_running(ws, "1")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    resumed = ws.hv("run", "--resume", "--orphans", "wait")
    assert_ok(resumed)
    assert "waiting for it to end (--orphans wait)" in resumed.stdout
    assert (ws.project / "first.txt").read_text() == "first\n"  # it was let finish
    assert not alive(int(str(running["pid"])))


def test_status_shows_a_live_run_as_running_and_a_dead_one_as_crashed(slow_ws: Workspace) -> None:
    proc = start(slow_ws)
    running = wait_for_running(slow_ws, "2")
    live = slow_ws.hv("status")
    assert "a run is in progress right now" in live.stdout
    assert next(line for line in live.stdout.splitlines() if line.startswith("2 ")).split()[2] == "running"
    second = slow_ws.hv("run")
    assert_ok(second, 3)
    assert "another hypervisor is running this plan" in second.stderr
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=10)
    os.killpg(int(str(running["pid"])), signal.SIGKILL)
    dead = slow_ws.hv("status")
    assert next(line for line in dead.stdout.splitlines() if line.startswith("2 ")).split()[2] == "crashed"


def test_resume_reruns_a_phase_whose_file_changed(ws: Workspace) -> None:
    assert_ok(ws.hv("run"))
    path = ws.plan / "05-docs.md"
    path.write_text(path.read_text() + "\nMention the license too.\n")
    proc = ws.hv("run", "--resume")
    assert_ok(proc)
    assert "phase 5 passed before, but its file changed since: running it again" in proc.stdout
    assert "phase 6 passed before, but phase 5, which it depends on, runs again" in proc.stdout
    resumed_run = [e for e in ws.events() if e["payload"]["run_id"] == ws.events()[-1]["payload"]["run_id"]]
    assert [e["payload"]["phase"] for e in resumed_run if e["topic"] == "phase.started"] == ["5", "6"]


def test_resume_reruns_phases_whose_validation_script_changed_and_their_dependents(ws: Workspace) -> None:
    assert_ok(ws.hv("run"))
    script = ws.plan / "validation" / "check_integration.py"
    script.write_text(script.read_text() + "\n# stricter now\n")
    proc = ws.hv("run", "--resume")
    assert_ok(proc)
    assert "phase 4 passed before, but its validation script changed since" in proc.stdout
    last = ws.events()[-1]["payload"]["run_id"]
    started = [
        e["payload"]["phase"]
        for e in ws.events()
        if e["payload"]["run_id"] == last and e["topic"] == "phase.started"
    ]
    assert started == ["4", "6"]
    # A dependency that passed again in another run (here: --only 5) makes its dependents stale.
    assert_ok(ws.hv("run", "--only", "5"))
    proc = ws.hv("run", "--resume")
    assert "phase 6 passed before, but phase 5, which it depends on, passed again since" in proc.stdout


def test_a_fresh_run_without_resume_runs_everything_again(ws: Workspace) -> None:
    assert_ok(ws.hv("run"))
    assert_ok(ws.hv("run"))
    assert ws.started().count("1") == 2


def test_only_and_from_select_phases(ws: Workspace) -> None:
    assert_ok(ws.hv("run"))
    only = ws.hv("run", "--only", "5", "2")
    assert_ok(only)
    last = ws.events()[-1]["payload"]["run_id"]
    assert [
        e["payload"]["phase"]
        for e in ws.events()
        if e["topic"] == "phase.started" and e["payload"]["run_id"] == last
    ] == ["2", "5"]
    from_four = ws.hv("run", "--from", "4")
    assert_ok(from_four)
    last = ws.events()[-1]["payload"]["run_id"]
    started = [
        e["payload"]["phase"]
        for e in ws.events()
        if e["topic"] == "phase.started" and e["payload"]["run_id"] == last
    ]
    assert started == ["4", "6"]  # the integration cache is warm now: 4 passes first time


def test_only_warns_about_dependencies_that_never_passed(ws: Workspace) -> None:
    proc = ws.hv("run", "--only", "2")
    assert (
        "phase 2 depends on phase 1, which is not selected and has not passed; running it anyway"
        in proc.stdout
    )


def test_json_checkpoints_from_another_tool_are_honoured_by_resume(ws: Workspace) -> None:
    (ws.project / "build").mkdir()
    (ws.project / "build" / "config.ini").write_text("name=demo\n")
    checkpoints = ws.state / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "phase_1.toon").write_text(json.dumps({"phase": 1, "status": "completed"}))
    proc = ws.hv("run", "--resume")
    assert_ok(proc)
    assert "phase 1 skipped: passed in an earlier run" in proc.stdout
    assert ws.started()[0] == "2"


def test_msgpack_checkpoints_are_reported_moved_aside_and_the_phase_rerun(ws: Workspace) -> None:
    checkpoints = ws.state / "checkpoints"
    checkpoints.mkdir(parents=True)
    packed = b"TOON\x82\xa5phase\x01\xa6status\xa6passed"
    (checkpoints / "phase_1.toon").write_bytes(packed)
    proc = ws.hv("run", "--resume")
    assert_ok(proc)
    assert "msgpack checkpoint (written by another tool)" in proc.stdout
    assert "moved unreadable checkpoint of phase 1 to" in proc.stdout
    moved = list(checkpoints.glob("phase_1.toon.unreadable-*"))
    assert len(moved) == 1 and moved[0].read_bytes() == packed  # nothing lost
    assert ws.started()[0] == "1"
    assert ws.checkpoint("1")["status"] == "passed"


def test_a_checkpoint_path_in_the_frontmatter_is_honoured_under_the_state_dir(ws: Workspace) -> None:
    path = ws.plan / "01-setup.md"
    path.write_text(path.read_text().replace("wave: 1\n", 'wave: 1\ncheckpoint: "mine/phase_1.toon"\n'))
    assert_ok(ws.hv("run"))
    data = toon_format.loads((ws.state / "mine" / "phase_1.toon").read_text())
    assert data["status"] == "passed" and data["phase"] == "1"
    assert not (ws.plan / "mine").exists()
    proc = ws.hv("run", "--resume")
    assert "phase 1 skipped" in proc.stdout
