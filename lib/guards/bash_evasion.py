"""Bash guard rules against commands that hide what they run or where data goes:
``decoded-to-shell`` (``base64 -d | sh``, ``xxd -r | bash``, ``rev | sh``, ``eval "$(... | base64 -d)"``),
``exfiltrate`` (``env | curl -d @-``, ``printenv | nc host``, ``curl -d "$(env)"``), and
``dynamic-command`` (a command whose name is only known at run time, ``$CMD -rf ~``, given arguments
that would be a dangerous delete).

Alias bodies and ``${IFS}``-joined words are re-judged as the commands they become by
:mod:`lib.guards.bash_policy` (:func:`hidden_command_lines`). Loaded only when a command line has one
of the tell-tale names (:func:`lib.guards.bash_rules.worth_a_look`).
"""

from __future__ import annotations

from lib.guards.bash_rules import DECODERS
from lib.guards.shell_effects import positionals, runs_stdin, runs_substituted_code

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from lib.guards.bash_rules import LineCheck
    from lib.guards.shell_parse import Command, ParseResult
    from lib.guards.shell_words import Arg

__all__ = ["git_config_commands", "hidden_command_lines", "judge"]

_DECODERS = DECODERS
_ENV_DUMPERS = frozenset({"env", "printenv", "set", "export", "declare", "compgen"})
_SENDERS = frozenset({"curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "http", "https", "xh", "scp",
                      "ssh", "openssl", "sftp", "ftp"})  # fmt: skip


def _decodes(cmd: Command) -> bool:
    name, words = cmd.name, [a.value for a in cmd.args[1:]]
    if name in ("base64", "base32", "basenc"):
        return any(
            w in ("-d", "--decode", "-D") or (w.startswith("-") and not w.startswith("--") and "d" in w)
            for w in words
        )
    if name == "xxd":
        return any(w.startswith("-r") for w in words)
    if name == "openssl":
        return "-d" in words or ("base64" in words[:1] and "-d" in words)
    if name == "tr":
        return True  # rot13 and friends
    if name == "printf":
        return any("\\x" in w or "\\0" in w for w in words)
    if name == "gzip":
        return any(
            w == "--decompress" or (w.startswith("-") and not w.startswith("--") and "d" in w) for w in words
        )
    return name in ("rev", "uudecode", "gunzip", "zcat", "bzcat", "xzcat")


def _sends(cmd: Command) -> bool:
    return cmd.name in _SENDERS


def _dumps_env(cmd: Command) -> bool:
    name = cmd.name
    if not cmd.args and cmd.wrappers and cmd.wrappers[-1] == "env":
        return True  # a bare ``env`` (stripped as a prefix with nothing after it)
    if name in ("env", "printenv"):
        return not positionals(cmd.args) or all("=" in a.value for a in positionals(cmd.args))
    if name in ("set", "export", "declare"):
        words = [a.value for a in cmd.args[1:]]
        return not words or words in (["-p"], ["-x"], ["-px"])
    return name == "cat" and any(a.value.endswith("/environ") for a in cmd.args[1:])


def judge(line: LineCheck) -> None:
    """Add the findings of this family for the whole command line."""
    for slots in line.parsed.pipelines().values():
        decoded = dumped = False
        for cmds in slots:
            if decoded and any(runs_stdin(c) for c in cmds):
                line.add(
                    "decoded-to-shell",
                    "decoded text piped into a shell",
                    next(c for c in cmds if runs_stdin(c)),
                )
            if dumped and any(_sends(c) for c in cmds):
                line.add(
                    "exfiltrate", "the environment piped to the network", next(c for c in cmds if _sends(c))
                )
            decoded = decoded or any(_decodes(c) for c in cmds)
            dumped = dumped or any(_dumps_env(c) for c in cmds)
    for c in line.parsed.commands:
        subs = c.substitutions
        if subs and runs_substituted_code(c) and any(_decodes(s) for s in subs):
            line.add("decoded-to-shell", f"{c.name} runs decoded text", c)
        if subs and _sends(c) and any(_dumps_env(s) for s in subs):
            line.add("exfiltrate", f"{c.name} sends the environment", c)
        if c.args and (not c.name or c.name.startswith("$")):
            _dynamic(line, c)


def _dynamic(line: LineCheck, cmd: Command) -> None:
    """A computed command name: judge the arguments as if it were ``rm``."""
    from lib.guards.bash_deletes import judge as judge_deletes

    before, name = len(line.findings), cmd.name
    cmd.name = "rm"
    try:
        judge_deletes(line, cmd)
    finally:
        cmd.name = name  # the parse is shared (lib.guards.shell_parse.parse): leave it as it was
    found = line.findings[before:]
    del line.findings[before:]
    if found:
        line.add("dynamic-command", f"`{cmd.full_argv[0]}` would {found[0].rule.title}", cmd)


def hidden_command_lines(parsed: ParseResult, allowed: Callable[[Command], bool]) -> list[str]:
    """Command lines hidden from the parser: alias bodies (``alias ls='rm -rf ~'``) and words joined
    with ``$IFS`` (``rm${IFS}-rf${IFS}~``), to be judged as commands themselves."""
    out: list[str] = []
    for c in parsed.commands:
        if allowed(c):
            continue
        if c.name == "alias":
            for a in c.args[1:]:
                _, eq, body = a.value.partition("=")
                if eq and body:
                    out.append(body)
        if c.name == "git":
            out.extend(git_config_commands(c.args))
        joined = " ".join(c.full_argv)
        if "$IFS" in joined or "${IFS}" in joined:
            out.append(joined.replace("${IFS}", " ").replace("$IFS", " "))
    return out[:16]


#: ``git -c KEY=VALUE`` settings whose value git runs through the shell
_GIT_SHELL_KEYS = frozenset(
    {"core.pager", "core.editor", "core.sshcommand", "core.fsmonitor", "core.askpass", "sequence.editor",
     "diff.external", "gpg.program", "gpg.ssh.program", "gpg.x509.program", "interactive.difffilter"}
)  # fmt: skip
_GIT_SHELL_SUFFIXES = (".textconv", ".clean", ".smudge", ".process", ".driver", ".command")


def git_config_commands(args: list[Arg]) -> list[str]:
    """The command lines a ``git -c KEY=VALUE`` setting makes git run: pagers, editors, the ssh
    command, diff/filter/merge drivers, and ``!``-aliases and credential helpers."""
    out: list[str] = []
    values = [a.value for a in args[1:]]
    for i, v in enumerate(values):
        if v == "-c" and i + 1 < len(values):
            setting = values[i + 1]
        elif v.startswith("-c") and "=" in v:
            setting = v[2:]
        else:
            continue
        key, eq, value = setting.partition("=")
        key = key.lower()
        if not eq or not value:
            continue
        if key.startswith("alias.") or (key.startswith("credential.") and key.endswith(".helper")):
            if value.startswith("!"):
                out.append(value[1:])
        elif key in _GIT_SHELL_KEYS or key.startswith("pager.") or key.endswith(_GIT_SHELL_SUFFIXES):
            out.append(value)
    return out
