"""The file guard: protected paths (secrets, private keys, credentials, ``.git`` internals, Claude Code
and hook settings) and writes outside the project, for the file tools and for Bash file access.

    policy = FilePolicy(level="standard")
    policy.evaluate_tool("Read", {"file_path": "/p/.env"}, cwd="/p", project_dir="/p", home="/home/me")
    # Verdict('deny', 'env-read')

Paths are resolved before deciding: ``..`` is folded and symlinks are followed (``os.path.realpath``,
injectable), and both the path as given and its target are judged, so a link named ``notes.txt``
pointing at ``.env`` is still a secret. ``.env.example``/``.sample``/``.template``/``.dist`` and
``*.pub`` keys are not protected.

Patterns (defaults in :data:`DEFAULT_PATTERNS`, extras from config) are globs: without a ``/`` they
match the file name (``*.pem``); ``~/...`` is anchored at the home directory, ``{project}/...`` at
the project, ``/...`` at the root; any other pattern with a ``/`` matches at the end of the path
(``.aws/credentials``). ``**`` crosses directories, ``*`` does not. Matching ignores case.
"""

from __future__ import annotations

import os

from lib.guards.glob_match import Glob, has_magic, literal_chars
from lib.guards.locations import (
    ANCESTOR,
    GIT,
    HOME,
    HOME_CRITICAL,
    INSIDE,
    OUTSIDE,
    PROJECT,
    ROOT,
    SYSTEM,
    SYSTEM_SUB,
    TEMP,
    UNKNOWN,
    Places,
    is_harmless_device,
    normalize,
)
from lib.guards.verdict import Finding, Rule, Verdict, check_level, decide

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from lib.guards.shell_parse import Arg

__all__ = [
    "DEFAULT_PATTERNS",
    "FILE_TOOLS",
    "MAX_PATHS",
    "RULES",
    "FilePolicy",
    "evaluate_file_tool",
    "tool_accesses",
]

ENV, KEY, CREDENTIALS, SECRET_DIR, GIT_INTERNALS, HOOKS, PROTECTED = (
    "env", "key", "credentials", "secret-dir", "git-internals", "hooks-config", "protected",
)  # fmt: skip
_SECRETS = (ENV, KEY, CREDENTIALS, PROTECTED)

#: Tools whose input names files, and the input fields holding them.
FILE_TOOLS = (
    "Read",
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "NotebookRead",
    "Glob",
    "Grep",
    "LS",
    "Bash",
)

#: (pattern, category), checked in this order; the first match decides the category.
DEFAULT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("*.pem", KEY), ("*.key", KEY), ("*.p12", KEY), ("*.pfx", KEY), ("*.jks", KEY), ("*.keystore", KEY),
    ("*.ppk", KEY), ("id_rsa", KEY), ("id_dsa", KEY), ("id_ecdsa", KEY), ("id_ed25519", KEY), ("id_ecdsa_sk", KEY),
    ("id_ed25519_sk", KEY), ("*_rsa", KEY), ("*_dsa", KEY), ("*_ecdsa", KEY), ("*_ed25519", KEY), ("secring.*", KEY),
    (".netrc", CREDENTIALS), ("_netrc", CREDENTIALS), (".pgpass", CREDENTIALS), (".git-credentials", CREDENTIALS),
    (".htpasswd", CREDENTIALS), ("credentials.json", CREDENTIALS), ("client_secret*.json", CREDENTIALS),
    ("*.kdbx", CREDENTIALS), (".vault-token", CREDENTIALS), (".aws/credentials", CREDENTIALS),
    ("~/.npmrc", CREDENTIALS), ("~/.pypirc", CREDENTIALS), ("~/.docker/config.json", CREDENTIALS),
    ("~/.kube/config", CREDENTIALS), ("~/.config/gh/hosts.yml", CREDENTIALS), ("~/.gem/credentials", CREDENTIALS),
    ("~/.terraform.d/credentials.tfrc.json", CREDENTIALS), ("~/.config/gcloud/**", CREDENTIALS),
    ("~/.azure/**", CREDENTIALS), ("~/.password-store/**", CREDENTIALS),
    (".env", ENV), (".env.*", ENV), ("*.env", ENV), (".envrc", ENV),
    ("{project}/.claude/settings.json", HOOKS), ("{project}/.claude/settings.local.json", HOOKS),
    ("{project}/.claude/hooks.toml", HOOKS), ("{project}/.claude/hooks-runtime/**", HOOKS),
    ("{project}/.claude/state/**", HOOKS), ("~/.claude/settings.json", HOOKS), ("~/.claude/settings.local.json", HOOKS),
    ("/etc/claude-code/**", HOOKS), ("/Library/Application Support/ClaudeCode/**", HOOKS),
    ("~/.ssh/**", SECRET_DIR), ("~/.aws/**", SECRET_DIR), ("~/.gnupg/**", SECRET_DIR), ("~/.kube/**", SECRET_DIR),
    (".git", GIT_INTERNALS), (".git/**", GIT_INTERNALS),
)  # fmt: skip

