"""``--project`` before or after any subcommand of ``python -m lib`` (lib/cli/__init__.py)."""

from __future__ import annotations

import argparse

import pytest

from lib.cli import _global_options_after_commands, build_parser, command_modules


@pytest.mark.parametrize("command", command_modules())
def test_every_command_takes_project_after_it(command: str) -> None:
    parser = build_parser()
    args, _ = parser.parse_known_args([command, "--project", "/some/where"])
    assert args.project == "/some/where"
    before, _ = parser.parse_known_args(["--project", "/else", command])
    assert before.project == "/else"


def test_a_command_with_aliases_gets_the_option_once() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project")
    sub = parser.add_subparsers(dest="command")
    show = sub.add_parser("show", aliases=["s", "view"])
    show.add_subparsers(dest="what").add_parser("all")
    _global_options_after_commands(parser, set())  # an alias is the same parser: no conflict
    assert parser.parse_args(["s", "all", "--project", "/p"]).project == "/p"
    assert parser.parse_args(["view", "--project", "/q"]).project == "/q"
