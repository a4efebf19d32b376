"""Bash guard rules for commands that delete or move files away: ``rm`` (and ``unlink``, ``shred``,
``srm``, ``wipe``), ``mv``, ``rsync --delete`` and ``find -delete``/``-exec rm``.

Loaded by :mod:`lib.guards.bash_policy` the first time a command line runs one of these commands.
Rules: ``rm-*``, ``sudo-rm``, ``disk-write`` (``shred``/``mv`` onto a device); see ``RULES`` there.
"""

from __future__ import annotations

import posixpath

from lib.guards.locations import (
    ANCESTOR,
    GIT,
    HOME,
    HOME_CRITICAL,
    OUTSIDE,
    PROJECT,
    ROOT,
    SYSTEM,
    SYSTEM_SUB,
    UNKNOWN,
    glob_target,
    is_block_device,
    normalize,
)
from lib.guards.shell_effects import positionals
from lib.guards.shell_parse import find_is_narrowed, find_start_paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.guards.bash_rules import LineCheck
    from lib.guards.shell_parse import Arg, Command

__all__ = ["judge"]

#: What deleting (recursively) a place of each class is, as a rule id.
_BROAD = {ROOT: "rm-root", SYSTEM: "rm-system", HOME: "rm-home", ANCESTOR: "rm-ancestor", PROJECT: "rm-project-root",
          GIT: "rm-git-dir", HOME_CRITICAL: "rm-home-critical"}  # fmt: skip


def judge(line: LineCheck, cmd: Command) -> None:
    """Add the findings of the deletion rules for ``cmd``."""
    name = cmd.name
    if name == "mv":
        _mv(line, cmd)
    elif name == "rsync":
        _rsync(line, cmd)
    elif name == "find":
        _find(line, cmd)
    else:
        _rm(line, cmd)


def _delete_target(
    line: LineCheck, cmd: Command, arg: Arg, recursive: bool, verb: str, *, broad_only: bool = False
) -> None:
    """Check one path that ``cmd`` deletes (or moves away)."""
    value = arg.value
    if arg.dynamic and recursive and arg.if_empty is not None and arg.if_empty != value:
        cls_e, _ = line.places.classify_arg(arg.if_empty, cmd.cwd, glob=arg.glob or "*" in arg.if_empty)
        if arg.if_empty.startswith("/") and cls_e in (ROOT, SYSTEM, HOME, ANCESTOR, HOME_CRITICAL):
            line.add("rm-empty-var", f"{value} becomes {arg.if_empty} when the variable is empty", cmd)
    if arg.dynamic and (value.startswith("$") or "$(" in value or value.startswith("~")):
        return  # unknown location: only the empty-variable case above can be judged
    everything = arg.glob and glob_target(value)[1]
    cls, path = line.places.classify_arg(value, cmd.cwd, glob=arg.glob)
    if cls == UNKNOWN and path is None:
        if (recursive or everything) and value.rstrip("/") in (
            ".",
            "..",
            "*",
            "./*",
            "../*",
            ".*",
            "./.*",
        ):
            line.add("rm-unresolved", f"{verb} {value} in an unknown directory", cmd)
        return
    shown = path or value
    if recursive or everything:
        if cls in _BROAD:
            line.add(_BROAD[cls], f"{verb} {shown}", cmd)
        elif not broad_only and cls == OUTSIDE:
            line.add("rm-outside-project", f"{verb} {shown}", cmd)
        elif not broad_only and cls == SYSTEM_SUB:
            line.add("rm-system-path", f"{verb} {shown}", cmd)
    elif not broad_only:
        if cls in (SYSTEM, SYSTEM_SUB, ROOT):
            line.add("rm-system-path", f"{verb} {shown}", cmd)
        elif cls == HOME_CRITICAL:
            line.add("rm-home-critical", f"{verb} {shown}", cmd)


def _rm(line: LineCheck, cmd: Command) -> None:
    recursive = no_preserve = False
    targets: list[Arg] = []
    dashdash = False
    for a in cmd.args[1:]:
        v = a.value
        if not dashdash and v == "--":
            dashdash = True
        elif not dashdash and v.startswith("--"):
            recursive = recursive or v in ("--recursive", "--dir")
            no_preserve = no_preserve or v == "--no-preserve-root"
        elif not dashdash and v.startswith("-") and len(v) > 1:
            recursive = recursive or "r" in v or "R" in v
        else:
            targets.append(a)
    if cmd.name in ("shred", "srm", "wipe"):
        recursive = recursive or cmd.name != "shred"
    for t in targets:
        if cmd.name == "shred" and is_block_device(normalize(t.value, cmd.cwd) or ""):
            line.add("disk-write", f"shred {t.value}", cmd)
        _delete_target(line, cmd, t, recursive, "shreds" if cmd.name == "shred" else "deletes")
    if no_preserve:
        line.add("rm-no-preserve-root", "rm --no-preserve-root", cmd)
    if cmd.elevated and cmd.name in ("rm", "unlink", "shred", "srm"):
        line.add("sudo-rm", f"{' '.join(cmd.wrappers) or 'sudo'} {cmd.name}", cmd)


def _mv(line: LineCheck, cmd: Command) -> None:
    pos = positionals(cmd.args)
    target_dir = next((a for a in cmd.args if a.value.startswith("--target-directory=")), None)
    sources = pos if target_dir or any(a.value == "-t" for a in cmd.args) else pos[:-1]
    for s in sources:
        _delete_target(line, cmd, s, True, "moves away", broad_only=True)
    if pos and is_block_device(normalize(pos[-1].value, cmd.cwd) or ""):
        line.add("disk-write", f"mv to {pos[-1].value}", cmd)


def _rsync(line: LineCheck, cmd: Command) -> None:
    if not any(a.value.startswith("--delete") or a.value in ("--remove-source-files",) for a in cmd.args):
        return
    pos = [a for a in positionals(cmd.args) if ":" not in a.value.split("/", 1)[0]]
    if len(pos) >= 2:
        _delete_target(line, cmd, pos[-1], True, "rsync --delete empties")


def _find(line: LineCheck, cmd: Command) -> None:
    values = [a.value for a in cmd.args]
    deletes = "-delete" in values or any(
        v in ("-exec", "-execdir", "-ok", "-okdir") and i + 1 < len(values)
        and posixpath.basename(values[i + 1]) in ("rm", "shred", "unlink", "srm")
        for i, v in enumerate(values)
    )  # fmt: skip
    if not deletes:
        return
    narrowed = find_is_narrowed(cmd.args)
    for start in find_start_paths(cmd.args):
        if not narrowed:
            _delete_target(line, cmd, start, True, "find -delete empties")
        else:
            cls, path = line.places.classify_arg(start.value, cmd.cwd)
            if cls in (ROOT, SYSTEM, HOME_CRITICAL):
                line.add("rm-system-path", f"find {path} ... -delete", cmd)
