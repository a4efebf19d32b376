"""Commands hidden inside other commands, for the shell parser: what ``xargs`` runs (with its input),
what ``find -exec``/``-execdir``/``-ok`` runs (with ``{}`` filled in), the remote command of ``ssh``,
and the shell commands in interpreter code (``os.system``/``subprocess`` strings and argument lists,
``shutil.rmtree`` and other library deletes in ``python -c``, ``node -e``, ...).

Imported by :mod:`lib.guards.shell_parse` only when a command line runs ``xargs``, ``find -exec``,
``ssh`` or inline interpreter code. Pure functions of the arguments; the parser follows what they return.
"""

from __future__ import annotations

import posixpath
import re

from lib.guards.shell_words import (
    FIND_NARROWING,
    Arg,
    echo_text,
    find_is_narrowed,
    find_start_paths,
    has_glob,
    sh_quote,
    skip_options,
)

__all__ = [
    "awk_program",
    "embedded_argv_lists",
    "embedded_shell_strings",
    "find_exec_commands",
    "ssh_remote_command",
    "xargs_command",
]

_EMBEDDED_SHELL = r"""(?:\bos\.system|\bos\.popen|\bsubprocess\.(?:run|call|check_call|check_output|Popen|getoutput|getstatusoutput)
        |\bsystem|\bexec(?:Sync)?|\bspawnSync|\bshell_exec|\bpassthru)
        \s*\(?\s*(?:r|f|b)?("([^"\\]*(?:\\.[^"\\]*)*)"|'([^'\\]*(?:\\.[^'\\]*)*)')"""
_EMBEDDED_LIST = r"""\b(?:subprocess\.(?:run|call|check_call|check_output|Popen)|os\.exec\w*|spawn|execFile(?:Sync)?)\s*\(\s*
        [^\[\)]*?\[([^\]]{1,2000})\]"""
_EMBEDDED_DELETE = r"""\b(rmtree|remove_tree|rmSync|rm_rf|rm_r|remove|unlink|rmdir|unlinkSync)\s*\(\s*(?:r|f)?
        (?:"([^"\\]*)"|'([^'\\]*)')([^)]{0,80})"""
#: A delete call whose argument is the home directory or / written as code, not as a string:
#: ``shutil.rmtree(os.path.expanduser("~"))``, ``FileUtils.rm_rf(Dir.home)``, ``fs.rmSync(os.homedir())``.
_EMBEDDED_HOME_DELETE = r"""\b(?:rmtree|remove_tree|rmSync|rm_rf|rm_r|rmdir|rm)\s*\(\s*
        (?:os\.path\.expanduser\(\s*['"]~/?['"]\s*\)|(?:pathlib\.)?Path\.home\(\)|Dir\.home|(?:os|require\(['"]os['"]\))\.homedir\(\)
        |\$ENV\{\s*['"]?HOME['"]?\s*\}|os\.environ\[\s*['"]HOME['"]\s*\]|os\.getenv\(\s*['"]HOME['"]\s*\)|process\.env\.HOME
        |ENV\[\s*['"]HOME['"]\s*\]|Path\.home|File\.expand_path\(\s*['"]~['"]\s*\))"""
#: ssh's options that take a value (``ssh -p 22 host cmd``).
_SSH_WITH_VALUE = frozenset("-" + c for c in "BbcDEeFIiJLlmOoPpQRSWw")
_STRING_LITERAL = r"""'([^'\\]*(?:\\.[^'\\]*)*)'|"([^"\\]*(?:\\.[^"\\]*)*)\""""


