"""Parse a bash command line into the simple commands it would run, for guard policies.

    result = parse("cd build && sudo rm -rf -- \\"$HOME\\"/*", cwd="/work/app", home="/home/me")
    [c.argv for c in result.commands]  # [['cd', 'build'], ['rm', '-rf', '--', '/home/me/*']]

What it understands: quoting (``'...'``, ``"..."``, ``$'...'``, backslashes), chains and pipelines
(``&&``, ``||``, ``;``, ``&``, ``|``, ``|&``, newlines), subshells and groups, ``if``/``for``/``while``/
``case`` bodies, function definitions, ``$(...)``, backticks, ``<(...)``, ``${VAR:-default}`` and
friends, brace expansion, tilde expansion, redirections (kept, with their targets) and heredocs (their
bodies are data, except where they feed a shell). Commands hidden inside other commands are parsed
too: ``bash -c``/``sh -c`` payloads (recursively), ``eval``, ``xargs``, ``find -exec``, ``watch``,
``su -c``, ``flock -c``, ``ssh host cmd``, ``env -S``, shell code echoed or here-doc'ed into a shell,
and ``os.system``/``subprocess`` strings in ``python -c``. Prefixes (``sudo``, ``doas``, ``env``,
``command``, ``builtin``, ``exec``, ``nice``, ``ionice``, ``nohup``, ``time``, ``timeout``,
``stdbuf``, ``setsid``, ``chrt``, ``taskset``, ``unbuffer``, ...) are stripped with their own options
and kept in :attr:`Command.wrappers`.

Variables are expanded where their value is known: ``HOME``, ``PWD`` (the tracked working
directory: ``cd`` is followed), ``CLAUDE_PROJECT_DIR``, and anything assigned earlier in the same
command line. Unknown expansions stay visible as ``$NAME`` and mark the word as dynamic; the word's
value *if those variables were empty* is kept too (``"$DIR/"*`` -> ``/*``), which is how the famous
empty-variable deletes are caught.

:func:`parse` never raises. Odd input (unbalanced quotes, NUL bytes, absurd nesting, megabytes of
text) degrades to a best-effort parse flagged in :attr:`ParseResult.issues` /
:attr:`ParseResult.truncated`; an internal error falls back to a crude word split flagged
:attr:`ParseResult.failed`, so a policy can still look at the words and ask rather than allow.
"""

from __future__ import annotations

import posixpath

from lib.guards.shell_words import (
    ARITH,
    CMD,
    FIND_NARROWING,
    LIT,
    NAME_CHARS,
    PROC,
    SPECIAL,
    TILDE,
    TILDE_CHARS,
    VAR,
    WRAPPERS,
    Arg,
    assignment_prefix,
    echo_text,
    find_is_narrowed,
    find_start_paths,
    has_glob,
    name_end,
    span,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "FIND_NARROWING",
    "MAX_DEPTH",
    "MAX_INPUT",
    "NAME_CHARS",
    "WRAPPERS",
    "Arg",
    "Command",
    "ParseResult",
    "Redirect",
    "assignment_prefix",
    "echo_text",
    "find_is_narrowed",
    "find_start_paths",
    "has_glob",
    "parse",
    "span",
]

#: Longest command text analysed; the rest is ignored and the result marked truncated.
MAX_INPUT = 256 * 1024
#: Deepest nesting of ``$(...)``/``bash -c``/``eval``... followed.
MAX_DEPTH = 12
#: Most tokens lexed from one command line (a few µs each): with MAX_COMMANDS, what keeps the parse of
#: any input well inside the hook's time budget; past it the rest is not analysed (truncated: asked).
MAX_TOKENS = 50_000
#: Most simple commands collected from one command line.
MAX_COMMANDS = 2000
_MAX_LOOP_VALUES = 16
_MAX_SYNTAX_DEPTH = 64

# ---------------------------------------------------------------------------------------------
# Lexing
# ---------------------------------------------------------------------------------------------

_WORD_STOP = " \t\n\r\f\v;&|()<>\\'\"$`"
_NOMETA_STOP = "\\'\"$`"
_DQ_STOP = '\\$`"'
_HEREDOC_STOP = "\\$`"
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_BLANKS = " \t\r\f\v\x00"

_EOF = ("eof",)
_NL = ("nl",)

_RESERVED = frozenset(
    {
        "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "select",
        "in", "case", "esac", "function", "{", "}", "!", "time", "[[", "]]", "coproc",
    }
)  # fmt: skip

_REDIR_OPS = ("<<<", "<<-", "<<", "<>", "<&", "<", ">>", ">|", ">&", ">")


class _Scan:
    """Finds the next of a few stop characters in one string with ``str.find``, remembering each
    character's next position, so scanning stays linear without :mod:`re`. Characters that no longer
    occur are dropped from the set looked for, so a long run of plain words costs one look-up a word."""

    __slots__ = ("ahead", "memo", "n", "s")

    def __init__(self, s: str) -> None:
        self.s = s
        self.n = len(s)
        self.memo: dict[str, tuple[int, int]] = {}
        #: per set of stop characters: (since, the ones still found at or after ``since``)
        self.ahead: dict[str, tuple[int, str]] = {}

    def stop(self, i: int, chars: str) -> int:
        """The index of the first of ``chars`` at or after ``i`` (``len(s)`` when none)."""
        n = self.n
        best = n
        memo = self.memo
        known = self.ahead.get(chars)
        live = known[1] if known is not None and known[0] <= i else chars
        gone = False
        for c in live:
            hit = memo.get(c)
            if hit is not None and hit[0] <= i <= hit[1]:
                p = hit[1]
            else:
                p = self.s.find(c, i)
                if p < 0:
                    p = n
                memo[c] = (i, p)
            if p < best:
                best = p
            elif p == n:
                gone = True
        if gone:  # no such character at or after i: not looked for again from here on
            self.ahead[chars] = (i, "".join(c for c in live if memo[c][1] != n))
        return best

    def take(self, i: int, n: int, chars: str, out: list[str]) -> int:
        """Append the text from ``i`` up to the first of ``chars`` (or ``n``) to ``out``; its index."""
        j = min(self.stop(i, chars), n)
        if j > i:
            out.append(self.s[i:j])
        return j


class Word:
    """One shell word before expansion: a list of parts (literal text, variables, substitutions)."""

    __slots__ = ("parts",)

    def __init__(self, parts: list[tuple[object, ...]]) -> None:
        self.parts = parts

    def plain(self) -> str | None:
        """The word's text if it is a single unquoted literal (how reserved words are spelled)."""
        if len(self.parts) == 1:
            p = self.parts[0]
            if p[0] == LIT and not p[2]:
                return p[1]  # type: ignore[return-value]
        return None

    def literal(self) -> str:
        """The word with quotes removed and expansions left as written (heredoc delimiters)."""
        out: list[str] = []
        for p in self.parts:
            if p[0] == LIT:
                out.append(str(p[1]))
            elif p[0] == VAR:
                out.append("$" + str(p[1]))
            elif p[0] == TILDE:
                out.append("~" + str(p[1]))
            elif p[0] == SPECIAL:
                out.append("$" + str(p[1]))
        return "".join(out)

    def quoted(self) -> bool:
        """True when any part of the word was quoted."""
        return any(p[0] == LIT and p[2] for p in self.parts)

    def __repr__(self) -> str:
        return f"Word({self.parts!r})"


#: What closes (and, for ``$(``/``${``, opens again) each construct of :func:`_find_close`.
_CLOSE_CHAR = {"p": ")", "c": "}", "b": "`", "d": '"'}
_OPEN_CHAR = {"p": "(", "c": "{"}


def _find_close(s: str, i: int, n: int, init: str) -> int:
    """Index of the character closing the construct(s) in ``init`` (``p`` paren, ``c`` brace,
    ``b`` backtick, ``d`` double quote), scanning from ``i``; -1 when never closed."""
    stack = list(init)
    while i < n:
        c = s[i]
        top = stack[-1]
        if c == "\\":
            i += 2
            continue
        if c == _CLOSE_CHAR[top]:
            stack.pop()
            if not stack:
                return i
        elif top == "b":
            pass  # nothing opens inside backticks
        elif c == "$" and i + 1 < n and s[i + 1] in "({":
            stack.append("p" if s[i + 1] == "(" else "c")
            i += 1
        elif c == "`":
            stack.append("b")
        elif top != "d":  # inside $( ) or ${ }: quotes, and the construct's own opener
            if c == "'":
                j = s.find("'", i + 1)
                if j < 0:
                    return -1
                i = j + 1
                continue
            if c == '"':
                stack.append("d")
            elif c == _OPEN_CHAR[top]:
                stack.append(top)
        i += 1
    return -1


