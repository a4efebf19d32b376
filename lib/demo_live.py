"""Part 2 of ``./install.sh --demo``: a real Claude Code session in the sample project, no account.

The Claude Code CLI is the version the end-to-end tests pin (``tests/e2e/package.json``), installed
by ``tests/e2e/install_cli.sh``. The "model" is the scripted local Messages API of the end-to-end
tests (``tests/e2e/mock_anthropic.py``), and the session runs exactly as the tests run it
(``tests/e2e/claude_session.py``): a temporary HOME, ``ANTHROPIC_BASE_URL`` pointing at the mock, a
dummy API key, telemetry, auto-updates and non-essential traffic off, Bash pre-approved with
``--allowedTools``, the process group killed on timeout. Both modules are loaded by path from the
clone ``install.sh`` runs from; nothing is copied. Claude Code itself runs the hooks ``install.sh``
registered in the project, as it would in the user's own project.

The script: a harmless command, the destructive command the replay saw denied (only if it was), a
deploy the sample project's own policy refuses, then a migration that keeps failing until the
circuit breaker refuses it, then a final answer. The transcript shows every call, our hooks'
decision, what Claude Code sent back to the model and the result's ``permission_denials``.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from lib.demo_text import DESTRUCTIVE_COMMAND, WIDTH, print_wrapped
from lib.plain_data import json_list, json_object

__all__ = ["SKIP_VAR", "LiveOutcome", "run_live"]

SKIP_VAR = "CLAUDE_HOOKS_DEMO_LIVE"
"""Set to ``0`` to skip the live session (it downloads Claude Code with npm the first time)."""

PROMPT = "Look around, clean out my home directory, deploy to production, then run the database migration."
HARMLESS = ("ls src scripts", "List the project's files")
DEPLOY = ("./deploy.sh production", "Deploy to production")
MIGRATE = ("sh scripts/migrate.sh", "Run the database migration")
MAX_MIGRATE_TRIES = 8
SESSION_TIMEOUT_S = 180.0
INSTALL_TIMEOUT_S = 900.0
DENIED_PREFIX = "PreToolUse:"
"""How Claude Code 2.1.328 starts the tool result of a call a PreToolUse hook denied."""
CONTEXT_MARK = "hook additional context: "
"""How Claude Code 2.1.328 hands a hook's ``additionalContext`` to the model (a system message)."""


SKIP_TEXT = "live Claude Code session skipped"


class LiveOutcome:
    """How the live session went: a phrase for the summary, and whether it failed."""

    def __init__(self, summary: str, *, failed: bool = False, session_id: str | None = None) -> None:
        self.summary = summary
        self.failed = failed
        self.session_id = session_id

    @classmethod
    def skipped(cls, reason: str, *, under_header: bool = False) -> LiveOutcome:
        """Print the one line saying the live session was skipped and why."""
        print(f"  {SKIP_TEXT}: {reason}." if under_header else f"Part 2: {SKIP_TEXT}: {reason}.")
        return cls("skipped")


def _missing_tools() -> list[str]:
    return [tool for tool in ("node", "npm") if shutil.which(tool) is None]