#: Never protected as env files / keys: templates and public keys.
_EXEMPT = {
    ENV: ("*.example", "*.sample", "*.template", "*.dist", "*.defaults", "*.schema", "*.tpl", "*.in"),
    KEY: ("*.pub",),
}
#: Directories whose contents are all secrets: reading the directory itself (grep -r) reads them.
_SECRET_DIR_ROOTS = ("~/.ssh", "~/.aws", "~/.gnupg", "~/.password-store", "~/.config/gcloud", "~/.azure")
#: Names a glob is tried against to see whether it would pick up a secret (``cat *.pem``).
_PROBES = (".env", ".env.local", ".env.production", "id_rsa", "id_ed25519", "server.pem", "private.key",
           "credentials.json", ".netrc", "cert.p12", "credentials", ".git-credentials")  # fmt: skip

_R = Rule
RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _R("env-read", "reads a .env file with secrets", "deny/deny/ask",
           "use .env.example for the variable names; ask the user for any value you need."),
        _R("env-write", "overwrites or deletes a .env file with secrets", "deny/ask/allow",
           "edit .env.example and tell the user which values to add to .env."),
        _R("env-source", "loads a .env file with secrets into the shell", "deny/ask/allow",
           "run the tool through its own env loading (dotenv, docker --env-file) without printing values."),
        _R("key-read", "reads a private key", "deny/deny/ask",
           "never read private keys; use them through ssh/git/openssl without printing them."),
        _R("key-write", "overwrites or deletes a private key", "deny/deny/ask",
           "leave existing keys alone; ask the user to generate or replace keys."),
        _R("credentials-read", "reads a credentials file", "deny/deny/ask",
           "ask the user for what you need, or use the tool that owns the credentials."),
        _R("credentials-write", "overwrites or deletes a credentials file", "deny/ask/ask",
           "ask the user to update their credentials."),
        _R("protected-read", "reads a path protected by guards.protected_paths", "deny/deny/ask",
           "ask the user for the information you need from it."),
        _R("protected-write", "writes a path protected by guards.protected_paths", "deny/deny/ask",
           "ask the user to change it."),
        _R("secret-dir-read", "reads from ~/.ssh, ~/.aws, ~/.gnupg or ~/.kube", "ask/allow/allow",
           "ask the user for the setting you need."),
        _R("secret-dir-write", "writes into ~/.ssh, ~/.aws, ~/.gnupg or ~/.kube", "deny/deny/ask",
           "tell the user what to change in their SSH/cloud configuration."),
        _R("secret-list", "lists secret files", "ask/allow/allow",
           "list only the project paths you need."),
        _R("secret-use", "passes a secret file to a program", "ask/allow/allow",
           "make sure the program does not print the secret."),
        _R("git-internals-write", "writes inside .git (repository internals, hooks)", "deny/ask/allow",
           "use git commands (`git config`, `git update-ref`, ...) instead of editing .git by hand."),
        _R("hooks-config-write", "changes Claude Code settings or the hooks runtime (disables the guards)",
           "deny/deny/ask",
           "leave .claude/settings*.json, .claude/hooks.toml and the hooks runtime alone; ask the user."),
        _R("system-write", "writes into system directories", "deny/ask/ask",
           "work inside the project; ask the user to change system files."),
        _R("write-outside-project", "writes outside the project directory", "ask/ask/allow",
           "write inside the project (or a temp directory); ask the user before touching other places."),
        _R("too-many-paths", "names more file paths than the guard checks in its time budget", "ask/ask/allow",
           "split the command, or pass the paths through a file list (`xargs -a list.txt ...`)."),
    )
}  # fmt: skip

