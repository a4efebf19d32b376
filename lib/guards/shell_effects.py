"""What a parsed shell command does to files: reads, writes, deletes, lists, sources, executes.

    for op, arg in file_effects(cmd):  # cmd: lib.guards.shell_parse.Command
        ...

Operations: ``read`` (content reaches the output or another program: ``cat``, ``grep``, ``cp``
sources, ``curl -d @file``, ``< file``), ``write`` (``>``, ``tee``, ``cp`` destination, ``sed -i``,
editors), ``delete`` (``rm``, ``mv`` sources, ``shred``, ``truncate``), ``modify`` (``chmod``,
``chown``), ``list`` (names or metadata only: ``ls``, ``find``, ``stat``), ``source`` (``source``,
``.``), ``exec`` (a script run by a shell or interpreter, ``./script``) and ``use`` (a path handed to
a program we do not know, or as a key/config file: ``ssh -i key``, ``--env-file .env``).
:func:`runs_stdin` and :func:`runs_substituted_code` tell when a command runs the text it is given as
code (``| sh``, ``eval "$(...)"``), for the rules that look at where that text comes from.
"""

from __future__ import annotations

import posixpath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.guards.shell_parse import Arg, Command

__all__ = [
    "DOWNLOADERS",
    "SHELLS",
    "file_effects",
    "is_interpreter",
    "mode_and_targets",
    "positionals",
    "runs_stdin",
    "runs_substituted_code",
]

SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "rbash", "yash"})
INTERPRETERS = frozenset(
    {"python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php", "deno", "bun", "pypy", "pypy3", "lua",
     "Rscript", "tclsh", "osascript"}
)  # fmt: skip
DOWNLOADERS = frozenset(
    {"curl", "wget", "fetch", "aria2c", "http", "https", "xh", "lwp-request", "GET", "wget2"}
)

_READ_ALL = frozenset(
    {
        "cat", "tac", "nl", "less", "more", "most", "bat", "batcat", "view", "strings", "xxd", "hexdump",
        "hd", "od", "base64", "base32", "basenc", "uuencode", "zcat", "gzcat", "bzcat", "xzcat", "zstdcat",
        "zless", "zmore", "head", "tail", "sort", "uniq", "cut", "paste", "column", "fold", "fmt", "pr",
        "rev", "diff", "diff3", "sdiff", "cmp", "comm", "expand", "unexpand", "iconv", "gpg", "gpg2",
        "vimdiff", "colordiff", "icdiff", "delta", "pygmentize", "highlight", "enscript", "a2ps", "lp",
        "lpr", "xclip", "xsel", "pbcopy", "wl-copy", "clip", "tr", "look", "join", "split", "csplit",
        "shuf", "tsort", "yes", "envsubst", "mail", "mailx", "sendmail", "mutt", "unzip", "tar", "zip",
        "7z", "gzip", "bzip2", "xz", "zstd", "ssh-keygen", "keytool", "certutil", "age", "sops",
    }
)  # fmt: skip
_LIST = frozenset(
    {"ls", "ll", "la", "dir", "vdir", "tree", "du", "stat", "file", "wc", "md5sum", "sha1sum", "sha256sum",
     "sha512sum", "shasum", "cksum", "b2sum", "realpath", "readlink", "basename", "dirname", "test", "[",
     "[[", "exa", "eza", "lsd", "namei", "getfacl", "lsattr", "fd", "fdfind", "locate", "df", "mkdir",
     "touch", "cd", "pushd", "echo", "printf", "true", "false", "which", "type", "command", "whereis"}
)  # fmt: skip
_PATTERN_FIRST = frozenset(
    {"grep", "egrep", "fgrep", "zgrep", "rg", "ag", "ack", "ack-grep", "pcregrep", "git-grep"}
)
_EDITORS = frozenset(
    {"vi", "vim", "nvim", "nano", "pico", "emacs", "emacsclient", "ed", "ex", "code", "subl", "gedit", "kate",
     "micro", "joe", "mcedit", "hx", "helix", "kak", "vis", "jed", "ne", "mg", "zile", "sensible-editor",
     "editor", "xdg-open", "open"}
)  # fmt: skip
_DELETERS = frozenset({"rm", "unlink", "shred", "srm", "wipe", "rmdir", "truncate"})
_MODIFIERS = frozenset({"chmod", "chown", "chgrp", "chattr", "setfacl", "xattr", "chflags"})
_COPIERS = frozenset({"cp", "install", "scp", "rsync", "ditto", "gcp", "pv", "sftp"})
# options whose value is a file the command reads / writes
_COPY_VALUE_OPTS = {
    "cp": frozenset({"-S", "--suffix"}),
    "install": frozenset({"-S", "--suffix", "-m", "--mode", "-o", "--owner", "-g", "--group"}),
    "scp": frozenset({"-i", "-P", "-F", "-l", "-c", "-o", "-J", "-S", "-D", "-X"}),
    "sftp": frozenset({"-i", "-P", "-F", "-l", "-c", "-o", "-J", "-S", "-D", "-B", "-R", "-b"}),
    "rsync": frozenset({"-e", "--rsh", "--exclude", "--include", "--filter", "-f", "--backup-dir", "--exclude-from",
                        "--files-from", "--password-file", "--log-file", "--chmod", "--chown", "-M", "--info"}),
}  # fmt: skip
_CURL_READ_OPTS = frozenset({"-T", "--upload-file", "-K", "--config", "--netrc-file"})
_CURL_USE_OPTS = frozenset({"--cacert", "--cert", "--key", "-E", "--capath", "--proxy-cacert", "--proxy-key"})
_CURL_DATA_OPTS = frozenset(
    {"-d", "--data", "--data-binary", "--data-ascii", "--data-urlencode", "--json", "-F", "--form"}
)