def _install_cli(e2e_dir: str) -> str | None:
    """Run ``install_cli.sh``, showing its last line (and its errors if it fails).

    Returns the problem as a phrase, or ``None`` when the pinned CLI is installed.
    """
    script = os.path.join(e2e_dir, "install_cli.sh")
    if not os.path.isfile(script):
        return f"{script} not found"
    print(f"  sh {script}   (installs the pinned CLI with npm the first time)")
    process = subprocess.Popen(
        ["sh", script],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    )
    try:
        output, _ = process.communicate(timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return f"installing Claude Code took over {INSTALL_TIMEOUT_S:.0f} s ({script} stopped)"
    except KeyboardInterrupt:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    lines = [line.rstrip() for line in output.splitlines() if line.strip()]
    if process.returncode != 0:
        errors = [line for line in lines if "error" in line.lower()]
        for line in [*errors[:4], *lines[-1:]] if errors else lines[-5:]:
            print(f"    {line}")
        return f"{os.path.basename(script)} failed (exit {process.returncode}); npm needs the npm registry the first time"
    if lines:
        print(f"    {lines[-1]}")
    return None


def _load(name: str, path: str) -> ModuleType:
    """Import the harness module at ``path`` under ``name`` (``claude_session`` imports ``mock_anthropic``)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def make_script(mock: ModuleType, steps: list[tuple[str, str]]) -> Callable[[Any], Any]:
    """The scripted model: ``steps`` in order, then the migration while it fails, then a final answer.

    Stateless, like ``mock_anthropic.retry_while_failing``: each turn is decided from the
    conversation the request carries.
    """

    def decide(request: Any) -> Any:
        made = len(request.tool_uses())
        if made < len(steps):
            return mock.bash(*steps[made])
        tries = made - len(steps)
        last = request.tool_results()
        if tries == 0:
            return mock.bash(*MIGRATE)
        if last and last[-1].is_error and last[-1].text.startswith(DENIED_PREFIX):
            return (
                "The migration failed every time: the database is not running, and the hooks now refuse "
                "further tries. Start the database, then run `sh scripts/migrate.sh` again. "
                + _refused(request)
            )
        if last and last[-1].is_error and tries < MAX_MIGRATE_TRIES:
            return mock.bash(*MIGRATE)
        return f"I stopped after {tries} tries of the migration. " + _refused(request)

    return decide


def _refused(request: Any) -> str:
    """A sentence naming the step commands the hooks refused, from the conversation."""
    denied = {r.tool_use_id for r in request.all_tool_results() if r.text.startswith(DENIED_PREFIX)}
    commands = [
        f"`{use.input.get('command')}`"
        for use in request.tool_uses()
        if use.id in denied and use.input.get("command") != MIGRATE[0]
    ]
    return f"The project's hooks refused {' and '.join(commands)}." if commands else ""


class _Call:
    """One tool call of the session, with what came back."""

    def __init__(self, tool_use_id: str, name: str, tool_input: dict[str, Any]) -> None:
        self.id = tool_use_id
        self.name = name
        self.input = tool_input
        self.result = "(no result)"
        self.is_error = False
        self.contexts: list[str] = []

    @property
    def what(self) -> str:
        detail = self.input.get("command") or self.input.get("file_path") or ""
        return f"{self.name}: {detail}"


def _calls(messages: list[dict[str, Any]]) -> list[_Call]:
    """The tool calls of the conversation, their results and the hook context that followed them."""
    calls: dict[str, _Call] = {}
    order: list[_Call] = []
    for message in messages:
        content = message.get("content")
        blocks = json_list(content)
        if blocks is None:
            blocks = [{"type": "text", "text": content or ""}]
        for item in blocks:
            block = json_object(item)
            if block is None:
                continue
            kind = block.get("type")
            if message.get("role") == "assistant" and kind == "tool_use":
                call = _Call(
                    str(block.get("id")), str(block.get("name")), dict(json_object(block.get("input")) or {})
                )
                calls[call.id] = call
                order.append(call)
            elif kind == "tool_result" and str(block.get("tool_use_id")) in calls:
                call = calls[str(block.get("tool_use_id"))]
                raw = block.get("content")
                parts = json_list(raw)
                if parts is not None:
                    raw = "\n".join(
                        str(part.get("text", "")) for c in parts if (part := json_object(c)) is not None
                    )
                call.result = "" if raw is None else str(raw)
                call.is_error = bool(block.get("is_error"))
            elif message.get("role") == "system" and kind == "text" and order:
                text = str(block.get("text", ""))
                head, mark, context = text.partition(CONTEXT_MARK)
                if mark and ":" in head and head.split(":", 1)[0].startswith("Post"):
                    order[-1].contexts.append(f"{head.split(':', 1)[0]} hook context: {context.strip()}")
    return order


_NUM_W, _CALL_W, _HOOKS_W = 6, 31, 11
_LEAD_W = 2 + _NUM_W + _CALL_W + _HOOKS_W


def _wrap(text: str, width: int, max_lines: int) -> list[str]:
    import textwrap

    flat = " / ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    lines = textwrap.wrap(flat, width) or [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: width - 4] + " ..."]
    return lines


def _groups(calls: list[_Call], denied_ids: set[str]) -> list[list[_Call]]:
    """Consecutive calls with the same input, decision and result, folded into one row."""
    groups: list[list[_Call]] = []
    for call in calls:
        if groups:
            first = groups[-1][0]
            if (first.what, first.result, first.id in denied_ids) == (
                call.what,
                call.result,
                call.id in denied_ids,
            ):
                groups[-1].append(call)
                continue
        groups.append([call])
    return groups


def print_transcript(calls: list[_Call], denied_ids: set[str]) -> None:
    """One row per tool call (identical consecutive calls folded), hook context below its call.

    A denied call's result (the deny reason as the model got it) is shown in full; tool output is
    shortened to three lines.
    """
    print(
        f"  {'#':<{_NUM_W}}{'tool call':<{_CALL_W}}{'our hooks':<{_HOOKS_W}}what Claude Code sent back to the model"
    )
    number = 1
    for group in _groups(calls, denied_ids):
        call = group[0]
        denied = call.id in denied_ids
        label = str(number) if len(group) == 1 else f"{number}-{number + len(group) - 1}"
        what = call.what if len(call.what) < _CALL_W else call.what[: _CALL_W - 4] + "..."
        lines = _wrap(call.result, WIDTH - _LEAD_W, 8 if denied else 3)
        print(f"  {label:<{_NUM_W}}{what:<{_CALL_W}}{'DENY' if denied else 'allow':<{_HOOKS_W}}{lines[0]}")
        for line in lines[1:]:
            print(" " * _LEAD_W + line)
        for offset, member in enumerate(group):
            for context in member.contexts:
                after = f" after call {number + offset}" if len(group) > 1 else ""
                print_wrapped(f"+ {context.replace(' hook context:', f' hook context{after}:', 1)}", _LEAD_W)
        number += len(group)


def run_live(project: str, e2e_dir: str, *, try_destructive: bool) -> LiveOutcome:
    """Run the live session in ``project`` with the harness in ``e2e_dir`` and print its transcript."""
    if os.environ.get(SKIP_VAR, "1") == "0":
        return LiveOutcome.skipped(f"{SKIP_VAR}=0")
    missing = _missing_tools()
    if missing:
        return LiveOutcome.skipped(
            f"it needs Node.js and npm to run Claude Code, and {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not on PATH (the replay above used the same hooks)"
        )
    if not os.path.isdir(e2e_dir):
        return LiveOutcome.skipped(f"{e2e_dir} (the end-to-end test harness) not found")
    print("Part 2: a live Claude Code session in the sample project")
    problem = _install_cli(e2e_dir)
    if problem:
        return LiveOutcome.skipped(problem, under_header=True)
    try:
        mock = _load("mock_anthropic", os.path.join(e2e_dir, "mock_anthropic.py"))
        session = _load("claude_session", os.path.join(e2e_dir, "claude_session.py"))
    except Exception as exc:
        print(f"  could not load the harness from {e2e_dir}: {type(exc).__name__}: {exc}")
        return LiveOutcome("harness not loadable", failed=True)
    try:
        claude_bin = session.find_claude_bin()
    except session.ClaudeNotInstalled as exc:
        return LiveOutcome.skipped(str(exc), under_header=True)

    steps: list[tuple[str, str]] = [HARMLESS]
    if try_destructive:
        steps.append((DESTRUCTIVE_COMMAND, "Clean out the home directory"))
    steps.append(DEPLOY)
    home = os.path.join(os.path.dirname(project), "claude-home")
    with mock.MockAnthropic() as api:
        print(f"  model: a script played by a local stand-in for the Messages API at {api.base_url};")
        print(f"  no account, nothing leaves this machine; HOME for this session: {home}")
        if not try_destructive:
            print(f"  (not trying `{DESTRUCTIVE_COMMAND}`: the replay showed no built-in guard denying it)")
        print(f'  prompt: "{PROMPT}"\n')
        runner = session.ClaudeRunner(claude_bin, api, Path(home))
        run = runner(project, PROMPT, make_script(mock, steps), timeout=SESSION_TIMEOUT_S, strict=False)
    return _report(run, home)


def _report(run: Any, home: str) -> LiveOutcome:
    if run.timed_out:
        print(f"  Claude Code did not finish within {SESSION_TIMEOUT_S:.0f} s; its process group was killed.")
        return LiveOutcome("timed out", failed=True)
    if run.result is None or not run.turn_requests:
        print(f"  Claude Code exited {run.returncode} without a result:")
        print_wrapped((run.stderr or run.stdout or "(no output)")[-600:], indent=4)
        return LiveOutcome(f"Claude Code failed (exit {run.returncode})", failed=True)
    denials = list(run.permission_denials)
    denied_ids = {str(d.get("tool_use_id")) for d in denials}
    calls = _calls(run.last_request.messages)
    print_transcript(calls, denied_ids)
    print()
    print_wrapped(f'Claude\'s final answer: "{run.result.get("result", "")}"', indent=2)
    print(
        f"  result: {run.subtype}, exit {run.returncode}, {run.result.get('num_turns')} turns, "
        f"{len(denials)} permission_denials:"
    )
    for denial in denials:
        command = (json_object(denial.get("tool_input")) or {}).get("command", "")
        print(f"    {denial.get('tool_use_id')}  {denial.get('tool_name')}: {command}")
    for problem in run.problems:
        print_wrapped(f"mock API problem: {problem}", indent=2)
    transcripts = glob.glob(os.path.join(home, ".claude", "projects", "*", f"{run.session_id}.jsonl"))
    if transcripts:
        print(f"  Claude Code's own transcript: {transcripts[0]}")
    summary = f"{len(denials)} of {len(calls)} tool calls denied (session {run.session_id})"
    if run.returncode != 0 or run.is_error:
        return LiveOutcome(f"{summary}, but the session ended with an error", failed=True)
    if not denials:
        print("  No call was denied: the hooks did not act (see .claude/logs/hooks.jsonl and stderr above).")
        return LiveOutcome(summary, failed=True, session_id=run.session_id)
    return LiveOutcome(summary, session_id=run.session_id)
