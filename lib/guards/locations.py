"""Where a path points, for the guards: the filesystem root, system directories, a home directory,
the project (its root, its ``.git``, inside it, a parent of it), a temp directory, or elsewhere.

Pure string logic on POSIX paths (no filesystem access); callers resolve symlinks first when they
need to (:func:`lib.guards.file_policy.evaluate_path` does).
"""

from __future__ import annotations

import posixpath

__all__ = [
    "ANCESTOR",
    "GIT",
    "HOME",
    "HOME_CRITICAL",
    "HOME_CRITICAL_NAMES",
    "HOME_SECRET_DIRS",
    "INSIDE",
    "OUTSIDE",
    "PROJECT",
    "ROOT",
    "SYSTEM",
    "SYSTEM_SUB",
    "TEMP",
    "UNKNOWN",
    "Places",
    "glob_target",
    "is_block_device",
    "is_harmless_device",
    "is_under",
    "normalize",
]

ROOT = "root"  # /
SYSTEM = "system"  # a top-level directory (/usr, /etc, /tmp, /mnt, ...) or one just below /usr, /var, ...
HOME = "home"  # a home directory itself: $HOME, /home/<user>, /Users/<user>, /root
ANCESTOR = "ancestor"  # a parent of the project or of the working directory
PROJECT = "project"  # the project root itself
GIT = "git"  # the project's .git directory itself
INSIDE = "inside"  # inside the project
TEMP = "temp"  # inside a temp directory
HOME_CRITICAL = "home-critical"  # ~/.ssh, ~/.gnupg, ~/.config, ... (or a file inside them)
SYSTEM_SUB = "system-sub"  # deeper inside a system directory (/etc/nginx/nginx.conf)
OUTSIDE = "outside"  # somewhere else, outside the project
UNKNOWN = "unknown"  # cannot tell (relative path, unknown working directory)

_SYSTEM_PARENTS = frozenset(
    {
        "/usr", "/var", "/etc", "/opt", "/System", "/Library", "/Applications", "/private", "/nix",
        "/snap", "/Volumes", "/mnt", "/media", "/boot", "/lib", "/lib32", "/lib64", "/libx32", "/bin",
        "/sbin", "/srv", "/run", "/sys", "/proc", "/dev", "/usr/local", "/private/var", "/home", "/Users",
    }
)  # fmt: skip
_SYSTEM_SUB_PREFIXES = (
    "/etc/", "/usr/", "/bin/", "/sbin/", "/lib/", "/lib32/", "/lib64/", "/libx32/", "/boot/", "/var/",
    "/opt/", "/System/", "/Library/", "/Applications/", "/private/", "/sys/", "/proc/", "/dev/",
    "/snap/", "/nix/", "/srv/", "/root/", "/run/",
)  # fmt: skip
_TEMP_PREFIXES = ("/tmp/", "/var/tmp/", "/private/tmp/", "/private/var/tmp/", "/dev/shm/", "/var/folders/",
                  "/private/var/folders/")  # fmt: skip
_HOME_PARENTS = ("/home", "/Users", "/var/home")
#: Directories in $HOME holding keys and credentials: anything inside them is critical.
HOME_SECRET_DIRS = frozenset({".ssh", ".gnupg", ".aws", ".azure", ".kube", ".password-store"})
#: Directories in $HOME whose loss hurts (the directory itself; what is inside may be fine to touch).
HOME_CRITICAL_NAMES = HOME_SECRET_DIRS | frozenset(
    {
        ".docker", ".config", ".local", ".gitconfig", ".mozilla", "Documents", "Desktop", "Pictures",
        "Music", "Videos", "Library", "Downloads", ".claude", "Dropbox", "go", "src", "projects",
        "code", "work", "dev", "repos", "git", "workspace",
    }
)  # fmt: skip

_DISK_LETTER = ("sd", "hd", "vd", "xvd")  # followed by a letter: /dev/sda
_DISK_NUMBER = ("nvme", "mmcblk", "rdisk", "disk", "md", "dm-", "loop", "sr", "nbd", "zram", "bcache", "drbd",
                "rbd", "zd", "fd")  # followed by a digit: /dev/nvme0n1  # fmt: skip
_RAW_MEMORY = frozenset({"mem", "kmem", "port", "root"})
_HARMLESS_NAMES = frozenset(
    {"null", "zero", "full", "random", "urandom", "stdin", "stdout", "stderr", "ptmx", "console"}
)


def normalize(path: str, cwd: str | None = None) -> str | None:
    """An absolute, normalised path (``..`` and ``.`` folded; no symlink resolution), or ``None``
    when ``path`` is relative and ``cwd`` is unknown. Windows backslashes become slashes."""
    if not path:
        return None
    if "\\" in path and (path[1:3] == ":\\" or path.startswith("\\\\")):
        path = path.replace("\\", "/")
    if not path.startswith("/"):
        if cwd is None or not cwd.startswith("/"):
            return None
        path = posixpath.join(cwd, path)
    out = posixpath.normpath(path)
    return "/" if out.startswith("//") and out.strip("/") == "" else ("/" + out.lstrip("/"))


def is_under(path: str, parent: str) -> bool:
    """True when ``path`` is strictly inside directory ``parent`` (both normalised)."""
    if parent == "/":
        return path != "/"
    return path.startswith(parent + "/")


