"""Helpers shared by the tests: a project with our hooks installed by ``install.sh``, and a way to fire events at it
exactly as Claude Code does (``sh -c <command from settings.json>``, payload on stdin, exit code and
stdout read back).

``installed_runtime`` runs ``./install.sh`` once per test session into a temporary project. Each
test's ``hook_project`` is a fresh project directory that shares that virtual environment (a symlink at
``.claude/hooks-runtime``) and carries the same ``settings.json``, so state and logs never leak
between tests.

Also for the unit tests: :class:`FakeClock`, the clock the pure logic is given in tests,
:func:`run_without_site`, which runs code in a bare interpreter started like the hook command, and
:func:`alive`, whether a process a test started (or killed) still runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
#: Environment entries that keep coverage.py out of a child process (when the suite measures
#: coverage): for tests that check which modules a process imports.
NO_COVERAGE = {"COVERAGE_PROCESS_CONFIG": "", "COVERAGE_PROCESS_START": ""}
PAYLOADS = REPO / "examples" / "recorded-session.jsonl"
RUNTIME_REL = Path(".claude") / "hooks-runtime"


class FakeClock:
    """A clock (seconds since the epoch) that stands still until the test moves it."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        self.now += seconds


def run_without_site(code: str) -> str:
    """The standard output of ``python -S -c code`` run in the repository: a process that starts as
    the hook command does (without ``site``), to see what a piece of the runtime imports."""
    return subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"  # the state follows "(<name>)"
    except FileNotFoundError:
        return False


def load_payloads() -> list[dict[str, Any]]:
    """The payloads captured from Claude Code 2.1.328."""
    return [json.loads(line) for line in PAYLOADS.read_text().splitlines() if line.strip()]


def payload_for(event: str, tool: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A copy of the first captured payload of ``event`` (and ``tool``), with ``overrides`` applied."""
    for p in load_payloads():
        if p["hook_event_name"] == event and (tool is None or p.get("tool_name") == tool):
            return {**p, **overrides}
    raise LookupError(f"no captured {event} payload for tool {tool}")


class HookResult:
    """What Claude Code reads back from one hook command."""

    def __init__(self, proc: subprocess.CompletedProcess[bytes]) -> None:
        self.code = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")

    @property
    def json(self) -> dict[str, Any] | None:
        """stdout parsed as the single JSON object it must be (None when stdout is empty)."""
        if not self.stdout.strip():
            return None
        value = json.loads(self.stdout)
        assert isinstance(value, dict), f"stdout is not one JSON object: {self.stdout!r}"
        return value

    @property
    def decision(self) -> str | None:
        """PreToolUse permissionDecision, if any."""
        out = self.json or {}
        return out.get("hookSpecificOutput", {}).get("permissionDecision")

    @property
    def reason(self) -> str:
        """PreToolUse permissionDecisionReason, or the block reason."""
        out = self.json or {}
        return str(
            out.get("hookSpecificOutput", {}).get("permissionDecisionReason") or out.get("reason") or ""
        )

    def __repr__(self) -> str:
        return f"HookResult(code={self.code}, stdout={self.stdout!r}, stderr={self.stderr!r})"


class HookProject:
    """A project directory with our hooks registered; fire events at it with :meth:`run`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.settings = json.loads((path / ".claude" / "settings.json").read_text())

    def commands(self, event: str) -> list[str]:
        """The commands settings.json registers for ``event``."""
        return [h["command"] for g in self.settings["hooks"].get(event, []) for h in g["hooks"]]

    def env(self, **extra: str) -> dict[str, str]:
        """The environment Claude Code gives a hook (our overrides stripped from the test's own env)."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_HOOKS_", "CLAUDE_PROJECT_DIR"))
        }
        env["CLAUDE_PROJECT_DIR"] = str(self.path)
        env.update(extra)
        return env

    def run(
        self,
        payload: dict[str, Any] | bytes | str,
        event: str | None = None,
        *,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> HookResult:
        """Spawn the registered command for the payload's event with ``payload`` on stdin."""
        if isinstance(payload, dict):
            event = event or payload["hook_event_name"]
            data = json.dumps(payload).encode()
        else:
            data = payload.encode() if isinstance(payload, str) else payload
        assert event, "give the event name for a raw payload"
        (command,) = self.commands(event)
        proc = subprocess.run(
            ["sh", "-c", command],
            input=data,
            capture_output=True,
            cwd=self.path,
            env=self.env(**(env or {})),
            timeout=timeout,
        )
        return HookResult(proc)

    def popen(
        self, payload: dict[str, Any], *, env: dict[str, str] | None = None, stdin_delay: float = 0.0
    ) -> subprocess.Popen[bytes]:
        """Start the registered command without waiting (for parallel tests); payload already written
        (after ``stdin_delay`` seconds: a Claude Code slow to write it)."""
        (command,) = self.commands(payload["hook_event_name"])
        proc = subprocess.Popen(
            ["sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=self.path,
            env=self.env(**(env or {})),
        )
        assert proc.stdin is not None
        if stdin_delay:
            time.sleep(stdin_delay)
        proc.stdin.write(json.dumps(payload).encode())
        proc.stdin.close()
        return proc

    def lib_command(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``python -m lib --project <project> *args`` with the installed runtime's interpreter."""
        python = self.path / RUNTIME_REL / "bin" / "python"
        return subprocess.run(
            [str(python), "-m", "lib", "--project", str(self.path), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=self.env(**(env or {})),
        )

    def start_cli(self, *args: str) -> subprocess.Popen[str]:
        """Start ``python -m lib --project <this project> ARGS`` with the installed runtime, without
        waiting (a ``--follow`` reader); stdout and stderr are pipes."""
        python = self.path / RUNTIME_REL / "bin" / "python"
        return subprocess.Popen(
            [str(python), "-m", "lib", "--project", str(self.path), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(),
        )

    def write_config(self, text: str) -> None:
        """Write ``.claude/hooks.toml``."""
        (self.path / ".claude" / "hooks.toml").write_text(text)

    def use_handler_module(self, name: str, source: str, runtime: str = "") -> None:
        """Write the user's handler module ``name`` (``source``) into the project and make it the
        config's only handler module; ``runtime``: more ``[runtime]`` lines of the config."""
        (self.path / name).write_text(source)
        self.write_config(f'[runtime]\n{runtime}handlers = ["{name}"]\n')

    def log_records(self, name: str = "hooks") -> list[dict[str, Any]]:
        """Every parseable record of ``.claude/logs/<name>.jsonl``."""
        path = self.path / ".claude" / "logs" / f"{name}.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def cli_json(self, *args: str) -> Any:
        """``python -m lib --project DIR ARGS --json`` from the installed runtime, parsed (must exit 0)."""
        proc = self.lib_command(*args, "--json")
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    def state(self, name: str) -> dict[str, Any]:
        """The content of ``.claude/state/<name>.json`` ({} when absent)."""
        path = self.path / ".claude" / "state" / f"{name}.json"
        return json.loads(path.read_text()) if path.exists() else {}