def _unescape_backtick(body: str) -> str:
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    n = len(body)
    while i < n:
        c = body[i]
        if c == "\\" and i + 1 < n and body[i + 1] in "\\`$":
            out.append(body[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


_ANSI_SIMPLE = {
    "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r",
    "t": "\t", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?",
}  # fmt: skip


def _read_ansi_c(s: str, i: int, n: int, issues: list[str]) -> tuple[str, int]:
    """Decode ``$'...'`` starting after the opening quote; returns (text, index after the quote)."""
    out: list[str] = []
    while i < n:
        c = s[i]
        if c == "'":
            return "".join(out), i + 1
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = s[i + 1]
        i += 2
        if e in _ANSI_SIMPLE:
            out.append(_ANSI_SIMPLE[e])
        elif e in "01234567":
            end = i
            while end < min(n, i + 2) and s[end] in "01234567":
                end += 1
            digits = e + s[i:end]
            i = end
            out.append(chr(int(digits, 8) & 0xFF))
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            end = i
            while end < min(n, i + width) and s[end] in _HEX_DIGITS:
                end += 1
            if end > i:
                code = int(s[i:end], 16)
                i = end
                if code <= 0x10FFFF:
                    out.append(chr(code))
            else:
                out.append("\\" + e)
        elif e == "c" and i < n:
            out.append(chr(ord(s[i]) & 0x1F))
            i += 1
        else:
            out.append("\\" + e)
    issues.append("unterminated $'...' quote")
    return "".join(out), n


def _param_part(inner: str, quoted: bool) -> tuple[object, ...]:
    """A ``${...}`` expansion as a part: (VAR, name, op, argument, quoted)."""
    if inner.startswith("#") and len(inner) > 1:
        return (VAR, inner[1:], "len", "", quoted)
    if inner.startswith("!"):
        return (VAR, inner[1:], "indirect", "", quoted)
    end = name_end(inner, 0)
    if end:
        name = inner[:end]
    elif inner[:1] and (inner[0].isdigit() or inner[0] in "@*#?$!-"):
        name = inner[0]
    else:
        return (VAR, "", "other", inner, quoted)
    rest = inner[len(name) :]
    if not rest:
        return (VAR, name, "", "", quoted)
    for op in (":-", ":=", ":?", ":+", "-", "=", "?", "+"):
        if rest.startswith(op):
            return (VAR, name, op, rest[len(op) :], quoted)
    return (VAR, name, "other", rest, quoted)


def _read_dollar(
    s: str, i: int, n: int, parts: list[tuple[object, ...]], issues: list[str], q: bool, scan: _Scan
) -> int:
    """Read an expansion starting at ``s[i] == '$'``; append its part; return the next index."""
    j = i + 1
    if j >= n:
        parts.append((LIT, "$", q))
        return j
    c = s[j]
    if c == "(":
        if j + 1 < n and s[j + 1] == "(":
            end = _find_close(s, j + 2, n, "pp")
            if end >= 0 and s[end - 1] == ")":
                parts.append((ARITH, s[j + 2 : end - 1]))
                return end + 1
        end = _find_close(s, j + 1, n, "p")
        if end < 0:
            issues.append("unterminated $(...)")
            end = n
        parts.append((CMD, s[j + 1 : end], q))
        return end + 1
    if c == "{":
        end = _find_close(s, j + 1, n, "c")
        if end < 0:
            issues.append("unterminated ${...}")
            end = n
        parts.append(_param_part(s[j + 1 : end], q))
        return end + 1
    if c == "'" and not q:
        text, k = _read_ansi_c(s, j + 1, n, issues)
        parts.append((LIT, text, True))
        return k
    if c == '"' and not q:
        return _read_dquote(s, j + 1, n, parts, issues, scan=scan)
    end = name_end(s, j)
    if end > j:
        parts.append((VAR, s[j:end], "", "", q))
        return end
    if c in "0123456789@*#?$!-":
        parts.append((SPECIAL, c, q))
        return j + 1
    parts.append((LIT, "$", q))
    return j


def _read_backtick(
    s: str, i: int, n: int, parts: list[tuple[object, ...]], issues: list[str], q: bool
) -> int:
    end = _find_close(s, i + 1, n, "b")
    if end < 0:
        issues.append("unterminated backtick")
        end = n
    parts.append((CMD, _unescape_backtick(s[i + 1 : end]), q))
    return end + 1


def _read_dquote(
    s: str,
    i: int,
    n: int,
    parts: list[tuple[object, ...]],
    issues: list[str],
    heredoc: bool = False,
    scan: _Scan | None = None,
) -> int:
    """Read double-quoted text from after the opening quote (or a whole heredoc body)."""
    chunks: list[str] = []
    stop = _HEREDOC_STOP if heredoc else _DQ_STOP
    scan = scan if scan is not None else _Scan(s)
    while i < n:
        i = scan.take(i, n, stop, chunks)
        if i >= n:
            break
        c = s[i]
        if c == '"':
            parts.append((LIT, "".join(chunks), True))
            return i + 1
        if c == "\\":
            if i + 1 < n:
                nxt = s[i + 1]
                if nxt == "\n":
                    i += 2
                    continue
                if nxt in "$`\\" or (nxt == '"' and not heredoc):
                    chunks.append(nxt)
                    i += 2
                    continue
            chunks.append("\\")
            i += 1
            continue
        if chunks:
            parts.append((LIT, "".join(chunks), True))
            chunks = []
        if c == "$":
            i = _read_dollar(s, i, n, parts, issues, True, scan)
        else:
            i = _read_backtick(s, i, n, parts, issues, True)
    if not heredoc:
        issues.append("unterminated double quote")
    parts.append((LIT, "".join(chunks), True))
    return n


def _read_word(
    s: str, i: int, n: int, issues: list[str], meta: bool = True, scan: _Scan | None = None
) -> tuple[Word, int]:
    """Read one word from ``i``; with ``meta`` it ends at blanks and operators."""
    parts: list[tuple[object, ...]] = []
    buf: list[str] = []
    stop = _WORD_STOP if meta else _NOMETA_STOP
    scan = scan if scan is not None else _Scan(s)
    start = i
    if i < n and s[i] == "~":
        end = span(s, i + 1, TILDE_CHARS)
        if end >= n or s[end] == "/" or (meta and s[end] in _WORD_STOP and s[end] not in "\\'\"$`"):
            parts.append((TILDE, s[i + 1 : end]))
            i = end
    while i < n:
        i = scan.take(i, n, stop, buf)
        if i >= n:
            break
        c = s[i]
        if c == "\\":
            if i + 1 < n and s[i + 1] == "\n":
                i += 2
                continue
            if buf:
                parts.append((LIT, "".join(buf), False))
                buf = []
            if i + 1 < n:
                parts.append((LIT, s[i + 1], True))
            i += 2
            continue
        if c in "'\"$`":
            if buf:
                parts.append((LIT, "".join(buf), False))
                buf = []
            if c == "'":
                k = s.find("'", i + 1)
                if k < 0:
                    issues.append("unterminated single quote")
                    k = n
                parts.append((LIT, s[i + 1 : k], True))
                i = k + 1
            elif c == '"':
                i = _read_dquote(s, i + 1, n, parts, issues, scan=scan)
            elif c == "$":
                i = _read_dollar(s, i, n, parts, issues, False, scan)
            else:
                i = _read_backtick(s, i, n, parts, issues, False)
            continue
        break  # an unquoted blank or operator
    if buf:
        parts.append((LIT, "".join(buf), False))
    if i == start:  # never loop without progress
        parts.append((LIT, s[i : i + 1], False))
        i += 1
    return Word(parts), i


def _word_from_text(text: str, issues: list[str]) -> Word:
    """Lex ``text`` as one word where blanks and operators are ordinary characters."""
    parts: list[tuple[object, ...]] = []
    i, n = 0, len(text)
    scan = _Scan(text)
    while i < n:
        w, i = _read_word(text, i, n, issues, meta=False, scan=scan)
        parts.extend(w.parts)
    return Word(parts)


class _Lexer:
    """Turns command text into tokens: ("w", Word), ("op", str), ("r", op, fd), ("nl",), ("eof",)."""

    __slots__ = ("i", "issues", "n", "pending", "s", "scan")

    def __init__(self, s: str, issues: list[str]) -> None:
        self.s = s
        self.scan = _Scan(s)
        self.n = len(s)
        self.i = 0
        self.issues = issues
        self.pending: list[tuple[str, bool, bool, list[Word | None]]] = []

    def add_heredoc(self, delim: Word, strip_tabs: bool, holder: list[Word | None]) -> None:
        """Read a heredoc body into ``holder`` at the next newline."""
        self.pending.append((delim.literal(), strip_tabs, delim.quoted(), holder))

    def _read_heredocs(self) -> None:
        s, n = self.s, self.n
        for delim, strip_tabs, quoted, holder in self.pending:
            i = self.i
            lines: list[str] = []
            found = False
            while i < n:
                j = s.find("\n", i)
                end = n if j < 0 else j
                line = s[i:end]
                if strip_tabs:
                    line = line.lstrip("\t")
                i = end + 1
                if line == delim or line.rstrip("\r") == delim:
                    found = True
                    break
                lines.append(line)
            if not found:
                self.issues.append(f"heredoc {delim!r} is not terminated")
            self.i = min(i, n)
            body = "\n".join(lines) + ("\n" if lines else "")
            if quoted:
                holder[0] = Word([(LIT, body, True)])
            else:
                parts: list[tuple[object, ...]] = []
                _read_dquote(body, 0, len(body), parts, self.issues, heredoc=True)
                holder[0] = Word(parts)
        self.pending = []

    def next(self) -> tuple[object, ...]:
        s, n = self.s, self.n
        while True:
            i = self.i
            while i < n and s[i] in _BLANKS:
                i += 1
            if i + 1 < n and s[i] == "\\" and s[i + 1] == "\n":
                self.i = i + 2
                continue
            if i >= n:
                self.i = n
                return _EOF
            c = s[i]
            if c == "#":
                j = s.find("\n", i)
                self.i = n if j < 0 else j
                continue
            if c == "\n":
                self.i = i + 1
                if self.pending:
                    self._read_heredocs()
                return _NL
            break
        if "0" <= c <= "9":
            j = i
            while j < n and "0" <= s[j] <= "9":
                j += 1
            if j < n and s[j] in "<>" and not (j + 1 < n and s[j + 1] == "("):
                return self._redirect(j, int(s[i:j]) if j - i < 8 else -1)
        if c in "<>":
            if i + 1 < n and s[i + 1] == "(":
                end = _find_close(s, i + 2, n, "p")
                if end < 0:
                    self.issues.append("unterminated process substitution")
                    end = n
                self.i = end + 1
                return ("w", Word([(PROC, s[i + 2 : end], c)]))
            return self._redirect(i, -1)
        if c == "&":
            for op in ("&>>", "&>"):
                if s.startswith(op, i):
                    self.i = i + len(op)
                    return ("r", op, -1)
            op = "&&" if s.startswith("&&", i) else "&"
            self.i = i + len(op)
            return ("op", op)
        if c == "|":
            op = "||" if s.startswith("||", i) else "|&" if s.startswith("|&", i) else "|"
            self.i = i + len(op)
            return ("op", op)
        if c == ";":
            op = (
                ";;&"
                if s.startswith(";;&", i)
                else ";;"
                if s.startswith(";;", i)
                else ";&"
                if s.startswith(";&", i)
                else ";"
            )
            self.i = i + len(op)
            return ("op", op)
        if c in "()":
            self.i = i + 1
            return ("op", c)
        word, self.i = _read_word(s, i, n, self.issues, scan=self.scan)
        return ("w", word)

    def _redirect(self, i: int, fd: int) -> tuple[object, ...]:
        for op in _REDIR_OPS:
            if self.s.startswith(op, i):
                self.i = i + len(op)
                return ("r", op, fd)
        self.i = i + 1  # unreachable: s[i] is '<' or '>'
        return ("r", self.s[i], fd)


# ---------------------------------------------------------------------------------------------
# Parsing into a small syntax tree
# ---------------------------------------------------------------------------------------------
# nodes: ("pipe", [elements], background) ("simple", [Word], [redir]) ("sub", [nodes], [redir])
#        ("group", [nodes], [redir]) ("func", name, node|None) ("for", name, [Word] | None)
#        ("case", Word, [[nodes]], [pattern Word]) ("arith", [Word]) (a for (( ... )) header)   redir: (op, fd, Word | [Word | None] | None)

_SEPARATORS = frozenset({";", "&", "&&", "||", ";;", ";&", ";;&", "|", "|&"})
_OPENERS = frozenset({"if", "then", "else", "elif", "while", "until", "do", "!", "time", "coproc"})
_CLOSERS = frozenset({"fi", "done", "esac", "}", "]]", "in"})


def _is_array_start(text: str) -> bool:
    """``NAME=`` or ``NAME+=`` and nothing else (``arr=( ... )``)."""
    found = assignment_prefix(text)
    return found is not None and found[1] == len(text) and "[" not in text


class _Parser:
    __slots__ = ("budget", "depth", "issues", "la", "lx")

    def __init__(self, text: str, issues: list[str], budget: list[int]) -> None:
        self.lx = _Lexer(text, issues)
        self.la: tuple[object, ...] | None = None
        self.issues = issues
        self.budget = budget  # [tokens left, too deep], shared by every parser of one parse() call
        self.depth = 0

    def peek(self) -> tuple[object, ...]:
        if self.la is None:
            if self.budget[0] <= 0:
                self.la = _EOF
            else:
                self.budget[0] -= 1
                self.la = self.lx.next()
        return self.la

    def take(self) -> tuple[object, ...]:
        t = self.peek()
        if t is not _EOF:
            self.la = None
        return t

    @staticmethod
    def _reserved(t: tuple[object, ...]) -> str | None:
        if t[0] == "w":
            text = t[1].plain()  # type: ignore[attr-defined]
            if text in _RESERVED:
                return text  # type: ignore[no-any-return]
        return None

    def parse_seq(self, stops: frozenset[str]) -> list[tuple[object, ...]]:
        items: list[tuple[object, ...]] = []
        while True:
            t = self.peek()
            kind = t[0]
            if kind == "eof":
                return items
            if kind == "nl":
                self.take()
                continue
            if kind == "op":
                v = t[1]
                if v in stops:
                    return items
                if v in _SEPARATORS or v == ")":
                    if v == ")":
                        self.issues.append("unbalanced ')'")
                    self.take()
                    continue
            r = self._reserved(t)
            if r is not None and r in stops:
                return items
            before = (self.lx.i, t)
            node = self.parse_pipeline(stops)
            if node is not None:
                items.append(node)
            if (self.lx.i, self.la) == before:
                self.take()  # no progress: drop the token rather than loop

    def parse_pipeline(self, stops: frozenset[str]) -> tuple[object, ...] | None:
        elements: list[tuple[object, ...]] = []
        while True:
            el = self.parse_command(stops)
            if el is not None:
                elements.append(el)
            t = self.peek()
            if t[0] == "op" and t[1] in ("|", "|&"):
                self.take()
                while self.peek()[0] == "nl":
                    self.take()
                continue
            break
        if not elements:
            return None
        t = self.peek()
        return ("pipe", elements, t[0] == "op" and t[1] == "&")

    def parse_command(self, stops: frozenset[str]) -> tuple[object, ...] | None:
        if self.depth > _MAX_SYNTAX_DEPTH:
            self.budget[1] = 1
            self.take()
            return None
        self.depth += 1
        try:
            return self._command(stops)
        finally:
            self.depth -= 1

    def _command(self, stops: frozenset[str]) -> tuple[object, ...] | None:
        t = self.peek()
        if t[0] == "op" and t[1] == "(":
            self.take()
            body = self.parse_seq(frozenset({")"}))
            if self.peek()[0] == "op" and self.peek()[1] == ")":
                self.take()
            else:
                self.issues.append("unterminated subshell")
            return ("sub", body, self.parse_redirects())
        if t[0] == "r":
            return self.parse_simple()
        if t[0] != "w":
            return None
        r = self._reserved(t)
        if r is None:
            return self.parse_simple()
        if r in stops:
            return None
        if r == "{":
            self.take()
            body = self.parse_seq(stops | {"}"})
            if self._reserved(self.peek()) == "}":
                self.take()
            return ("group", body, self.parse_redirects())
        if r in _OPENERS:
            self.take()
            if r == "time":
                nt = self.peek()
                if nt[0] == "w" and nt[1].plain() == "-p":  # type: ignore[attr-defined]
                    self.take()
            elif r == "coproc":  # coproc NAME { ...; } and coproc NAME ( ... ): NAME is no command
                nt = self.peek()
                name_word: Word | None = nt[1] if nt[0] == "w" else None  # type: ignore[assignment]
                name = name_word.plain() if name_word is not None else None
                after = self.lx.s[self.lx.i : self.lx.i + 64].lstrip(" \t")[:1]
                if (
                    name
                    and name_end(name, 0) == len(name)
                    and self._reserved(nt) is None
                    and after in ("{", "(")
                ):
                    self.take()
            return self.parse_command(stops)
        if r in _CLOSERS:
            self.take()
            return None
        if r in ("for", "select"):
            return self.parse_for()
        if r == "case":
            return self.parse_case(stops)
        if r == "function":
            self.take()
            name_tok = self.take()
            func_word: Word | None = name_tok[1] if name_tok[0] == "w" else None  # type: ignore[assignment]
            name = func_word.literal() if func_word is not None else ""
            if self.peek()[0] == "op" and self.peek()[1] == "(":
                self.take()
                if self.peek()[0] == "op" and self.peek()[1] == ")":
                    self.take()
            while self.peek()[0] == "nl":
                self.take()
            return ("func", name, self.parse_command(stops))
        if r == "[[":
            return self.parse_test()
        return self.parse_simple()

    def parse_redirects(self) -> list[tuple[object, ...]]:
        redirs: list[tuple[object, ...]] = []
        while self.peek()[0] == "r":
            self._redirect(redirs)
        return redirs

    def _redirect(self, redirs: list[tuple[object, ...]]) -> None:
        _, op, fd = self.take()
        nt = self.peek()
        if nt[0] != "w":
            self.issues.append(f"redirection {op} has no target")
            redirs.append((op, fd, None))
            return
        self.take()
        word = nt[1]
        if op in ("<<", "<<-"):
            holder: list[Word | None] = [None]
            self.lx.add_heredoc(word, op == "<<-", holder)  # type: ignore[arg-type]
            redirs.append((op, fd, holder))
        else:
            redirs.append((op, fd, word))

    def parse_simple(self) -> tuple[object, ...]:
        words: list[Word] = []
        redirs: list[tuple[object, ...]] = []
        while True:
            t = self.peek()
            if t[0] == "w":
                self.take()
                words.append(t[1])  # type: ignore[arg-type]
                if (
                    self.peek()[0] == "op"
                    and self.peek()[1] == "("
                    and _is_array_start(words[-1].plain() or "")
                ):
                    words[-1] = self._array_value(words[-1])
                    continue
                if len(words) == 1 and self.peek()[0] == "op" and self.peek()[1] == "(":
                    self.take()
                    if self.peek()[0] == "op" and self.peek()[1] == ")":
                        self.take()
                        while self.peek()[0] == "nl":
                            self.take()
                        return ("func", words[0].literal(), self.parse_command(frozenset()))
                    self.issues.append("unexpected '('")
                continue
            if t[0] == "r":
                self._redirect(redirs)
                continue
            break
        return ("simple", words, redirs)

    def _array_value(self, name_word: Word) -> Word:
        """``NAME=( a b $(c) )``: one value, the elements joined by blanks, their literal text quoted
        (an element is never a command name) and their expansions kept, so that the commands a
        ``$(...)``, backtick or ``<(...)`` in an element runs are found like anywhere else."""
        self.take()
        parts: list[tuple[object, ...]] = [name_word.parts[0]]
        while True:
            t = self.take()
            if t[0] == "eof" or (t[0] == "op" and t[1] == ")"):
                break
            if t[0] == "w":
                if len(parts) > 1:
                    parts.append((LIT, " ", True))
                element: Word = t[1]  # type: ignore[assignment]
                for p in element.parts:
                    parts.append((LIT, p[1], True) if p[0] == LIT else p)
        return Word(parts)

    def parse_for(self) -> tuple[object, ...] | None:
        self.take()
        t = self.peek()
        if t[0] == "op" and t[1] == "(":  # for (( init; cond; step )): only its expansions run commands
            depth = 0
            words: list[Word] = []
            while True:
                t = self.take()
                if t[0] == "eof":
                    break
                if t[0] == "w":
                    words.append(t[1])  # type: ignore[arg-type]
                elif t[0] == "op" and t[1] == "(":
                    depth += 1
                elif t[0] == "op" and t[1] == ")":
                    depth -= 1
                    if depth <= 0 and not (self.peek()[0] == "op" and self.peek()[1] == ")"):
                        break
            return ("arith", words)
        if t[0] != "w":
            return None
        self.take()
        var: Word = t[1]  # type: ignore[assignment]
        name = var.literal()
        while self.peek()[0] == "nl":
            self.take()
        if self._reserved(self.peek()) != "in":
            return ("for", name, None)  # iterates over "$@"
        self.take()
        values: list[Word] = []
        while True:
            t = self.peek()
            if t[0] != "w" or self._reserved(t) == "do":
                break
            self.take()
            values.append(t[1])  # type: ignore[arg-type]
        return ("for", name, values)

    def parse_case(self, stops: frozenset[str]) -> tuple[object, ...] | None:
        self.take()
        t = self.peek()
        if t[0] != "w":
            return None
        self.take()
        subject: Word = t[1]  # type: ignore[assignment]
        while self.peek()[0] == "nl":
            self.take()
        if self._reserved(self.peek()) == "in":
            self.take()
        bodies: list[list[tuple[object, ...]]] = []
        patterns: list[Word] = []
        arm_stops = stops | {";;", ";&", ";;&", "esac"}
        while True:
            t = self.peek()
            if t[0] == "nl":
                self.take()
                continue
            if t[0] == "eof" or self._reserved(t) == "esac":
                if t[0] != "eof":
                    self.take()
                break
            # the pattern list: words and '|' up to ')'
            if t[0] == "op" and t[1] == "(":
                self.take()
            while True:
                t = self.peek()
                if t[0] == "eof" or t[0] == "nl":
                    break
                self.take()
                if t[0] == "op" and t[1] == ")":
                    break
                if t[0] == "w":  # a pattern is expanded before it is matched: $(...) in it runs
                    patterns.append(t[1])  # type: ignore[arg-type]
            bodies.append(self.parse_seq(arm_stops))
            t = self.peek()
            if t[0] == "op" and t[1] in (";;", ";&", ";;&"):
                self.take()
            elif t[0] == "eof":
                break
        return ("case", subject, bodies, patterns)

    def parse_test(self) -> tuple[object, ...]:
        words: list[Word] = [Word([(LIT, "[[", False)])]
        while True:
            t = self.take()
            if t[0] == "eof":
                break
            if t[0] == "w":
                if t[1].plain() == "]]":  # type: ignore[attr-defined]
                    break
                words.append(t[1])  # type: ignore[arg-type]
            elif t[0] in ("op", "r"):
                words.append(Word([(LIT, str(t[1]), False)]))
        return ("simple", words, [])


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


class Redirect:
    """A redirection: ``op`` (``>``, ``>>``, ``<``, ``<<``, ``<<<``, ``&>``, ``>&``, ...), the file
    descriptor written before it (-1 if none) and the expanded target (a heredoc's body for ``<<``)."""

    __slots__ = ("fd", "op", "target")

    def __init__(self, op: str, fd: int, target: Arg | None) -> None:
        self.op = op
        self.fd = fd
        self.target = target

    @property
    def writes(self) -> bool:
        """True for redirections that write to (or truncate) the target."""
        return self.op in (">", ">>", ">|", "&>", "&>>", "<>") or (
            self.op == ">&" and not _is_fd(self.target)
        )

    @property
    def reads(self) -> bool:
        """True for redirections that read a file (not heredocs or here-strings)."""
        return self.op in ("<", "<>") or (self.op == "<&" and not _is_fd(self.target))

    def __repr__(self) -> str:
        return f"Redirect({self.op!r}, {self.fd}, {self.target!r})"


def _is_fd(target: Arg | None) -> bool:
    return target is None or target.value == "-" or target.value.isdigit()


class Command:
    """One simple command as it would run.

    ``argv``/``args``: the command after prefix stripping (``sudo -u x nice rm -rf y`` ->
    ``['rm', '-rf', 'y']``); ``full_argv`` as written (after expansion); ``name`` the basename of
    ``argv[0]``; ``wrappers`` the stripped prefixes; ``via`` how it is reached (``('bash -c',)``,
    ``('$()',)``, ``('xargs',)``, ...); ``elevated`` under sudo/doas/su; ``remote`` run by ``ssh``
    on another host; ``cwd`` the tracked working directory (``None`` once unknown); ``pipes`` the
    pipelines it belongs to as ``(id, position, length)`` (innermost last); ``stdin`` the command
    piped into it; ``stdin_text`` literal text fed to it (heredoc, here-string, ``echo ... |``);
    ``substitutions`` the commands run by ``$(...)``/``<(...)`` in its words.
    """

    __slots__ = (
        "_text",
        "args",
        "assignments",
        "background",
        "cwd",
        "elevated",
        "full_argv",
        "name",
        "pipes",
        "redirects",
        "remote",
        "stdin",
        "stdin_text",
        "substitutions",
        "via",
        "wrappers",
    )

    def __init__(self, args: list[Arg]) -> None:
        self.args = args
        self.full_argv: list[str] = [a.value for a in args]
        self._text: str | None = None
        self.name = ""
        self.assignments: list[tuple[str, Arg]] = []
        self.redirects: list[Redirect] = []
        self.wrappers: list[str] = []
        self.via: tuple[str, ...] = ()
        self.elevated = False
        self.remote = False
        self.cwd: str | None = None
        self.pipes: tuple[tuple[int, int, int], ...] = ()
        self.background = False
        self.stdin: Command | None = None
        self.stdin_text: str | None = None
        self.substitutions: list[Command] = []

    @property
    def argv(self) -> list[str]:
        """The command's words after prefix stripping."""
        return [a.value for a in self.args]

    @property
    def text(self) -> str:
        """The command as written (prefixes included), words joined by spaces (joined once: rules
        quote it per finding and per file access, which must not cost a join of every word each time)."""
        if self._text is None:
            self._text = " ".join(self.full_argv)
        return self._text

    def __repr__(self) -> str:
        extra = f", via={self.via}" if self.via else ""
        return f"Command({self.argv!r}{extra})"


class ParseResult:
    """Every simple command a command line would run, in order, nested ones included."""

    __slots__ = ("commands", "failed", "functions", "issues", "source", "truncated")

    def __init__(self, source: str) -> None:
        self.source = source
        self.commands: list[Command] = []
        #: function name -> the commands of its body
        self.functions: dict[str, list[Command]] = {}
        #: syntax problems met (unbalanced quotes, unterminated heredocs, ...)
        self.issues: list[str] = []
        #: the text was too long, too deeply nested or had too many commands to analyse fully
        self.truncated = False
        #: an internal error forced a crude fallback split
        self.failed = False

    def pipelines(self) -> dict[int, list[list[Command]]]:
        """Commands grouped by pipeline id, then by position in that pipeline."""
        out: dict[int, list[list[Command]]] = {}
        for c in self.commands:
            for pid, pos, length in c.pipes:
                slots = out.setdefault(pid, [[] for _ in range(length)])
                if pos < len(slots):
                    slots[pos].append(c)
        return out


# ---------------------------------------------------------------------------------------------
# Evaluation: expansion, prefixes, nested commands
# ---------------------------------------------------------------------------------------------

SHELL_NAMES = frozenset(
    {"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "busybox", "rbash", "yash"}
)
_GUARDED = object()  # a variable known to be non-empty, value unknown


class _Scope:
    __slots__ = ("cwd", "depth", "elevated", "env", "remote", "via")

    def __init__(
        self,
        env: dict[str, object],
        cwd: str | None,
        via: tuple[str, ...],
        elevated: bool,
        remote: bool,
        depth: int,
    ) -> None:
        self.env = env
        self.cwd = cwd
        self.via = via
        self.elevated = elevated
        self.remote = remote
        self.depth = depth

    def child(
        self, via: str | None = None, *, elevated: bool | None = None, remote: bool | None = None
    ) -> _Scope:
        return _Scope(
            dict(self.env),
            self.cwd,
            (*self.via, via) if via else self.via,
            self.elevated if elevated is None else elevated,
            self.remote if remote is None else remote,
            self.depth + 1 if via else self.depth,
        )


class _Evaluator:
    __slots__ = ("budget", "home", "next_pipe", "proc_out", "project_dir", "result")

    def __init__(self, result: ParseResult, home: str | None, project_dir: str | None) -> None:
        self.result = result
        #: the known output of the last ``<(...)`` expanded (``<(echo CODE)``), for a shell reading it
        self.proc_out: str | None = None
        self.home = home
        self.project_dir = project_dir
        self.next_pipe = 0
        self.budget = [MAX_TOKENS, 0]  # tokens left, nesting too deep

    # -- scripts and nodes ----------------------------------------------------------------------
    def script(
        self,
        text: str,
        scope: _Scope,
        pipes: tuple[tuple[int, int, int], ...] = (),
        direct: list[Command] | None = None,
    ) -> list[Command]:
        """Parse and evaluate ``text``; returns the commands it runs (nested ones included)."""
        if scope.depth > MAX_DEPTH:
            self.result.truncated = True
            self.result.issues.append("nesting too deep; the rest was not analysed")
            return []
        start = len(self.result.commands)
        nodes = _Parser(text, self.result.issues, self.budget).parse_seq(frozenset())
        if self.budget[0] <= 0 or self.budget[1]:
            if not self.result.truncated:
                self.result.issues.append("too many tokens or too deeply nested; the rest was not analysed")
            self.result.truncated = True
        for node in nodes:
            self.node(node, scope, pipes, direct if direct is not None else [])
        return self.result.commands[start:]

    def node(
        self,
        node: tuple[object, ...],
        scope: _Scope,
        pipes: tuple[tuple[int, int, int], ...],
        direct: list[Command],
    ) -> None:
        if len(self.result.commands) >= MAX_COMMANDS:
            self.result.truncated = True
            return
        kind = node[0]
        if kind == "pipe":
            elements: list[tuple[object, ...]] = node[1]  # type: ignore[assignment]
            pid = self.next_pipe
            self.next_pipe += 1
            producer: list[Command] = []
            start = len(self.result.commands)
            for pos, el in enumerate(elements):
                here: list[Command] = []
                if el[0] == "simple":
                    self.simple(
                        el,
                        scope,
                        (*pipes, (pid, pos, len(elements))),
                        here,
                        producer[-1] if producer else None,
                    )
                else:
                    self.node(el, scope, (*pipes, (pid, pos, len(elements))), here)
                direct.extend(here)
                producer = here
            if node[2]:
                for c in self.result.commands[start:]:
                    c.background = True
        elif kind == "simple":
            self.simple(node, scope, pipes, direct, None)
        elif kind in ("sub", "group"):
            inner = scope.child() if kind == "sub" else scope
            start = len(self.result.commands)
            children: list[tuple[object, ...]] = node[1]  # type: ignore[assignment]
            for n in children:
                self.node(n, inner, pipes, direct)
            redirs = self.redirects(node[2], scope, [])  # type: ignore[arg-type]
            if redirs:
                for c in self.result.commands[start:]:
                    if c.via == scope.via:
                        c.redirects.extend(redirs)
        elif kind == "func":
            name = str(node[1])
            body = node[2]
            start = len(self.result.commands)
            if body is not None:
                self.node(body, scope.child(f"function {name}"), pipes, [])  # type: ignore[arg-type]
            self.result.functions[name] = self.result.commands[start:]
        elif kind == "for":
            name = str(node[1])
            values = node[2]
            if values is None:
                scope.env.pop(name, None)
                return
            subs: list[Command] = []
            expanded = [a for w in values for a in self.expand(w, scope, subs)]  # type: ignore[attr-defined]
            if len(expanded) == 1 and not expanded[0].dynamic and not expanded[0].glob:
                scope.env[name] = expanded[0].value
            elif expanded and all(a.value and not a.dynamic for a in expanded[:_MAX_LOOP_VALUES]):
                scope.env[name] = _Loop([a.value for a in expanded[:_MAX_LOOP_VALUES]])
            else:
                scope.env.pop(name, None)
        elif kind == "arith":
            arith_words: list[Word] = node[1]  # type: ignore[assignment]
            for w in arith_words:
                self.expand_one(w, scope, [])
        elif kind == "case":
            self.expand(node[1], scope, [])  # type: ignore[arg-type]
            patterns: list[Word] = node[3]  # type: ignore[assignment]
            for w in patterns:
                self.expand_one(w, scope, [])
            bodies: list[list[tuple[object, ...]]] = node[2]  # type: ignore[assignment]
            for body in bodies:
                for n in body:
                    self.node(n, scope, pipes, direct)

    def redirects(self, raw: list[tuple[object, ...]], scope: _Scope, subs: list[Command]) -> list[Redirect]:
        out: list[Redirect] = []
        for op, fd, target in raw:
            if isinstance(target, Word):
                arg = self.expand_one(target, scope, subs)
            elif target is None:
                arg = None
            else:  # the heredoc holder _redirect made
                holder: list[Word | None] = target  # type: ignore[assignment]
                word = holder[0]
                arg = self.expand_one(word, scope, subs) if word is not None else Arg("")
            out.append(Redirect(str(op), int(fd), arg))  # type: ignore[call-overload]
        return out

    # -- simple commands ------------------------------------------------------------------------
    def simple(
        self,
        node: tuple[object, ...],
        scope: _Scope,
        pipes: tuple[tuple[int, int, int], ...],
        direct: list[Command],
        producer: Command | None,
    ) -> None:
        if len(self.result.commands) >= MAX_COMMANDS:  # e.g. the 2001st stage of one pipeline
            self.result.truncated = True
            return
        words: list[Word] = node[1]  # type: ignore[assignment]
        subs: list[Command] = []
        assignments: list[tuple[str, Arg]] = []
        self.proc_out = None
        i = 0
        while i < len(words):
            split = _split_assignment(words[i])
            if split is None:
                break
            name, value_word = split
            assignments.append((name, self.expand_one(value_word, scope, subs)))
            i += 1
        args: list[Arg] = []
        for w in words[i:]:
            args.extend(self.expand(w, scope, subs))
        redirects = self.redirects(node[2], scope, subs)  # type: ignore[arg-type]
        if not args:
            for name, value in assignments:
                _assign(scope.env, name, value)
            if assignments or redirects:
                cmd = Command([])
                cmd.assignments = assignments
                cmd.redirects = redirects
                cmd.substitutions = subs
                self._place(cmd, scope, pipes)
                direct.append(cmd)
            return
        # `bash <(echo CODE)`, `source <(echo CODE)`, `bash < <(echo CODE)`: the shell runs what the
        # process substitution prints, as `echo CODE | bash` would
        proc_out, self.proc_out = self.proc_out, None
        stdin_text = None
        for r in redirects:
            if r.op in ("<<", "<<-", "<<<") and r.target is not None:
                stdin_text = r.target.value + ("\n" if r.op == "<<<" else "")
            elif (
                r.op == "<" and r.target is not None and r.target.value == PROC_PATH and proc_out is not None
            ):
                stdin_text = proc_out + "\n"
        self.emit(args, scope, pipes, direct, assignments, redirects, subs, producer, stdin_text)
        name = posixpath.basename(args[0].value)
        if (
            proc_out
            and (name in SHELL_NAMES or name in ("source", "."))
            and any(a.value == PROC_PATH for a in args[1:])
        ):
            self.script(proc_out, scope.child(f"{name} <(...)"), pipes)

    def _place(self, cmd: Command, scope: _Scope, pipes: tuple[tuple[int, int, int], ...]) -> None:
        cmd.via = scope.via
        cmd.elevated = cmd.elevated or scope.elevated
        cmd.remote = scope.remote
        cmd.cwd = scope.cwd
        cmd.pipes = pipes
        self.result.commands.append(cmd)

    def emit(
        self,
        args: list[Arg],
        scope: _Scope,
        pipes: tuple[tuple[int, int, int], ...],
        direct: list[Command],
        assignments: list[tuple[str, Arg]],
        redirects: list[Redirect],
        subs: list[Command],
        producer: Command | None,
        stdin_text: str | None,
    ) -> Command:
        """Record one command (prefixes stripped) and follow the commands hidden inside it."""
        if len(self.result.commands) >= MAX_COMMANDS:
            self.result.truncated = True
        cmd = Command(args)
        cmd.assignments = list(assignments)
        cmd.redirects = redirects
        cmd.substitutions = subs
        cmd.stdin = producer
        if stdin_text is None and producer is not None and producer.name in ("echo", "printf"):
            stdin_text = echo_text(producer.name, producer.args)
        cmd.stdin_text = stdin_text
        if args and posixpath.basename(args[0].value) in _WRAPPER_NAMES:
            from lib.guards.shell_wrappers import strip_prefixes

            core, wrappers, elevated, extra_env, payload = strip_prefixes(args)
        else:
            core, wrappers, elevated, extra_env, payload = args[:], [], False, [], None
        cmd.args = core
        cmd.wrappers = wrappers
        cmd.elevated = elevated
        cmd.assignments.extend(extra_env)
        cmd.name = posixpath.basename(core[0].value) if core else ""
        self._place(cmd, scope, pipes)
        direct.append(cmd)
        inner = scope.child(elevated=True) if elevated and not scope.elevated else scope
        if payload is not None:  # env -S / watch / su -c / flock -c style: a shell string
            self.script(payload[1], inner.child(payload[0]), pipes)
        self._follow(cmd, inner, pipes)
        self._track_state(cmd, scope)
        return cmd

    def _follow(self, cmd: Command, scope: _Scope, pipes: tuple[tuple[int, int, int], ...]) -> None:
        name = cmd.name
        args = cmd.args
        if not args:
            return
        if name in SHELL_NAMES:
            code, reads_stdin = _shell_payload(args)
            if code is not None:
                self.script(code, scope.child(f"{name} -c"), pipes)
            elif reads_stdin and cmd.stdin_text is not None:
                self.script(cmd.stdin_text, scope.child(f"{name} <stdin"), pipes)
        elif name == "eval":
            text = " ".join(a.value for a in args[1:])
            if text:
                self.script(text, scope.child("eval"), pipes)
        elif name == "trap":  # trap [--] ACTION SIGNAL...: the action runs later, as eval would run it
            rest = args[2:] if args[1].value == "--" else args[1:]
            if len(rest) >= 2 and rest[0].value not in ("", "-") and not rest[0].value.startswith("-"):
                self.script(rest[0].value, scope.child("trap"), pipes)
        elif name in ("source", ".") and len(args) >= 2 and args[1].value in ("/dev/stdin", "-"):
            if cmd.stdin_text is not None:
                self.script(cmd.stdin_text, scope.child(f"{name} <stdin"), pipes)
        elif name == "xargs":
            from lib.guards.shell_nested import xargs_command

            inner = xargs_command(args, None if cmd.stdin is None else (cmd.stdin.name, cmd.stdin.args))
            if inner:
                self.emit(inner, scope.child("xargs"), pipes, [], [], [], [], None, None)
        elif name == "parallel":  # GNU parallel runs its template through a shell, once per argument
            from lib.guards.shell_nested import parallel_command_lines

            for line in parallel_command_lines(args):
                self.script(line, scope.child("parallel"), pipes)
        elif name == "find":
            if any(a.value in _FIND_EXEC for a in args):
                from lib.guards.shell_nested import find_exec_commands

                for inner in find_exec_commands(args):
                    self.emit(inner, scope.child("find -exec"), pipes, [], [], [], [], None, None)
        elif name == "ssh":
            from lib.guards.shell_nested import ssh_remote_command

            remote = ssh_remote_command(args)
            if remote:
                rscope = scope.child("ssh", remote=True)
                rscope.env = {"HOME": "/home/.remote"}  # pyright: ignore[reportAttributeAccessIssue]
                rscope.cwd = "/home/.remote"
                self.script(remote, rscope, pipes)
        elif name in ("awk", "gawk", "mawk", "nawk"):
            from lib.guards.shell_nested import awk_program, embedded_shell_strings

            program = awk_program(args)
            for shell_text in embedded_shell_strings(program or ""):
                self.script(shell_text, scope.child(f"{name} system"), pipes)
        elif name in _INTERPRETERS or (name.startswith("python3.") and name[8:].isdigit()):
            code = _interpreter_code(args)
            if code is None and cmd.stdin_text is not None and _reads_script_from_stdin(args):
                code = cmd.stdin_text
            if code:
                from lib.guards.shell_nested import embedded_argv_lists, embedded_shell_strings

                for shell_text in embedded_shell_strings(code):
                    self.script(shell_text, scope.child(f"{name} -c"), pipes)
                home = scope.env.get("HOME")
                for argv in embedded_argv_lists(code):
                    words = [Arg(home if v == "~" and isinstance(home, str) else v) for v in argv]
                    self.emit(words, scope.child(f"{name} -c"), pipes, [], [], [], [], None, None)

    def _track_state(self, cmd: Command, scope: _Scope) -> None:
        name = cmd.name
        args = cmd.args
        if name in ("cd", "pushd"):
            targets = [a for a in args[1:] if not a.value.startswith("-") or a.value == "-"]
            if not targets:
                home = scope.env.get("HOME")
                scope.cwd = home if isinstance(home, str) else None
            else:
                t = targets[0]
                if t.dynamic or t.glob or t.value == "-":
                    scope.cwd = None
                else:
                    scope.cwd = _join(scope.cwd, t.value)
            if scope.cwd is not None:
                scope.env["PWD"] = scope.cwd
            else:
                scope.env.pop("PWD", None)
        elif name == "popd":
            scope.cwd = None
            scope.env.pop("PWD", None)
        elif name in ("export", "declare", "typeset", "local", "readonly"):
            for a in args[1:]:
                found = assignment_prefix(a.value)
                if found is not None:
                    _assign(scope.env, found[0], Arg(a.value[found[1] :], a.dynamic, a.glob))
        elif name == "unset":
            for a in args[1:]:
                if not a.value.startswith("-"):
                    scope.env.pop(a.value, None)

    # -- expansion ------------------------------------------------------------------------------
    def expand_one(self, word: Word, scope: _Scope, subs: list[Command]) -> Arg:
        """Expand ``word`` to a single value (assignments, redirect targets: no splitting)."""
        values = self._expand_parts(word.parts, scope, subs, split=False)
        return values[0] if values else Arg("")

    def expand(self, word: Word, scope: _Scope, subs: list[Command]) -> list[Arg]:
        """Expand ``word`` into the arguments it becomes (brace expansion, field splitting)."""
        if len(word.parts) == 1 and word.parts[0][0] == LIT:  # one literal, the commonest word
            quoted, text = bool(word.parts[0][2]), str(word.parts[0][1])
            if quoted or "{" not in text:
                return [Arg(text, False, not quoted and has_glob(text))]
        alternatives = [word.parts]
        if any(p[0] == LIT and not p[2] and "{" in str(p[1]) for p in word.parts):
            from lib.guards.shell_braces import MAX_WORDS, TooManyWords, brace_expand, brace_texts

            try:
                if len(word.parts) == 1 and "~" not in str(word.parts[0][1]):
                    # one unquoted literal and no tilde to uncover: plain strings suffice
                    return [Arg(t, False, has_glob(t)) for t in brace_texts(str(word.parts[0][1]))]
                alternatives = brace_expand(word.parts)
            except TooManyWords:
                self.result.truncated = True
                self.result.issues.append(
                    f"a brace expansion makes more than {MAX_WORDS} words; not analysed"
                )
                return [Arg(word.literal(), True)]
        out: list[Arg] = []
        for parts in alternatives:
            out.extend(self._expand_parts(parts, scope, subs, split=True))
        return out

    def _run_nested(self, text: str, scope: _Scope, subs: list[Command]) -> None:
        """Find the commands ``$(...)``, backticks and ``<(...)`` inside a parameter expansion's
        pattern, subscript or message would run (their values are not needed)."""
        if "$(" in text or "`" in text or "<(" in text or ">(" in text:
            self.expand_one(_word_from_text(text, self.result.issues), scope, subs)

    def _expand_parts(
        self, parts: list[tuple[object, ...]], scope: _Scope, subs: list[Command], split: bool
    ) -> list[Arg]:
        for p in parts:  # a `for` variable over a literal list: one argument per value
            if p[0] == VAR:
                loop = self._lookup(str(p[1]), scope)
                if isinstance(loop, _Loop):
                    out: list[Arg] = []
                    for v in loop.values:
                        sub = scope.child()
                        sub.env[str(p[1])] = v
                        out.extend(self._expand_parts(parts, sub, subs, split))
                    return out
        value: list[str] = []
        empty: list[str] = []
        dynamic = glob = guarded = False
        for p in parts:
            kind = p[0]
            if kind == LIT:
                text = str(p[1])
                value.append(text)
                empty.append(text)
                if not p[2] and has_glob(text):
                    glob = True
            elif kind == VAR:
                name, op, argraw, q = str(p[1]), str(p[2]), str(p[3]), bool(p[4])
                known = self._lookup(name, scope)
                if op == "other" and argraw in ("[@]", "[*]") and isinstance(known, str):
                    # a known array (kept as its elements joined by blanks): "${a[@]}" is its elements
                    alone = all(x is p or (x[0] == LIT and not x[1]) for x in parts)  # "" around it
                    if split and alone and (not q or argraw == "[@]"):
                        return [Arg(v) for v in known.split()]
                    op = ""
                if op == "" and isinstance(known, str):
                    if split and not q and len(parts) == 1:
                        ifs = self._lookup("IFS", scope)
                        fields = _ifs_split(known, ifs if isinstance(ifs, str) else " \t\n")
                        if len(fields) != 1 or fields[0] != known:
                            return [Arg(v) for v in fields]
                    value.append(known)
                    empty.append(known)
                    glob = glob or (not q and has_glob(known))
                elif op in ("", "other", "len", "indirect"):
                    dynamic = True
                    value.append("$" + name if op == "" else "${" + name + "}")
                    # a known-non-empty variable stays a placeholder; an unknown one may be empty
                    empty.append("$" + name if known is _GUARDED else "")
                    # ${x/a/$(cmd)}, ${x#$(cmd)}, ${x:0:$(cmd)}, ${arr[$(cmd)]}, ${#arr[$(cmd)]}: bash
                    # expands the pattern, replacement, offset or subscript, running what is in them
                    self._run_nested(argraw if op == "other" else name, scope, subs)
                elif op in (":-", "-", ":=", "="):
                    if isinstance(known, str) and (known or op in ("-", "=")):
                        value.append(known)
                        empty.append(known)
                    elif known is _GUARDED:
                        dynamic = True
                        value.append("$" + name)
                        empty.append("$" + name)
                    else:
                        default = self.expand_one(_word_from_text(argraw, self.result.issues), scope, subs)
                        default_empty = default.if_empty if default.if_empty is not None else default.value
                        if isinstance(known, str):  # known to be empty: the default is used
                            value.append(default.value)
                            empty.append(default_empty)
                            dynamic = dynamic or default.dynamic
                        else:  # unknown: either its value or, when empty, the default
                            dynamic = True
                            value.append("${" + name + ":-" + default.value + "}")
                            empty.append(default_empty)
                            if op in (":=", "=") and default.value and not default.dynamic:
                                scope.env[name] = _GUARDED
                elif op in (":?", "?"):
                    if isinstance(known, str) and known:
                        value.append(known)
                        empty.append(known)
                    else:  # unset or empty aborts the command: it can never run with an empty value
                        dynamic = guarded = True
                        value.append("$" + name)
                        empty.append("$" + name)
                        self._run_nested(argraw, scope, subs)  # the message is expanded first
                else:  # :+ / +
                    alt = self.expand_one(_word_from_text(argraw, self.result.issues), scope, subs)
                    if isinstance(known, str) or known is _GUARDED:
                        text = alt.value if (known is _GUARDED or known or op == "+") else ""
                        value.append(text)
                        empty.append(text)
                        dynamic = dynamic or alt.dynamic
                    else:
                        dynamic = True
                        value.append("${" + name + ":+" + alt.value + "}")
                        empty.append("")
            elif kind == CMD:
                body = str(p[1])
                via = (*scope.via, "$()")
                inner = self.script(body, scope.child("$()"))
                subs.extend(c for c in inner if c.via == via)
                known_out = self._known_output(inner, scope, via)
                if known_out is not None:
                    if split and not p[2] and len(parts) == 1 and " " in known_out:
                        return [Arg(v) for v in known_out.split()]
                    value.append(known_out)
                    empty.append(known_out)
                else:
                    dynamic = True
                    value.append("$(" + body + ")")
                    empty.append("")
            elif kind == PROC:
                via_name = f"{p[2]}()"
                inner = self.script(str(p[1]), scope.child(via_name))
                subs.extend(c for c in inner if c.via == (*scope.via, via_name))
                self.proc_out = self._known_output(inner, scope, (*scope.via, via_name))
                dynamic = True
                value.append(PROC_PATH)
                empty.append(PROC_PATH)
            elif kind == ARITH:
                for ep in _word_from_text(str(p[1]), self.result.issues).parts:
                    if ep[0] == CMD:
                        inner = self.script(str(ep[1]), scope.child("$()"))
                        subs.extend(c for c in inner if c.via == (*scope.via, "$()"))
                dynamic = True
                value.append("$((" + str(p[1]) + "))")
                empty.append("0")
            elif kind == TILDE:
                resolved = self._tilde(str(p[1]), scope)
                if resolved is None:
                    dynamic = True
                    value.append("~" + str(p[1]))
                    empty.append("~" + str(p[1]))
                else:
                    value.append(resolved)
                    empty.append(resolved)
            else:  # SPECIAL: $1, $@, $?, ...
                dynamic = True
                value.append("$" + str(p[1]))
                empty.append("")
        if_empty = None if not dynamic or guarded else "".join(empty)
        return [Arg("".join(value), dynamic, glob, if_empty)]

    @staticmethod
    def _tilde(user: str, scope: _Scope) -> str | None:
        home = scope.env.get("HOME")
        if user == "":
            return home if isinstance(home, str) else None
        if user == "+":
            return scope.cwd
        if user == "-":
            return None
        if user == "root":
            return "/root"
        base = posixpath.dirname(home) if isinstance(home, str) and home.startswith("/") else "/home"
        return posixpath.join(base or "/home", user)

    def _lookup(self, name: str, scope: _Scope) -> object:
        """A variable's value: a str when known, _GUARDED/_Loop when non-empty, None when unknown."""
        if name == "PWD":
            return scope.cwd
        return scope.env.get(name)

    def _known_output(self, inner: list[Command], scope: _Scope, via: tuple[str, ...]) -> str | None:
        """The output of a few well-known substitutions: pwd, git's top level, echo, mktemp."""
        direct = [c for c in inner if c.via == via]
        if len(direct) != 1:
            return None
        c = direct[0]
        argv = c.argv
        if c.name == "pwd":
            return scope.cwd
        if c.name == "git" and argv[1:] == ["rev-parse", "--show-toplevel"]:
            return self.project_dir
        if c.name == "echo" and not any(a.dynamic for a in c.args):
            return echo_text(c.name, c.args).rstrip("\n")
        if c.name == "mktemp":
            return "/tmp/tmp.mktemp"
        return None


class _Loop:
    """A ``for`` variable iterating over a literal list."""

    __slots__ = ("values",)

    def __init__(self, values: list[str]) -> None:
        self.values = values


def _assign(env: dict[str, object], name: str, value: Arg) -> None:
    if value.dynamic:
        if value.if_empty is None:  # guarded: non-empty
            env[name] = _GUARDED
        else:
            env.pop(name, None)
    else:
        env[name] = value.value


def _ifs_split(text: str, ifs: str) -> list[str]:
    """Field splitting of an unquoted expansion on the characters of ``$IFS`` (empty fields dropped)."""
    fields: list[str] = []
    field: list[str] = []
    for ch in text:
        if ch in ifs:
            if field:
                fields.append("".join(field))
                field = []
        else:
            field.append(ch)
    if field:
        fields.append("".join(field))
    return fields


def _split_assignment(word: Word) -> tuple[str, Word] | None:
    """``NAME=value`` (unquoted name) -> (NAME, value word); else None."""
    if not word.parts:
        return None
    first = word.parts[0]
    if first[0] != LIT or first[2]:
        return None
    text = str(first[1])
    found = assignment_prefix(text)
    if found is None:
        return None
    rest = text[found[1] :]
    parts: list[tuple[object, ...]] = []
    if rest.startswith("~") and (len(rest) == 1 or rest[1] == "/"):
        parts.append((TILDE, ""))
        rest = rest[1:]
    if rest:
        parts.append((LIT, rest, False))
    parts.extend(word.parts[1:])
    if not parts:
        parts.append((LIT, "", True))
    return found[0], Word(parts)


def _join(cwd: str | None, path: str) -> str | None:
    if path.startswith("/"):
        return posixpath.normpath(path) if path != "//" else "/"
    if cwd is None:
        return None
    return posixpath.normpath(posixpath.join(cwd, path))


# -- prefixes ---------------------------------------------------------------------------------


#: First words that wrap another command (the table above, and the string runners ``su -c``,
#: ``runuser -c``, ``flock``, ``watch``, ``script -c``): :mod:`lib.guards.shell_wrappers` strips them.
_WRAPPER_NAMES = frozenset(WRAPPERS) | {"su", "runuser", "flock", "watch", "script"}
#: ``find`` options that run a command (:func:`lib.guards.shell_nested.find_exec_commands`).
_FIND_EXEC = frozenset({"-exec", "-execdir", "-ok", "-okdir"})


# -- nested commands --------------------------------------------------------------------------


_STDIN_PATHS = frozenset({"/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})
#: what a process substitution ``<(...)`` becomes on the command line
PROC_PATH = "/dev/fd/63"


def _shell_payload(args: list[Arg]) -> tuple[str | None, bool]:
    """For ``bash [opts] -c CODE`` return (CODE, False); for a shell reading stdin (None, True)."""
    cmd_mode = stdin_mode = False
    i = 1
    n = len(args)
    if posixpath.basename(args[0].value) == "busybox":
        if n < 2 or posixpath.basename(args[1].value) not in SHELL_NAMES:
            return None, False
        i = 2
    while i < n:
        v = args[i].value
        if v == "--" or v == "-":
            i += 1
            break
        if v in ("-o", "+o", "-O", "+O", "--rcfile", "--init-file"):
            i += 2
            continue
        if v.startswith("--"):
            i += 1
            continue
        if len(v) > 1 and v[0] in "-+":
            if v[0] == "-" and "c" in v[1:]:
                cmd_mode = True
            if v[0] == "-" and "s" in v[1:]:
                stdin_mode = True
            i += 1
            continue
        break
    if cmd_mode:
        return (args[i].value if i < n else ""), False
    if i < n and not stdin_mode:
        if args[i].value in _STDIN_PATHS:
            return None, True  # `bash /dev/stdin <<< CODE` reads its script from stdin
        return None, False  # runs a script file
    return None, True


_INTERPRETERS = frozenset(
    {"python", "python2", "python3", "perl", "ruby", "node", "nodejs", "php", "deno", "bun", "pypy", "pypy3"}
)


def _interpreter_code(args: list[Arg]) -> str | None:
    """Inline code of ``python -c CODE``, ``perl -e CODE``, ``node -e CODE``, ``ruby -e CODE``, ..."""
    for i, a in enumerate(args[1:], 1):
        v = a.value
        if v in ("-c", "-e", "-E", "--eval", "-r", "--print", "-p") and i + 1 < len(args):
            return args[i + 1].value
        if (
            v.startswith("-")
            and not v.startswith("--")
            and v[-1] in "ce"
            and len(v) > 2
            and i + 1 < len(args)
        ):
            return args[i + 1].value
        if not v.startswith("-"):
            return None
    return None


def _reads_script_from_stdin(args: list[Arg]) -> bool:
    """``python3 - <<EOF``, ``node < x``: an interpreter with no script argument, or ``-``."""
    pos = [a.value for a in args[1:] if not a.value.startswith("-") or a.value == "-"]
    return not pos or pos[0] == "-"


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def parse(
    command: str,
    *,
    cwd: str | None = None,
    home: str | None = None,
    project_dir: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ParseResult:
    """Parse ``command`` as bash would; never raises (see the module docstring).

    ``cwd`` is where the command starts (relative paths and ``cd`` are resolved from it), ``home``
    the value of ``~``/``$HOME``, ``project_dir`` the value of ``$CLAUDE_PROJECT_DIR``; ``env`` adds
    other variables whose values are known. The result is shared with the next call made with the same
    arguments: treat it as read-only.
    """
    if not isinstance(command, str):
        command = str(command)
    global _last
    key = (command, cwd, home, project_dir, tuple(sorted(env.items())) if env else ())
    if _last is not None and _last[0] == key:
        return _last[1]  # the Bash and file guards of one tool call parse the same line
    result = _parse(command, cwd, home, project_dir, env)
    _last = (key, result)
    return result


#: The last :func:`parse` call: (its arguments, its result).
_last: tuple[tuple[object, ...], ParseResult] | None = None


def _parse(
    command: str, cwd: str | None, home: str | None, project_dir: str | None, env: Mapping[str, str] | None
) -> ParseResult:
    result = ParseResult(command)
    text = command
    if len(text) > MAX_INPUT:
        text = text[:MAX_INPUT]
        result.truncated = True
        result.issues.append(f"command longer than {MAX_INPUT} characters; only the start was analysed")
    if "\x00" in text:
        text = text.replace("\x00", "")
        result.issues.append("NUL bytes removed")
    known: dict[str, object] = {}
    if env:
        known.update({str(k): str(v) for k, v in env.items()})
    if home:
        known["HOME"] = home
    if project_dir:
        known["CLAUDE_PROJECT_DIR"] = project_dir
    start_cwd = posixpath.normpath(cwd) if cwd and cwd.startswith("/") else None
    if start_cwd:
        known["PWD"] = start_cwd
    scope = _Scope(known, start_cwd, (), False, False, 0)
    evaluator = _Evaluator(result, home, project_dir)
    try:
        evaluator.script(text, scope)
    except (RecursionError, MemoryError, ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        _fallback(result, text, start_cwd, exc)
    return result


def _fallback(result: ParseResult, text: str, cwd: str | None, exc: BaseException) -> None:
    """Replace the result with a crude split: segments at operators, words at blanks."""
    result.failed = True
    result.commands = []
    result.issues.append(f"parser error ({type(exc).__name__}); crude word split used")
    try:
        import re  # only after a parser error

        for seg in re.split(r"&&|\|\||[;|&\n()`]|\$\(", text[:MAX_INPUT])[:MAX_COMMANDS]:
            words = [w.strip("'\"") for w in seg.split()]
            if words:
                cmd = Command([Arg(w) for w in words])
                cmd.name = posixpath.basename(words[0])
                cmd.cwd = cwd
                result.commands.append(cmd)
    except Exception:  # pragma: no cover - the fallback must never raise
        result.commands = []