def is_block_device(path: str) -> bool:
    """True for disk-like device nodes (/dev/sda, /dev/nvme0n1, /dev/disk2, /dev/mapper/x, /dev/mem)."""
    if not path.startswith("/dev/"):
        return False
    name = path[5:]
    if name.startswith(("mapper/", "ubd", "sysrq", "watchdog")) or name in _RAW_MEMORY:
        return True
    for prefix in _DISK_LETTER:
        if name.startswith(prefix) and name[len(prefix) : len(prefix) + 1].isalpha():
            return True
    return any(name.startswith(p) and name[len(p) : len(p) + 1].isdigit() for p in _DISK_NUMBER)


def is_harmless_device(path: str) -> bool:
    """True for /dev/null, /dev/stdout, /dev/tty, /dev/fd/N and the like."""
    if not path.startswith("/dev/"):
        return False
    name = path[5:]
    return name in _HARMLESS_NAMES or name.startswith(("tty", "pts/", "fd/", "shm/"))


def _all_match(component: str) -> bool:
    """True for a glob component made only of wildcards, dots and [sets] (``*``, ``.*``, ``[!.]*``)."""
    i = 0
    while i < len(component):
        c = component[i]
        if c == "[":
            j = component.find("]", i + 1)
            if j < 0:
                return False
            i = j + 1
        elif c in "*?.":
            i += 1
        else:
            return False
    return bool(component)


def glob_target(value: str) -> tuple[str, bool]:
    """Split a glob into the directory it works in and whether it matches *everything* there.

    ``/*`` -> ("/", True); ``~/x/.*`` -> ("~/x", True); ``build/*.o`` -> ("build/*.o", False).
    A glob whose last component is only wildcards and dots wipes the whole directory's contents,
    which the guards treat like deleting the directory itself.
    """
    stripped = value.rstrip("/") or "/"
    head, _, last = stripped.rpartition("/")
    everything = "*" in last and _all_match(last)
    if everything and not any(ch in head for ch in "*?["):
        if not head:
            head = "/" if stripped.startswith("/") else "."
        return head, True
    return value, False


class Places:
    """The reference points for classifying paths: home, project, working directory, temp dir."""

    __slots__ = ("cwd", "home", "project", "tmpdir")

    def __init__(
        self,
        *,
        home: str | None = None,
        project: str | None = None,
        cwd: str | None = None,
        tmpdir: str | None = None,
    ) -> None:
        self.home = normalize(home) if home else None
        self.project = normalize(project) if project else None
        self.cwd = normalize(cwd) if cwd else self.project
        tmp = normalize(tmpdir) if tmpdir else None
        self.tmpdir = tmp if tmp and tmp != "/" else None

    def is_home_root(self, path: str) -> bool:
        """True for a user's home directory itself."""
        if path == self.home or path == "/root":
            return True
        parent = posixpath.dirname(path)
        return parent in _HOME_PARENTS and path != parent

    def is_temp(self, path: str) -> bool:
        """True for paths strictly inside a temp directory."""
        if path.startswith(_TEMP_PREFIXES):
            return True
        return self.tmpdir is not None and is_under(path, self.tmpdir)

    def is_ancestor(self, path: str) -> bool:
        """True when ``path`` is a parent of the project or of the working directory."""
        return any(ref is not None and is_under(ref, path) for ref in (self.project, self.cwd))

    def inside_project(self, path: str) -> bool:
        """True for paths strictly inside the project."""
        return self.project is not None and is_under(path, self.project)

    def classify(self, path: str) -> str:
        """One of the constants above for a normalised absolute path."""
        if path == "/":
            return ROOT
        if self.project is not None and path == self.project:
            return PROJECT
        if self.is_home_root(path):
            return HOME
        if self.is_ancestor(path):
            return ANCESTOR
        parent = posixpath.dirname(path)
        if parent == "/" or parent in _SYSTEM_PARENTS:
            return SYSTEM
        if self.home is not None and is_under(path, self.home):
            rest = path[len(self.home) + 1 :]
            first = rest.split("/", 1)[0]
            if (rest == first and first in HOME_CRITICAL_NAMES) or first in HOME_SECRET_DIRS:
                return HOME_CRITICAL
        if self.inside_project(path):
            assert self.project is not None
            if path == self.project + "/.git":
                return GIT
            return INSIDE
        if self.is_temp(path):
            return TEMP
        if self.home is not None and is_under(path, self.home):
            return OUTSIDE if self.project is not None else UNKNOWN  # e.g. HOME=/root: not a system path
        if path.startswith(_SYSTEM_SUB_PREFIXES):
            return SYSTEM_SUB
        if self.project is None:
            return UNKNOWN
        return OUTSIDE

    def classify_arg(self, value: str, cwd: str | None, *, glob: bool = False) -> tuple[str, str | None]:
        """Classify a command-line path argument: returns (class, absolute path or None).

        ``cwd`` is the command's working directory (``None`` when unknown). A glob matching a whole
        directory's contents (``dir/*``) is classified as that directory.
        """
        if glob:
            value, _everything = glob_target(value)
        path = normalize(value, cwd)
        if path is None:
            return UNKNOWN, None
        return self.classify(path), path
