"""Secret redaction for everything our logs, spans and events put on disk.

Two layers. Known token shapes (API keys of Anthropic, OpenAI, AWS, GitHub, Slack, Google, Stripe and
others, bearer tokens, JWTs, private key blocks, passwords in URLs) are found anywhere in a string by
one precompiled pattern. Values that are secret because of their *name* are found in
``KEY=value`` / ``key: value`` / ``"key": "value"`` text and, in structured data, by dict key: a name
is secret-like when one of its words is (``password``, ``secret``, ``token``, ``api_key``...) and its
last word does not describe metadata (``max_tokens``, ``token_count``, ``password_min_length`` stay).
A value that is only a reference (``$GITHUB_TOKEN``, ``${SECRET}``, ``<your-key>``) stays.

Redaction happens before truncation, and a long string is cut to its budget plus a margin *before* the
patterns run, so a 50 MB tool output costs the same as a small one and no secret is cut in half
(a private key block that lost its END line is still removed to the end of the string).

Stdlib only (besides the import-free :mod:`lib.plain_data`): every hook process imports this module. ``re`` itself is imported only when a string
holds something a pattern could match (a token prefix, ``://`` with ``@``, an assignment whose name
has a secret word in it): most hook processes never pay for it.
"""

from __future__ import annotations

from lib.plain_data import plain_dict, plain_sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

__all__ = ["MASK", "is_secret_name", "name_words", "redact", "redact_text", "truncate"]

MASK = "[REDACTED]"
_MARGIN = 512

# (name shown in the mask, lower-case literals one of which a match must contain, pattern). A pattern is
# compiled and run only when one of its literals occurs in the text: most strings a hook logs contain
# none, and compiling all of them would cost every hook process milliseconds.
_TOKEN_RULES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "private-key",
        ("private key",),
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*\Z)",
    ),
    ("anthropic-key", ("sk-ant-",), r"\bsk-ant-[a-z]{2,8}\d{0,3}-[A-Za-z0-9_\-]{20,}"),
    (
        "openai-key",
        ("sk-",),
        r"\bsk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}"
        r"|\bsk-[A-Za-z0-9]{20,}T3BlbkFJ[A-Za-z0-9]{20,}|\bsk-[A-Za-z0-9]{40,}\b",
    ),
    (
        "aws-access-key-id",
        ("akia", "asia", "abia", "acca", "agpa", "aida", "aroa", "aipa", "anpa", "anva", "apka"),
        r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b",
    ),
    (
        "github-token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
    ),
    (
        "slack-token",
        ("xox", "xapp-"),
        r"\bxox[abposre]-(?:\d+-)*[A-Za-z0-9\-]{10,}|\bxapp-\d-[A-Z0-9]+-\d+-[a-f0-9]{20,}",
    ),
    (
        "slack-webhook",
        ("hooks.slack",),
        r"https://hooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}",
    ),
    ("google-api-key", ("aiza",), r"\bAIza[0-9A-Za-z_\-]{35}"),
    ("google-oauth-secret", ("gocspx-",), r"\bGOCSPX-[A-Za-z0-9_\-]{20,}"),
    (
        "google-oauth-token",
        ("ya29.", "1//0"),
        r"\bya29\.[0-9A-Za-z_\-]{20,}|(?<![\w/])1//0[0-9A-Za-z_\-]{30,}",
    ),
    ("stripe-key", ("_live_", "_test_"), r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,}"),
    ("gitlab-token", ("glpat-", "gldt-", "glptt-", "glrt-"), r"\bgl(?:pat|dt|ptt|rt)-[0-9A-Za-z_\-]{20,}"),
    ("npm-token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi-token", ("pypi-age",), r"\bpypi-AgE[A-Za-z0-9_\-]{50,}"),
    ("huggingface-token", ("hf_",), r"\bhf_[A-Za-z]{30,}\b"),
    ("sendgrid-key", ("sg.",), r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}"),
    ("digitalocean-token", ("doo_v1_", "dop_v1_", "dor_v1_"), r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    ("jwt", ("eyj",), r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*)?"),
    ("bearer-token", ("bearer", "token"), r"\b(?i:bearer|token)\s+[A-Za-z0-9._~+/\-]{16,}=*"),
    ("basic-auth", ("basic",), r"\b(?i:basic)\s+[A-Za-z0-9+/]{12,}={0,2}"),
)
_compiled: dict[str, re.Pattern[str]] = {}

