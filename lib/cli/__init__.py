"""The ``python -m lib`` command line.

Each subcommand lives in its own module under ``lib/cli/``, named as the command, and declares
``COMMAND = Command(...)`` (``lib/cli/_command.py``): its help, description and options; its
``run(args)`` (or an action's ``func(args)``) returns the exit code. Every module in this package that
has ``COMMAND`` is a subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.cli._command import Command


def command_modules() -> list[str]:
    """The names of the subcommand modules, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="python -m lib", description="Inspect and manage the claude-hooks runtime of a project."
    )
    parser.add_argument("--project", metavar="DIR", help=_PROJECT_HELP)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        module = importlib.import_module(f"lib.cli.{name}")
        command: Command | None = getattr(module, "COMMAND", None)
        if command is not None:
            command.add_to(subparsers, name, getattr(module, "run", None))
    _global_options_after_commands(parser, set())
    return parser


def _global_options_after_commands(parser: argparse.ArgumentParser, seen: set[int]) -> None:
    """Accept ``--project`` after a subcommand too (``python -m lib status --project DIR``)."""
    from typing import cast

    for action in parser._actions:  # pyright: ignore[reportPrivateUsage]
        if not isinstance(action, argparse._SubParsersAction):  # pyright: ignore[reportPrivateUsage]
            continue
        # isinstance cannot name the parser type argument: every subparser here is an ArgumentParser
        subparsers = cast("argparse._SubParsersAction[argparse.ArgumentParser]", action)  # pyright: ignore[reportPrivateUsage]
        for sub in subparsers.choices.values():
            if id(sub) in seen:  # an alias of a parser already done
                continue
            seen.add(id(sub))
            sub.add_argument("--project", metavar="DIR", default=argparse.SUPPRESS, help=_PROJECT_HELP)
            _global_options_after_commands(sub, seen)


_PROJECT_HELP = (
    "project directory (default: $CLAUDE_PROJECT_DIR, else the nearest folder upward holding .claude/)"
)


def _settle_project(args: argparse.Namespace) -> str | None:
    """Check ``--project`` or find the project upward from the current directory; the problem, if any."""
    import os

    from lib.paths import find_project

    given = getattr(args, "project", None)
    if given:
        # the dashboard shows a missing project as empty, with a hint (and creates nothing)
        if not os.path.isdir(given) and getattr(args, "command", None) != "dashboard":
            return (
                f"--project {given}: no such directory; give the project's folder (the one holding .claude/)"
            )
        args.project = os.path.abspath(given)
    elif not os.environ.get("CLAUDE_PROJECT_DIR"):
        cwd = os.getcwd()
        args.project = find_project(cwd, home=os.path.expanduser("~")) or cwd
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from lib.store import StateError

    problem = _settle_project(args)
    if problem:
        print(f"python -m lib: {problem}", file=sys.stderr)
        return 2
    try:
        return int(func(args))
    except StateError as exc:  # Redis down without fallback, an unwritable state file: one line
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
