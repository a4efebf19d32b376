"""How a subcommand module declares itself to ``python -m lib``: ``COMMAND = Command(...)``, its help
line, description and options; the command line adds it under the module's name, run by the module's
``run(args)``."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Command", "Handler", "Options"]

Handler = Callable[[argparse.Namespace], int]
"""What a command (or one of its actions) runs: ``func(args)`` returns the exit code."""

Options = Callable[[argparse.ArgumentParser], object]
"""Adds options (or actions) to a command's parser."""


class Command:
    """A subcommand: ``help`` (its line in ``python -m lib --help``), ``description`` and the
    ``options`` added in order. More ``parser`` keywords (``epilog``, ``formatter_class``) go to
    argparse."""

    def __init__(
        self,
        *,
        help: str,
        description: str,
        options: Sequence[Options] = (),
        **parser: Any,
    ) -> None:
        self.help = help
        self.description = description
        self.options = tuple(options)
        self.parser = parser

    def add_to(
        self,
        subparsers: argparse._SubParsersAction[argparse.ArgumentParser],  # pyright: ignore[reportPrivateUsage]
        name: str,
        run: Handler | None,
    ) -> argparse.ArgumentParser:
        """Add this command to ``subparsers`` as ``name``, run by ``run`` when no action of its own is
        given (None: a command of actions only, which prints its help, exit code 2); returns its parser."""
        parser = subparsers.add_parser(name, help=self.help, description=self.description, **self.parser)

        def usage(_args: argparse.Namespace) -> int:
            parser.print_help()
            return 2

        parser.set_defaults(func=run or usage)
        for add in self.options:
            add(parser)
        return parser
