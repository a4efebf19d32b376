"""``./install.sh --demo``: the hooks at work in a throwaway sample project, without any account.

``python -m lib.demo PROJECT RECORDING.jsonl [--e2e-dir DIR]`` (``install.sh`` runs it in the
sample project's environment):

1. **Replay.** Reads the hook registrations from ``PROJECT/.claude/settings.json`` and, for every
   payload of a session recorded from Claude Code, runs each matching command through ``sh -c`` with
   ``CLAUDE_PROJECT_DIR`` set and the payload on stdin, then prints the decision Claude Code would
   read from the exit code and stdout. Three short scenes built from the recorded payload shapes
   follow: a destructive command, a read of ``.env``, a tool that keeps failing. The replay keeps its
   breaker and rate-limit state apart (``.claude/state/replay/``) so the live session starts fresh.
2. **Live session** (:mod:`lib.demo_live`, with ``--e2e-dir``): when Node.js and npm are available,
   a real Claude Code session in the same project against the scripted local Messages API of the
   end-to-end tests in ``DIR``, with a transcript of every tool call and what our hooks decided.
3. **Summary**: denials, where the logs are and the commands that read them.

Exit code 0, or 1 when the live session ran but did not show the hooks working.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from typing import Any

from lib.demo_text import DESTRUCTIVE_COMMAND, print_wrapped
from lib.matcher import compile_matcher
from lib.plain_data import json_list, json_object
from lib.protocol.events import EVENTS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.demo_live import LiveOutcome

RECORDED_ROOT = "/home/user/project"
REPLAY_STATE = os.path.join(".claude", "state", "replay")
_EVENT_W, _TOOL_W, _DETAIL_W = 19, 6, 38


def _commands_for(settings: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    event = payload.get("hook_event_name", "")
    spec = EVENTS.get(event)
    value = payload.get(spec.matcher_field, "") if spec and spec.matcher_field else None
    commands: list[str] = []
    for group in settings.get("hooks", {}).get(event, []):
        if value is not None and not compile_matcher(group.get("matcher"))(str(value)):
            continue
        commands.extend(h["command"] for h in group.get("hooks", []) if h.get("type") == "command")
    return commands


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _describe(payload: dict[str, Any], project: str) -> str:
    """One fixed-width column: event, tool and what the call is about."""
    event = payload["hook_event_name"]
    tool_input: dict[str, Any] = payload.get("tool_input") or {}
    detail = tool_input.get("command") or tool_input.get("file_path") or tool_input.get("pattern") or ""
    if isinstance(detail, str) and detail.startswith(project + os.sep):
        detail = os.path.relpath(detail, project)
    if payload.get("tool_name"):
        tool = _clip(str(payload["tool_name"]), _TOOL_W - 1)
        return f"{event:<{_EVENT_W}}{tool:<{_TOOL_W}}{_clip(str(detail), _DETAIL_W):<{_DETAIL_W}}"
    extra = payload.get("source") or payload.get("reason") or payload.get("prompt") or ""
    return f"{event:<{_EVENT_W}}{_clip(str(extra), _TOOL_W + _DETAIL_W):<{_TOOL_W + _DETAIL_W}}"


def decision_of(code: int, stdout: str) -> tuple[str, list[str]]:
    """What Claude Code reads from a hook's exit code and stdout: a short label and detail lines."""
    if code == 2:
        return "BLOCK (exit 2)", []
    if not stdout.strip():
        return ("no objection", []) if code == 0 else (f"hook error (exit {code})", [])
    try:
        out = json_object(json.loads(stdout))
    except ValueError:
        return "plain text", [stdout.strip()]
    if out is None:
        return "unexpected output", [stdout.strip()]
    specific = json_object(out.get("hookSpecificOutput")) or {}
    details: list[str] = []
    label = ""
    if "permissionDecision" in specific:
        label = str(specific["permissionDecision"]).upper()
        if specific.get("permissionDecisionReason"):
            details.append(f"reason: {specific['permissionDecisionReason']}")
    elif out.get("decision") == "block":
        label = "BLOCK"
        details.append(f"reason: {out.get('reason', '')}")
    if specific.get("additionalContext"):
        label = label or "context"
        details.append(f"context for Claude: {specific['additionalContext']}")
    if out.get("systemMessage"):
        label = label or "message"
        details.append(f"message for the user: {out['systemMessage']}")
    return label or "answered", details or ([] if label else [json.dumps(out)])


def play(project: str, payloads: list[dict[str, Any]], env: dict[str, str]) -> list[str]:
    """Run every payload through the project's registered commands, printing each decision.

    Returns the decision labels, one per command run.
    """
    with open(os.path.join(project, ".claude", "settings.json"), encoding="utf-8") as f:
        settings = json.load(f)
    labels: list[str] = []
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
            label, details = decision_of(proc.returncode, proc.stdout.decode(errors="replace"))
            labels.append(label)
            print(f"  {_describe(payload, project)} -> {label}")
            for detail in details:
                print_wrapped(detail, indent=6)
    return labels


