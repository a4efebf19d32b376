"""The ``python -m lib`` command line.

Each subcommand lives in its own module under ``lib/cli/`` and exposes
``register(subparsers) -> None``, adding its parser with ``set_defaults(func=...)``; ``func(args)``
returns the exit code. Every module in this package that has ``register`` is a subcommand.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def command_modules() -> list[str]:
    """The names of the subcommand modules, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="python -m lib", description="Inspect and manage the claude-hooks runtime of a project."
    )
    parser.add_argument(
        "--project",
        metavar="DIR",
        help="project directory (default: $CLAUDE_PROJECT_DIR or the current directory)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in command_modules():
        module = importlib.import_module(f"lib.cli.{name}")
        if hasattr(module, "register"):
            module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    from lib.store import StateError

    try:
        return int(func(args))
    except StateError as exc:  # Redis down without fallback, an unwritable state file: one line
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
