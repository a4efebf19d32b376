"""Run the real Claude Code CLI headless (``claude -p``) against :mod:`mock_anthropic`.

The pieces the e2e fixtures in ``conftest.py`` are made of, importable by tests that need them directly
(for instance to spawn ``claude`` through another program, such as the hypervisor's claude executor):

- :func:`find_claude_bin` / :data:`PINNED_VERSION`: the CLI installed by ``tests/e2e/install_cli.sh``;
- :func:`claude_env`: a clean environment for the CLI (temporary HOME, the mock's URL, no real
  ``ANTHROPIC_*``/``CLAUDE*`` variables from the parent);
- :class:`ClaudeRunner` / :class:`ClaudeRun`: run one session, get exit code, result object, output and
  the requests the mock received during that run;
- :func:`add_command_hook` and :class:`HookCapture`: register shell-command hooks in a project's
  ``.claude/settings.json`` and read back what Claude Code handed them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mock_anthropic import MessagesRequest, MockAnthropic, RecordedRequest, Script, ToolResult, ToolUse

__all__ = [
    "E2E_DIR",
    "PINNED_VERSION",
    "ClaudeRun",
    "ClaudeRunner",
    "HookCapture",
    "add_command_hook",
    "claude_env",
    "cli_version",
    "find_claude_bin",
    "parse_result",
]

E2E_DIR = Path(__file__).resolve().parent
PINNED_VERSION: str = json.loads((E2E_DIR / "package.json").read_text())["dependencies"][
    "@anthropic-ai/claude-code"
]
"""The exact CLI version the e2e tests are written against (from ``tests/e2e/package.json``)."""

BIN_OVERRIDE_VAR = "E2E_CLAUDE_BIN"
"""Environment variable naming another ``claude`` executable to test (it must still be the pinned version)."""

DEFAULT_TIMEOUT_S = 60.0

RUN_ID_VAR = "E2E_CLAUDE_RUN_ID"
"""Set to a fresh id in each run's environment, so the run's leftover processes can be found and killed."""

# Variables never passed from the parent: they could point the CLI at a real account, a real config
# dir, a proxy or a telemetry sink, or change its permission behaviour.
_SCRUBBED_PREFIXES = ("ANTHROPIC_", "CLAUDE", "OTEL_", "AI_AGENT", "MCP_")
_SCRUBBED_NAMES = frozenset(
    {
        "IS_SANDBOX",
        "DISABLE_TELEMETRY",
        "DISABLE_AUTOUPDATER",
        "DISABLE_ERROR_REPORTING",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_DATA_HOME",
        "XDG_STATE_HOME",
    }
)


class ClaudeNotInstalled(RuntimeError):
    """The pinned Claude Code CLI is missing or has the wrong version."""


def cli_version(path: Path) -> str:
    """What ``path --version`` prints (``"2.1.332 (Claude Code)"``), run with a throwaway HOME."""
    with tempfile.TemporaryDirectory(prefix="claude-e2e-home-") as home:
        return subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            env=claude_env(home=home, base_url="http://127.0.0.1:9"),
            stdin=subprocess.DEVNULL,
        ).stdout.strip()


def find_claude_bin() -> Path:
    """The pinned ``claude`` executable, or :class:`ClaudeNotInstalled` saying how to install it."""
    override = os.environ.get(BIN_OVERRIDE_VAR)
    path = Path(override) if override else E2E_DIR / "node_modules" / ".bin" / "claude"
    fix = f"run `{E2E_DIR / 'install_cli.sh'}` (it runs `npm ci` in tests/e2e)"
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ClaudeNotInstalled(f"Claude Code CLI not found at {path}: {fix}")
    try:
        shown = cli_version(path)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ClaudeNotInstalled(f"{path} --version failed ({error}): {fix}") from error
    if shown.split(" ", 1)[0] != PINNED_VERSION:
        raise ClaudeNotInstalled(f"{path} is version {shown!r}, the e2e tests pin {PINNED_VERSION}: {fix}")
    return path


def claude_env(*, home: Path | str, base_url: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a ``claude`` process talking to the mock at ``base_url``.

    Starts from this process's environment without any ``ANTHROPIC_*``, ``CLAUDE*``, ``OTEL_*``,
    proxy or XDG variables, then sets a temporary ``HOME`` (the CLI keeps its config, sessions and
    transcripts there), the mock's URL, a dummy API key and the switches that keep the CLI offline.
    ``extra`` is applied last (hooks inherit this environment, so tests can pass settings to them).
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_SCRUBBED_PREFIXES) and name not in _SCRUBBED_NAMES
    }
    env.update(
        HOME=str(home),
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY="sk-ant-e2e-mock-key",
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_ERROR_REPORTING="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    env.update(extra or {})
    return env


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The ``type: result`` object printed by ``--output-format json`` (the last one), or ``None``."""
    for line in reversed(stdout.splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("type") == "result":
            return obj
    return None


@dataclass(frozen=True)
class ClaudeRun:
    """One finished ``claude -p`` session."""

    command: list[str]
    project_dir: Path
    home: Path
    returncode: int
    """The exit code; negative (``-9``) when the harness killed the process group on timeout."""
    timed_out: bool
    stdout: str
    stderr: str
    result: dict[str, Any] | None
    """The parsed result object (``type``, ``subtype``, ``is_error``, ``result``, ``session_id``,
    ``num_turns``, ``total_cost_usd``, ``permission_denials``, ``terminal_reason``, ...)."""
    requests: list[RecordedRequest]
    """Every request the mock received during this run, in order."""
    problems: list[str]
    """Mock problems during this run: script exhausted, script raised, unknown endpoint."""
    duration_s: float
    prompt: str = ""

    @property
    def turn_requests(self) -> list[MessagesRequest]:
        """The streaming ``/v1/messages`` requests (one per scripted turn), in order."""
        return [r for r in self.requests if isinstance(r, MessagesRequest) and r.stream]

    @property
    def last_request(self) -> MessagesRequest:
        """The last streaming request: it carries the whole conversation of the session."""
        if not self.turn_requests:
            raise AssertionError(f"the mock received no /v1/messages request\n{self.describe()}")
        return self.turn_requests[-1]

    @property
    def session_id(self) -> str | None:
        """The session id from the result object."""
        return None if self.result is None else self.result.get("session_id")

    @property
    def subtype(self) -> str | None:
        """``success``, ``error_max_turns``, ``error_during_execution``, ... (``None`` without a result)."""
        return None if self.result is None else self.result.get("subtype")

    @property
    def is_error(self) -> bool | None:
        """The result's ``is_error`` (``None`` without a result)."""
        return None if self.result is None else bool(self.result.get("is_error"))

    @property
    def permission_denials(self) -> list[dict[str, Any]]:
        """The result's ``permission_denials``: ``{tool_name, tool_use_id, tool_input}`` per denied call."""
        return [] if self.result is None else list(self.result.get("permission_denials") or [])

    def tool_results(self) -> list[ToolResult]:
        """Every tool result Claude Code sent to the model in this session, oldest first."""
        return self.last_request.all_tool_results() if self.turn_requests else []

    def tool_result_for(self, tool_use_id: str) -> ToolResult:
        """The tool result answering the call ``tool_use_id``."""
        for result in self.tool_results():
            if result.tool_use_id == tool_use_id:
                return result
        raise AssertionError(f"no tool_result for {tool_use_id}\n{self.describe()}")

    def assert_only_denial(self, call: ToolUse, reason: str) -> None:
        """Assert that a PreToolUse hook denied ``call`` with ``reason``, and that it is the session's
        only denial: the result lists it in ``permission_denials``, and the model got Claude Code's
        error result ``PreToolUse:<tool> hook error: <reason>`` for it."""
        denial = {"tool_name": call.name, "tool_use_id": call.id, "tool_input": dict(call.input)}
        assert self.permission_denials == [denial], self.describe()
        result = self.tool_result_for(call.id)
        expected = (True, f"PreToolUse:{call.name} hook error: {reason}")
        assert (result.is_error, result.text) == expected, self.describe()

    def assert_success(self) -> None:
        """Fail with :meth:`describe` unless the CLI exited 0 with a non-error ``success`` result."""
        if self.returncode != 0 or self.subtype != "success" or self.is_error or self.problems:
            raise AssertionError(f"claude session did not succeed cleanly\n{self.describe()}")

    def describe(self) -> str:
        """A readable account of the run for assertion messages."""
        lines = [
            f"command: {shlex.join(self.command)}",
            f"cwd: {self.project_dir}",
            f"exit code: {self.returncode}{' (killed on timeout)' if self.timed_out else ''}, "
            f"{self.duration_s:.2f}s",
        ]
        if self.result is not None:
            keys = ("subtype", "is_error", "result", "num_turns", "terminal_reason", "permission_denials")
            lines.append("result: " + json.dumps({k: self.result.get(k) for k in keys})[:2000])
        else:
            lines.append("stdout: " + (self.stdout[-2000:] or "(empty)"))
        if self.stderr.strip():
            lines.append("stderr: " + self.stderr[-2000:])
        for index, request in enumerate(self.turn_requests):
            answers = [(r.tool_use_id, r.is_error, r.text[:200]) for r in request.tool_results()]
            lines.append(f"turn request {index}: tool results {answers}")
        lines.extend(f"mock problem: {p}" for p in self.problems)
        return "\n".join(lines)


class ClaudeRunner:
    """Runs ``claude -p PROMPT --output-format json`` sessions against one :class:`MockAnthropic`.

    All runs share one temporary ``home``, as consecutive sessions of one user on one machine do.
    """

    def __init__(self, claude_bin: Path, mock: MockAnthropic, home: Path) -> None:
        self.claude_bin = claude_bin
        self.mock = mock
        self.home = home
        home.mkdir(parents=True, exist_ok=True)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment a ``claude`` process of this runner gets (see :func:`claude_env`)."""
        return claude_env(home=self.home, base_url=self.mock.base_url, extra=extra)

    def __call__(
        self,
        project_dir: Path | str,
        prompt: str,
        script: Script,
        *,
        allowed_tools: Sequence[str] = ("Bash",),
        extra_args: Sequence[str] = (),
        timeout: float = DEFAULT_TIMEOUT_S,
        env: Mapping[str, str] | None = None,
        strict: bool = True,
    ) -> ClaudeRun:
        """Run one session in ``project_dir`` with the mock playing ``script``.

        ``allowed_tools`` are pre-approved with ``--allowedTools`` (as root, ``bypassPermissions`` is
        refused); pass ``()`` to get Claude Code's default permission checks. ``extra_args`` go after the
        standard arguments (e.g. ``["--max-turns", "3"]``, ``["--resume", session_id]``). On ``timeout``
        the whole process group is killed and the run comes back with ``timed_out=True``. With
        ``strict`` (the default) a mock problem during the run (script exhausted, script callable
        raised, unknown endpoint) raises ``AssertionError``.
        """
        project = Path(project_dir)
        project.mkdir(parents=True, exist_ok=True)
        command = [str(self.claude_bin), "-p", prompt, "--output-format", "json"]
        if allowed_tools:
            command += ["--allowedTools", ",".join(allowed_tools)]
        command += list(extra_args)
        self.mock.set_script(script)
        mark = self.mock.mark()
        run_id = uuid.uuid4().hex
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=project,
            env={**self.env(env), RUN_ID_VAR: run_id},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        timed_out = False
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_run(process.pid, run_id)
            stdout, stderr = process.communicate()
        finally:
            # Stragglers (a hook or tool that outlived the CLI) must not keep writing into the next test.
            kill_run(process.pid, run_id)
        run = ClaudeRun(
            command=command,
            project_dir=project,
            home=self.home,
            returncode=process.returncode,
            timed_out=timed_out,
            stdout=stdout,
            stderr=stderr,
            result=parse_result(stdout),
            requests=self.mock.requests_since(mark),
            problems=self.mock.problems_since(mark),
            duration_s=time.monotonic() - started,
            prompt=prompt,
        )
        if strict and run.problems:
            raise AssertionError(f"the mock Messages API saw problems during the run\n{run.describe()}")
        return run


def kill_run(pid: int, run_id: str) -> None:
    """SIGKILL the process group ``pid`` and every process carrying ``E2E_CLAUDE_RUN_ID=run_id``.

    Claude Code starts Bash tool commands in their own process group, so killing its group alone
    leaves them running; they still inherit the environment, which is how they are found (Linux
    ``/proc``; elsewhere only the group is killed).
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    marker = f"{RUN_ID_VAR}={run_id}".encode()
    for _round in range(3):  # a dying shell may have forked once more while we looked
        found = [other for other in _pids_with_env(marker) if other != os.getpid()]
        if not found:
            return
        for other in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(other, signal.SIGKILL)


def _pids_with_env(marker: bytes) -> list[int]:
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    pids: list[int] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def add_command_hook(
    project_dir: Path | str,
    event: str,
    command: str,
    *,
    matcher: str | None = None,
    timeout: int | None = None,
    settings_file: str = "settings.json",
) -> Path:
    """Append a ``command`` hook for ``event`` to ``PROJECT/.claude/<settings_file>``, keeping what is there.

    Returns the settings path. ``command`` runs through ``sh -c`` in the project directory; it may use
    ``$CLAUDE_PROJECT_DIR``.
    """
    path = Path(project_dir) / ".claude" / settings_file
    path.parent.mkdir(parents=True, exist_ok=True)
    settings: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    handler: dict[str, Any] = {"type": "command", "command": command}
    if timeout is not None:
        handler["timeout"] = timeout
    group: dict[str, Any] = {"hooks": [handler]}
    if matcher is not None:
        group["matcher"] = matcher
    settings.setdefault("hooks", {}).setdefault(event, []).append(group)
    path.write_text(json.dumps(settings, indent=2) + "\n")
    return path


_CAPTURE_SCRIPT = """#!/bin/sh
# Written by tests/e2e/claude_session.py: append the hook's stdin payload and its environment as one
# JSON line ({"payload": ..., "env": {...}}) to the capture file given as $1.
payload=$(cat)
env_json=$(@PYTHON@ -I -S -c 'import json, os; print(json.dumps(dict(os.environ)))')
printf '{"payload": %s, "env": %s}\\n' "$payload" "$env_json" >> "$1"
"""


class HookCapture:
    """A shell-script hook that records every payload and environment it is given, for inspection.

    ``HookCapture.install(project, events=[...])`` writes ``.claude/e2e-capture.sh`` and registers it for
    each event (matcher ``*`` for tool events) in the project's settings; :meth:`records` reads back
    ``{"payload": {...}, "env": {...}}`` per invocation, in the order the hooks finished.
    """

    DEFAULT_EVENTS = (
        "SessionStart",
        "UserPromptSubmit",
        "PreToolUse",
        "PostToolUse",
        "PostToolUseFailure",
        "PostToolBatch",
        "Stop",
        "SessionEnd",
    )
    TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest"})

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def install(cls, project_dir: Path | str, events: Iterable[str] = DEFAULT_EVENTS) -> HookCapture:
        """Write the capture script into ``PROJECT/.claude/`` and register it for ``events``."""
        project = Path(project_dir)
        script = project / ".claude" / "e2e-capture.sh"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(_CAPTURE_SCRIPT.replace("@PYTHON@", shlex.quote(sys.executable)))
        script.chmod(0o755)
        output = project / ".claude" / "e2e-captured.jsonl"
        command = f'"$CLAUDE_PROJECT_DIR"/.claude/e2e-capture.sh {shlex.quote(str(output))}'
        for event in events:
            add_command_hook(project, event, command, matcher="*" if event in cls.TOOL_EVENTS else None)
        return cls(output)

    def records(self) -> list[dict[str, Any]]:
        """Every captured ``{"payload", "env"}`` record."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def payloads(self, event: str | None = None) -> list[dict[str, Any]]:
        """The captured payloads, optionally only those of ``event``."""
        return [
            r["payload"]
            for r in self.records()
            if event is None or r["payload"].get("hook_event_name") == event
        ]

    def events(self) -> list[str]:
        """The ``hook_event_name`` of every captured invocation, in order."""
        return [str(p.get("hook_event_name")) for p in self.payloads()]