def _relocate(value: Any, project: str, session_id: str) -> Any:
    if isinstance(value, str):
        return value.replace(RECORDED_ROOT, project)
    items = json_list(value)
    if items is not None:
        return [_relocate(v, project, session_id) for v in items]
    obj = json_object(value)
    if obj is not None:
        out = {k: _relocate(v, project, session_id) for k, v in obj.items()}
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
        ("a destructive command", [bash(DESTRUCTIVE_COMMAND, 1)]),
        (
            "a read of the project's secrets",
            [{**read, "tool_input": {"file_path": os.path.join(project, ".env")}}],
        ),
        ("a tool that keeps failing (five failures, then a sixth try)", flaky),
    ]


def replay(project: str, recording: str) -> tuple[int, bool]:
    """Part 1: the recorded session and the scenes. Returns (denials, whether the destructive command was denied)."""
    session_id = str(uuid.uuid4())
    with open(recording, encoding="utf-8") as f:
        recorded = [_relocate(json.loads(line), project, session_id) for line in f if line.strip()]
    env = {**os.environ, "CLAUDE_PROJECT_DIR": project}
    env["CLAUDE_HOOKS_STATE_DIR"] = os.path.join(project, REPLAY_STATE)
    print(f"Part 1: replay {len(recorded)} hook events recorded from a Claude Code session")
    print(f"  through the commands in {project}/.claude/settings.json, as Claude Code runs them")
    print(f"  (breaker and rate-limit state of the replay: {REPLAY_STATE}/)\n")
    labels = play(project, recorded, env)
    destructive_denied = False
    for title, payloads in scenes(recorded, project):
        print(f"\nScene: {title}")
        scene_labels = play(project, payloads, env)
        labels += scene_labels
        if payloads[0].get("tool_input", {}).get("command") == DESTRUCTIVE_COMMAND:
            destructive_denied = "DENY" in scene_labels
    denials = sum(label.startswith(("DENY", "BLOCK")) for label in labels)
    print(f"\nReplay: {denials} call(s) denied.")
    return denials, destructive_denied


def _log_summary(log_dir: str) -> str:
    counts: list[str] = []
    for name in ("hooks.jsonl", "traces.jsonl", "events.jsonl"):
        try:
            with open(os.path.join(log_dir, name), "rb") as f:
                counts.append(f"{name} {sum(1 for line in f if line.strip())} records")
        except OSError:
            continue
    return ", ".join(counts) if counts else "no records written yet"


def summary(project: str, replay_denials: int, live: LiveOutcome) -> None:
    """Part 3: what happened, where the logs are and the commands that read them."""
    log_dir = os.path.join(project, ".claude", "logs")
    runtime_python = os.path.join(".claude", "hooks-runtime", "bin", "python")
    print(f"\nSummary: replay {replay_denials} call(s) denied; live session: {live.summary}.")
    print(f"Logs, traces and events: {log_dir} ({_log_summary(log_dir)})")
    sid = (live.session_id or "")[:8]
    print("Look at the live session's records:" if sid else "Look at them:")
    print(f"  cd {project}")
    for command, what in (
        (f"logs --session {sid}" if sid else "logs", "one structured record per hook run"),
        (f"traces show {sid}" if sid else "traces", f"{'the' if sid else 'each'} session as a tree of spans"),
        (f"events --session {sid}" if sid else "events", "the event bus: tool.denied, breaker.opened, ..."),
    ):
        print(f"  {runtime_python} -m lib {command:<{25 if sid else 7}} # {what}")


def main(argv: list[str] | None = None) -> int:
    """``python -m lib.demo PROJECT RECORDING [--e2e-dir DIR]``."""
    parser = argparse.ArgumentParser(
        prog="python -m lib.demo",
        description="Replay a recorded Claude Code session through a project's hooks, then run a live one.",
    )
    parser.add_argument("project", help="a project where install.sh installed the hooks")
    parser.add_argument("recording", help="JSONL file of recorded hook payloads")
    parser.add_argument(
        "--e2e-dir",
        metavar="DIR",
        help="tests/e2e of a claude-hooks clone: run a live Claude Code session with its harness",
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    project = os.path.abspath(args.project)
    if not os.path.isfile(os.path.join(project, ".claude", "settings.json")):
        sys.stderr.write(f"lib.demo: {project}/.claude/settings.json not found; run ./install.sh {project}\n")
        return 2
    if not os.path.isfile(args.recording):
        sys.stderr.write(
            f"lib.demo: recording {args.recording} not found (examples/recorded-session.jsonl)\n"
        )
        return 2

    replay_denials, destructive_denied = replay(project, args.recording)

    from lib.demo_live import LiveOutcome, run_live

    print()
    if args.e2e_dir:
        try:
            outcome = run_live(project, os.path.abspath(args.e2e_dir), try_destructive=destructive_denied)
        except Exception as exc:  # one readable line, not a traceback, for a demo that went wrong
            print(f"  the live session failed: {type(exc).__name__}: {exc}")
            outcome = LiveOutcome("failed", failed=True)
    else:
        outcome = LiveOutcome.skipped("no --e2e-dir given (install.sh passes the clone's tests/e2e)")
    summary(project, replay_denials, outcome)
    return 1 if outcome.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