def xargs_command(args: list[Arg], producer: tuple[str, list[Arg]] | None) -> list[Arg]:
    """The command ``xargs`` runs, with its input as arguments (literal when echoed, else dynamic);
    ``producer`` is the name and words of the command piped into it."""
    value_opts = ("-d", "-E", "-e", "-I", "-L", "-l", "-n", "-P", "-s", "-a", "--delimiter", "--eof", "--replace",
                  "--max-lines", "--max-args", "--max-procs", "--max-chars", "--arg-file", "--process-slot-var")  # fmt: skip
    replace: str | None = None
    i = 1
    n = len(args)
    while i < n:
        v = args[i].value
        if v == "--":
            i += 1
            break
        if not v.startswith("-") or v == "-":
            break
        if v in ("-I", "--replace") and i + 1 < n:
            replace = args[i + 1].value
            i += 2
            continue
        if v.startswith("-I") and len(v) > 2:
            replace = v[2:]
        elif v.startswith("--replace="):
            replace = v.partition("=")[2] or "{}"
        elif v == "-i" or v.startswith("-i"):
            replace = v[2:] or "{}"
        if v in value_opts:
            i += 2
            continue
        i += 1
    command = list(args[i:]) or [Arg("echo")]
    if producer is not None and producer[0] in ("echo", "printf") and not any(a.dynamic for a in producer[1]):
        items = [Arg(w) for w in echo_text(*producer).split()]
    else:
        items = [Arg("$XARGS_INPUT", dynamic=True, if_empty="")]
    if replace:
        out: list[Arg] = []
        for a in command:
            if replace in a.value:
                for item in items[:1]:
                    out.append(
                        Arg(a.value.replace(replace, item.value), a.dynamic or item.dynamic, a.glob, None)
                    )
            else:
                out.append(a)
        return out
    return command + items


def find_exec_commands(args: list[Arg]) -> list[list[Arg]]:
    """The commands a ``find`` runs through -exec/-execdir/-ok/-okdir, ``{}`` filled in."""
    out: list[list[Arg]] = []
    starts = find_start_paths(args)
    narrowed = find_is_narrowed(args)
    fills = starts[:8]
    if narrowed:
        # `find DIR -name NAME ... -exec rm -rf {} +` hits DIR/NAME (and deeper matches): judge DIR/NAME
        values = [a.value for a in args]
        predicates = {v for v in values if v.startswith("-") and v in FIND_NARROWING}
        names = [values[i + 1] for i, v in enumerate(values[:-1]) if v in ("-name", "-iname")]
        if len(names) == 1 and predicates <= {"-name", "-iname"} and "/" not in names[0]:
            fills = [
                Arg(posixpath.join(s.value, names[0]), s.dynamic, s.glob or has_glob(names[0]))
                for s in starts[:8]
            ]
        else:
            fills = [Arg("{}", dynamic=True)]
    i = 1
    n = len(args)
    while i < n:
        if args[i].value in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            inner: list[Arg] = []
            while j < n and args[j].value not in (";", "+"):
                inner.append(args[j])
                j += 1
            if inner:
                for fill in fills:
                    out.append(
                        [
                            Arg(
                                a.value.replace("{}", fill.value),
                                a.dynamic or fill.dynamic,
                                a.glob or fill.glob,
                                None,
                            )
                            if "{}" in a.value
                            else a
                            for a in inner
                        ]
                    )
            i = j + 1
            continue
        i += 1
    return out


def ssh_remote_command(args: list[Arg]) -> str | None:
    """The command ``ssh [opts] host cmd...`` runs on the remote host."""
    i = skip_options([a.value for a in args], 1, _SSH_WITH_VALUE, dash_is_operand=True)
    if i + 1 >= len(args):
        return None
    return " ".join(a.value for a in args[i + 1 :])


def embedded_shell_strings(code: str) -> list[str]:
    """Shell command strings passed to os.system / subprocess / system / execSync in inline code."""
    out: list[str] = []
    for m in re.finditer(_EMBEDDED_SHELL, code[:65536], re.VERBOSE):
        text = m.group(2) if m.group(2) is not None else m.group(3)
        if text:
            out.append(text)
        if len(out) >= 16:
            break
    return out


