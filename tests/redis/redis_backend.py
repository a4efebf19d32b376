"""A test project on one backend: its paths, validated config, state stores and bus."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lib.backends import open_bus, open_state
from lib.config import validate_config
from lib.paths import Paths

REPO = Path(__file__).resolve().parents[2]


class Backend:
    """A project on one backend: its paths, its validated config, and how to open state and the bus."""

    def __init__(self, kind: str, project: Path, url: str, **section: Any) -> None:
        self.kind = kind
        self.project = project
        self.url = url
        (project / ".claude").mkdir(parents=True, exist_ok=True)
        self.paths = Paths(str(project))
        self.section = {"url": url, **section}
        self.config = validate_config({"backend": self.section}, environ={})

    def with_options(self, **section: Any) -> Backend:
        """The same project with other ``[backend]`` options."""
        merged = {k: v for k, v in {**self.section, **section}.items() if k != "url"}
        return Backend(self.kind, self.project, self.url, **merged)

    def state(self, name: str, **kwargs: Any) -> Any:
        """The state store ``name`` as a hook would open it."""
        return open_state(self.paths, self.config, name, **kwargs)

    def bus(self, **options: Any) -> Any:
        """The event bus as a hook would open it."""
        return open_bus(self.paths.log_dir, self.config, project_dir=self.paths.project_dir, **options)

    def env(self) -> dict[str, str]:
        """The environment for a child process on this backend (the config file carries the URL)."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_HOOKS_", "CLAUDE_PROJECT_DIR"))
        }
        env["CLAUDE_PROJECT_DIR"] = str(self.project)
        env["PYTHONPATH"] = str(REPO)
        return env

    def write_config(self, extra: str = "") -> None:
        """Write ``.claude/hooks.toml`` selecting this backend (plus ``extra`` TOML)."""
        lines = ["[backend]"] + [f"{k} = {_toml(v)}" for k, v in self.section.items()]
        (self.project / ".claude" / "hooks.toml").write_text("\n".join(lines) + "\n" + extra)

    def __repr__(self) -> str:
        return f"Backend({self.kind})"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)
