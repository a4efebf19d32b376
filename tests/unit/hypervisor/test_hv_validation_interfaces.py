"""Validation script lookup and the v2 interfaces' implementations."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from lib.event_bus import EventBus
from lib.hypervisor.bridge import LearningLog
from lib.hypervisor.checkpoints import CheckpointStore
from lib.hypervisor.events import BusEventMesh
from lib.hypervisor.executors import ClaudeExecutor, ShellExecutor, build_executors
from lib.hypervisor.interfaces import AgentDelegationEngine, EventMesh, MemoryManager, MeshEvent, SkillRouter
from lib.hypervisor.plan import load_plan
from lib.hypervisor.routing import FrontmatterSkillRouter
from lib.hypervisor.validation import resolve_script, run_validation, script_argv


def test_relative_scripts_are_found_in_the_plan_folder_first_then_the_project(tmp_path: Path) -> None:
    plan_dir, project = tmp_path / "plan", tmp_path / "project"
    (plan_dir / "validation").mkdir(parents=True)
    (project / "validation").mkdir(parents=True)
    (project / "validation" / "v.py").write_text("")
    assert resolve_script("validation/v.py", plan_dir, project) == (project / "validation" / "v.py").resolve()
    (plan_dir / "validation" / "v.py").write_text("")
    assert (
        resolve_script("validation/v.py", plan_dir, project) == (plan_dir / "validation" / "v.py").resolve()
    )
    assert resolve_script("nope.py", plan_dir, project) is None
    assert resolve_script(str(project / "validation" / "v.py"), plan_dir, tmp_path) is not None


def test_the_interpreter_follows_the_extension(tmp_path: Path) -> None:
    script = tmp_path / "check"
    script.write_text("#!/bin/sh\n")
    assert script_argv(tmp_path / "v.py") == [sys.executable, str(tmp_path / "v.py")]
    assert script_argv(tmp_path / "v.sh")[0] == "bash"
    assert script_argv(script) == ["sh", str(script)]
    script.chmod(0o755)
    assert script_argv(script) == [str(script)]


def test_validation_runs_in_the_project_and_exit_zero_passes(tmp_path: Path) -> None:
    (tmp_path / "v.py").write_text("import os, sys; print(os.getcwd()); sys.exit(int(os.environ['CODE']))")
    for code, passed in (("0", True), ("3", False)):
        outcome = run_validation(
            "v.py",
            plan_dir=tmp_path,
            project_dir=tmp_path,
            env={**os.environ, "CODE": code},
            output_path=tmp_path / "out.log",
            timeout=30,
        )
        assert outcome.passed is passed
        assert outcome.record.exit_code == int(code)
        assert str(tmp_path) in outcome.record.tail
        assert (outcome.record.digest or "").startswith("sha256:")
    assert outcome.error == "validation exited 3"


def test_a_missing_validation_script_fails_the_phase_with_a_clear_message(tmp_path: Path) -> None:
    outcome = run_validation(
        "validation/missing.py",
        plan_dir=tmp_path,
        project_dir=tmp_path,
        env={},
        output_path=tmp_path / "o",
        timeout=5,
    )
    assert not outcome.passed
    assert "validation script 'validation/missing.py' not found" in (outcome.error or "")


def test_every_interface_has_a_working_implementation(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nphase: 1\ncommand: 'true'\n---\n")
    (tmp_path / "b.md").write_text("---\nphase: 2\n---\nDo it.\n")
    (tmp_path / "c.md").write_text("---\nphase: 3\nexecutor: claude\ncommand: 'true'\n---\n")
    plan = load_plan(tmp_path)
    executors = build_executors()
    for engine in executors.values():
        assert isinstance(engine, AgentDelegationEngine)
    router = FrontmatterSkillRouter(executors)
    assert isinstance(router, SkillRouter)
    assert isinstance(router.route(plan.phases["1"]), ShellExecutor)
    assert isinstance(router.route(plan.phases["2"]), ClaudeExecutor)
    assert isinstance(router.route(plan.phases["3"]), ClaudeExecutor)  # frontmatter wins
    assert isinstance(
        FrontmatterSkillRouter(executors, default="shell").route(plan.phases["2"]), ShellExecutor
    )
    assert isinstance(CheckpointStore(tmp_path, tmp_path / "s"), MemoryManager)
    assert LearningLog(tmp_path / "l.jsonl").events() == []


def test_the_event_mesh_is_the_project_bus_and_polls_only_new_events(tmp_path: Path) -> None:
    hooks = EventBus(str(tmp_path), source="hooks")
    hooks.publish("tool.pre", {"tool_name": "Bash"}, session_id="old-session")
    mesh = BusEventMesh(EventBus(str(tmp_path)))
    assert isinstance(mesh, EventMesh)
    assert mesh.poll() == []  # nothing before the run's first event
    mesh.publish("run.started", {"plan": "p"})
    hooks.publish("tool.failure", {"tool_name": "Bash"}, session_id="s1")
    polled = mesh.poll()
    assert [(e.topic, e.session_id) for e in polled] == [("tool.failure", "s1")]
    assert all(isinstance(e, MeshEvent) for e in polled)
    assert mesh.poll() == []
    hooks.publish("breaker.opened", {"key": "Bash"}, session_id="s1")
    assert [e.topic for e in mesh.poll()] == ["breaker.opened"]
    # Every process reading the bus sees the hypervisor's events.
    seen = [(e.topic, e.source) for e in hooks.tail()]
    assert seen == [
        ("tool.pre", "hooks"),
        ("run.started", "hypervisor"),
        ("tool.failure", "hooks"),
        ("breaker.opened", "hooks"),
    ]
