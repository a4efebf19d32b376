"""Merge our hook registrations into a project's ``.claude/settings.json``, and take them out again.

Used by ``install.sh`` (``python -m lib.installer install|uninstall PROJECT``). Rules:

- idempotent: a second install changes nothing and writes no backup;
- one backup per install, ``settings.json.before-claude-hooks``: the file's exact bytes before we
  first changed it (an upgrade of our registrations keeps it);
- the user's own hooks and every other setting stay as they are, in their order;
- ``.claude/claude-hooks-install.json`` records what we wrote (version, events, a hash of the file);
- ``uninstall`` puts the backup back byte for byte when nothing else changed the file since (or
  deletes the file we created); otherwise it removes exactly our entries, recognised by their command
  (``.claude/hooks-runtime/bin/claude-hooks``), and the empty groups/events we leave behind.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from typing import Any

from lib.plain_data import json_list, json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = [
    "EVENTS",
    "MARKER",
    "NOT_REGISTERED",
    "RUNTIME_DIR",
    "add_registrations",
    "entry_script",
    "ignore_runtime_dirs",
    "our_registrations",
    "plugin_hooks",
    "registered_events",
    "remove_registrations",
    "update_settings_file",
    "write_entry_script",
]

#: Events we never register: a command hook on ``WorktreeCreate`` *replaces* Claude Code's own
#: ``git worktree`` logic (the hook must create the worktree and print its path), so an observer
#: cannot exist for it; ``WorktreeRemove`` still records the worktree lifecycle.
NOT_REGISTERED: frozenset[str] = frozenset({"WorktreeCreate"})


def _registered_events() -> tuple[str, ...]:
    from lib.protocol.events import EVENTS as KNOWN

    return tuple(name for name in KNOWN if name not in NOT_REGISTERED)


#: The events we register: every event Claude Code can send a command hook (the event table in
#: :mod:`lib.protocol.events`) but those in :data:`NOT_REGISTERED`. Each gets at least a log record, a
#: span and a bus event; the built-in handlers of :mod:`hooks` act where they make sense.
EVENTS: tuple[str, ...] = _registered_events()
#: Where install.sh puts the virtual environment, relative to the project.
RUNTIME_DIR = ".claude/hooks-runtime"
#: Substring identifying our commands.
MARKER = f"{RUNTIME_DIR}/bin/claude-hooks"
#: Seconds Claude Code waits for one of our hooks (they take milliseconds; this is a safety net).
TIMEOUT = 30
#: Events whose Claude Code default is lower than :data:`TIMEOUT` keep that default.
TIMEOUTS: dict[str, int] = {"MessageDisplay": 10}


def command_for(event: str) -> str:
    """The shell command registered for ``event``; works from any cwd via ``$CLAUDE_PROJECT_DIR``."""
    return f'"$CLAUDE_PROJECT_DIR"/{MARKER} {event}'


def our_registrations() -> dict[str, list[dict[str, Any]]]:
    """The ``hooks`` mapping we add (also the content of ``settings.example.json``)."""
    return _registrations(command_for)


def _registrations(command: Callable[[str], str], **extra: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        event: [
            {
                "hooks": [
                    {
                        "type": "command",
                        "command": command(event),
                        "timeout": TIMEOUTS.get(event, TIMEOUT),
                        **extra.get(event, {}),
                    }
                ]
            }
        ]
        for event in EVENTS
    }


#: The plugin's launcher (``hooks/plugin-hook.sh``), relative to the plugin's root.
PLUGIN_LAUNCHER = "hooks/plugin-hook.sh"
#: SessionStart may set up the plugin's environment on first use (a minute or so, once).
PLUGIN_SETUP_TIMEOUT = 600


def plugin_hooks() -> dict[str, Any]:
    """The content of ``hooks/hooks.json``, the hooks of the Claude Code plugin route.

    Each event runs ``hooks/plugin-hook.sh EVENT`` from the installed plugin; the launcher makes the
    plugin's own environment under ``$CLAUDE_PLUGIN_DATA`` on first use, then runs the same lean
    ``claude-hooks`` entry script install.sh writes. Logs and state go to the project's ``.claude/``.
    """
    hooks = _registrations(
        lambda event: f'"${{CLAUDE_PLUGIN_ROOT}}"/{PLUGIN_LAUNCHER} {event}',
        SessionStart={
            "timeout": PLUGIN_SETUP_TIMEOUT,
            "statusMessage": "hooks-runtime: starting (the first start sets up its Python environment)",
        },
    )
    return {
        "description": "claude-hooks-runtime: guards, circuit breaker, rate limits, logs, traces and "
        "an event bus on every Claude Code hook event",
        "hooks": hooks,
    }


def _is_ours(handler: object) -> bool:
    obj = json_object(handler)
    return obj is not None and MARKER in str(obj.get("command", ""))


def _handlers(groups: object) -> Iterator[object]:
    """Every handler of an event's list of groups (skipping what is not a group with a ``hooks`` list)."""
    for group in json_list(groups) or []:
        obj = json_object(group)
        if obj is not None:
            yield from json_list(obj.get("hooks")) or []


