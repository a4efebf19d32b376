"""Bash guard rules for commands that harm the machine rather than files: permission and owner
changes (``chmod``/``chown``/``chgrp``), disk tools (``mkfs``, ``fdisk``, ``wipefs``, ...), killing
every process, power (``shutdown``, ``systemctl reboot``, ...) and ``crontab``.

Loaded by :mod:`lib.guards.bash_policy` the first time a command line runs one of these commands.
"""

from __future__ import annotations

from lib.guards.locations import ANCESTOR, HOME, HOME_CRITICAL, ROOT, SYSTEM, is_block_device, normalize
from lib.guards.shell_effects import mode_and_targets, positionals

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.guards.bash_rules import LineCheck
    from lib.guards.shell_parse import Command

__all__ = ["judge"]

_WORLD_MODE = r"0?[0-7]?[0-7][0-7][2367]|.*(?:[ao]|^)[+=][rwxXst]*w.*"
_KILLERS = ("kill", "pkill", "killall", "killall5")
_POWER = ("shutdown", "reboot", "halt", "poweroff", "init", "telinit", "systemctl", "loginctl", "launchctl")


def judge(line: LineCheck, cmd: Command) -> None:
    """Add the findings of the permission, disk, process, power and cron rules for ``cmd``."""
    name = cmd.name
    if name in ("chmod", "chown", "chgrp"):
        _chmod(line, cmd)
    elif name in _KILLERS:
        _kill(line, cmd)
    elif name in _POWER:
        _power(line, cmd)
    elif name == "crontab":
        _crontab(line, cmd)
    else:
        _disk(line, cmd)


def _chmod(line: LineCheck, cmd: Command) -> None:
    args = cmd.args[1:]
    mode, targets = mode_and_targets(cmd.args)
    recursive = any(
        a.value in ("-R", "--recursive") or (a.value.startswith("-") and not a.value.startswith("--")
                                             and a.value != mode and "R" in a.value)
        for a in args
    )  # fmt: skip
    for t in targets:
        if t.dynamic and t.value.startswith("$"):
            continue
        cls, path = line.places.classify_arg(t.value, cmd.cwd, glob=t.glob)
        if cls in (ROOT, SYSTEM, HOME, ANCESTOR) or (recursive and cls == HOME_CRITICAL):
            line.add(
                "chmod-broad",
                f"{cmd.name}{' -R' if recursive else ''} {mode} {path}".replace("  ", " "),
                cmd,
            )
        elif recursive and cmd.name == "chmod" and _world_writable(mode):
            line.add("chmod-world-writable", f"chmod -R {mode} {path or t.value}", cmd)


def _disk(line: LineCheck, cmd: Command) -> None:
    name = cmd.name
    argv = cmd.argv
    if name.startswith(("mkfs", "mke2fs", "mkswap", "newfs", "mkntfs", "mkdosfs", "mke2fs")):
        targets = [a for a in positionals(cmd.args) if not a.value.isdigit()]
        dev = targets[-1].value if targets else ""
        path = normalize(dev, cmd.cwd) or dev
        if not dev or is_block_device(path) or dev.startswith("/dev/") or targets[-1].dynamic:
            line.add("disk-write", f"{name} {dev}".strip(), cmd)
    elif name in ("fdisk", "sfdisk", "cfdisk", "gdisk", "cgdisk"):
        if not any(
            a in ("-l", "--list", "-s", "--show-size", "-d", "--dump", "-V", "--verify") for a in argv[1:]
        ):
            line.add("disk-write", f"{name} {' '.join(argv[1:])}", cmd)
    elif name == "parted":
        if any(a in ("mklabel", "mkpart", "rm", "resizepart", "rescue", "mkfs", "mktable", "name", "set")
               for a in argv[1:]):  # fmt: skip
            line.add("disk-write", " ".join(argv), cmd)
    elif name == "sgdisk":
        if any(
            a.startswith(("-Z", "--zap", "-o", "--clear", "-n", "--new", "-d", "--delete", "-z"))
            for a in argv[1:]
        ):
            line.add("disk-write", " ".join(argv), cmd)
    elif name == "wipefs":
        if any(
            a in ("-a", "--all", "-o", "--offset") or (a.startswith("-") and "a" in a[1:]) for a in argv[1:]
        ):
            line.add("disk-write", " ".join(argv), cmd)
    elif name in ("blkdiscard", "zpool", "lvremove", "vgremove", "pvremove", "mdadm", "cryptsetup"):
        if (
            name == "blkdiscard"
            or (name == "zpool" and argv[1:2] in (["destroy"], ["labelclear"]))
            or (name in ("lvremove", "vgremove", "pvremove"))
            or (name == "mdadm" and "--zero-superblock" in argv)
            or (name == "cryptsetup" and argv[1:2] in (["luksFormat"], ["erase"], ["luksErase"]))
        ):
            line.add("disk-write", " ".join(argv), cmd)
    elif name == "diskutil" and len(argv) > 1 and argv[1] in (
        "eraseDisk", "eraseVolume", "partitionDisk", "zeroDisk", "randomDisk", "secureErase", "reformat",
        "eraseVolume", "apfs",
    ):  # fmt: skip
        if argv[1] != "apfs" or (len(argv) > 2 and argv[2].startswith(("delete", "erase"))):
            line.add("disk-write", " ".join(argv[:3]), cmd)
    elif name == "hdparm" and any("erase" in a or "trim-sector" in a or a == "--write-sector" for a in argv):
        line.add("disk-write", " ".join(argv), cmd)


