"""``${NAME}`` references to environment variables in config values (webhook URLs, tokens, headers),
resolved when they are used, so a secret needs to sit neither in ``.claude/hooks.toml`` nor in the
config cache nor in a log."""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["EnvRefError", "expand"]


class EnvRefError(ValueError):
    """A ``${NAME}`` that cannot be resolved; the message names the config key and the variable."""


def expand(value: str, where: str, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with every ``${NAME}`` replaced by the variable ``NAME`` (``where`` names the config
    key in the error, e.g. ``[notify] webhook_url``)."""
    env = os.environ if environ is None else environ
    out: list[str] = []
    rest = value
    while "${" in rest:
        before, _, after = rest.partition("${")
        name, closed, tail = after.partition("}")
        if not closed or not name:
            raise EnvRefError(f"{where}: unclosed or empty '${{...}}' in the value; write '${{NAME}}'")
        if name not in env:
            raise EnvRefError(
                f"{where} reads the environment variable {name}, which is not set; "
                f"export {name} where Claude Code starts"
            )
        out.extend((before, env[name]))
        rest = tail
    out.append(rest)
    return "".join(out)
