"""What the shell parser and its rarely used helpers share: word-part kinds, name characters, the
expanded word :class:`Arg`, the wrapper table and the argv helpers for ``echo``, ``find`` and options.

:mod:`lib.guards.shell_parse` and the modules it imports on demand (:mod:`~lib.guards.shell_braces`,
:mod:`~lib.guards.shell_wrappers`, :mod:`~lib.guards.shell_nested`) all import from here, so none of
them imports the other back (no import circle). Stdlib only; no I/O.
"""

from __future__ import annotations

__all__ = [
    "ARITH",
    "CMD",
    "FIND_NARROWING",
    "LIT",
    "NAME_CHARS",
    "NAME_START",
    "PROC",
    "SPECIAL",
    "TILDE",
    "TILDE_CHARS",
    "VAR",
    "WRAPPERS",
    "Arg",
    "assignment_prefix",
    "echo_text",
    "find_is_narrowed",
    "find_start_paths",
    "has_glob",
    "name_end",
    "sh_quote",
    "skip_options",
    "span",
]

#: Kinds of word parts (:class:`lib.guards.shell_parse.Word`).
LIT, VAR, CMD, PROC, ARITH, TILDE, SPECIAL = range(7)

NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
NAME_CHARS = NAME_START | frozenset("0123456789")
TILDE_CHARS = NAME_CHARS | frozenset(".+-")
_QUOTE_SAFE = NAME_CHARS | frozenset("./:=@%+,-")


def sh_quote(value: str) -> str:
    """``value`` as one shell word: as it is when it needs no quoting, else single-quoted."""
    if value and all(c in _QUOTE_SAFE for c in value):
        return value
    return "'" + value.replace("'", "'\\''") + "'"


def has_glob(text: str) -> bool:
    """True when ``text`` has glob characters."""
    return "*" in text or "?" in text or "[" in text


def span(s: str, i: int, chars: frozenset[str]) -> int:
    """The index after the run of ``chars`` starting at ``i``."""
    n = len(s)
    while i < n and s[i] in chars:
        i += 1
    return i


def name_end(s: str, i: int) -> int:
    """The index after a shell variable name starting at ``i`` (``i`` itself when there is none)."""
    if i >= len(s) or s[i] not in NAME_START:
        return i
    return span(s, i + 1, NAME_CHARS)


def skip_options(
    words: list[str],
    i: int,
    with_value: frozenset[str],
    *,
    dashdash_ends: bool = True,
    dash_is_operand: bool = False,
) -> int:
    """The index of the first operand at or after ``i`` (past the end when there is none): words that
    start with ``-`` are options, those in ``with_value`` take the next word as their value; ``--`` ends
    the options when ``dashdash_ends`` (else it is one more option), ``-`` alone is an operand when
    ``dash_is_operand``."""
    n = len(words)
    while i < n:
        v = words[i]
        if dashdash_ends and v == "--":
            return i + 1
        if v in with_value:
            i += 2
        elif v.startswith("-") and not (dash_is_operand and v == "-"):
            i += 1
        else:
            break
    return i


def assignment_prefix(text: str) -> tuple[str, int] | None:
    """``NAME=``, ``NAME+=`` or ``NAME[idx]=`` at the start of ``text``: (NAME, index after ``=``)."""
    j = name_end(text, 0)
    if j == 0:
        return None
    name = text[:j]
    if text.startswith("[", j):
        k = text.find("]", j)
        if k < 0:
            return None
        j = k + 1
    if text.startswith("+=", j):
        return name, j + 2
    if text.startswith("=", j):
        return name, j + 1
    return None


class Arg:
    """One expanded word.

    ``value`` is the text after quote removal and the expansions we could resolve; unknown ones stay
    as ``$NAME``/``$(...)`` and set ``dynamic``. ``if_empty`` is the value if every unknown,
    unguarded variable in the word were empty (``None`` when not dynamic or when a ``${X:?}`` guard
    would abort the command first). ``glob`` is true when the word has unquoted ``*``/``?``/``[``.
    """

    __slots__ = ("dynamic", "glob", "if_empty", "value")

    def __init__(
        self, value: str, dynamic: bool = False, glob: bool = False, if_empty: str | None = None
    ) -> None:
        self.value = value
        self.dynamic = dynamic
        self.glob = glob
        self.if_empty = if_empty

    def __repr__(self) -> str:
        flags = "".join(f for f, on in (("~", self.dynamic), ("*", self.glob)) if on)
        return f"Arg({self.value!r}{flags and ' ' + flags})"

    def __str__(self) -> str:
        return self.value