def _kill(line: LineCheck, cmd: Command) -> None:
    name = cmd.name
    argv = cmd.argv
    if name == "killall5":
        line.add("kill-all", "killall5", cmd)
        return
    if name in ("pkill", "killall"):
        pos = [a for a in argv[1:] if not a.startswith("-")]
        users = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-u", "--user", "-U", "--uid")]
        if users and len(pos) <= len(users):
            line.add("kill-all", f"{name} every process of {', '.join(users)}", cmd)
        elif any(p in ("init", "systemd", "launchd") for p in pos):
            line.add("kill-all", f"{name} {' '.join(pos)}", cmd)
        return
    # kill [-s SIG | -SIG | -n N] pid...
    rest = argv[1:]
    pids: list[str] = []
    i = 0
    signal_seen = False
    while i < len(rest):
        v = rest[i]
        if v == "--":
            pids.extend(rest[i + 1 :])
            break
        if v in ("-s", "-n", "--signal"):
            i += 2
            signal_seen = True
            continue
        if v in ("-l", "-L", "--list", "--table"):
            return
        if v.startswith("-") and not signal_seen:
            signal_seen = True
            i += 1
            continue
        pids.append(v)
        i += 1
    if "-1" in pids or "1" in pids:
        line.add("kill-all", f"kill {' '.join(rest)}", cmd)


def _power(line: LineCheck, cmd: Command) -> None:
    name = cmd.name
    argv = cmd.argv
    if name in ("shutdown", "reboot", "halt", "poweroff"):
        if name == "shutdown" and "-c" in argv:
            return
        line.add("system-power", " ".join(argv), cmd)
    elif (
        (name in ("init", "telinit") and len(argv) > 1 and argv[1] in ("0", "6", "1", "s", "S"))
        or (
            name in ("systemctl", "loginctl")
            and any(
                a
                in (
                    "poweroff",
                    "reboot",
                    "halt",
                    "kexec",
                    "suspend",
                    "hibernate",
                    "hybrid-sleep",
                    "rescue",
                    "emergency",
                    "soft-reboot",
                    "suspend-then-hibernate",
                )
                for a in argv[1:]
            )
        )
        or (name == "launchctl" and "reboot" in argv)
    ):
        line.add("system-power", " ".join(argv), cmd)


def _crontab(line: LineCheck, cmd: Command) -> None:
    argv = cmd.argv
    if any(a in ("-r", "-ir", "-ri") for a in argv[1:]):
        line.add("rc-tamper", "crontab -r removes every cron job", cmd)
    elif "-e" in argv[1:]:
        line.add("rc-tamper", "crontab -e edits cron jobs", cmd)
    elif any(not a.startswith("-") or a == "-" for a in argv[1:]) and "-l" not in argv:
        line.add("rc-tamper", "installs a crontab", cmd)


def _world_writable(mode: str) -> bool:
    import re  # only for a recursive chmod

    return re.fullmatch(_WORLD_MODE, mode) is not None