def remove_registrations(settings: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``settings`` without our hook handlers (and without groups we emptied)."""
    result = copy.deepcopy(settings)
    hooks = json_object(result.get("hooks"))
    if hooks is None:
        return result
    for event in list(hooks):
        groups = json_list(hooks[event])
        if groups is None:
            continue
        kept_groups: list[object] = []
        for group in groups:
            obj = json_object(group)
            handlers = json_list(obj.get("hooks")) if obj is not None else None
            if obj is not None and handlers is not None:
                kept = [h for h in handlers if not _is_ours(h)]
                if not kept and handlers:
                    continue  # the group held only ours
                group = {**obj, "hooks": kept}
            kept_groups.append(group)
        if kept_groups:
            hooks[event] = kept_groups
        else:
            del hooks[event]
    if not hooks:
        del result["hooks"]
    return result


def registered_events(settings: object) -> list[str]:
    """The events of a settings object that carry one of our handlers, in file order."""
    obj = json_object(settings)
    hooks = json_object(obj.get("hooks")) if obj is not None else None
    if hooks is None:
        return []
    return [
        event for event, groups in hooks.items() if any(_is_ours(handler) for handler in _handlers(groups))
    ]


def _has_current_registrations(settings: dict[str, Any]) -> bool:
    hooks = json_object(settings.get("hooks"))
    if hooks is None:
        return False
    ours = our_registrations()
    count = sum(1 for groups in hooks.values() for handler in _handlers(groups) if _is_ours(handler))
    return count == len(ours) and all(
        groups[0] in (json_list(hooks.get(e)) or []) for e, groups in ours.items()
    )


def add_registrations(settings: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of ``settings`` with our registrations (an older copy of ours is replaced)."""
    if _has_current_registrations(settings):
        return copy.deepcopy(settings)
    result = remove_registrations(settings)
    hooks = json_object(result.setdefault("hooks", {}))
    if hooks is None:
        raise ValueError("'hooks' in settings.json is not an object; fix or remove it, then install again")
    for event, groups in our_registrations().items():
        existing = json_list(hooks.setdefault(event, []))
        if existing is None:
            raise ValueError(f"'hooks.{event}' in settings.json is not a list; fix it, then install again")
        existing.extend(groups)
    return result


def _load(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return {}
    if not text.strip():
        return {}
    try:
        data = json_object(json.loads(text))
    except ValueError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); fix it by hand, nothing was changed") from None
    if data is None:
        raise ValueError(f"{path}: top level must be an object; nothing was changed")
    return data


#: The user's settings.json as it was before our first change (one per install).
BACKUP_SUFFIX = ".before-claude-hooks"
#: What the install wrote, next to settings.json (read by ``install.sh --status`` and ``--uninstall``).
RECORD_NAME = "claude-hooks-install.json"


def settings_path(project: str) -> str:
    return os.path.join(project, ".claude", "settings.json")


def record_path(project: str) -> str:
    return os.path.join(project, ".claude", RECORD_NAME)


def _read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def read_record(project: str) -> dict[str, Any] | None:
    """The install record of ``project`` (``None``: none, or unreadable)."""
    data = _read_bytes(record_path(project))
    try:
        record = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return json_object(record)


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _write_atomically(path: str, data: bytes) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("claude-hooks-runtime")
    except Exception:  # run from a clone without an installed distribution
        return "unknown"


def update_settings_file(project: str, *, uninstall: bool = False) -> tuple[bool, str | None]:
    """Install or remove our registrations in ``<project>/.claude/settings.json``.

    Returns ``(changed, backup_path)`` (the backup an install made or kept); writes nothing when
    nothing changes. An invalid file raises :class:`ValueError` before anything is written.
    """
    if uninstall:
        how = uninstall_settings(project)
        kept = settings_path(project) + BACKUP_SUFFIX
        return how is not None, kept if os.path.exists(kept) else None
    path = settings_path(project)
    original = _read_bytes(path)
    current = _load(path)
    wanted = add_registrations(current)
    backup = path + BACKUP_SUFFIX
    record = read_record(project)
    if wanted == current:
        return False, backup if os.path.exists(backup) else None
    fresh = current == remove_registrations(current)  # none of ours yet: this file is the user's own
    if fresh or record is None:
        if original is not None:
            _write_atomically(backup, original)
        elif os.path.exists(backup):
            os.remove(backup)  # a stale backup of a file that is gone since
        created = original is None
    else:
        created = bool(record.get("created"))
    text = (json.dumps(wanted, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    _write_atomically(path, text)
    new_record = {
        "version": _version(),
        "runtime": RUNTIME_DIR,
        "events": list(EVENTS),
        "settings_sha256": _sha256(text),
        "backup": os.path.basename(backup) if os.path.exists(backup) else None,
        "created": created,
        "installed_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    _write_atomically(record_path(project), (json.dumps(new_record, indent=2) + "\n").encode())
    return True, backup if os.path.exists(backup) else None


def uninstall_settings(project: str) -> str | None:
    """Take our registrations out of the project's settings.json; what was done: ``"restored"``
    (the backup put back byte for byte: nothing else changed the file since the install),
    ``"deleted"`` (we had created the file), ``"removed"`` (our entries taken out of a file changed
    since; the backup stays for the user to compare) or ``None`` (nothing of ours was there)."""
    path = settings_path(project)
    backup = path + BACKUP_SUFFIX
    record = read_record(project)
    data = _read_bytes(path)
    current = _load(path)
    unchanged = record is not None and data is not None and _sha256(data) == record.get("settings_sha256")
    how: str | None = None
    if unchanged and os.path.exists(backup):
        os.replace(backup, path)
        how = "restored"
    elif unchanged and record is not None and record.get("created"):
        os.remove(path)
        how = "deleted"
    else:
        wanted = remove_registrations(current)
        if wanted != current:
            _write_atomically(path, (json.dumps(wanted, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
            how = "removed"
    if os.path.exists(record_path(project)):
        os.remove(record_path(project))
    return how


#: A shebang longer than this (or with a space) is not honoured by every kernel: use a /bin/sh trampoline.
_MAX_SHEBANG = 120


#: Lets the test suite measure coverage in hook processes: ``-S`` skips the ``.pth`` file through which
#: coverage.py starts itself in child processes, so the script starts it when coverage.py's own
#: variables ask for it (two dictionary look-ups otherwise; ``os`` is imported by lib.runtime anyway).
_COVERAGE_START = (
    "if os.environ.get('COVERAGE_PROCESS_CONFIG') or os.environ.get('COVERAGE_PROCESS_START'):\n"
    "    try:  # measured only where coverage.py is importable; never a reason for a hook to fail\n"
    "        from coverage import process_startup\n\n"
    "        process_startup()\n"
    "    except Exception:\n"
    "        pass\n\n"
)


def entry_script(python: str, site_dirs: list[str]) -> str:
    """The ``claude-hooks`` command Claude Code runs for every hook event (replaces pip's wrapper).

    pip's console script imports ``re``, and Python's ``site`` set-up (``.pth`` files,
    ``_distutils_hack``...) runs before a line of ours: about 5 ms of a hook process that needs
    neither. This one starts Python with ``-S``, turns the cyclic garbage collector off (a hook
    process lives some 20 ms and makes little cyclic garbage, but the collections its imports
    trigger cost about 1 ms), puts the runtime's ``site-packages`` on ``sys.path`` and calls
    :func:`lib.runtime.main`, which restores both (the full ``site`` set-up, the collector on)
    before it imports a user's own handler module. It ends through :func:`lib.runtime.exit_process`,
    which skips Python's teardown (another ~2 ms) unless a user's module was loaded.
    """
    if len(python) + 4 <= _MAX_SHEBANG and not any(c.isspace() for c in python):
        head = f"#!{python} -S\n"
    else:  # the shell runs Python on this file; to Python the second line is a string
        import shlex

        head = "#!/bin/sh\n" + "'''exec' " + shlex.quote(python) + ' -S "$0" "$@"\n' + "' '''\n"
    return (
        head
        + "# claude-hooks: written by install.sh (lib/installer.py); Claude Code runs it for every hook event\n"
        + "import gc\nimport os\nimport sys\n\n"
        + "gc.disable()  # on again before a user's handler module runs (lib.runtime)\n"
        + "".join(f"sys.path.append({d!r})\n" for d in site_dirs)
        + "\n"
        + _COVERAGE_START
        + "from lib.runtime import main, exit_process\n\n"
        + "exit_process(main())\n"
    )


def write_entry_script(runtime: str, *, python: str | None = None, site_dirs: list[str] | None = None) -> str:
    """Write :func:`entry_script` as ``<runtime>/bin/claude-hooks`` (atomically, 0755); return its path.

    install.sh runs this with the runtime's own interpreter (``<runtime>/bin/python -m lib.installer
    entry-script <runtime>``), whose ``site-packages`` the script puts on ``sys.path``. The package
    route (``claude-hooks install``) names another ``python`` and its ``site_dirs``: the environment
    the package is installed in.
    """
    import sysconfig

    runtime = os.path.realpath(runtime)  # a project may share a runtime through a symlink
    if python is None:
        if os.path.realpath(sys.prefix) != runtime:
            raise ValueError(f"run this with {runtime}/bin/python, not {sys.executable}")
        python = os.path.join(runtime, "bin", "python")
    if site_dirs is None:
        paths = sysconfig.get_paths()
        site_dirs = list(dict.fromkeys(os.path.realpath(paths[k]) for k in ("purelib", "platlib")))
    target = os.path.join(runtime, "bin", "claude-hooks")
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(entry_script(python, site_dirs))
    os.chmod(tmp, 0o755)
    os.replace(tmp, target)
    return target


#: The folders whose content must never be committed: logs and state hold every command Claude ran.
IGNORED_DIRS: tuple[str, ...] = (".claude/logs", ".claude/state", RUNTIME_DIR)
_GITIGNORE = (
    "# Written by claude-hooks' install.sh: this folder holds hook logs, state or the runtime's\n"
    "# virtual environment (every command Claude ran, possibly secrets); keep it out of git.\n*\n"
)


def ignore_runtime_dirs(project: str) -> list[str]:
    """Make the runtime's folders git-ignored with a ``.gitignore`` inside each (created 0700 when
    missing); an existing ``.gitignore`` there (the user's) is left alone, and so is a folder that is
    a symlink (a shared runtime; the hooks refuse to write logs or state through one). Returns the
    files written."""
    from lib.safe_files import atomic_write, ensure_dir

    written: list[str] = []
    for rel in IGNORED_DIRS:
        folder = os.path.join(project, rel)
        if os.path.islink(folder):
            continue
        ensure_dir(folder)
        path = os.path.join(folder, ".gitignore")
        if not os.path.lexists(path):
            atomic_write(path, _GITIGNORE.encode(), mode=0o644)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """``python -m lib.installer install|uninstall|check|status|example PROJECT`` or ``entry-script RUNTIME``."""
    parser = argparse.ArgumentParser(prog="python -m lib.installer")
    parser.add_argument(
        "action",
        choices=["install", "uninstall", "check", "status", "example", "plugin-hooks", "entry-script"],
    )
    parser.add_argument("project", nargs="?", default=".")
    parser.add_argument("--json", action="store_true", help="status: machine-readable")
    args = parser.parse_args(argv)
    if args.action == "entry-script":
        try:
            write_entry_script(args.project)
        except (ValueError, OSError) as exc:
            sys.stderr.write(f"install.sh: cannot write the claude-hooks command: {exc}\n")
            return 1
        return 0
    if args.action == "example":
        json.dump({"hooks": our_registrations()}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    if args.action == "plugin-hooks":
        json.dump(plugin_hooks(), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    project = os.path.abspath(args.project)
    settings = settings_path(project)
    try:
        if args.action == "check":
            _load(settings)  # raises with the file and the fix when it is not valid JSON
            return 0
        if args.action == "status":
            from lib.install_status import main as status_main

            return status_main(project, as_json=args.json)
        if args.action == "uninstall":
            how = uninstall_settings(project)
            kept = settings + BACKUP_SUFFIX
            done = {
                "restored": f"restored {settings} as it was before the install",
                "deleted": f"deleted {settings} (the install had created it)",
                "removed": f"removed our hooks from {settings} (it changed since the install"
                + (f"; the file from before the install stays at {kept})" if os.path.exists(kept) else ")"),
                None: f"{settings} holds none of our hooks",
            }
            print("  settings: " + done[how])
            return 0
        changed, backup = update_settings_file(project)
        ignore_runtime_dirs(project)
        print(
            f"  git:      {', '.join(d + '/' for d in IGNORED_DIRS)} are git-ignored (a .gitignore in each)"
        )
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"install.sh: {exc}\n")
        return 1
    if not changed:
        print(f"  settings: {settings} already up to date")
    else:
        print(
            f"  settings: registered our hooks in {settings}"
            + (f" (your file before: {backup})" if backup else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