def is_interpreter(name: str) -> bool:
    """True for script interpreters (python, python3.12, perl, node, ...)."""
    return name in INTERPRETERS or (name.startswith("python") and name[6:].replace(".", "").isdigit())


def positionals(args: list[Arg], start: int = 1) -> list[Arg]:
    """Non-option arguments (everything after ``--`` counts)."""
    out: list[Arg] = []
    dashdash = False
    for a in args[start:]:
        v = a.value
        if not dashdash and v == "--":
            dashdash = True
            continue
        if not dashdash and v.startswith("-") and v != "-":
            continue
        out.append(a)
    return out


_MODE = r"[0-7]{1,4}|[ugoa]*(?:[-+=][rwxXstugo]*)+(?:,[ugoa]*(?:[-+=][rwxXstugo]*)+)*"
_MODIFIER_FLAGS = frozenset(
    {"-R", "-r", "-f", "-v", "-c", "-h", "-H", "-L", "-P", "--recursive", "--verbose", "--changes", "--silent",
     "--quiet", "--preserve-root", "--no-preserve-root", "--no-dereference", "--dereference"}
)  # fmt: skip


def runs_stdin(cmd: Command) -> bool:
    """True when ``cmd`` executes code read from its standard input."""
    name = cmd.name
    pos = positionals(cmd.args)
    if name in SHELLS or name == "busybox":
        values = [a.value for a in cmd.args[1:]]
        if "-n" in values:  # syntax check only: nothing runs
            return False
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


def runs_substituted_code(cmd: Command) -> bool:
    """``bash -c "$(curl ...)"``, ``bash <(curl ...)``, ``eval "$(curl ...)"``, ``source <(wget ...)``."""
    name = cmd.name
    if name == "eval":
        return True
    if name in ("source", "."):
        return True
    if name in SHELLS or is_interpreter(name):
        return any(a.dynamic for a in cmd.args[1:])
    return False


def mode_and_targets(args: list[Arg]) -> tuple[str, list[Arg]]:
    """``chmod``/``chown``/``chgrp``...: (mode or owner, target paths). A mode like ``-x`` is not an option."""
    mode = ""
    targets: list[Arg] = []
    have_mode = any(a.value.startswith("--reference") for a in args) or args[0].value.endswith(
        ("chattr", "setfacl")
    )
    dashdash = False
    for a in args[1:]:
        v = a.value
        if not dashdash and v == "--":
            dashdash = True
            continue
        if not dashdash and not have_mode and v in _MODIFIER_FLAGS:
            continue
        if not dashdash and (v.startswith("--") or (have_mode and v.startswith("-") and v != "-")):
            continue
        if (
            not dashdash
            and v.startswith("-")
            and not have_mode
            and not _is_mode(v)
            and all(ch in "RrfvchHLP" for ch in v[1:])
        ):
            continue
        if not have_mode:
            mode, have_mode = v, True
            continue
        targets.append(a)
    return mode, targets