# Secrets passed as command-line arguments, which no name or shape gives away: (programs, one of which
# must occur in the lower-cased text; flags, one of which must occur too; a pattern whose group ``v`` is
# the secret). A value that is only a reference (``-p"$PW"``) stays.
_V = r"""(?P<v>"[^"\n]*"|'[^'\n]*'|[^\s"';&|)]+)"""
_ARGS = r"[^\n;&|]*?"  # the rest of the same simple command
_ARGV_RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], str], ...] = (
    (("mysql", "mariadb"), (" -p",), r"\b(?:mysql|mariadb)[\w-]*" + _ARGS + r"\s-p" + _V),
    (("sshpass",), (" -p",), r"\bsshpass\b" + _ARGS + r"\s-p[ \t]*" + _V),
    (
        ("login",),
        (" -p", "--password"),
        r"\blogin\b" + _ARGS + r"\s(?:-p|--password)(?:[ \t]+|=)" + _V,
    ),
    (("redis-cli",), (" -a", "--pass"), r"\bredis-cli\b" + _ARGS + r"\s(?:-a|--pass)[ \t]+" + _V),
    (
        ("curl", "wget", "http", "xh", "ftp"),
        (" -u", "--user", " -U", "--proxy-user"),
        r"\b(?:curl|wget|https?|xh|l?ftp)\b" + _ARGS + r"""\s(?:-u|-U|--user|--proxy-user)(?:[ \t]+|=)?"""
        r"""["']?[^\s:"']*:(?P<v>[^\s"']+)""",
    ),
)
# `aws configure set aws_secret_access_key X`, `git config github.token X`: a secret-named setting
_CONFIG_SET = (
    r"\bconfig(?:ure)?(?:[ \t]+(?:set|--global|--local|--system|--add|-g))*[ \t]+"
    r"(?P<name>[A-Za-z_][\w.:/@-]*)[ \t]+" + _V
)
# `--password X`, `--api-key X`: a secret-named long option and its separate value
_LONG_OPTION = r"(?<![\w-])--(?P<name>[A-Za-z][\w-]*)[ \t]+" + _V
# long options that are switches (`--password-stdin`, `--no-password`, `--ask-pass`): no value follows
_SWITCH_WORDS = frozenset(
    {"no", "ask", "prompt", "with", "use", "show", "print", "reset", "require", "allow", "disable", "enable",
     "skip", "generate", "stdin", "interactive", "from", "file", "env"}
)  # fmt: skip


def _pattern(source: str) -> re.Pattern[str]:
    compiled = _compiled.get(source)
    if compiled is None:
        import re

        compiled = _compiled[source] = re.compile(source)
    return compiled


# scheme://user:password@host  ->  scheme://user:[REDACTED]@host
_URL_PASSWORD = r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<pw>[^\s@/]+)(?P<tail>@)"

# NAME=value, name: value, "name": "value", --name=value
_ASSIGNMENT = (
    r"""(?P<name>\b[A-Za-z][A-Za-z0-9_.\-]*)(?P<close>["']?)(?P<sep>[ \t]*(?:=|:)[ \t]*)"""
    r"""(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s"',;&}\])]+)"""
)