_OP_RULES = {
    (ENV, "read"): "env-read", (ENV, "write"): "env-write", (ENV, "source"): "env-source",
    (KEY, "read"): "key-read", (KEY, "write"): "key-write", (KEY, "source"): "key-read",
    (CREDENTIALS, "read"): "credentials-read", (CREDENTIALS, "write"): "credentials-write",
    (CREDENTIALS, "source"): "credentials-read",
    (PROTECTED, "read"): "protected-read", (PROTECTED, "write"): "protected-write", (PROTECTED, "source"): "protected-read",
    (SECRET_DIR, "read"): "secret-dir-read", (SECRET_DIR, "source"): "secret-dir-read",
    (SECRET_DIR, "write"): "secret-dir-write",
    (GIT_INTERNALS, "write"): "git-internals-write", (HOOKS, "write"): "hooks-config-write",
}  # fmt: skip
_OPS = frozenset({"read", "write", "delete", "list", "source", "use", "exec"})
#: Most distinct file accesses of one Bash command checked (about 10 µs each); past it: ``too-many-paths``.
MAX_PATHS = 4096


class _Pattern:
    """A compiled protected-path pattern."""

    __slots__ = ("category", "glob", "kind", "text")

    def __init__(self, text: str, category: str) -> None:
        self.text = text
        self.category = category
        if "/" not in text:
            self.kind, body = "name", text
        elif text.startswith("~/"):
            self.kind, body = "home", text[2:]
        elif text.startswith("{project}/"):
            self.kind, body = "project", text[len("{project}/") :]
        elif text.startswith("/"):
            self.kind, body = "abs", text
        else:
            self.kind, body = "suffix", "**/" + (text[2:] if text.startswith("./") else text)
        self.glob = Glob(body)

    def matches(self, path: str, name: str, home: str | None, project: str | None) -> bool:
        if self.kind == "name":
            return self.glob.match(name)
        if self.kind == "home":
            return home is not None and path.startswith(home + "/") and self.glob.match(path[len(home) + 1 :])
        if self.kind == "project":
            return (
                project is not None
                and path.startswith(project + "/")
                and self.glob.match(path[len(project) + 1 :])
            )
        if self.kind == "abs":
            return self.glob.match(path)
        return self.glob.match(path.lstrip("/"))


_DEFAULTS = tuple(_Pattern(p, c) for p, c in DEFAULT_PATTERNS)
_EXEMPT_COMPILED = {cat: tuple(Glob(p) for p in pats) for cat, pats in _EXEMPT.items()}