def _is_mode(text: str) -> bool:
    """True for a chmod mode (``755``, ``u+x``, ``-x``); only asked of arguments starting with ``-``."""
    import re  # rare: a chmod/chown argument like -x before the mode

    return re.fullmatch(_MODE, text) is not None


def _remote(value: str) -> bool:
    """``host:path`` / ``user@host:path`` / URLs (scp, rsync)."""
    head = value.split("/", 1)[0]
    return ":" in head or "://" in value


def file_effects(cmd: Command) -> list[tuple[str, Arg]]:
    """Every file operation ``cmd`` performs, as (operation, argument) pairs."""
    out: list[tuple[str, Arg]] = []
    for r in cmd.redirects:
        if r.target is None or r.op in ("<<", "<<-", "<<<"):
            continue
        if r.writes:
            out.append(("write", r.target))
        elif r.reads:
            out.append(("read", r.target))
    args = cmd.args
    if not args:
        return out
    name = cmd.name
    if "/" in args[0].value and name not in SHELLS and not is_interpreter(name):
        out.append(("exec", args[0]))
    if name in _READ_ALL:
        op = "list" if name in ("tar", "unzip", "7z", "zip") and not _tar_extracts(args) else "read"
        out.extend((op, a) for a in positionals(args) if not a.value.startswith("+"))
    elif name in _LIST:
        out.extend(("list", a) for a in positionals(args))
    elif name == "find":
        from lib.guards.shell_words import find_start_paths

        out.extend(("list", a) for a in find_start_paths(args))
    elif name in _PATTERN_FIRST:
        out.extend(_pattern_first(args, ("-e", "--regexp"), ("-f", "--file")))
    elif name == "sed":
        effects = _pattern_first(args, ("-e", "--expression"), ("-f", "--file"))
        out.extend(effects)
        if any(
            a.value.startswith(("-i", "--in-place"))
            or (a.value.startswith("-") and not a.value.startswith("--") and "i" in a.value[1:])
            for a in args[1:]
        ):
            out.extend(("write", a) for op, a in effects if op == "read")
    elif name in ("awk", "gawk", "mawk", "nawk"):
        out.extend((op, a) for op, a in _pattern_first(args, (), ("-f", "--file")) if "=" not in a.value)
    elif name in _EDITORS:
        out.extend(("write", a) for a in positionals(args) if not a.value.startswith("+"))
    elif name in _DELETERS:
        skip_next = False
        for a in args[1:]:
            if skip_next:
                skip_next = False
                continue
            if name == "truncate" and a.value in ("-s", "--size", "-r", "--reference"):
                skip_next = True
                continue
            if a.value.startswith("-") and a.value != "-":
                continue
            out.append(("delete", a))
    elif name in _MODIFIERS:
        out.extend(("modify", a) for a in mode_and_targets(args)[1])
    elif name in _COPIERS or name in ("mv", "ln", "link", "cpio"):
        out.extend(_copy_effects(name, args))
    elif name == "tee":
        out.extend(("write", a) for a in positionals(args))
    elif name == "dd":
        for a in args[1:]:
            if a.value.startswith("if="):
                out.append(("read", _sub(a, 3)))
            elif a.value.startswith("of="):
                out.append(("write", _sub(a, 3)))
    elif name in ("source", "."):
        if len(args) > 1:
            out.append(("source", args[1]))
    elif name in ("curl", "wget", "wget2", "http", "https", "xh"):
        out.extend(_downloader_effects(name, args))
    elif name in ("openssl",):
        out.extend(
            _value_opts(
                args,
                {
                    "-in": "read",
                    "-out": "write",
                    "-inkey": "use",
                    "-key": "use",
                    "-kfile": "use",
                    "-passin": "use",
                    "-cert": "use",
                    "-CAfile": "use",
                    "-signkey": "use",
                },
            )
        )
    elif name in ("ssh", "scp", "sftp", "ssh-add", "ssh-copy-id"):
        out.extend(_value_opts(args, {"-i": "use", "-F": "use"}))
        if name == "ssh-add":
            out.extend(("use", a) for a in positionals(args))
    elif name in SHELLS or is_interpreter(name):
        out.extend(_interpreter_effects(name, args))
    elif name in (
        "git",
        "docker",
        "podman",
        "kubectl",
        "make",
        "npm",
        "yarn",
        "pnpm",
        "cargo",
        "go",
        "pip",
        "pip3",
        "uv",
        "poetry",
        "pytest",
        "jest",
        "env",
        "xargs",
        "sudo",
        "watch",
        "nohup",
        "time",
    ):
        out.extend(("use", a) for a in _option_values(args) if _pathlike(a.value))
    else:
        out.extend(("use", a) for a in _option_values(args) if _pathlike(a.value))
        out.extend(("use", a) for a in positionals(args) if _pathlike(a.value))
    return out


