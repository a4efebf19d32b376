"""The built-in handlers, written with the same ``@hook`` API users use.

The runtime imports, per event, only the modules listed here (a hook process must stay lean), then
the user's own modules from ``runtime.handlers`` in ``.claude/hooks.toml``. A module name's last part
is what ``runtime.disabled_builtins`` switches off (e.g. ``"rate_limit"``). Order matters: guards
decide first, so the rate limiter and breaker can see an earlier deny (``event.denied``).
"""

BUILTIN: dict[str, tuple[str, ...]] = {
    "PreToolUse": ("hooks.bash_guard", "hooks.file_guard", "hooks.breaker", "hooks.rate_limit"),
    "PostToolUse": ("hooks.breaker", "hooks.tasks"),
    "PostToolUseFailure": ("hooks.breaker",),
    "PostToolBatch": ("hooks.breaker",),
    "PermissionDenied": ("hooks.breaker",),
    "Stop": ("hooks.session_summary",),
    "TaskCreated": ("hooks.tasks",),
    "TaskCompleted": ("hooks.tasks",),
}
