"""Built-in file guard (PreToolUse for Read, Write, Edit, MultiEdit, NotebookEdit, Glob, Grep, LS and
the file accesses of Bash commands; PreSkillShellCommand for the inline ``!`cmd` `` of slash commands
and skills).

Secrets (``.env`` files but not ``.env.example``, private keys, credential files, ``~/.ssh``,
``~/.aws``), ``.git`` internals and Claude Code/hook settings are protected; writes outside the
project are asked. Symlinks are resolved before deciding. Rules: :mod:`lib.guards.file_policy`.
Settings: ``[guards]`` in ``.claude/hooks.toml`` (``level``, ``protected_paths``,
``unprotected_paths``, ``writable_dirs``, ``rules``, ``files = false`` to switch this guard off).
Every decision is logged and published as ``guard.decision``.
"""

from __future__ import annotations

import os

from lib.guards.report import answer, judged_cwd
from lib.guards.settings import GuardSettings
from lib.registry import hook

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.protocol.output import Outcome
    from lib.registry import HookEvent

#: The tools whose inputs name files (Bash: the files its command reads and writes).
MATCHER = "Read|Write|Edit|MultiEdit|NotebookEdit|NotebookRead|Glob|Grep|LS|Bash"


@hook("PreToolUse", matcher=MATCHER, name="guards.files")
@hook("PreSkillShellCommand", matcher=MATCHER, name="guards.files")
def check_files(event: HookEvent) -> Outcome | None:
    """Judge the files this tool call reads or writes."""
    settings = GuardSettings(event.section("guards"))
    if not settings.files:
        return None
    tool_input = event.tool_input
    if not tool_input:
        return None
    cwd = judged_cwd(event, "file")
    if cwd is None:
        return None
    verdict = settings.file_policy().evaluate_tool(
        event.tool_name,
        tool_input,
        cwd=cwd,
        project_dir=event.paths.project_dir,
        home=os.environ.get("HOME"),
        tmpdir=os.environ.get("TMPDIR"),
    )
    subject = tool_input.get("command") if event.tool_name == "Bash" else None
    if not isinstance(subject, str):
        subject = " ".join(
            str(tool_input[k])
            for k in ("file_path", "notebook_path", "path", "pattern", "glob")
            if k in tool_input
        )
    return answer(event, verdict, subject=subject, level=settings.level)
