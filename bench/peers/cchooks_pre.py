"""A minimal cchooks PreToolUse hook (cchooks' own quick-start, shortened): allow unless ``rm -rf /``.

Runs in ``bench/.venv-peers`` (made by ``bench/hook_latency.py``, which installs cchooks there).
"""

from cchooks import PreToolUseContext, create_context

c = create_context()
assert isinstance(c, PreToolUseContext)
if c.tool_name == "Bash" and "rm -rf /" in c.tool_input.get("command", ""):
    c.output.exit_deny("Dangerous command")
else:
    c.output.exit_success()
