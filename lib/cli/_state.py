"""Shared by the commands that show and change the project's state (breakers, ratelimits, tasks,
guards, status): the config and state stores they open, the ``--json`` option, aligned tables, and
resetting entries by name or glob."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from fnmatch import fnmatchcase

from lib.cli._terminal import escape
from lib.paths import Paths, resolve_paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.cli._command import Handler
    from lib.store import StateStore

__all__ = [
    "LOCK_TIMEOUT",
    "add_json_option",
    "add_reset_actions",
    "name_matches",
    "open_cli_state",
    "print_table",
    "project_config",
    "report_changes",
]

LOCK_TIMEOUT = 5.0
"""How long a command waits for a state store's lock (hooks hold it for milliseconds)."""


def add_json_option(parser: argparse.ArgumentParser, *, action: bool = False) -> None:
    """``--json``: machine-readable output. On an ``action`` subparser it leaves a ``--json`` given
    before the action in place."""
    if action:
        parser.add_argument(
            "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
        )
    else:
        parser.add_argument("--json", action="store_true", help="machine-readable output")


def add_reset_actions(
    parser: argparse.ArgumentParser, name: str, *, help: str, item: str, dest: str, func: Handler
) -> argparse._SubParsersAction[argparse.ArgumentParser]:  # pyright: ignore[reportPrivateUsage]
    """The options of a state command ``name`` that lists entries (``--json``) and resets them by
    name, glob or ``--all`` (``breakers``, ``ratelimits``), ``func`` running the reset; returns its
    actions, for more of them."""
    add_json_option(parser)
    actions = parser.add_subparsers(dest=f"{name}_action", metavar="ACTION")
    reset = actions.add_parser("reset", help=help)
    reset.add_argument(dest, nargs="*", metavar=dest[:-1].upper(), help=f"{item} key or glob")
    reset.add_argument("--all", action="store_true", help=f"reset every {item}")
    add_json_option(reset, action=True)
    reset.set_defaults(func=func)
    return actions


def project_config(args: argparse.Namespace, fallback: str) -> tuple[Paths, dict[str, object]]:
    """The project's paths and validated config. An invalid config is reported on stderr as
    ``warning: <the error>; <fallback>`` and the defaults are used."""
    from lib.config import ConfigError, load_config

    paths = resolve_paths(getattr(args, "project", None))
    try:
        config = load_config(paths, write_cache=False)
    except ConfigError as exc:
        print(f"warning: {exc}; {fallback}", file=sys.stderr)
        config = {}
    return paths, config


def open_cli_state(args: argparse.Namespace, name: str) -> StateStore:
    """The project's state store ``name`` on its configured backend (files, or Redis per ``[backend]``).

    A project without a state folder yet gets a store that reads as empty and creates the folder on
    its first change, so reading commands never create files."""
    import os

    from lib.backends import backend_url, open_state

    paths, config = project_config(args, "using the default backend (files)")

    # a Redis outage is reported once on stderr by the fallback itself
    def real() -> StateStore:
        return open_state(paths, config, name, lock_timeout=LOCK_TIMEOUT)

    if backend_url(config) == "file" and not os.path.isdir(paths.state_dir):
        return _NotCreatedYet(os.path.join(paths.state_dir, name + ".json"), real)
    return real()


class _NotCreatedYet:
    """A file store whose folder does not exist: empty to read; opened (and created) to change."""

    def __init__(self, path: str, open_real: Callable[[], StateStore]) -> None:
        self._path = path
        self._open_real = open_real

    @property
    def path(self) -> str:
        return self._path

    def read(self) -> dict[str, object]:
        return {}

    def transaction(self) -> AbstractContextManager[dict[str, object]]:
        return self._open_real().transaction()


def print_table(rows: Sequence[Sequence[str]], indent: str = "") -> None:
    """Print ``rows`` (the first is the header) in columns two spaces apart; the last column is not
    padded, so a long last cell (an error, a title) does not widen the table."""
    rows = [[escape(cell) for cell in row] for row in rows]  # cells hold payload data: never raw
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print((indent + "  ".join([*cells, row[-1]])).rstrip())


def name_matches(name: str, pattern: str) -> bool:
    """Whether ``name`` is ``pattern`` or matches it as a glob (``'Bash:*'``)."""
    return name == pattern or fnmatchcase(name, pattern)


def report_changes(
    args: argparse.Namespace,
    verb: str,
    done: Iterable[str],
    missing: Iterable[str],
    *,
    no_match: Callable[[str], str],
    nothing: str,
) -> int:
    """Report what a reset (or force) changed: ``{verb: [...], "not_found": [...]}`` with ``--json``,
    else ``<verb>: <name>`` lines, ``no_match(name)`` on stderr per name that matched nothing, and
    ``nothing`` when there was nothing to change. Exit code 1 if a name matched nothing."""
    done, missing = list(done), list(missing)
    if getattr(args, "json", False):
        print(json.dumps({verb: done, "not_found": missing}, indent=2))
    else:
        for name in done:
            print(f"{verb}: {name}")
        for name in missing:
            print(no_match(name), file=sys.stderr)
        if not done and not missing:
            print(nothing)
    return 1 if missing else 0
