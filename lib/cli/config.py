"""``python -m lib config``: check the config file, show the effective config, print the reference."""

from __future__ import annotations

import argparse
import json
from typing import Any

from lib.paths import resolve_paths


def register(subparsers: Any) -> None:
    """Add the ``config`` subcommand."""
    parser = subparsers.add_parser("config", help="check or show .claude/hooks.toml")
    parser.add_argument("action", choices=["check", "show", "reference"], nargs="?", default="check")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate (check), print the effective config as JSON (show), or the Markdown reference."""
    from lib.config import ConfigError, read_config_file, validate_config

    if args.action == "reference":
        print(reference())
        return 0
    paths = resolve_paths(args.project)
    try:
        config = validate_config(read_config_file(paths.config_file), paths.config_file)
    except ConfigError as exc:
        from lib.cli._terminal import escape

        print(f"error: {escape(exc)}")
        return 1
    if args.action == "show":
        print(json.dumps(config, indent=2))
    else:
        print(f"ok: {paths.config_file}" + ("" if _exists(paths.config_file) else " (absent: defaults)"))
    return 0


def _exists(path: str) -> bool:
    import os

    return os.path.exists(path)


def reference() -> str:
    """A Markdown table per section: key, type, default, meaning."""
    from pydantic import BaseModel

    from lib.config_models import HooksConfig

    lines: list[str] = []
    for section, field in HooksConfig.model_fields.items():
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        lines += [
            f"`[{section}]` {(model.__doc__ or '').strip()}",
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for key, f in model.model_fields.items():
            default = f.get_default(call_default_factory=True)
            if isinstance(default, BaseModel):
                default = default.model_dump()
            kind = _type_name(f.annotation)
            lines.append(f"| `{key}` | {kind} | `{json.dumps(default)}` | {f.description or ''} |")
        lines.append("")
    return "\n".join(lines).rstrip()


def _type_name(annotation: Any) -> str:
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, __import__("types").UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + " or none"
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"table of {_type_name(args[1])}"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
            annotation.__name__, f"table ({annotation.__name__})"
        )
    return str(annotation)