class FilePolicy:
    """The file guard for one configuration."""

    __slots__ = ("exemptions", "level", "overrides", "patterns", "resolve", "writable_dirs")

    def __init__(
        self,
        *,
        level: str = "standard",
        extra_protected: Iterable[str] = (),
        unprotected: Iterable[str] = (),
        writable_dirs: Iterable[str] = (),
        overrides: Mapping[str, str] | None = None,
        resolve: Callable[[str], str] | None = os.path.realpath,
    ) -> None:
        self.level = check_level(level)
        removed = {str(u).strip() for u in unprotected if str(u).strip()}
        self.patterns = [_Pattern(str(p).strip(), PROTECTED) for p in extra_protected if str(p).strip()]
        self.patterns += [p for p in _DEFAULTS if p.text not in removed]
        #: unprotected entries that are not default pattern texts act as exemptions
        self.exemptions = [_Pattern(u, "") for u in removed if u not in {t for t, _ in DEFAULT_PATTERNS}]
        self.writable_dirs = [str(d) for d in writable_dirs]
        self.overrides = dict(overrides or {})
        self.resolve = resolve

    # -- classification ---------------------------------------------------------------------------
    def category(self, path: str, places: Places) -> tuple[str, str] | None:
        """The protected category of an absolute path and the pattern that matched, if any."""
        name = path.rsplit("/", 1)[-1]
        home, project = places.home, places.project
        if any(e.matches(path, name, home, project) for e in self.exemptions):
            return None
        for p in self.patterns:
            if p.matches(path, name, home, project):
                exempt = _EXEMPT_COMPILED.get(p.category, ())
                if any(e.match(name) for e in exempt):
                    continue
                return p.category, p.text
        return None

    def _judge(self, path: str, op: str, places: Places, shown: str, out: list[Finding]) -> None:
        op = {"delete": "write", "exec": "use"}.get(op, op)
        found = self.category(path, places)
        if found is not None:
            category, pattern = found
            if (
                op == "read"
                and category == SECRET_DIR
                and places.home is not None
                and any(path == places.home + root[1:] for root in _SECRET_DIR_ROOTS)
            ):
                category = CREDENTIALS  # reading the whole directory reads its keys
            rule_id = _OP_RULES.get((category, op))
            if rule_id is None and category in _SECRETS and op in ("list", "use"):
                rule_id = "secret-list" if op == "list" else "secret-use"
            if rule_id is not None:
                out.append(Finding(RULES[rule_id], f"{op} {path}, protected by `{pattern}`", shown))
        elif (
            op == "read"
            and places.home is not None
            and any(path == places.home + root[1:] for root in _SECRET_DIR_ROOTS)
        ):
            out.append(Finding(RULES["credentials-read"], f"read {path}", shown))
        if op == "write":
            self._judge_write_location(path, places, shown, out)

    def _judge_write_location(self, path: str, places: Places, shown: str, out: list[Finding]) -> None:
        if is_harmless_device(path) or places.project is None:
            return
        if any(path == d or path.startswith(d.rstrip("/") + "/") for d in self._writable(places)):
            return
        cls = places.classify(path)
        if cls in (INSIDE, PROJECT, GIT, TEMP, UNKNOWN):
            return
        if cls in (ROOT, SYSTEM, SYSTEM_SUB) and not places.is_home_root(path):
            out.append(Finding(RULES["system-write"], f"write {path}", shown))
        elif cls in (OUTSIDE, HOME, HOME_CRITICAL, ANCESTOR, SYSTEM):
            out.append(Finding(RULES["write-outside-project"], f"write {path}", shown))

    def _writable(self, places: Places) -> list[str]:
        out: list[str] = []
        for d in self.writable_dirs:
            if d.startswith("~/") and places.home:
                d = places.home + d[1:]
            norm = normalize(d, places.project)
            if norm:
                out.append(norm)
        return out

    def _candidates(self, path: str) -> list[str]:
        """The path and, if different, where its symlinks lead."""
        out = [path]
        if self.resolve is not None:
            try:
                real = self.resolve(path)
            except (OSError, ValueError):
                real = path
            if real and real != path:
                out.append(real)
        return out

    def _real_places(self, places: Places) -> Places:
        if self.resolve is None:
            return places

        def _r(p: str | None) -> str | None:
            if p is None or self.resolve is None:
                return p
            try:
                return self.resolve(p)
            except (OSError, ValueError):
                return p

        return Places(
            home=_r(places.home), project=_r(places.project), cwd=_r(places.cwd), tmpdir=_r(places.tmpdir)
        )

    def check_path(
        self, value: str, op: str, places: Places, cwd: str | None, out: list[Finding], shown: str
    ) -> None:
        """Judge one access: ``value`` (absolute or relative to ``cwd``), ``op`` (read/write/...)."""
        if op not in _OPS:
            return
        if value.startswith("~") and places.home and (value == "~" or value.startswith("~/")):
            value = places.home + value[1:]
        path = normalize(value, cwd)
        if path is None:
            return
        real_places: Places | None = None
        for i, candidate in enumerate(self._candidates(path)):
            if i == 0:
                self._judge(candidate, op, places, shown, out)
            else:
                real_places = real_places or self._real_places(places)
                self._judge(candidate, op, real_places, shown, out)

    def check_glob(
        self, base: str | None, pattern: str, op: str, places: Places, out: list[Finding], shown: str
    ) -> None:
        """Judge a glob (``cat *.pem``, Grep ``glob=".env*"``) by the secret names it would pick up."""
        name_pattern = pattern.rstrip("/").rsplit("/", 1)[-1]
        directory = pattern.rstrip("/").rpartition("/")[0] if "/" in pattern else ""
        if directory.startswith("~") and places.home and (directory == "~" or directory.startswith("~/")):
            directory = places.home + directory[1:]
        if directory and not has_magic(directory):
            base = normalize(directory, base or places.cwd)
        if not literal_chars(name_pattern).strip("."):
            # only wildcards ('*'): it targets secrets only when it reads a whole secret directory
            if base and op in ("read", "source"):
                self._judge(base, "read", places, shown, out)
            return
        name_glob = Glob(name_pattern)
        for probe in _PROBES:
            if name_glob.match(probe):
                probe_path = f"{(base or places.cwd or '/').rstrip('/')}/{probe}"
                before = len(out)
                self._judge(probe_path, op, places, shown, out)
                if len(out) > before:
                    return

    # -- entry points -----------------------------------------------------------------------------
    def evaluate_path(
        self,
        path: str,
        op: str,
        *,
        cwd: str | None = None,
        project_dir: str | None = None,
        home: str | None = None,
        tmpdir: str | None = None,
    ) -> Verdict:
        """Judge one access to ``path`` (``op``: read, write, delete, list, source, use)."""
        places = Places(home=home, project=project_dir, cwd=cwd, tmpdir=tmpdir)
        out: list[Finding] = []
        self.check_path(path, op, places, places.cwd, out, path)
        return decide("file", out, self.level, self.overrides)

    def evaluate_tool(
        self,
        tool_name: str,
        tool_input: Mapping[str, object],
        *,
        cwd: str | None = None,
        project_dir: str | None = None,
        home: str | None = None,
        tmpdir: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Verdict:
        """Judge a tool call's file accesses (Read, Write, Edit, MultiEdit, NotebookEdit, Glob, Grep, LS,
        Bash); other tools are allowed."""
        places = Places(home=home, project=project_dir, cwd=cwd, tmpdir=tmpdir)
        out: list[Finding] = []
        if tool_name == "Bash":
            command = tool_input.get("command")
            if isinstance(command, str):
                self._check_bash(command, places, out, env)
        else:
            for op, value, is_glob, base in tool_accesses(tool_name, tool_input):
                shown = ""
                if is_glob:
                    self.check_glob(
                        normalize(base, places.cwd) if base else places.cwd, value, op, places, out, shown
                    )
                else:
                    self.check_path(value, op, places, places.cwd, out, shown)
        return decide("file", out, self.level, self.overrides)

    def _check_bash(
        self, command: str, places: Places, out: list[Finding], env: Mapping[str, str] | None
    ) -> None:
        from lib.guards.shell_effects import file_effects
        from lib.guards.shell_parse import parse

        known = dict(env or {})
        if places.tmpdir:
            known.setdefault("TMPDIR", places.tmpdir)
        parsed = parse(command, cwd=places.cwd, home=places.home, project_dir=places.project, env=known)
        seen: set[tuple[str, str, str | None]] = set()
        for cmd in parsed.commands:
            for op, arg in file_effects(cmd):
                if op == "modify" or (arg.dynamic and ("$" in arg.value)):
                    continue
                key = (op, arg.value, cmd.cwd)
                if key in seen:  # the same access again (``cat a a a ...``): judged once
                    continue
                if len(seen) >= MAX_PATHS:
                    out.append(
                        Finding(RULES["too-many-paths"], f"more than {MAX_PATHS} file paths", cmd.text)
                    )
                    return
                seen.add(key)
                shown = cmd.text or command
                if arg.glob:
                    self.check_glob(cmd.cwd, arg.value, op, places, out, shown)
                else:
                    self.check_path(arg.value, op, places, cmd.cwd, out, shown)
            code = _inline_code(cmd.args)
            if code:
                for name in _secret_names_in_code(code):
                    self.check_path(name, "read", places, cmd.cwd, out, cmd.text)


_SECRET_IN_CODE = (
    r"""['"]((?:[~\w./-]*/)?(?:\.env(?:\.[\w.-]+)?|id_(?:rsa|dsa|ecdsa|ed25519)|[\w.-]+\.(?:pem|key|p12|pfx)|\.netrc"""
    r"""|\.git-credentials|credentials(?:\.json)?|\.pgpass))['"]"""
)


def _secret_names_in_code(code: str) -> list[str]:
    """Protected file names quoted in inline code (``open('.env')``); Bash path only, so ``re`` is
    imported here rather than by every file-tool call."""
    import re

    return [m.group(1) for m in re.finditer(_SECRET_IN_CODE, code[:65536])]


def _inline_code(args: list[Arg]) -> str | None:
    """The inline code of ``python -c``/``node -e``/``ruby -e``/``perl -e``."""
    from lib.guards.shell_effects import is_interpreter

    if not args or not is_interpreter(args[0].value.rsplit("/", 1)[-1]):
        return None
    for i, a in enumerate(args[1:], 1):
        if a.value in ("-c", "-e", "-E", "--eval", "-p", "--print") and i + 1 < len(args):
            return args[i + 1].value
    return None


#: Non-Bash tools that name files: (operation, input fields naming the path, the first one set wins;
#: input field holding a glob, relative to the path). Grep's glob may hold ``{a,b}`` alternatives.
_TOOL_FILES: dict[str, tuple[str, tuple[str, ...], str | None]] = {
    "Read": ("read", ("file_path", "notebook_path"), None),
    "NotebookRead": ("read", ("file_path", "notebook_path"), None),
    "Write": ("write", ("file_path", "notebook_path"), None),
    "Edit": ("write", ("file_path", "notebook_path"), None),
    "MultiEdit": ("write", ("file_path", "notebook_path"), None),
    "NotebookEdit": ("write", ("file_path", "notebook_path"), None),
    "LS": ("list", ("path",), None),
    "Glob": ("list", ("path",), "pattern"),
    "Grep": ("read", ("path",), "glob"),
}


def tool_accesses(
    tool_name: str, tool_input: Mapping[str, object]
) -> list[tuple[str, str, bool, str | None]]:
    """File accesses of a non-Bash tool call: (op, path or glob, is_glob, base directory of the glob)."""

    def field(name: str) -> str | None:
        value = tool_input.get(name)
        return value if isinstance(value, str) and value else None

    out: list[tuple[str, str, bool, str | None]] = []
    spec = _TOOL_FILES.get(tool_name)
    if spec is None:
        return out
    op, path_fields, glob_field = spec
    base = next((v for v in map(field, path_fields) if v), None)
    if base:
        out.append((op, base, False, None))
    glob = field(glob_field) if glob_field else None
    if glob:
        for part in _split_braces(glob) if tool_name == "Grep" else [glob]:
            out.append((op, part, True, base))
    return out


def _split_braces(glob: str) -> list[str]:
    """``*.{env,pem}`` -> ``['*.env', '*.pem']`` (one level, as ripgrep globs allow)."""
    start = glob.find("{")
    end = glob.find("}", start + 1) if start >= 0 else -1
    if start < 0 or end < 0 or "{" in glob[start + 1 : end]:
        return [glob]
    return [glob[:start] + alt + glob[end + 1 :] for alt in glob[start + 1 : end].split(",")][:32]


def evaluate_file_tool(
    tool_name: str,
    tool_input: Mapping[str, object],
    *,
    level: str = "standard",
    extra_protected: Iterable[str] = (),
    unprotected: Iterable[str] = (),
    **context: str | None,
) -> Verdict:
    """One-shot form of :meth:`FilePolicy.evaluate_tool` (context: cwd, project_dir, home, tmpdir)."""
    policy = FilePolicy(level=level, extra_protected=extra_protected, unprotected=unprotected)
    return policy.evaluate_tool(tool_name, tool_input, **context)  # type: ignore[arg-type]
