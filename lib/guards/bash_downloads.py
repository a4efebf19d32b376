"""Bash guard rule ``pipe-to-shell``: code downloaded from the network and run (``curl ... | sh``,
``bash <(curl ...)``, ``eval "$(wget ...)"``, ``wget -O x.sh URL && sh x.sh``).

Loaded by :mod:`lib.guards.bash_policy` only when a command line runs a downloader (``curl``,
``wget``, ...); an allowlisted download is trusted.
"""

from __future__ import annotations

import posixpath

from lib.guards.locations import normalize
from lib.guards.shell_effects import DOWNLOADERS, SHELLS, file_effects, is_interpreter, positionals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.guards.bash_rules import LineCheck
    from lib.guards.shell_parse import Command

__all__ = ["judge"]


def judge(line: LineCheck) -> None:
    """Add a finding for every downloaded code the command line runs."""
    for slots in line.parsed.pipelines().values():
        first_download: int | None = None
        for pos, cmds in enumerate(slots):
            if first_download is None and any(_download(line, c) for c in cmds):
                first_download = pos
            elif first_download is not None:
                for c in cmds:
                    if _runs_stdin(c):
                        line.add("pipe-to-shell", f"output of a download piped into {c.name}", c)
    downloaded: set[str] = set()
    for c in line.parsed.commands:
        if c.name in DOWNLOADERS and not line.allowed(c):
            for op, arg in file_effects(c):
                if op == "write" and (p := normalize(arg.value, c.cwd)):
                    downloaded.add(p)
        for s in c.substitutions:
            if _download(line, s) and _runs_code_from_substitution(c):
                line.add("pipe-to-shell", f"{c.name} runs code fetched by {s.name}", c)
                break
        if downloaded:
            for op, arg in file_effects(c):
                if op in ("exec", "source") and normalize(arg.value, c.cwd) in downloaded:
                    line.add("pipe-to-shell", f"runs the downloaded file {arg.value}", c)


def _download(line: LineCheck, cmd: Command) -> bool:
    return not line.allowed(cmd) and (
        cmd.name in DOWNLOADERS
        or any(s.name in DOWNLOADERS and not line.allowed(s) for s in cmd.substitutions)
    )


def _runs_stdin(cmd: Command) -> bool:
    """True when ``cmd`` executes code read from its standard input."""
    name = cmd.name
    pos = positionals(cmd.args)
    if name in SHELLS or name == "busybox":
        values = [a.value for a in cmd.args[1:]]
        if any(v.startswith("-") and not v.startswith("--") and "c" in v[1:] for v in values):
            return False
        return (
            not pos
            or pos[0].value in ("-", "/dev/stdin")
            or any(v.startswith("-") and "s" in v[1:] for v in values if not v.startswith("--"))
        )
    if is_interpreter(name):
        values = [a.value for a in cmd.args[1:]]
        if any(v in ("-c", "-e", "-E", "-m", "--eval", "-p", "-r") for v in values):
            return False
        return not pos or pos[0].value in ("-", "/dev/stdin")
    if name in ("source", ".", "eval"):
        return (bool(pos) and pos[0].value in ("/dev/stdin", "-")) or (name == "eval" and not pos)
    return (
        name == "xargs"
        and bool(cmd.args[1:])
        and any(posixpath.basename(a.value) in SHELLS for a in cmd.args[1:3])
    )


def _runs_code_from_substitution(cmd: Command) -> bool:
    """``bash -c "$(curl ...)"``, ``bash <(curl ...)``, ``eval "$(curl ...)"``, ``source <(wget ...)``."""
    name = cmd.name
    if name == "eval":
        return True
    if name in ("source", "."):
        return True
    if name in SHELLS or is_interpreter(name):
        return any(a.dynamic for a in cmd.args[1:])
    return False
