"""The built-in handlers, written with the same ``@hook`` API users use.

The runtime imports, per event, only the modules listed here (a hook process must stay lean), then
the user's own modules from ``runtime.handlers`` in ``.claude/hooks.toml``. A module name's last part
is what ``runtime.disabled_builtins`` switches off (e.g. ``"rate_limit"``). Order matters: guards
decide first, so the rate limiter and breaker can see an earlier deny (``event.denied``).
"""

BUILTIN: dict[str, tuple[str, ...]] = {
    "PreToolUse": ("hooks.bash_guard", "hooks.file_guard", "hooks.breaker", "hooks.rate_limit"),
    "PreSkillShellCommand": ("hooks.bash_guard", "hooks.file_guard"),
    "PostToolUse": ("hooks.breaker", "hooks.tasks"),
    "PostToolUseFailure": ("hooks.breaker",),
    "PostToolBatch": ("hooks.breaker",),
    "PermissionDenied": ("hooks.breaker",),
    "SessionStart": ("hooks.plugin_setup",),
    "Stop": ("hooks.session_summary", "hooks.usage_marks"),
    "SubagentStop": ("hooks.usage_marks",),
    "SessionEnd": ("hooks.usage_marks",),
    "TaskCreated": ("hooks.tasks",),
    "TaskCompleted": ("hooks.tasks",),
}

#: The tools a built-in module handles, in Claude Code's matcher syntax, when that is not every
#: tool. On an event with a matcher field (the tool events) the runtime does not import a module
#: whose matcher does not fit, so a Read call never loads the Bash guard's parser. Each value is
#: the matcher of the module's own ``@hook`` registrations (tests/unit/test_builtin_manifest.py).
MATCHERS: dict[str, str] = {
    "hooks.bash_guard": "Bash",
    "hooks.file_guard": "Read|Write|Edit|MultiEdit|NotebookEdit|NotebookRead|Glob|Grep|LS|Bash",
    "hooks.tasks": "TodoWrite|TaskCreate|TaskUpdate|TaskList|TaskGet",
}
