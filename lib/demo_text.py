"""What both parts of ``./install.sh --demo`` print with: the replay (:mod:`lib.demo`) and the live
Claude Code session (:mod:`lib.demo_live`), which imports nothing else from the replay."""

from __future__ import annotations

import textwrap

__all__ = ["DESTRUCTIVE_COMMAND", "WIDTH", "print_wrapped"]

DESTRUCTIVE_COMMAND = "rm -rf ~/"
"""The destructive command of the replay scene; the live session tries it only if the replay denied it."""

WIDTH = 108
"""Columns the demo's output is wrapped at."""


def print_wrapped(text: str, indent: int, width: int = WIDTH, max_lines: int = 8) -> None:
    """Print ``text`` wrapped at ``width``, every line indented by ``indent`` spaces."""
    lines = textwrap.wrap(" ".join(text.split()), width - indent) or [""]
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: width - indent - 4] + " ..."]
    for line in lines:
        print(" " * indent + line)
