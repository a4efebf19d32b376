"""The ``[guards]`` section of ``.claude/hooks.toml`` as plain values, with defaults.

The config is validated by pydantic (:mod:`lib.config_models`) when the file changes; hooks read the
cached plain form. This module only picks the fields and fills in defaults, so a hook never imports
pydantic, and keys a config version does not know yet fall back to their defaults.
"""

from __future__ import annotations

from lib.plain_data import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import TypeGuard

    from lib.guards.bash_policy import BashPolicy
    from lib.guards.file_policy import FilePolicy

__all__ = ["DEFAULTS", "GuardSettings"]

#: Every ``[guards]`` key with its default.
DEFAULTS: dict[str, object] = {
    "level": "standard",
    "bash": True,
    "files": True,
    "allowlist": [],
    "protected_paths": [],
    "unprotected_paths": [],
    "protected_branches": ["main", "master"],
    "writable_dirs": [],
    "rules": {},
}


def _is_sequence(value: object) -> TypeGuard[list[object] | tuple[object, ...]]:
    return isinstance(value, (list, tuple))


def _strings(value: object, default: object) -> list[str]:
    items = value if _is_sequence(value) else default
    return [str(v) for v in items] if _is_sequence(items) else []


class GuardSettings:
    """The guard settings a hook needs."""

    __slots__ = (
        "allowlist",
        "bash",
        "files",
        "level",
        "protected_branches",
        "protected_paths",
        "rules",
        "unprotected_paths",
        "writable_dirs",
    )

    def __init__(self, section: Mapping[str, object] | None = None) -> None:
        s = section or {}
        level = s.get("level", DEFAULTS["level"])
        self.level = level if isinstance(level, str) else "standard"
        self.bash = s.get("bash", True) is not False
        self.files = s.get("files", True) is not False
        self.allowlist = _strings(s.get("allowlist"), [])
        self.protected_paths = _strings(s.get("protected_paths"), [])
        self.unprotected_paths = _strings(s.get("unprotected_paths"), [])
        self.protected_branches = _strings(s.get("protected_branches"), DEFAULTS["protected_branches"])
        self.writable_dirs = _strings(s.get("writable_dirs"), [])
        rules = json_object(s.get("rules"))
        self.rules = {str(k): str(v) for k, v in rules.items()} if rules is not None else {}

    def bash_policy(self) -> BashPolicy:
        """The Bash guard for these settings (raises ``ValueError`` naming a bad level or regex)."""
        from lib.guards.bash_policy import BashPolicy

        return BashPolicy(
            level=self.level,
            allowlist=self.allowlist,
            protected_branches=self.protected_branches,
            overrides=self.rules,
        )

    def file_policy(self) -> FilePolicy:
        """The file guard for these settings."""
        from lib.guards.file_policy import FilePolicy

        return FilePolicy(
            level=self.level,
            extra_protected=self.protected_paths,
            unprotected=self.unprotected_paths,
            writable_dirs=self.writable_dirs,
            overrides=self.rules,
        )