def echo_text(name: str, words: list[Arg]) -> str:
    """What ``echo``/``printf`` (``name``) with literal arguments ``words`` (argv[0] included) prints,
    approximately."""
    args = [a.value for a in words[1:]]
    if name == "printf":
        if not args:
            return ""
        fmt, rest = args[0], args[1:]
        text = fmt.replace("\\n", "\n")
        if "%s" in text and rest:
            return text.replace("%s", " ".join(rest), 1)
        return text
    while args and args[0] in ("-n", "-e", "-E", "-ne", "-en"):
        args = args[1:]
    return " ".join(args) + "\n"


# name -> (options taking a value, long options taking a value, number of positional args to skip)
WRAPPERS: dict[str, tuple[str, tuple[str, ...], int]] = {
    "sudo": (
        "uUgCDhpprtT",
        (
            "--user",
            "--group",
            "--close-from",
            "--chdir",
            "--host",
            "--prompt",
            "--role",
            "--type",
            "--command-timeout",
            "--other-user",
        ),
        0,
    ),
    "doas": ("uC", (), 0),
    "pkexec": ("", ("--user",), 0),
    "run0": (
        "uDg",
        (
            "--user",
            "--chdir",
            "--group",
            "--unit",
            "--description",
            "--property",
            "--setenv",
            "--nice",
            "--machine",
        ),
        0,
    ),
    "env": (
        "uCS",
        ("--unset", "--chdir", "--split-string", "--block-signal", "--default-signal", "--ignore-signal"),
        0,
    ),
    "command": ("", (), 0),
    "busybox": ("", ("--install",), 0),  # multi-call binaries: ``busybox rm -rf x`` runs ``rm``
    "toybox": ("", (), 0),
    "builtin": ("", (), 0),
    "exec": ("a", (), 0),
    "nice": ("n", ("--adjustment",), 0),
    "ionice": ("cnpPtu", ("--class", "--classdata", "--pid", "--pgid", "--uid"), 0),
    "nohup": ("", (), 0),
    "time": ("fo", ("--format", "--output"), 0),
    "timeout": ("sk", ("--signal", "--kill-after"), 1),
    "stdbuf": ("ioe", ("--input", "--output", "--error"), 0),
    "setsid": ("", (), 0),
    "chrt": ("T", ("--sched-runtime", "--sched-deadline", "--sched-period"), 1),
    "taskset": ("", (), 1),
    "unbuffer": ("p", (), 0),
    "caffeinate": ("tw", (), 0),
    "chronic": ("", (), 0),
    "catchsegv": ("", (), 0),
    "proxychains": ("f", (), 0),
    "proxychains4": ("f", (), 0),
    "torsocks": ("uaP", (), 0),
    "firejail": ("", (), 0),
    "chroot": ("", ("--userspec", "--groups"), 1),  # chroot NEWROOT COMMAND...
    "unshare": ("SGRw", ("--setuid", "--setgid", "--root", "--wd"), 0),
    "nsenter": ("tSGrw", ("--target", "--setuid", "--setgid", "--root", "--wd"), 0),
    "setpriv": ("", ("--reuid", "--regid", "--groups", "--inh-caps", "--bounding-set", "--securebits"), 0),
    "numactl": ("CNmpiP", ("--physcpubind", "--cpunodebind", "--membind", "--preferred", "--interleave"), 0),
    "prlimit": ("p", ("--pid",), 0),
    "cgexec": ("g", (), 0),
    "fakeroot": ("ils", (), 0),
    "systemd-run": (
        "pEuMH",
        (
            "--unit",
            "--property",
            "--description",
            "--setenv",
            "--uid",
            "--gid",
            "--working-directory",
            "--machine",
            "--host",
            "--slice",
        ),
        0,
    ),
}


FIND_NARROWING = frozenset(
    {
        "-name", "-iname", "-path", "-ipath", "-wholename", "-iwholename", "-regex", "-iregex",
        "-lname", "-ilname", "-newer", "-mtime", "-mmin", "-atime", "-amin", "-ctime", "-cmin",
        "-size", "-user", "-group", "-perm", "-inum", "-samefile", "-links", "-uid", "-gid",
        "-newermt", "-empty",
    }
)  # fmt: skip


def find_start_paths(args: list[Arg]) -> list[Arg]:
    """The start paths of a ``find`` command (``.`` when none are given)."""
    paths: list[Arg] = []
    i = 1
    while i < len(args) and args[i].value in ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3", "-D"):
        i += 2 if args[i].value == "-D" else 1
    for a in args[i:]:
        v = a.value
        if v.startswith("-") or v in ("(", "!", ")", ","):
            break
        paths.append(a)
    return paths or [Arg(".")]


def find_is_narrowed(args: list[Arg]) -> bool:
    """True when a ``find`` expression filters by name, path, time, size, ... (not just -type)."""
    return any(a.value in FIND_NARROWING for a in args[1:])
