"""The built-in manifest (hooks/__init__.py): which modules the runtime imports for an event.

A module's entry in ``MATCHERS`` lets the runtime skip importing it for tools it does not handle, so
the entry must say exactly what the module's own ``@hook`` registrations say; otherwise a handler
would silently stop running (or a module be loaded for nothing).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hooks import BUILTIN, MATCHERS
from lib.protocol.events import EVENTS
from lib.runtime import _handler_modules

_REGISTRATIONS = """
import importlib, json, sys
from lib.registry import registry
out = []
for module in sys.argv[1:]:
    importlib.import_module(module)
for h in registry.all():
    out.append([h.func.__module__, h.event, h.matcher])
print(json.dumps(out))
"""


def registrations() -> list[tuple[str, str, str | None]]:
    """(module, event, matcher) of every built-in handler, from a fresh interpreter."""
    modules = sorted({m for ms in BUILTIN.values() for m in ms})
    proc = subprocess.run(
        [sys.executable, "-c", _REGISTRATIONS, *modules], capture_output=True, text=True, check=True
    )
    return [tuple(r) for r in json.loads(proc.stdout)]


def test_matchers_are_the_modules_own_matchers() -> None:
    seen: dict[str, set[str | None]] = {}
    for module, event, matcher in registrations():
        if EVENTS[event].matcher_field is not None and event in BUILTIN and module in BUILTIN[event]:
            seen.setdefault(module, set()).add(matcher)
    for module, matchers in seen.items():
        if matchers - {None, "", "*"}:  # the module handles only some tools: it must be listed
            assert matchers == {MATCHERS.get(module)}, module
        else:
            assert module not in MATCHERS, module
    assert set(MATCHERS) <= set(seen)


def modules_for(event: str, value: str | None, config: dict[str, object] | None = None) -> list[str]:
    return [m for m, _ in _handler_modules(event, value, config or {})]


@pytest.mark.parametrize(
    ("event", "value", "expected"),
    [
        ("PreToolUse", "Bash", ["hooks.bash_guard", "hooks.file_guard", "hooks.breaker", "hooks.rate_limit"]),
        ("PreToolUse", "Read", ["hooks.file_guard", "hooks.breaker", "hooks.rate_limit"]),
        ("PreToolUse", "mcp__github__create_issue", ["hooks.breaker", "hooks.rate_limit"]),
        ("PreToolUse", "", ["hooks.breaker", "hooks.rate_limit"]),
        ("PostToolUse", "Bash", ["hooks.breaker"]),
        ("PostToolUse", "TodoWrite", ["hooks.breaker", "hooks.tasks"]),
        ("PostToolUse", "TaskUpdate", ["hooks.breaker", "hooks.tasks"]),
        ("TaskCreated", None, ["hooks.tasks"]),  # no matcher field: matchers do not apply
        ("Stop", None, ["hooks.session_summary", "hooks.usage_marks"]),
        ("SessionEnd", "other", ["hooks.usage_marks"]),
    ],
)
def test_only_modules_whose_matcher_fits_are_imported(
    event: str, value: str | None, expected: list[str]
) -> None:
    assert modules_for(event, value) == expected


def test_disabled_builtins_and_user_handlers_are_unchanged() -> None:
    config: dict[str, object] = {"runtime": {"disabled_builtins": ["file_guard"], "handlers": ["mine.py"]}}
    assert modules_for("PreToolUse", "Read", config) == ["hooks.breaker", "hooks.rate_limit", "mine.py"]
    assert _handler_modules("PostToolUse", "Bash", config)[-1] == ("mine.py", True)
