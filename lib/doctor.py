"""``claude-hooks doctor``: check an installation, each problem with the command that fixes it.

Checks, in order: the Python the hooks run on, the hook command itself (it starts and answers),
the events registered in ``.claude/settings.json`` (and a plugin registering them a second time),
the project's ``.claude/hooks.toml``, the permissions of ``.claude/state`` and ``.claude/logs``, the
state backend, and the Claude Code CLI on PATH: which of our events it sends, and whether it is newer
than the newest CLI this runtime was checked against. A check is ``ok``, ``warn`` or ``fail``; the
command exits 1 when any check fails.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from typing import Any

from lib.installer import EVENTS
from lib.manage import installation, python_says
from lib.paths import resolve_paths
from lib.protocol.cli_versions import NEWEST_CHECKED, parse_version, sent_by

__all__ = ["Check", "render", "run_checks"]

Check = dict[str, Any]


def _check(name: str, status: str, detail: str, fix: str | None = None) -> Check:
    return {"check": name, "status": status, "detail": detail, "fix": fix}


def _python(info: dict[str, Any]) -> Check:
    python = info["python"]
    if info["route"] is None:
        return _check(
            "python", "fail", "no hook command is installed in this project", "claude-hooks install"
        )
    if not python or not os.access(python, os.X_OK):
        return _check(
            "python",
            "fail",
            f"the hook command's interpreter {python or '(unreadable)'} is missing",
            "claude-hooks install --force  (the environment it pointed at is gone)",
        )
    shown = python_says(python, "import sys; print('%d.%d.%d' % sys.version_info[:3])")
    version = parse_version(shown)
    if version is None or version < (3, 11):
        return _check(
            "python",
            "fail",
            f"{python} is Python {shown or '?'}",
            "install Python >= 3.11, then reinstall",
        )
    return _check("python", "ok", f"{python} (Python {shown})")


def _hook_command(info: dict[str, Any]) -> Check:
    entry = info["entry_script"]
    if not entry:
        return _check(
            "hook command", "fail", "no .claude/hooks-runtime/bin/claude-hooks", "claude-hooks install"
        )
    try:
        done = subprocess.run([entry, "--version"], capture_output=True, text=True, timeout=30, check=False)
        problem = (done.stderr.strip().splitlines() or ["no output"])[-1]
    except OSError as exc:  # its interpreter is gone
        done, problem = None, exc.strerror or str(exc)
    if done is None or done.returncode != 0 or "claude-hooks-runtime" not in done.stdout:
        return _check(
            "hook command", "fail", f"{entry} does not start: {problem}", "claude-hooks install --force"
        )
    return _check("hook command", "ok", f"{entry} answers ({done.stdout.strip()})")


def _events(info: dict[str, Any]) -> list[Check]:
    got, missing = info["events_registered"], info["events_missing"]
    checks: list[Check] = []
    if not got and info["plugins_enabled"]:
        checks.append(
            _check("events", "ok", f"registered by the plugin {', '.join(info['plugins_enabled'])}")
        )
    elif missing:
        checks.append(
            _check(
                "events",
                "fail" if not got else "warn",
                f"{len(got)} of {info['events_expected']} events registered; missing: {', '.join(missing)}",
                "claude-hooks install  (registers every event; your own hooks stay)",
            )
        )
    else:
        checks.append(_check("events", "ok", f"all {len(got)} events registered in .claude/settings.json"))
    if got and info["plugins_enabled"]:
        checks.append(
            _check(
                "events",
                "warn",
                f"both .claude/settings.json and the plugin {', '.join(info['plugins_enabled'])} register our hooks: "
                "every hook runs twice",
                "claude-hooks uninstall  (keep the plugin), or `claude plugin uninstall hooks-runtime@...`",
            )
        )
    return checks


def _config(project: str) -> tuple[Check, dict[str, object]]:
    """The config check and the validated config (defaults when invalid); writes no cache."""
    from lib.config import ConfigError, read_config_file, validate_config

    paths = resolve_paths(project)
    exists = os.path.exists(paths.config_file)
    try:
        config = validate_config(read_config_file(paths.config_file), paths.config_file)
    except ConfigError as exc:
        fix = f"edit {paths.config_file} as the message says"
        return _check("config", "fail", str(exc), fix), validate_config({}, environ={})
    detail = f"{paths.config_file} is valid" if exists else f"no {paths.config_file} (defaults)"
    return _check("config", "ok", detail), config


def _permissions(project: str) -> list[Check]:
    paths = resolve_paths(project)
    checks: list[Check] = []
    for name, folder in (("state dir", paths.state_dir), ("log dir", paths.log_dir)):
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            checks.append(_check(name, "ok", f"{folder} does not exist yet (the first hook makes it, 0700)"))
            continue
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            checks.append(
                _check(
                    name,
                    "fail",
                    f"{folder} is a symlink or not a directory: hooks refuse to write there",
                    f"rm {folder}",
                )
            )
        elif st.st_uid != os.getuid():
            checks.append(
                _check(
                    name,
                    "fail",
                    f"{folder} belongs to uid {st.st_uid}, not you",
                    f"chown -R {os.getuid()} {folder}",
                )
            )
        elif st.st_mode & 0o077:
            checks.append(
                _check(
                    name,
                    "warn",
                    f"{folder} is readable by others (mode {stat.S_IMODE(st.st_mode):o}); logs hold commands",
                    f"chmod 700 {folder}",
                )
            )
        else:
            checks.append(_check(name, "ok", f"{folder} (mode {stat.S_IMODE(st.st_mode):o})"))
    return checks


def _backend(project: str, config: dict[str, object]) -> Check:
    from lib.backends import describe, status_line

    info = describe(resolve_paths(project), config)
    line = status_line(info)
    if info.get("reachable"):
        return _check("backend", "ok", line)
    fix = (
        'start the Redis server, or set [backend] url = "file"'
        if info.get("backend") == "redis"
        else "make the folder writable"
    )
    return _check("backend", "warn" if info.get("fallback_to_file") else "fail", line, fix)


def _claude_cli(claude: str | None) -> list[Check]:
    path = claude or shutil.which("claude")
    if not path:
        return [
            _check(
                "claude cli",
                "warn",
                "no `claude` on PATH; cannot compare its events with ours",
                "npm install -g @anthropic-ai/claude-code",
            )
        ]
    env = {**os.environ, "DISABLE_AUTOUPDATER": "1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    try:
        shown = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=60, check=False, env=env
        )
    except OSError as exc:
        return [_check("claude cli", "warn", f"{path} --version failed: {exc}")]
    version = parse_version(shown.stdout)
    if version is None:
        return [_check("claude cli", "warn", f"{path} --version printed {shown.stdout.strip()[:80]!r}")]
    text = ".".join(map(str, version))
    checks: list[Check] = []
    newest = parse_version(NEWEST_CHECKED) or ()
    if version > newest:
        checks.append(
            _check(
                "claude cli",
                "warn",
                f"Claude Code {text} is newer than {NEWEST_CHECKED}, the newest release this runtime's events were "
                "checked against: events it added since are not registered",
                "upgrade claude-hooks-runtime (pipx upgrade / git pull && ./install.sh)",
            )
        )
    unsent = [e for e in EVENTS if not sent_by(e, version)]
    if unsent:
        checks.append(
            _check(
                "claude cli",
                "warn",
                f"Claude Code {text} does not send {', '.join(unsent)}: those hooks never run",
                "npm install -g @anthropic-ai/claude-code@latest",
            )
        )
    if not checks:
        checks.append(
            _check("claude cli", "ok", f"Claude Code {text} sends all {len(EVENTS)} events we register")
        )
    return checks


def run_checks(project: str, *, claude: str | None = None) -> list[Check]:
    """Every check for ``project``, in order."""
    info = installation(project)
    config_check, config = _config(info["project"])
    return [
        _python(info),
        *([_hook_command(info)] if info["route"] else []),
        *_events(info),
        config_check,
        *_permissions(info["project"]),
        _backend(info["project"], config),
        *_claude_cli(claude),
    ]


def render(checks: list[Check]) -> str:
    """The human report: one line per check, the fix under each problem, a summary line."""
    marks = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}
    lines: list[str] = []
    for c in checks:
        lines.append(f"[{marks[c['status']]}] {c['check']}: {c['detail']}")
        if c["status"] != "ok" and c.get("fix"):
            lines.append(f"       fix: {c['fix']}")
    fails = sum(c["status"] == "fail" for c in checks)
    warns = sum(c["status"] == "warn" for c in checks)
    lines.append(f"{fails} problem(s), {warns} warning(s)" if fails or warns else "all checks passed")
    return "\n".join(lines)