def embedded_argv_lists(code: str) -> list[list[str]]:
    """Argument lists like ``subprocess.run(["rm", "-rf", "/"])`` in inline code, and library deletes
    (``shutil.rmtree('/x')``, ``os.remove(...)``, ``fs.rmSync(..., {recursive: true})``, of the home
    directory written as code: ``shutil.rmtree(Path.home())``) as rm commands."""
    out: list[list[str]] = []
    for m in re.finditer(_EMBEDDED_DELETE, code[:65536], re.VERBOSE):
        path = m.group(2) if m.group(2) is not None else m.group(3)
        recursive = m.group(1) in ("rmtree", "rmSync", "rm_rf", "rm_r", "remove_tree") or "recursive" in (
            m.group(4) or ""
        )
        out.append(["rm", "-rf", path] if recursive else ["rm", path])
        if len(out) >= 16:
            return out
    if re.search(_EMBEDDED_HOME_DELETE, code[:65536], re.VERBOSE):
        out.append(["rm", "-rf", "~"])
    for m in re.finditer(_EMBEDDED_LIST, code[:65536], re.VERBOSE):
        argv = [a or b for a, b in re.findall(_STRING_LITERAL, m.group(1)) if a or b]
        if argv:
            out.append(argv)
        if len(out) >= 16:
            break
    return out


_AWKS = frozenset({"awk", "gawk", "mawk", "nawk", "busybox-awk"})


def awk_program(args: list[Arg]) -> str | None:
    """The program text of ``awk [-F x] [-v a=b] 'PROGRAM' files`` (``None`` with ``-f FILE``)."""
    i = 1
    while i < len(args):
        v = args[i].value
        if v in ("-f", "--file") or v.startswith("-f"):
            return None
        if v in ("-F", "-v", "--assign", "--field-separator"):
            i += 2
            continue
        if v == "--":
            i += 1
            break
        if v.startswith("-") and len(v) > 1:
            i += 1
            continue
        break
    return args[i].value if i < len(args) else None


#: GNU parallel's options that take a value (the rest are flags)
_PARALLEL_VALUED = frozenset(
    {"-j", "--jobs", "-P", "--max-procs", "-S", "--sshlogin", "--slf", "--sshloginfile", "-a", "--arg-file",
     "-N", "-n", "--max-args", "-L", "-l", "--max-lines", "-d", "--delimiter", "-E", "--eof", "-I",
     "--replace", "--delay", "--timeout", "--halt", "--results", "--joblog", "--tmpdir", "--workdir", "--wd",
     "--colsep", "-C", "--env", "--memfree", "--load", "--retries", "--tag-string", "--tagstring",
     "--basefile", "--bf", "--return", "--transferfile", "--tf", "-s", "--max-chars", "--block"}
)  # fmt: skip
_PARALLEL_INPUTS = frozenset({":::", "::::", ":::+", "::::+"})
_PARALLEL_MAX = 16


def parallel_command_lines(args: list[Arg]) -> list[str]:
    """The shell command lines GNU ``parallel`` runs for its ``:::`` arguments (at most 16): the
    template with ``{}`` (or ``-I``'s string) replaced by each quoted argument, or the argument added
    at the end; with no template each argument is itself a command line. ``[]`` when the arguments
    come from stdin or a file (``::::``), which is not known here."""
    n = len(args)
    i = 1
    replace = "{}"
    while i < n:
        v = args[i].value
        if v in _PARALLEL_INPUTS:
            break
        if v == "--":
            i += 1
            break
        if not v.startswith("-") or v == "-":
            break
        if v in _PARALLEL_VALUED:
            if v in ("-I", "--replace") and i + 1 < n:
                replace = args[i + 1].value
            i += 2
            continue
        i += 1
    start = i
    while i < n and args[i].value not in _PARALLEL_INPUTS:
        i += 1
    template = [a.value for a in args[start:i]]
    if i >= n or args[i].value != ":::":
        return []
    inputs: list[str] = []
    for a in args[i + 1 :]:
        if a.value in _PARALLEL_INPUTS or len(inputs) >= _PARALLEL_MAX:
            break
        inputs.append(a.value)
    if not template:
        return inputs
    line = " ".join(template)
    if replace in line:
        return [line.replace(replace, sh_quote(v)) for v in inputs]
    return [f"{line} {sh_quote(v)}" for v in inputs]