def _tar_extracts(args: list[Arg]) -> bool:
    first = args[1].value if len(args) > 1 else ""
    return first.startswith(("c", "-c", "--create", "a", "u", "r")) or "c" in first.lstrip("-")[:3]


def _sub(a: Arg, cut: int) -> Arg:
    from lib.guards.shell_words import Arg as ArgType

    return ArgType(a.value[cut:], a.dynamic, a.glob, a.if_empty[cut:] if a.if_empty else None)


def _pathlike(value: str) -> bool:
    if not value or value.startswith("-") or "://" in value:
        return False
    base = posixpath.basename(value.rstrip("/"))
    return "/" in value or base.startswith(".") or "." in base or value.startswith("~")


def _option_values(args: list[Arg]) -> list[Arg]:
    """Values given as ``--opt=value`` or after an option (``--env-file .env``)."""
    from lib.guards.shell_words import Arg as ArgType

    out: list[Arg] = []
    for i, a in enumerate(args[1:], 1):
        v = a.value
        if v.startswith("--") and "=" in v:
            out.append(ArgType(v.partition("=")[2], a.dynamic, a.glob, None))
        elif v.startswith("-") and i + 1 < len(args) and not args[i + 1].value.startswith("-"):
            out.append(args[i + 1])
    return out


def _pattern_first(
    args: list[Arg], pattern_opts: tuple[str, ...], file_opts: tuple[str, ...]
) -> list[tuple[str, Arg]]:
    """grep/sed/awk: the first positional is the pattern/script unless given by option."""
    out: list[tuple[str, Arg]] = []
    given = False
    pos: list[Arg] = []
    i = 1
    dashdash = False
    while i < len(args):
        v = args[i].value
        if not dashdash and v == "--":
            dashdash = True
        elif not dashdash and (
            v in pattern_opts or any(v.startswith(o + "=") for o in pattern_opts if o.startswith("--"))
        ):
            given = True
            i += 0 if "=" in v else 1
        elif not dashdash and (
            v in file_opts or any(v.startswith(o + "=") for o in file_opts if o.startswith("--"))
        ):
            given = True
            if "=" in v:
                out.append(("read", _sub(args[i], len(v.partition("=")[0]) + 1)))
            elif i + 1 < len(args):
                i += 1
                out.append(("read", args[i]))
        elif not dashdash and v.startswith("-") and v != "-":
            if v in (
                "-A",
                "-B",
                "-C",
                "-m",
                "--max-count",
                "-g",
                "--glob",
                "-t",
                "--type",
                "-T",
                "--type-not",
            ):
                i += 1
        else:
            pos.append(args[i])
        i += 1
    if not given:
        pos = pos[1:]
    out.extend(("read", a) for a in pos)
    return out


def _copy_effects(name: str, args: list[Arg]) -> list[tuple[str, Arg]]:
    out: list[tuple[str, Arg]] = []
    target: Arg | None = None
    pos: list[Arg] = []
    i = 1
    dashdash = False
    value_opts = _COPY_VALUE_OPTS.get(name, frozenset())
    while i < len(args):
        v = args[i].value
        if not dashdash and v == "--":
            dashdash = True
        elif not dashdash and v in ("-t", "--target-directory") and i + 1 < len(args):
            target = args[i + 1]
            i += 1
        elif not dashdash and v.startswith("--target-directory="):
            target = _sub(args[i], len("--target-directory="))
        elif not dashdash and v.startswith("-") and v != "-":
            if v in value_opts:
                i += 1
        else:
            pos.append(args[i])
        i += 1
    if target is None and pos and name not in ("pv",):
        target = pos.pop()
    if name == "pv":
        pos = [*pos, *([target] if target else [])]
        target = None
    source_op = "delete" if name == "mv" else "read"
    if name in ("ln", "link"):
        source_op = ""
    for a in pos:
        if source_op and not (name in ("scp", "rsync", "sftp") and _remote(a.value)):
            out.append((source_op, a))
    if target is not None and not (name in ("scp", "rsync", "sftp") and _remote(target.value)):
        out.append(("write", target))
    return out


