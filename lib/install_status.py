"""``install.sh --status``: what the install put in a project, where, which version, which events.

Reads only (the project's ``.claude/settings.json``, the install record, the runtime's folder); works
with any Python >= 3.11 from a clone, before or without the runtime's own environment.
"""

from __future__ import annotations

import glob
import json
import os
from typing import Any

from lib.installer import (
    BACKUP_SUFFIX,
    EVENTS,
    RUNTIME_DIR,
    _load,  # pyright: ignore[reportPrivateUsage]
    read_record,
    registered_events,
    settings_path,
)

__all__ = ["format_status", "install_status", "main"]


def _registered_events(settings: dict[str, Any]) -> list[str]:
    found = registered_events(settings)
    return sorted(found, key=lambda e: EVENTS.index(e) if e in EVENTS else len(EVENTS))


def _runtime_version(runtime: str) -> str | None:
    """The version pip installed into the runtime (from its dist-info folder's name)."""
    pattern = os.path.join(runtime, "lib", "python*", "site-packages", "claude_hooks_runtime-*.dist-info")
    for path in sorted(glob.glob(pattern)):
        return os.path.basename(path)[len("claude_hooks_runtime-") : -len(".dist-info")]
    return None


def _python_version(runtime: str) -> str | None:
    try:
        with open(os.path.join(runtime, "pyvenv.cfg"), encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition("=")
                if key.strip() in ("version", "version_info"):
                    return value.strip()
    except OSError:
        pass
    return None


def install_status(project: str) -> dict[str, Any]:
    """Everything ``--status`` shows, as plain data (``installed`` says whether hooks are live)."""
    project = os.path.abspath(project)
    runtime = os.path.join(project, RUNTIME_DIR)
    command = os.path.join(runtime, "bin", "claude-hooks")
    settings_file = settings_path(project)
    error = None
    try:
        events = _registered_events(_load(settings_file))
    except ValueError as exc:
        events, error = [], str(exc)
    record = read_record(project) or {}
    backup = settings_file + BACKUP_SUFFIX
    return {
        "project": project,
        "installed": bool(events) and os.access(command, os.X_OK),
        "runtime": runtime if os.path.isdir(runtime) else None,
        "command": command if os.access(command, os.X_OK) else None,
        "version": _runtime_version(runtime) or record.get("version"),
        "python": _python_version(runtime),
        "settings": settings_file,
        "settings_error": error,
        "events": events,
        "missing_events": [e for e in EVENTS if e not in events] if events else [],
        "backup": backup if os.path.exists(backup) else None,
        "installed_at": record.get("installed_at"),
    }


def format_status(status: dict[str, Any]) -> str:
    """The human-readable report."""
    project = status["project"]
    lines = [f"claude-hooks: {'installed in' if status['installed'] else 'not installed in'} {project}"]
    if status["runtime"]:
        detail = ", ".join(
            x
            for x in (
                f"claude-hooks-runtime {status['version']}" if status["version"] else None,
                f"Python {status['python']}" if status["python"] else None,
            )
            if x
        )
        lines.append(f"  runtime:   {status['runtime']}" + (f" ({detail})" if detail else ""))
    else:
        lines.append(f"  runtime:   none ({os.path.join(project, RUNTIME_DIR)} does not exist)")
    if status["runtime"] and not status["command"]:
        lines.append("  command:   missing (run ./install.sh again)")
    elif status["command"]:
        lines.append(f"  command:   {status['command']}")
    if status["settings_error"]:
        lines.append(f"  settings:  {status['settings_error']}")
    elif status["events"]:
        lines.append(f"  events:    {len(status['events'])} registered in {status['settings']}:")
        lines.append("             " + ", ".join(status["events"]))
        if status["missing_events"]:
            lines.append(
                "  not registered: " + ", ".join(status["missing_events"]) + " (run ./install.sh again)"
            )
    else:
        lines.append(f"  events:    none registered in {status['settings']}")
    if status["backup"]:
        lines.append(f"  backup:    {status['backup']} (your settings.json before the install)")
    if status["installed_at"]:
        lines.append(f"  installed: {status['installed_at']}")
    return "\n".join(lines)


def main(project: str, *, as_json: bool = False) -> int:
    """Print the status of ``project``; exit code 0 when installed, 1 when not."""
    status = install_status(project)
    print(json.dumps(status, indent=2) if as_json else format_status(status))
    return 0 if status["installed"] else 1