_SECRET_WORDS = frozenset(
    {
        "password", "passwd", "passphrase", "pwd", "pass", "secret", "secrets", "token", "apikey",
        "credential", "credentials", "cred", "creds", "authorization", "auth", "privatekey", "cookie",
        "sessionid", "signature", "dsn", "jwt", "otp",
    }
)  # fmt: skip
_KEY_QUALIFIERS = frozenset(
    {"api", "access", "private", "secret", "signing", "encryption", "client", "master"}
)
_METADATA_WORDS = frozenset(
    {
        "count", "counts", "len", "length", "limit", "size", "type", "kind", "min", "max", "ttl", "expiry",
        "expires", "expiration", "timeout", "file", "path", "dir", "name", "id", "url", "uri", "env", "header",
        "field", "hint", "policy", "prompt", "required", "enabled", "disabled", "set", "present", "usage",
        "budget", "mode", "format", "version", "hash", "rotation", "reset", "endpoint", "provider", "scope",
        "scopes", "source", "location", "tokens", "rate", "method", "methods", "strategy",
    }
)  # fmt: skip
# Words of a name: runs of ASCII letters and digits, also split where a lower-case letter or digit is
# followed by an upper-case letter (apiKey -> api, Key): the regex [^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z]).
_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER_OR_DIGIT = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_WORD_CHARS = _UPPER | _LOWER_OR_DIGIT
_REFERENCE = (
    r"^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^<>]*>|\*+|\[REDACTED[^\]]*\]|%\(?\w+\)?s?|\{\{[^}]*\}\})$"
)
_NOT_SECRET_VALUES = frozenset({"", "true", "false", "null", "none", "nil", "undefined", "yes", "no"})
# A secret-like name contains one of these (lower-cased): text without any has no secret assignment.
_NAME_HINTS = (*sorted(_SECRET_WORDS), "key")
# a word ending in one of these is secret too (PGPASSWORD, HTPASSWD, csrftoken, SSHPASS)
_SECRET_SUFFIXES = ("password", "passwd", "passphrase", "secret", "token", "sshpass")


_name_verdicts: dict[str, bool] = {}


def is_secret_name(name: str) -> bool:
    """Whether a field or variable called ``name`` holds a secret (``DB_PASSWORD`` yes, ``max_tokens`` no)."""
    verdict = _name_verdicts.get(name)
    if verdict is None:
        verdict = _name_verdicts[name] = _judge_name(name)
    return verdict


def name_words(name: str) -> list[str]:
    """The lower-cased words of a field or variable name (``DB_PASSWORD`` -> db, password;
    ``apiKey`` -> api, key)."""
    words: list[str] = []
    start = -1  # where the current word began, -1 between words
    previous = ""
    for i, char in enumerate(name):
        if char not in _WORD_CHARS:
            if start >= 0:
                words.append(name[start:i].lower())
                start = -1
            previous = ""
            continue
        if start < 0:
            start = i
        elif char in _UPPER and previous in _LOWER_OR_DIGIT:
            words.append(name[start:i].lower())
            start = i
        previous = char
    if start >= 0:
        words.append(name[start:].lower())
    return words


def _judge_name(name: str) -> bool:
    words = name_words(name)
    if not words or words[-1] in _METADATA_WORDS:
        return False
    for i, word in enumerate(words):
        if word in _SECRET_WORDS or word.endswith(_SECRET_SUFFIXES):  # PGPASSWORD, csrftoken
            return True
        if word == "key" and i > 0 and words[i - 1] in _KEY_QUALIFIERS:
            return True
        if word.endswith("key") and word[:-3] in _KEY_QUALIFIERS:  # apikey, privatekey, accesskey
            return True
    return False


def _is_reference(value: str) -> bool:
    return value.lower() in _NOT_SECRET_VALUES or _pattern(_REFERENCE).match(value) is not None


def _mask_assignments(text: str) -> str:
    """Mask the values of secret-named assignments; a non-secret one's value is scanned again
    (``step: DB_PASSWORD=x`` holds an assignment inside the value of another)."""
    lower = text.lower()
    if not any(hint in lower for hint in _NAME_HINTS):
        return text  # no name in it can be secret-like
    out: list[str] = []
    pos = 0
    search = _pattern(_ASSIGNMENT).search
    match = search(text)
    while match is not None:
        value = match.group("value")
        quote = value[0] if value[:1] in ("'", '"') and len(value) >= 2 else ""
        inner = value[1:-1] if quote else value
        if is_secret_name(match.group("name")) and not _is_reference(inner.strip()):
            out.append(text[pos : match.start("value")])
            out.append(f"{quote}{MASK}{quote}")
            pos = match.end()
            match = search(text, pos)
        else:
            match = search(text, match.end("sep"))
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)


