"""``claude-hooks install|uninstall|status|doctor|version``: the package route's command line.

``pip install .`` / ``pipx install .`` / ``uv tool install .`` give a ``claude-hooks`` command. Claude
Code runs it as ``claude-hooks EVENT`` (the hook entry point, :mod:`lib.runtime`); a user runs it with
one of the subcommands here, and with any ``python -m lib`` reader (``claude-hooks logs``, ``events``,
``breakers`` ...), which it hands to :mod:`lib.cli`.

``claude-hooks install DIR`` does what ``install.sh`` does without making a second environment: it
writes the lean entry script into ``DIR/.claude/hooks-runtime/bin/claude-hooks``, pointed at the
interpreter this command runs on, and registers every event in ``DIR/.claude/settings.json``. The hooks
then run from the package's own environment (pipx's or uv's venv), so upgrading the package upgrades
every project it was installed into.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from typing import Any

from lib import __version__
from lib.installer import EVENTS, RUNTIME_DIR, ignore_runtime_dirs, update_settings_file, write_entry_script
from lib.plain_data import json_object

__all__ = ["COMMANDS", "InstallInfo", "install", "installation", "main", "python_says", "uninstall"]

#: The subcommands handled here (every other lower-case word goes to :mod:`lib.cli`).
COMMANDS = ("install", "uninstall", "status", "doctor", "version")
#: Written next to the entry script by ``claude-hooks install`` (what was installed, from where).
INSTALL_RECORD = "install.json"
#: The plugin's name in ``enabledPlugins`` (``hooks-runtime@<marketplace>``).
PLUGIN_NAME = "hooks-runtime"

InstallInfo = dict[str, Any]


def _read_object(path: str) -> dict[str, object] | None:
    """The JSON object in ``path`` (``None``: missing, unreadable, not JSON or not an object)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json_object(json.load(f))
    except (OSError, ValueError):
        return None


def python_says(python: str, code: str) -> str:
    """What ``python -c code`` prints (stripped; empty when it fails)."""
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ""
    return done.stdout.strip()


def _shebang_python(script: str) -> str | None:
    """The interpreter an entry script starts (``#!PY -S`` or the ``/bin/sh`` trampoline's ``exec``)."""
    try:
        with open(script, encoding="utf-8") as f:
            head = f.read(1024).splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    if head and head[0].startswith("#!") and not head[0].startswith("#!/bin/sh"):
        return head[0][2:].split(" -S", 1)[0].strip()
    if len(head) > 1 and "exec'" in head[1]:
        import shlex

        words = shlex.split(head[1].split("exec'", 1)[1])
        return words[0] if words else None
    return None


def _enabled_plugins(project: str) -> list[str]:
    """``hooks-runtime@...`` plugin ids enabled in the user's or the project's settings."""
    places = [
        os.path.join(os.path.expanduser("~"), ".claude", "settings.json"),
        os.path.join(project, ".claude", "settings.json"),
        os.path.join(project, ".claude", "settings.local.json"),
    ]
    found: list[str] = []
    for path in places:
        data = _read_object(path)
        enabled = json_object(data.get("enabledPlugins")) if data is not None else None
        if enabled is not None:
            found += [k for k, v in enabled.items() if k.startswith(PLUGIN_NAME + "@") and v]
    return sorted(set(found))


def installation(project: str) -> InstallInfo:
    """What is installed in ``project``: route, interpreter, version, registered events, plugin."""
    project = os.path.abspath(project)
    runtime = os.path.join(project, RUNTIME_DIR)
    entry = os.path.join(runtime, "bin", "claude-hooks")
    record = _read_object(os.path.join(runtime, INSTALL_RECORD))
    if record is not None:
        route = "package"
    elif os.path.isfile(os.path.join(runtime, "pyvenv.cfg")):
        route = "install.sh"
    else:
        route = None
    python = _shebang_python(entry) if os.path.isfile(entry) else None
    version = record.get("version") if record is not None else None
    if route == "install.sh" and python and os.path.isfile(python):
        version = python_says(python, "import lib; print(lib.__version__)") or None
    from lib.install_status import install_status

    status = install_status(project)  # the reader install.sh --status uses: settings, backup, record
    registered = list(status["events"])
    return {
        "project": project,
        "route": route,
        "runtime_dir": runtime if route else None,
        "entry_script": entry if os.path.isfile(entry) else None,
        "python": python,
        "version": version,
        "events_registered": registered,
        "events_missing": [e for e in EVENTS if e not in registered],
        "events_expected": len(EVENTS),
        "plugins_enabled": _enabled_plugins(project),
        "settings_backups": [status["backup"]] if status["backup"] else [],
        "installed_at": status["installed_at"],
    }


