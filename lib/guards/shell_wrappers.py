"""Wrapper commands stripped from a simple command: ``sudo``, ``doas``, ``env``, ``nice``, ``timeout``,
``nohup``, ``time``, ``command``, ``exec``, ... with their own options (:data:`lib.guards.shell_words.WRAPPERS`),
and the string runners whose argument is a shell command (``su -c``, ``runuser -c``, ``flock``,
``watch``, ``script -c``, ``env -S``).

Imported by :mod:`lib.guards.shell_parse` only when a command starts with one of them.
"""

from __future__ import annotations

import posixpath

from lib.guards.shell_words import WRAPPERS, Arg, assignment_prefix, sh_quote, skip_options

__all__ = ["strip_prefixes"]

#: watch's options that take a value (``watch -n 5 cmd``).
_WATCH_WITH_VALUE = frozenset({"-n", "--interval", "-q", "--equexit"})
_ELEVATORS = frozenset({"sudo", "doas", "pkexec", "run0"})


def strip_prefixes(
    args: list[Arg],
) -> tuple[list[Arg], list[str], bool, list[tuple[str, Arg]], tuple[str, str] | None]:
    """Strip wrapper commands: returns (core args, wrappers, elevated, env assignments, shell payload)."""
    wrappers: list[str] = []
    elevated = False
    env: list[tuple[str, Arg]] = []
    i = 0
    n = len(args)
    for _ in range(32):
        if i >= n:
            break
        name = posixpath.basename(args[i].value)
        if name == "taskset" and i + 1 < n and args[i + 1].value.startswith("-") and "p" in args[i + 1].value:
            break
        spec = WRAPPERS.get(name)
        if name == "command" and i + 1 < n and args[i + 1].value in ("-v", "-V"):
            break  # `command -v rm` looks rm up, it does not run it
        if name in ("su", "runuser", "flock", "watch", "script"):
            payload = _string_runner(name, args[i:])
            if payload is not None:
                wrappers.append(name)
                return args[:0], wrappers, elevated or name in ("su", "runuser"), env, (name, payload)
            if name in ("su", "runuser"):
                break
            if name == "flock":
                j = _flock_command_start(args, i)
                if j is None:
                    break
                wrappers.append(name)
                i = j
                continue
            break
        if spec is None:
            break
        short, long_opts, positional = spec
        wrappers.append(name)
        if name in _ELEVATORS:
            elevated = True
        i += 1
        while i < n:
            v = args[i].value
            if v == "--":
                i += 1
                break
            found = assignment_prefix(v) if name == "env" else None
            if found is not None:
                env.append((found[0], Arg(v[found[1] :], args[i].dynamic, args[i].glob)))
                i += 1
                continue
            if name == "env" and (v in ("-S", "--split-string") or v.startswith(("-S", "--split-string="))):
                text = v[2:] if v.startswith("-S") and len(v) > 2 else v.partition("=")[2] if "=" in v else ""
                if not text and i + 1 < n:
                    i += 1
                    text = args[i].value
                rest = " ".join(sh_quote(a.value) for a in args[i + 1 :])
                return args[:0], wrappers, elevated, env, ("env -S", (text + " " + rest).strip())
            if v.startswith("--"):
                key = v.split("=", 1)[0]
                i += 1
                if key in long_opts and "=" not in v:
                    i += 1
                continue
            if v.startswith("-") and len(v) > 1 and not (name in ("nice", "kill") and v[1:].isdigit()):
                i += 1
                letters = v[1:]
                for k, ch in enumerate(letters):
                    if ch in short:
                        if k == len(letters) - 1:
                            i += 1  # value is the next word
                        break
                continue
            if name == "nice" and v.startswith("-") and v[1:].isdigit():
                i += 1
                continue
            break
        i += positional
    if i > n:
        i = n
    return args[i:], wrappers, elevated, env, None


def _string_runner(name: str, args: list[Arg]) -> str | None:
    """The shell string run by ``su -c``, ``runuser -c``, ``flock -c``, ``watch``, ``script -c``."""
    rest = args[1:]
    if name == "watch":
        values = [a.value for a in rest]
        words = values[skip_options(values, 0, _WATCH_WITH_VALUE) :]
        return " ".join(words) if words else None
    for i, a in enumerate(rest):
        v = a.value
        if v in ("-c", "--command") and i + 1 < len(rest):
            return rest[i + 1].value
        if v.startswith("--command="):
            return v.partition("=")[2]
        if (
            name in ("su", "runuser")
            and v.startswith("-")
            and not v.startswith("--")
            and v.endswith("c")
            and len(v) > 2
            and i + 1 < len(rest)
        ):
            return rest[i + 1].value
    return None


def _flock_command_start(args: list[Arg], i: int) -> int | None:
    """Index of the command in ``flock [options] FILE command ...``."""
    j = i + 1
    while j < len(args) and args[j].value.startswith("-"):
        if args[j].value in ("-w", "--timeout", "-E", "--conflict-exit-code"):
            j += 1
        j += 1
    j += 1  # the lock file
    return j if j < len(args) else None
