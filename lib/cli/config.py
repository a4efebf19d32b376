"""``python -m lib config``: check the config file, show the effective config, print the reference.

python -m lib config [check] [--json]   validate .claude/hooks.toml (and the CLAUDE_HOOKS_* overrides)
python -m lib config show               the effective config (defaults filled in) as JSON
python -m lib config reference [--json] every key: type, default, meaning (Markdown, or JSON)
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TypedDict

from lib.cli._command import Command
from lib.cli._state import add_json_option
from lib.paths import resolve_paths


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=["check", "show", "reference"],
        nargs="?",
        default="check",
        help="what to do (default: check)",
    )


def run(args: argparse.Namespace) -> int:
    """Validate (check), print the effective config as JSON (show), or the Markdown reference."""
    from lib.config import ConfigError, read_config_file, validate_config

    if args.action == "reference":
        print(json.dumps(reference_entries(), indent=2) if args.json else reference())
        return 0
    paths = resolve_paths(args.project)
    exists = _exists(paths.config_file)
    try:
        config = validate_config(read_config_file(paths.config_file), paths.config_file)
    except ConfigError as exc:
        if args.json:
            print(
                json.dumps({"file": paths.config_file, "exists": exists, "valid": False, "error": str(exc)})
            )
        else:
            from lib.cli._terminal import escape

            print(f"error: {escape(exc)}")
        return 1
    if args.action == "show":
        print(json.dumps(config, indent=2))
    elif args.json:
        print(json.dumps({"file": paths.config_file, "exists": exists, "valid": True, "error": None}))
    else:
        print(f"ok: {paths.config_file}" + ("" if exists else " (absent: defaults)"))
    return 0


def _exists(path: str) -> bool:
    import os

    return os.path.exists(path)


class ReferenceKey(TypedDict):
    """One key of a config section in the reference."""

    key: str
    type: str
    default: object
    meaning: str


class ReferenceSection(TypedDict):
    """One ``[section]`` of ``.claude/hooks.toml`` in the reference."""

    section: str
    description: str
    keys: list[ReferenceKey]


def reference_entries() -> list[ReferenceSection]:
    """Every section of ``.claude/hooks.toml``: its description and its keys (type, default, meaning)."""
    from pydantic import BaseModel

    from lib.config_models import HooksConfig

    sections: list[ReferenceSection] = []
    for section, field in HooksConfig.model_fields.items():
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        keys: list[ReferenceKey] = []
        for key, f in model.model_fields.items():
            default = f.get_default(call_default_factory=True)
            if isinstance(default, BaseModel):
                default = default.model_dump()
            keys.append(
                {
                    "key": key,
                    "type": _type_name(f.annotation),
                    "default": default,
                    "meaning": f.description or "",
                }
            )
        sections.append({"section": section, "description": (model.__doc__ or "").strip(), "keys": keys})
    return sections


def reference() -> str:
    """A Markdown table per section: key, type, default, meaning."""
    lines: list[str] = []
    for section in reference_entries():
        lines += [
            f"`[{section['section']}]` {section['description']}",
            "",
            "| key | type | default | meaning |",
            "|---|---|---|---|",
        ]
        for entry in section["keys"]:
            lines.append(
                f"| `{entry['key']}` | {entry['type']} | `{json.dumps(entry['default'])}` | {entry['meaning']} |"
            )
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


COMMAND = Command(
    help="check or show .claude/hooks.toml",
    description="Validate the project's .claude/hooks.toml (with the CLAUDE_HOOKS_* environment\n"
    "overrides), show the effective config, or print the reference of every key.",
    options=(_options, add_json_option),
    formatter_class=argparse.RawDescriptionHelpFormatter,
    epilog="actions:\n"
    "  check      validate the file; exit 1 with the file, the key and the fix when invalid (default)\n"
    "  show       print the effective config, defaults filled in, as JSON\n"
    "  reference  print every section and key with its type, default and meaning",
)
