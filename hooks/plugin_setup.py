"""The plugin route's first start: tell the user the plugin set up its own Python environment.

``hooks/plugin-hook.sh`` sets ``CLAUDE_HOOKS_PLUGIN_SETUP`` (the seconds the set-up took) on the one
SessionStart that made the environment; every other hook process never imports this module's logic.
"""

from __future__ import annotations

import os

from lib import hook, system_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib import HookEvent, Outcome


@hook("SessionStart")
def announce_setup(event: HookEvent) -> Outcome | None:
    """Say once that the plugin made its environment, where, and that the hooks are active."""
    seconds = os.environ.get("CLAUDE_HOOKS_PLUGIN_SETUP")
    if seconds is None:
        return None
    where = os.environ.get("CLAUDE_PLUGIN_DATA", "the plugin's data directory")
    return system_message(
        f"hooks-runtime: set up its Python environment in {where}/runtime ({seconds} s, once); "
        "guards, circuit breaker, logs and traces are active (logs: .claude/logs/)."
    )
