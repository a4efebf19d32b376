"""What a tool call's breaker is keyed by, where its failures count, and what a failure says.

Pure functions over plain values (no I/O, no ``re``, no ``shlex``: a PreToolUse Bash hook calls
them on every command).

- Keys: the tool name (``Read``, ``WebFetch``, ``mcp__github__create_issue``); a Bash call is keyed by
  its command (``Bash:pytest``, ``Bash:git push``, per ``bash_key``).
- Scope: a key is ``session`` (its failures only block the session that made them: local tools) or
  ``shared`` (every session of the project, and every machine on the Redis backend: tools whose
  failures come from outside, such as WebFetch, WebSearch and ``mcp__*``).
- A Bash failure with exit code 127 (command not found), 126 (not executable) or a timeout says the
  program itself is broken: it counts for the program's shared key (``Bash:<program>``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "BASH_KEY_MODES",
    "DEFAULT_SHARED_KEYS",
    "SESSION",
    "SHARED",
    "bash_command_key",
    "breaker_key",
    "broken_tool_failure",
    "call_keys",
    "glob_match",
    "is_shared",
    "program_key",
    "split_words",
]

BASH_KEY_MODES = ("tool", "first_word", "normalized")
SESSION = "session"
SHARED = "shared"
#: Keys whose failures come from outside the session: shared by every session of the project.
DEFAULT_SHARED_KEYS = ("WebFetch", "WebSearch", "mcp__*")
#: The most characters of a command the key looks at (a key only needs its first words).
MAX_SCAN = 4096

# Programs that run another program given after their own options, and their options taking a value.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "-U"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "nohup": frozenset(),
    "time": frozenset({"-f", "-o"}),
    "command": frozenset(),
    "exec": frozenset({"-a"}),
    "builtin": frozenset(),
}
# Set-up commands that rarely are "the" command of a compound line (``cd repo && make``).
_PRELUDE = frozenset({"cd", "pushd", "popd", "export", "source", ".", "set", "unset", "true", ":", "alias"})
_OPERATORS = ";&|()\n"
# Programs whose first argument is an operand (a file, a pattern, a script), never a subcommand.
_NO_SUBCOMMAND = frozenset(
    {
        "awk", "bash", "cat", "cd", "chmod", "chown", "cp", "curl", "diff", "du", "echo", "file", "find",
        "grep", "head", "less", "ln", "ls", "mkdir", "mv", "node", "perl", "printf", "pytest", "python",
        "python3", "rg", "rm", "rmdir", "ruby", "sed", "sh", "sort", "stat", "tail", "test", "touch",
        "tree", "wc", "wget", "which", "zsh",
    }
)  # fmt: skip


class _Quoted(str):
    """A word that was (partly) quoted in the command: an argument, never a subcommand."""

    __slots__ = ()


def split_words(command: str) -> list[list[str]]:
    """The simple commands of a shell line as lists of words (quotes removed, operators split).

    A small POSIX-ish scanner: single and double quotes, backslash escapes, ``#`` comments, and the
    operators ``; & | ( )`` and newlines as separators. Expansions stay as written. Unbalanced quotes
    end the word at the end of the line. Only the first :data:`MAX_SCAN` characters are read.
    """
    command = command[:MAX_SCAN]
    if not any(c in command for c in "'\"\\#"):
        # the common case, at C speed: nothing quoted, every operator character separates
        for op in _OPERATORS[:-1]:
            command = command.replace(op, "\n")
        return [words for words in (line.split() for line in command.split("\n")) if words]
    return _scan(command)


def _scan(command: str) -> list[list[str]]:
    segments: list[list[str]] = [[]]
    word: list[str] = []
    in_word = quoted = False
    i, n = 0, len(command)
    while i < n:
        c = command[i]
        if c == "'":
            end = command.find("'", i + 1, n)
            end = n if end < 0 else end
            word.append(command[i + 1 : end])
            in_word = quoted = True
            i = end + 1
            continue
        if c == '"':
            i += 1
            while i < n and command[i] != '"':
                if command[i] == "\\" and i + 1 < n and command[i + 1] in '"\\$`':
                    i += 1
                word.append(command[i])
                i += 1
            in_word = quoted = True
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            if command[i + 1] != "\n":
                word.append(command[i + 1])
                in_word = quoted = True
            i += 2
            continue
        if c in " \t\r" or c in _OPERATORS or (c == "#" and not in_word):
            if in_word:
                text = "".join(word)
                segments[-1].append(_Quoted(text) if quoted else text)
                word, in_word, quoted = [], False, False
            if c == "#":
                end = command.find("\n", i, n)
                i = n if end < 0 else end
                continue
            if c in _OPERATORS and segments[-1]:
                segments.append([])
            i += 1
            continue
        word.append(c)
        in_word = True
        i += 1
    if in_word:
        text = "".join(word)
        segments[-1].append(_Quoted(text) if quoted else text)
    return [s for s in segments if s]


def _is_assignment(token: str) -> bool:
    name, eq, _ = token.partition("=")
    return bool(eq) and name.isidentifier()


def _is_subcommand(token: str) -> bool:
    return (
        bool(token)
        and not isinstance(token, _Quoted)
        and token[0].isalpha()
        and all(c.isalnum() or c in "-_:" for c in token)
    )


def _program(words: list[str]) -> tuple[str, list[str]]:
    """The program a simple command runs and its arguments, past assignments and wrappers."""
    i = 0
    while i < len(words):
        word = words[i]
        if _is_assignment(word):
            i += 1
            continue
        name = word.rsplit("/", 1)[-1]
        if name in _WRAPPERS and i + 1 < len(words):
            takes_value = _WRAPPERS[name]
            i += 1
            while i < len(words) and (
                words[i].startswith("-") or _is_assignment(words[i]) or words[i].replace(".", "").isdigit()
            ):
                i += 2 if words[i] in takes_value else 1
            continue
        return name, words[i + 1 :]
    return "", []


def _main_program(command: str) -> tuple[str, list[str]]:
    programs = [p for p in (_program(words) for words in split_words(command)) if p[0]]
    if not programs:
        return "", []
    return next((p for p in programs if p[0] not in _PRELUDE), programs[0])


def _command_keys(command: str) -> tuple[str, str]:
    """``(first_word, normalized)`` keys of a command, from one parse."""
    name, args = _main_program(command)
    if not args or name in _NO_SUBCOMMAND or not _is_subcommand(args[0]):
        return name, name
    return name, f"{name} {args[0]}"


def bash_command_key(command: str, mode: str) -> str:
    """The part of a Bash command a breaker key uses: ``git`` (first_word) or ``git push`` (normalized).

    Leading ``VAR=value`` assignments, wrappers (``sudo``, ``env``, ``timeout 10``...) and a directory
    are dropped; in a compound line set-up commands (``cd``, ``export``, ``source``) are skipped in
    favour of the first real command. ``normalized`` adds the first argument when it is a plain word
    written unquoted (a subcommand: ``npm test``, ``cargo build``, ``git push``), except for programs
    known to take operands (``cat``, ``ls``, ``python``, ``pytest``...); options, paths and file names
    are left out, so ``pytest a.py`` and ``pytest -x b.py`` are both ``pytest``. Returns ``""`` for an
    empty command.
    """
    first_word, normalized = _command_keys(command)
    return normalized if mode == "normalized" else first_word


def _command(tool_name: str, tool_input: Mapping[str, object] | None) -> str | None:
    if tool_name != "Bash" or not isinstance(tool_input, dict):
        return None
    command = tool_input.get("command")
    return command if isinstance(command, str) else None


def breaker_key(tool_name: str, tool_input: Mapping[str, object] | None, bash_key: str = "normalized") -> str:
    """The breaker key of one tool call: the tool name, or ``Bash:<command key>`` per ``bash_key``."""
    command = _command(tool_name, tool_input)
    if command is None or bash_key == "tool":
        return tool_name
    part = bash_command_key(command, bash_key)
    return f"Bash:{part}" if part else tool_name


def call_keys(
    tool_name: str, tool_input: Mapping[str, object] | None, bash_key: str = "normalized"
) -> tuple[str, str | None]:
    """The call's breaker key (:func:`breaker_key`) and its program key (:func:`program_key`), from
    one parse of a Bash command."""
    command = _command(tool_name, tool_input)
    if command is None:
        return tool_name, None
    first_word, normalized = _command_keys(command)
    if not first_word:
        return tool_name, None
    own = (
        tool_name if bash_key == "tool" else f"Bash:{normalized if bash_key == 'normalized' else first_word}"
    )
    return own, f"Bash:{first_word}"


def program_key(tool_name: str, tool_input: Mapping[str, object] | None) -> str | None:
    """The key of the program a Bash call runs (``Bash:pytest``), whatever ``bash_key`` says; else ``None``."""
    command = _command(tool_name, tool_input)
    if command is None:
        return None
    name = bash_command_key(command, "first_word")
    return f"Bash:{name}" if name else None


def glob_match(key: str, pattern: str) -> bool:
    """``fnmatch``-style matching; ``*`` alone at the end (``mcp__*``) and plain names skip ``re``."""
    if not any(c in pattern for c in "*?["):
        return key == pattern
    head = pattern[:-1]
    if pattern.endswith("*") and not any(c in head for c in "*?["):
        return key.startswith(head)
    from fnmatch import fnmatchcase  # imports re: only for patterns that need it

    return fnmatchcase(key, pattern)


def is_shared(key: str, tool_name: str, patterns: Iterable[str]) -> bool:
    """Whether breaker ``key`` (of ``tool_name``) is shared across sessions under ``patterns``."""
    return any(glob_match(key, p) or glob_match(tool_name, p) for p in patterns)


def broken_tool_failure(error: str | None, exit_codes: Iterable[int]) -> bool:
    """Whether a Bash failure says the program itself is broken: an exit code in ``exit_codes`` on the
    first line (``Exit code 127``), or a ``Command timed out`` line (Claude Code adds one near the
    start or the end of the output)."""
    if not error:
        return False
    lines = [line.strip() for line in error.strip().splitlines()]
    first = lines[0] if lines else ""
    if first.startswith("Exit code "):
        code = first[len("Exit code ") :].strip()
        if code.isdigit() and int(code) in set(exit_codes):
            return True
    return any(line.startswith("Command timed out") for line in lines[:3] + lines[-3:])