#: Options of curl and wget whose next word is a file, with the operation done on it.
_DOWNLOAD_VALUE_OPS = {
    "curl": {"-o": "write", "--output": "write", **dict.fromkeys(_CURL_READ_OPTS, "read"),
             **dict.fromkeys(_CURL_USE_OPTS, "use")},
    "wget": {"-O": "write", "--output-document": "write", "--post-file": "read", "--body-file": "read",
             "-i": "read", "--input-file": "read"},
}  # fmt: skip
#: Options of curl and wget written together with their file (``-oFILE``, ``--post-file=FILE``).
_DOWNLOAD_ATTACHED = {
    "curl": (("-o", "write"),),
    "wget": (
        ("--output-document=", "write"),
        ("--post-file=", "read"),
        ("--body-file=", "read"),
        ("-O", "write"),
    ),
}


def _downloader_effects(name: str, args: list[Arg]) -> list[tuple[str, Arg]]:
    out: list[tuple[str, Arg]] = []
    tool = "curl" if name == "curl" else "wget"
    value_ops, attached = _DOWNLOAD_VALUE_OPS[tool], _DOWNLOAD_ATTACHED[tool]
    i = 1
    while i < len(args):
        v = args[i].value
        nxt = args[i + 1] if i + 1 < len(args) else None
        op = value_ops.get(v)
        if op is not None and nxt is not None:
            out.append((op, nxt))
            i += 2
            continue
        if tool == "curl" and v in _CURL_DATA_OPTS and nxt is not None:
            data = nxt.value
            at = data.find("@") if v not in ("-F", "--form") else max(data.find("=@"), data.find("=<"))
            if v in ("-F", "--form") and at >= 0:
                out.append(("read", _sub(nxt, at + 2)))
            elif at >= 0 and (at == 0 or v == "--data-urlencode"):
                out.append(("read", _sub(nxt, at + 1)))
            i += 2
            continue
        for prefix, op in attached:
            if v.startswith(prefix) and len(v) > len(prefix):
                out.append((op, _sub(args[i], len(prefix))))
                break
        i += 1
    return out


def _value_opts(args: list[Arg], table: dict[str, str]) -> list[tuple[str, Arg]]:
    out: list[tuple[str, Arg]] = []
    for i, a in enumerate(args[1:], 1):
        op = table.get(a.value)
        if op and i + 1 < len(args):
            out.append((op, args[i + 1]))
        elif (
            a.value.startswith("-i") and "-i" in table and len(a.value) > 2 and args[0].value.endswith("ssh")
        ):
            out.append((table["-i"], _sub(a, 2)))
    return out


def _interpreter_effects(name: str, args: list[Arg]) -> list[tuple[str, Arg]]:
    """``bash script.sh args`` / ``python x.py args``: the script is executed, other paths used."""
    out: list[tuple[str, Arg]] = []
    i = 1
    while i < len(args):
        v = args[i].value
        if v in ("-c", "-e", "-E", "--eval", "-m", "-p", "--print", "-r"):
            return out  # inline code or a module: no script file
        if v.startswith("-") and len(v) > 1 and v[1] != "-" and v[-1] in "ce" and name not in SHELLS:
            return out
        if v.startswith("-") and name in SHELLS and "c" in v[1:] and not v.startswith("--"):
            return out
        if v in ("-o", "+o", "-O", "+O", "-W", "-X") and name in (*SHELLS, "python", "python3"):
            i += 2
            continue
        if v.startswith("-") and v != "-":
            i += 1
            continue
        out.append(("exec", args[i]))
        out.extend(("use", a) for a in args[i + 1 :] if _pathlike(a.value))
        return out
    return out
