"""Replay a recorded Claude Code session through a project's installed hooks, as Claude Code would.

``python -m lib.demo PROJECT RECORDING.jsonl`` reads the hook registrations from
``PROJECT/.claude/settings.json``, and for every payload runs each matching command through ``sh -c``
with ``CLAUDE_PROJECT_DIR`` set, the payload on stdin, then prints the decision Claude Code would
read from the exit code and stdout. After the recording it plays three short scenes built from the
recorded payload shapes: a destructive command, a read of ``.env``, and a tool that keeps failing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

from lib.matcher import compile_matcher
from lib.protocol.events import EVENTS

RECORDED_ROOT = "/home/user/project"


def _commands_for(settings: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    event = payload.get("hook_event_name", "")
    spec = EVENTS.get(event)
    value = payload.get(spec.matcher_field, "") if spec and spec.matcher_field else None
    commands = []
    for group in settings.get("hooks", {}).get(event, []):
        if value is not None and not compile_matcher(group.get("matcher"))(str(value)):
            continue
        commands.extend(h["command"] for h in group.get("hooks", []) if h.get("type") == "command")
    return commands


def _describe(payload: dict[str, Any], project: str) -> str:
    event = payload["hook_event_name"]
    tool_input = payload.get("tool_input") or {}
    detail = tool_input.get("command") or tool_input.get("file_path") or tool_input.get("pattern") or ""
    if isinstance(detail, str) and detail.startswith(project + os.sep):
        detail = os.path.relpath(detail, project)
    if payload.get("tool_name"):
        return f"{event:<19}{payload['tool_name']:<6} {str(detail)[:44]}"
    extra = payload.get("source") or payload.get("reason") or payload.get("prompt") or ""
    return f"{event:<19}{str(extra)[:51]}"


def _decision(code: int, stdout: str) -> str:
    if code == 2:
        return "BLOCK (exit 2)"
    if not stdout.strip():
        return "no objection" if code == 0 else f"hook error (exit {code})"
    try:
        out = json.loads(stdout)
    except ValueError:
        return f"plain text: {stdout.strip()[:60]}"
    specific = out.get("hookSpecificOutput", {})
    if "permissionDecision" in specific:
        reason = specific.get("permissionDecisionReason", "")
        return f"{specific['permissionDecision'].upper()}: {reason}"
    if out.get("decision") == "block":
        return f"BLOCK: {out.get('reason', '')}"
    if out.get("systemMessage"):
        return f"message: {out['systemMessage']}"
    if specific.get("additionalContext"):
        return f"context: {specific['additionalContext'][:80]}"
    return json.dumps(out)[:100]


def play(project: str, payloads: list[dict[str, Any]]) -> int:
    """Run every payload through the project's registered commands; returns the number of denials."""
    with open(os.path.join(project, ".claude", "settings.json"), encoding="utf-8") as f:
        settings = json.load(f)
    env = {**os.environ, "CLAUDE_PROJECT_DIR": project}
    denials = 0
    for payload in payloads:
        for command in _commands_for(settings, payload):
            proc = subprocess.run(
                ["sh", "-c", command],
                input=json.dumps(payload).encode(),
                capture_output=True,
                cwd=project,
                env=env,
                timeout=60,
            )
            decision = _decision(proc.returncode, proc.stdout.decode(errors="replace"))
            denials += decision.startswith(("DENY", "BLOCK"))
            print(f"  {_describe(payload, project)}  -> {decision}")
    return denials


def _relocate(value: Any, project: str, session_id: str) -> Any:
    if isinstance(value, str):
        return value.replace(RECORDED_ROOT, project)
    if isinstance(value, list):
        return [_relocate(v, project, session_id) for v in value]
    if isinstance(value, dict):
        out = {k: _relocate(v, project, session_id) for k, v in value.items()}
        if "session_id" in out:
            out["session_id"] = session_id
        return out
    return value


def scenes(recorded: list[dict[str, Any]], project: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """Short scenes built from the recorded payload shapes."""
    pre = next(p for p in recorded if p["hook_event_name"] == "PreToolUse" and p["tool_name"] == "Bash")
    fail = next(
        p for p in recorded if p["hook_event_name"] == "PostToolUseFailure" and p["tool_name"] == "Bash"
    )
    read = next(p for p in recorded if p["hook_event_name"] == "PreToolUse" and p["tool_name"] == "Read")

    def bash(command: str, n: int) -> dict[str, Any]:
        return {
            **pre,
            "tool_input": {"command": command, "description": "demo"},
            "tool_use_id": f"toolu_demo_{n}",
        }

    flaky: list[dict[str, Any]] = []
    for n in range(5):
        flaky.append(bash("pytest tests/test_api.py", 10 + n))
        flaky.append(
            {**fail, "tool_input": {"command": "pytest tests/test_api.py"}, "tool_use_id": f"toolu_demo_{10 + n}",
             "error": "Exit code 1\nE   ConnectionError: database is not running"}
        )  # fmt: skip
    flaky.append(bash("pytest tests/test_api.py", 99))
    return [
        ("a destructive command", [bash("rm -rf ~/ --no-preserve-root", 1)]),
        (
            "a read of the project's secrets",
            [{**read, "tool_input": {"file_path": os.path.join(project, ".env")}}],
        ),
        ("a tool that keeps failing (five failures, then a sixth try)", flaky),
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m lib.demo PROJECT RECORDING``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m lib.demo PROJECT RECORDING.jsonl\n")
        return 2
    project, recording = os.path.abspath(args[0]), args[1]
    session_id = str(uuid.uuid4())
    with open(recording, encoding="utf-8") as f:
        recorded = [_relocate(json.loads(line), project, session_id) for line in f if line.strip()]
    print(f"Replaying {len(recorded)} recorded hook events through {project}/.claude/settings.json")
    play(project, recorded)
    denials = 0
    for title, payloads in scenes(recorded, project):
        print(f"\nScene: {title}")
        denials += play(project, payloads)
    logs = os.path.join(project, ".claude", "logs")
    print(f"\n{denials} call(s) denied. Logs, traces and events: {logs}")
    print(f"Try: {sys.executable} -m lib --project {project} logs   (also: events, traces, metrics, status)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
