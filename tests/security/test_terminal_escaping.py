"""Whatever a payload carries (a prompt, a command, an error, a tool name, a task subject), no
``python -m lib`` command echoes a control character raw: ESC, CR, BEL, C1 controls and bidi overrides
are shown as visible escapes, and an embedded newline cannot forge a line of our output."""

from __future__ import annotations

import pytest
from hookkit import HookProject
from seckit import SESSION, Cli, Fire, todo_write

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rdone\n2026-01-01 00:00:00.000  FORGED LINE\u202eevil\x9b31m\x7f"
MCP_TOOL = "mcp__evil__x\x1b[8mhidden"

COMMANDS = [
    ("logs",),
    ("logs", "--json"),
    ("events",),
    ("events", "--json"),
    ("traces",),
    ("traces", "show", SESSION[:8]),
    ("traces", "show", SESSION[:8], "--json"),
    ("metrics",),
    ("metrics", "--json"),
    ("status",),
    ("status", "--json"),
    ("breakers",),
    ("breakers", "--json"),
    ("ratelimits",),
    ("ratelimits", "--json"),
    ("tasks",),
    ("tasks", "--json"),
]


def _unsafe(text: str) -> list[str]:
    bad = []
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and ch != "\n") or 0x7F <= code < 0xA0 or code in (0x2028, 0x2029, 0x202E):
            bad.append(repr(ch))
    return bad


@pytest.fixture
def hostile_project(project: HookProject, fire: Fire) -> HookProject:
    fire("SessionStart")
    fire("UserPromptSubmit", prompt=HOSTILE)
    fire("PreToolUse", "Bash", tool_input={"command": f"echo '{HOSTILE}'"}, description=HOSTILE)
    fire("PostToolUseFailure", "Bash", tool_input={"command": "make"}, error=f"Exit code 2\n{HOSTILE}")
    fire("PreToolUse", "Bash", tool_name=MCP_TOOL, tool_input={"q": HOSTILE})
    fire("PostToolUseFailure", "Bash", tool_name=MCP_TOOL, tool_input={"q": "x"}, error=HOSTILE)
    todos = [{"content": HOSTILE, "status": "pending", "activeForm": HOSTILE}]
    todo_write(fire, todos)
    fire("Stop")
    return project


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_no_command_echoes_a_control_character(
    hostile_project: HookProject, cli: Cli, args: tuple[str, ...]
) -> None:
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), f"{args}: printed nothing"
    assert _unsafe(proc.stdout) == [], f"{' '.join(args)} printed raw control characters"
    assert _unsafe(proc.stderr) == []
    forged = [line for line in proc.stdout.splitlines() if line.startswith("2026-01-01 00:00:00.000  FORGED")]
    assert forged == []


def test_the_events_view_shows_the_prompt_escaped(hostile_project: HookProject, cli: Cli) -> None:
    shown = cli("events", "--topic", "prompt.submit").stdout
    assert "\\x1b]0;pwned\\x07" in shown and "\\n2026-01-01" in shown and "\\u202e" in shown
