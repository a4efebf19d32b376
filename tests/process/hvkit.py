"""The hypervisor as a user runs it, for the process tests: :class:`Workspace` (a plan folder, a
project folder, ``python -m lib.hypervisor`` run on them with short backoffs) and a stand-in
``claude`` executable following a script (:data:`FAKE_CLAUDE`, :func:`install_fake_claude`). The
fixtures ``ws``, ``empty_ws`` and ``fake_claude`` (``conftest.py``) give them to a test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import toon_format

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo-plan"

FAST_ENV = {
    "HYPERVISOR_BACKOFF_BASE": "0.05",
    "HYPERVISOR_BACKOFF_MAX": "0.2",
    "HYPERVISOR_KILL_GRACE": "1",
}


#: The stand-in ``claude`` executable and the environment it reads (see :data:`FAKE_CLAUDE`).
FakeClaude = tuple[Path, dict[str, str]]


class Workspace:
    """A copy of a plan, an empty project folder, and helpers to run the hypervisor on them."""

    def __init__(self, root: Path, plan_source: Path | None = DEMO) -> None:
        self.root = root
        self.plan = root / "plan"
        self.project = root / "project"
        self.project.mkdir()
        if plan_source is not None:
            shutil.copytree(plan_source, self.plan)
            for path in self.plan.rglob("*"):
                path.chmod(0o755 if path.is_dir() else 0o644)
        else:
            self.plan.mkdir()
        self.state = self.plan / ".hypervisor"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "lib.hypervisor", *args]

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {**os.environ, **FAST_ENV, "PYTHONPATH": str(REPO)}
        env.pop("CLAUDE_HOOKS_LOG_DIR", None)
        env.pop("CLAUDE_PROJECT_DIR", None)
        env.update(extra or {})
        return env

    def run(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            cwd=self.project,
            env=self.env(env),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def hv(self, subcommand: str, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.run(subcommand, str(self.plan), *args, **kw)

    def run_claude(
        self, claude: FakeClaude, script: object, *args: str, **kw: Any
    ) -> subprocess.CompletedProcess[str]:
        """``run ARGS`` with the stand-in ``claude`` (:data:`FAKE_CLAUDE`) following ``script``: a
        list of steps, or a list per phase."""
        binary, env = claude
        env["FAKE_SCRIPT"] = json.dumps(script)
        return self.hv("run", "--claude-bin", str(binary), *args, env=env, **kw)

    def checkpoint(self, phase: str) -> dict[str, Any]:
        data = toon_format.loads((self.state / "checkpoints" / f"phase_{phase}.toon").read_text())
        assert isinstance(data, dict)
        return data

    def events(self, source: str | None = "hypervisor") -> list[dict[str, Any]]:
        # A project without .claude (no hooks) gets the run's events in the state folder, unless
        # Claude phases ran (their hooks write the project's bus).
        path = self.project / ".claude" / "logs" / "events.jsonl"
        if not path.exists():
            path = self.state / "bus" / "events.jsonl"
        if not path.exists():
            return []
        records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [r for r in records if source is None or r["source"] == source]

    def started(self) -> list[str]:
        return [e["payload"]["phase"] for e in self.events() if e["topic"] == "phase.started"]

    def learning(self) -> list[dict[str, Any]]:
        path = self.state / "learning.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def write_phase(self, name: str, frontmatter: str, body: str = "Do it.\n") -> Path:
        path = self.plan / name
        path.write_text(f"---\n{textwrap.dedent(frontmatter).strip()}\n---\n{body}")
        return path


def assert_ok(proc: subprocess.CompletedProcess[str], code: int = 0) -> None:
    assert proc.returncode == code, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"


FAKE_CLAUDE = """\
#!{python}
import json, os, sys, time
from pathlib import Path

script = json.loads(os.environ["FAKE_SCRIPT"])
phase = os.environ.get("HYPERVISOR_PHASE", "")
if isinstance(script, dict):  # one script per phase (phases may run at the same time)
    script = script[phase]
state = Path(os.environ["FAKE_STATE"] + (f"-{{phase}}" if phase else ""))
calls = int(state.read_text()) if state.exists() else 0
state.write_text(str(calls + 1))
step = script[min(calls, len(script) - 1)]
session = sys.argv[sys.argv.index("--session-id") + 1]
Path(os.environ["FAKE_PROMPTS"]).joinpath(f"prompt-{{calls}}.txt").write_text(sys.argv[2])
Path(os.environ["FAKE_PROMPTS"]).joinpath(f"call-{{phase}}-{{calls}}.json").write_text(
    json.dumps({{"argv": sys.argv, "cwd": os.getcwd(), "env": {{k: v for k, v in os.environ.items() if k.startswith(("HYPERVISOR_", "CLAUDE_HOOKS_"))}}}})
)
if step.get("publish"):
    sys.path.insert(0, os.environ["REPO"])
    from lib.event_bus import EventBus
    bus = EventBus(os.path.join(os.getcwd(), ".claude", "logs"), source="hooks", session_id=session)
    for topic, payload in step["publish"]:
        bus.publish(topic, payload)
        time.sleep(0.05)
time.sleep(step.get("sleep", 0))
if step.get("touch"):
    Path(step["touch"]).write_text(step.get("text", "done") + "\\n")
result = {{"type": "result", "subtype": step.get("subtype", "success"), "is_error": step.get("is_error", False),
          "num_turns": 3, "total_cost_usd": 0.01, "session_id": session, "result": step.get("result", "ok"),
          **step.get("extra", {{}})}}
print(json.dumps(result))
sys.exit(step.get("exit", 0))
"""


def install_fake_claude(root: Path) -> FakeClaude:
    """:data:`FAKE_CLAUDE` as ``root/fake-claude``, and its environment: its call counts go to
    ``root/calls*``, the prompts and calls it gets to ``root/prompts``."""
    path = root / "fake-claude"
    path.write_text(FAKE_CLAUDE.format(python=sys.executable))
    path.chmod(0o755)
    prompts = root / "prompts"
    prompts.mkdir()
    return path, {"FAKE_STATE": str(root / "calls"), "FAKE_PROMPTS": str(prompts), "REPO": str(REPO)}
