"""claude-hooks runtime: write Claude Code hooks in Python.

from lib import hook, deny

@hook("PreToolUse", matcher="Bash")
def no_force_push(event):
    if "push --force" in event.tool_input.get("command", ""):
        return deny("Force-pushing is off in this repo; push a new branch instead.")
"""

from lib.protocol.output import Outcome, allow, ask, block, context, defer, deny, stop, system_message
from lib.registry import HookEvent, hook, registry

__all__ = [
    "HookEvent",
    "Outcome",
    "allow",
    "ask",
    "block",
    "context",
    "defer",
    "deny",
    "hook",
    "registry",
    "stop",
    "system_message",
]
__version__ = "0.2.0"
"""The one place the version lives (pyproject reads it; the plugin manifests must match it)."""
