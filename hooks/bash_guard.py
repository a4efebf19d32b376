"""Built-in Bash command guard (PreToolUse and PreSkillShellCommand, matcher ``Bash``).

PreSkillShellCommand (Claude Code 2.1.332) is an inline ``!`cmd` `` of a slash command or skill about
to run: the same command, judged the same way as a Bash tool call.

Destructive or risky commands are denied or asked, per rule and per ``guards.level`` (strict,
standard, permissive); the deny reason names the rule and what to do instead. Rules and parsing:
:mod:`lib.guards.bash_policy`. Settings: ``[guards]`` in ``.claude/hooks.toml`` (``level``,
``allowlist``, ``protected_branches``, ``rules``, ``bash = false`` to switch this guard off).
Every decision is logged and published as ``guard.decision``. The user (never Claude) can switch the
guards off for a session: ``CLAUDE_HOOKS_GUARDS=off`` or ``python -m lib guards off --session ID``.
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


@hook("PreToolUse", matcher="Bash", name="guards.bash")
@hook("PreSkillShellCommand", matcher="Bash", name="guards.bash")
def check_bash(event: HookEvent) -> Outcome | None:
    """Judge the Bash command about to run."""
    settings = GuardSettings(event.section("guards"))
    if not settings.bash:
        return None
    command = event.tool_input.get("command")
    if not isinstance(command, str) or not command.strip():
        return None
    cwd = judged_cwd(event, "bash")
    if cwd is None:
        return None
    branch = None
    if "push" in command:
        from lib.guards.git_head import current_branch

        branch = current_branch(cwd)
    verdict = settings.bash_policy().evaluate(
        command,
        cwd=cwd,
        project_dir=event.paths.project_dir,
        home=os.environ.get("HOME"),
        tmpdir=os.environ.get("TMPDIR"),
        git_branch=branch,
    )
    return answer(event, verdict, subject=command, level=settings.level)
