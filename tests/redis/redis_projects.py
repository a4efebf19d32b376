"""Projects whose hooks run as Claude Code runs them, with state on a chosen backend.

The registrations are the installer's (``lib.installer``), and ``.claude/hooks-runtime`` points at
this test session's virtual environment, which has the ``redis`` extra (``tests/run.sh`` installs
``.[test,redis]``), so a hook is the real ``claude-hooks`` command reading the real config.
"""

from __future__ import annotations

import sys
from pathlib import Path

from hookkit import RUNTIME_REL, HookProject

from lib.installer import update_settings_file


def hook_project(path: Path, config: str) -> HookProject:
    """A project at ``path`` with our hooks registered and ``config`` as ``.claude/hooks.toml``."""
    (path / ".claude").mkdir(parents=True, exist_ok=True)
    runtime = path / RUNTIME_REL
    if not runtime.exists():
        runtime.symlink_to(Path(sys.prefix))
    update_settings_file(str(path))
    (path / ".claude" / "hooks.toml").write_text(config)
    return HookProject(path)


#: The built-in breaker and rate limiter, named explicitly so these tests do not depend on which
#: built-ins ``hooks/__init__.py`` enables by default (a module named twice is imported once).
HANDLERS = 'handlers = ["hooks.breaker", "hooks.rate_limit"]\n'


def backend_config(url: str, *, runtime: str = "", **options: object) -> str:
    """``[runtime]`` with the breaker and rate-limit handlers (plus ``runtime`` lines), and a
    ``[backend]`` section for ``url`` plus ``options``."""
    lines = ["[runtime]", HANDLERS + runtime, "[backend]", f'url = "{url}"']
    for key, value in options.items():
        text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
        if isinstance(value, str):
            text = f'"{value}"'
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"
