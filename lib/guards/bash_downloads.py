"""Bash guard rule ``pipe-to-shell``: code downloaded from the network and run (``curl ... | sh``,
``bash <(curl ...)``, ``eval "$(wget ...)"``, ``wget -O x.sh URL && sh x.sh``).

Loaded by :mod:`lib.guards.bash_policy` only when a command line runs a downloader (``curl``,
``wget``, ...); an allowlisted download is trusted.
"""

from __future__ import annotations

from lib.guards.locations import normalize
from lib.guards.shell_effects import DOWNLOADERS, file_effects, runs_stdin, runs_substituted_code

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
                    if runs_stdin(c):
                        line.add("pipe-to-shell", f"output of a download piped into {c.name}", c)
    downloaded: set[str] = set()
    for c in line.parsed.commands:
        if c.name in DOWNLOADERS and not line.allowed(c):
            for op, arg in file_effects(c):
                if op == "write" and (p := normalize(arg.value, c.cwd)):
                    downloaded.add(p)
        for s in c.substitutions:
            if _download(line, s) and runs_substituted_code(c):
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
