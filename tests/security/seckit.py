"""Names shared by the security suite's fixtures (tests/security/conftest.py) and its tests."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from hookkit import HookResult

SESSION = "0d8c7a4e-1b2f-4c3d-9e8f-7a6b5c4d3e2f"

#: ``fire(event, tool=None, *, env=None, **fields)``: one hook invocation through the installed command
Fire = Callable[..., HookResult]
#: ``cli(*args, env=None)``: ``python -m lib --project <project> *args``
Cli = Callable[..., "subprocess.CompletedProcess[str]"]


def todo_write(fire: Fire, todos: list[dict[str, str]]) -> None:
    """A successful TodoWrite call, as PostToolUse reports it."""
    fire(
        "PostToolUse",
        "Bash",
        tool_name="TodoWrite",
        tool_input={"todos": todos},
        tool_response={"oldTodos": [], "newTodos": todos},
    )