def install(project: str, *, force: bool = False) -> list[str]:
    """Install into ``project`` from this package; returns the lines to print. Raises ``ValueError``."""
    import sysconfig

    project = os.path.abspath(project)
    if not os.path.isdir(project):
        raise ValueError(f"{project} is not a directory; create it first or name another")
    runtime = os.path.join(project, RUNTIME_DIR)
    if os.path.isfile(os.path.join(runtime, "pyvenv.cfg")):
        if not force:
            raise ValueError(
                f"{runtime} is an environment install.sh made; run `./install.sh --uninstall {project}` "
                "first, or `claude-hooks install --force` to replace it with this package"
            )
        shutil.rmtree(runtime)
    os.makedirs(os.path.join(runtime, "bin"), mode=0o700, exist_ok=True)
    with open(os.path.join(runtime, ".gitignore"), "w", encoding="utf-8") as f:
        f.write("*\n")
    paths = sysconfig.get_paths()
    # where this package's `lib` is imported from: site-packages, or the source tree of an editable
    # install (whose import hook needs the `site` set-up the entry script skips)
    source_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    site_dirs = list(
        dict.fromkeys([*(os.path.realpath(paths[k]) for k in ("purelib", "platlib")), source_root])
    )
    entry = write_entry_script(runtime, python=sys.executable, site_dirs=site_dirs)
    record = {"version": __version__, "python": sys.executable, "site_dirs": site_dirs}
    with open(os.path.join(runtime, INSTALL_RECORD), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2)
        f.write("\n")
    changed, backup = update_settings_file(project)
    ignore_runtime_dirs(project)
    settings = os.path.join(project, ".claude", "settings.json")
    lines = [
        f"claude-hooks {__version__}: installed into {project}",
        f"  hook command: {entry} (runs {sys.executable})",
    ]
    if changed:
        lines.append(
            f"  settings: registered {len(EVENTS)} events in {settings}"
            + (f" (backup: {backup})" if backup else "")
        )
    else:
        lines.append(f"  settings: {settings} already up to date")
    lines.append(f"  logs: {os.path.join(project, '.claude', 'logs')} (read them with `claude-hooks logs`)")
    return lines


def uninstall(project: str) -> list[str]:
    """Remove our registrations and the entry script from ``project`` (logs and state stay)."""
    project = os.path.abspath(project)
    if not os.path.isdir(project):
        raise ValueError(f"{project} is not a directory")
    changed, backup = update_settings_file(project, uninstall=True)
    lines = [f"claude-hooks: uninstalled from {project}"]
    settings = os.path.join(project, ".claude", "settings.json")
    lines.append(
        f"  settings: removed our hooks from {settings}" + (f" (backup: {backup})" if backup else "")
        if changed
        else f"  settings: no hooks of ours in {settings}"
    )
    runtime = os.path.join(project, RUNTIME_DIR)
    if os.path.isdir(runtime):
        shutil.rmtree(runtime)
        lines.append(f"  removed {runtime}")
    lines.append(
        f"  kept: {project}/.claude/logs and {project}/.claude/state (delete them if you no longer want them)"
    )
    return lines


def _print_status(info: InstallInfo) -> None:
    route = info["route"]
    print(f"claude-hooks {__version__} (this command)")
    print(f"project:  {info['project']}")
    if route is None:
        print("installed: no (run `claude-hooks install` or ./install.sh)")
    else:
        print(f"installed: by {route}, version {info['version'] or 'unknown'}, in {info['runtime_dir']}")
        print(f"  python: {info['python'] or 'unknown'}")
    got, want = len(info["events_registered"]), info["events_expected"]
    print(f"events:   {got} of {want} registered in .claude/settings.json")
    if info["events_missing"] and got:
        print(f"  missing: {', '.join(info['events_missing'])}")
    if info["plugins_enabled"]:
        print(f"plugin:   {', '.join(info['plugins_enabled'])} enabled")
    for backup in info["settings_backups"]:
        print(f"backup:   {backup} (your settings.json before the install)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="claude-hooks",
        description="The claude-hooks runtime. Claude Code runs `claude-hooks EVENT` for every hook event; "
        "you run the subcommands below, or any `python -m lib` reader (logs, events, traces, breakers, ...).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("install", help="install into a project (default: the current directory)")
    p.add_argument("project", nargs="?", default=".", metavar="DIR")
    p.add_argument("--force", action="store_true", help="replace an environment install.sh made")
    p = sub.add_parser("uninstall", help="remove our hooks from a project (logs and state stay)")
    p.add_argument("project", nargs="?", default=".", metavar="DIR")
    for name, text in (
        ("status", "what is installed, where, which version, which events"),
        ("doctor", "check the installation; each problem with its fix"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("project", nargs="?", default=".", metavar="DIR")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        if name == "doctor":
            p.add_argument(
                "--claude",
                metavar="PATH",
                help="the Claude Code CLI to compare events with (default: `claude` on PATH)",
            )
    sub.add_parser("version", help="print the version")
    return parser


def main(argv: list[str]) -> int:
    """``claude-hooks SUBCOMMAND ...``; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "version":
            print(f"claude-hooks-runtime {__version__}")
            return 0
        if args.command in ("install", "uninstall"):
            lines = (
                install(args.project, force=args.force)
                if args.command == "install"
                else uninstall(args.project)
            )
            print("\n".join(lines))
            return 0
        if args.command == "status":
            info = installation(args.project)
            if args.json:
                print(json.dumps(info, indent=2))
            else:
                _print_status(info)
            return 0
        from lib.doctor import render, run_checks

        checks = run_checks(args.project, claude=args.claude)
        print(json.dumps(checks, indent=2) if args.json else render(checks))
        return 1 if any(c["status"] == "fail" for c in checks) else 0
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"claude-hooks {args.command}: {exc}\n")
        return 1