def _mask_value(source: str, text: str, *, named: bool = False) -> str:
    """Mask group ``v`` of every match of ``source`` (only where group ``name`` is secret-like when
    ``named``); a reference (``$PW``) stays."""

    def mask(match: re.Match[str]) -> str:
        value = match.group("v")
        quoted = value[:1] in ("'", '"') and len(value) >= 2
        inner = value[1:-1] if quoted else value
        if _is_reference(inner.strip()):
            return match.group(0)
        if named and not _is_secret_option(match.group("name")):
            return match.group(0)
        start, end = match.start("v") - match.start(), match.end("v") - match.start()
        whole = match.group(0)
        return whole[:start] + (f"{value[0]}{MASK}{value[0]}" if quoted else MASK) + whole[end:]

    return _pattern(source).sub(mask, text)


def _is_secret_option(name: str) -> bool:
    return is_secret_name(name) and not any(word in _SWITCH_WORDS for word in name_words(name))


def _mask_arguments(text: str, lower: str) -> str:
    """Secrets given to a program as arguments (``mysql -pX``, ``curl -u user:X``, ``--token X``,
    ``aws configure set aws_secret_access_key X``)."""
    for programs, flags, source in _ARGV_RULES:
        if any(p in lower for p in programs) and any(f in lower for f in flags):
            text = _mask_value(source, text)
    if "config" in lower and any(hint in lower for hint in _NAME_HINTS):
        text = _mask_value(_CONFIG_SET, text, named=True)
    if "--" in text and any(hint in lower for hint in _NAME_HINTS):
        text = _mask_value(_LONG_OPTION, text, named=True)
    return text


def redact_text(text: str) -> str:
    """Mask every secret found in ``text``."""
    if len(text) < 8:
        return text
    lower = text.lower()
    for name, literals, source in _TOKEN_RULES:
        for literal in literals:
            if literal in lower:
                text = _pattern(source).sub(f"[REDACTED:{name}]", text)
                break
    if "://" in text and "@" in text:
        text = _pattern(_URL_PASSWORD).sub(r"\g<head>" + MASK + r"\g<tail>", text)
    if " -" in text or "config" in lower:
        text = _mask_arguments(text, lower)
    if "=" in text or ":" in text:
        text = _mask_assignments(text)
    return text


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` characters, saying how much was dropped."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    return f"{text[:max_chars]}…[truncated {len(text) - max_chars} chars]"


def redact(value: object, *, max_chars: int = 0, max_items: int = 0, _depth: int = 0) -> object:
    """A copy of ``value`` (JSON-like data) with secrets masked and long strings and lists cut.

    Dict entries whose key is secret-like are masked whole. ``max_chars`` / ``max_items`` <= 0 mean
    no limit. Nesting deeper than 32 levels is replaced by a marker.
    """
    if isinstance(value, str):
        if max_chars > 0 and len(value) > max_chars:
            # redact a little more than is kept, so a secret across the cut is still recognised
            head = redact_text(value[: max_chars + _MARGIN])
            return f"{head[:max_chars]}…[truncated {len(value) - max_chars} chars]"
        return redact_text(value)
    if _depth >= 32:
        return "[nested too deep]"
    mapping = plain_dict(value)
    if mapping is not None:
        out: dict[str, object] = {}
        for key, item in mapping.items():
            skey = str(key)
            if is_secret_name(skey) and isinstance(item, (str, int, float)) and not isinstance(item, bool):
                out[skey] = item if isinstance(item, str) and _is_reference(item.strip()) else MASK
            else:
                out[skey] = redact(item, max_chars=max_chars, max_items=max_items, _depth=_depth + 1)
        return out
    sequence = plain_sequence(value)
    if sequence is not None:
        items = list(sequence)
        extra = 0
        if max_items > 0 and len(items) > max_items:
            extra = len(items) - max_items
            items = items[:max_items]
        result: list[object] = [
            redact(item, max_chars=max_chars, max_items=max_items, _depth=_depth + 1) for item in items
        ]
        if extra:
            result.append(f"…[{extra} more items]")
        return result
    return value
