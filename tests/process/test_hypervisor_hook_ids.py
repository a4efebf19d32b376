"""A Claude session the hypervisor starts carries HYPERVISOR_RUN_ID and HYPERVISOR_PHASE in its
environment: the hooks stamp them on their log records, spans and events, and
``python -m lib events --phase ID`` shows that phase's events (its own and its session's hooks)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from hookkit import RUNTIME_REL, HookProject, payload_for


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def events_cli(project: HookProject, *args: str) -> list[dict[str, Any]]:
    """``python -m lib events --json ARGS`` as a user runs it, parsed."""
    python = project.path / RUNTIME_REL / "bin" / "python"
    shown = subprocess.run(
        [str(python), "-m", "lib", "--project", str(project.path), "events", "--json", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=project.env(),
        check=True,
    )
    return [json.loads(line) for line in shown.stdout.splitlines()]


def test_hook_records_of_a_hypervisor_session_carry_its_run_and_phase(hook_project: HookProject) -> None:
    logs = hook_project.path / ".claude" / "logs"
    mine = payload_for("PreToolUse", "Bash", tool_use_id="toolu_phase7", session_id="s-phase-7")
    other = payload_for("PreToolUse", "Bash", tool_use_id="toolu_plain", session_id="s-plain")
    assert hook_project.run(mine, env={"HYPERVISOR_RUN_ID": "run-1", "HYPERVISOR_PHASE": "7"}).code == 0
    assert hook_project.run(other).code == 0
    # The hypervisor's own transition for phase 7 is on the same bus.
    from lib.event_bus import EventBus

    bus = EventBus(str(logs), source="hypervisor")
    bus.publish("phase.passed", {"run_id": "run-1", "phase": "7"})
    bus.publish("phase.passed", {"run_id": "run-1", "phase": "8"})
    bus.close()

    records = {r.get("tool_use_id"): r for r in hook_project.log_records()}
    assert records["toolu_phase7"]["hypervisor_run_id"] == "run-1"
    assert records["toolu_phase7"]["hypervisor_phase"] == "7"
    assert "hypervisor_run_id" not in records["toolu_plain"]
    spans = [
        s for s in lines(logs / "traces.jsonl") if s.get("attributes", {}).get("hypervisor.phase") == "7"
    ]
    assert spans and all(s["attributes"]["hypervisor.run_id"] == "run-1" for s in spans)
    events = lines(logs / "events.jsonl")
    hooked = [e for e in events if e["session_id"] == "s-phase-7"]
    assert hooked and all(e["payload"]["hypervisor_phase"] == "7" for e in hooked)

    picked = events_cli(hook_project, "--phase", "7")
    assert picked and {e["session_id"] for e in picked if e["source"] == "hooks"} == {"s-phase-7"}
    assert [e["payload"]["phase"] for e in picked if e["source"] == "hypervisor"] == ["7"]
    assert len(events_cli(hook_project, "--run", "run-1")) == len(picked) + 1  # phase 8's transition too
