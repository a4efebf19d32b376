"""The Bash command guard: destructive or risky commands are denied or asked, per rule and level.

    policy = BashPolicy(level="standard", allowlist=["re:^make (test|lint)$"])
    verdict = policy.evaluate("rm -rf ~/", cwd="/home/me/app", project_dir="/home/me/app", home="/home/me")
    verdict.decision, verdict.rule_id  # ('deny', 'rm-home')

Commands are parsed (:mod:`lib.guards.shell_parse`), never substring-matched: every simple command
the line would run is checked, including the ones inside ``bash -c``, ``$(...)``, ``xargs``,
``find -exec`` and pipelines. The rules are data (:data:`RULES`): an id, a title, a decision per level
and advice on what to do instead, which the deny reason carries to Claude.

The rules and the checks every command gets live in :mod:`lib.guards.bash_rules`; the rule
families judging particular commands (:mod:`~lib.guards.bash_deletes`, ...) are imported here on
first use and import only :mod:`lib.guards.bash_rules` (no import circle).

The allowlist holds exact commands, ``re:<regex>`` (full match) or glob patterns (``npm run *``). An
exact entry matches the whole command line or one simple command; regex and glob entries match one
simple command at a time (``npm *`` never allows ``npm test; rm -rf /``).
"""

from __future__ import annotations

from lib.guards.bash_rules import GUARDS_OFF_ENV, PROTECTED_BRANCHES, RULES, LineCheck, worth_a_look
from lib.guards.locations import Places
from lib.guards.shell_effects import DOWNLOADERS
from lib.guards.shell_parse import parse
from lib.guards.verdict import Verdict, check_level, decide

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from re import Pattern

    from lib.guards.shell_parse import Command

__all__ = ["GUARDS_OFF_ENV", "RULES", "BashPolicy", "LineCheck", "compile_allowlist", "evaluate_bash"]

#: Command name -> the rule family judging it (``lib.guards.bash_<family>``), imported on first use.
_FAMILIES: dict[str, str] = dict.fromkeys(
    ("rm", "unlink", "shred", "srm", "wipe", "mv", "rsync", "find"), "deletes"
)
_FAMILIES["git"] = "git"
_FAMILIES.update(
    dict.fromkeys(
        ("chmod", "chown", "chgrp", "fdisk", "sfdisk", "cfdisk", "gdisk", "cgdisk", "parted", "sgdisk", "wipefs",
         "blkdiscard", "zpool", "lvremove", "vgremove", "pvremove", "mdadm", "cryptsetup", "diskutil", "hdparm", "mkswap",
         "mke2fs", "newfs", "mkntfs", "mkdosfs", "kill", "pkill", "killall", "killall5", "shutdown", "reboot", "halt",
         "poweroff", "init", "telinit", "systemctl", "loginctl", "launchctl", "crontab"),
        "system",
    )
)  # fmt: skip


_FAMILIES.update(
    dict.fromkeys(
        ("terraform", "tofu", "terragrunt", "pulumi", "kubectl", "oc", "helm", "redis-cli", "dropdb", "mongo", "psql",
         "mysql", "mariadb", "sqlite3", "sqlite", "duckdb", "cockroach", "clickhouse-client", "sqlcmd", "mongosh", "aws",
         "gcloud", "gsutil", "az", "doctl", "flyctl", "heroku", "vercel", "docker", "podman", "nerdctl", "npm", "pnpm",
         "yarn", "twine", "cargo", "gem", "poetry", "flit", "hatch", "uv", "gh"),
        "infra",
    )
)  # fmt: skip
#: How deep alias bodies and ``$IFS``-joined words are re-judged as command lines.
_MAX_HIDDEN_DEPTH = 3


def _family(cmd: Command) -> Callable[[LineCheck, Command], None] | None:
    """The rule family that judges ``cmd`` by its name (imported now), if any."""
    family = _FAMILIES.get(cmd.name)
    if family is None and cmd.name.startswith(("mkfs", "mke2fs")):
        family = "system"
    if family == "infra":
        from lib.guards.bash_infra import judge as judge_infra

        return judge_infra
    if family == "deletes":
        from lib.guards.bash_deletes import judge
    elif family == "git":
        from lib.guards.bash_git import judge
    elif family == "system":
        from lib.guards.bash_system import judge
    else:
        return None
    return judge


def compile_allowlist(entries: Iterable[str]) -> tuple[frozenset[str], list[Pattern[str]]]:
    """Split allowlist entries into exact strings and compiled patterns.

    ``re:<regex>`` is a regular expression (full match); an entry with ``*``, ``?`` or ``[`` is a
    glob; anything else is exact. Raises ``ValueError`` naming a bad regex.
    """
    exact: set[str] = set()
    patterns: list[Pattern[str]] = []
    for raw in entries:
        entry = str(raw).strip()
        if not entry:
            continue
        if entry.startswith("re:"):
            import re  # only when the user configured a regex

            try:
                patterns.append(re.compile(entry[3:]))
            except re.error as exc:
                raise ValueError(f"guards.allowlist entry {entry!r} is not a valid regex: {exc}") from None
        elif any(ch in entry for ch in "*?["):
            import fnmatch
            import re

            patterns.append(re.compile(fnmatch.translate(entry)))
        else:
            exact.add(" ".join(entry.split()))
    return frozenset(exact), patterns


class BashPolicy:
    """The Bash guard for one configuration (level, allowlist, protected branches, overrides)."""

    __slots__ = ("allow_exact", "allow_patterns", "level", "overrides", "protected_branches")

    def __init__(
        self,
        *,
        level: str = "standard",
        allowlist: Iterable[str] = (),
        protected_branches: Iterable[str] = PROTECTED_BRANCHES,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.level = check_level(level)
        self.allow_exact, self.allow_patterns = compile_allowlist(allowlist)
        self.protected_branches = tuple(protected_branches)
        self.overrides = dict(overrides or {})

    def _allowed(self, text: str) -> bool:
        text = " ".join(text.split())
        return text in self.allow_exact or any(p.fullmatch(text) for p in self.allow_patterns)

    def evaluate(
        self,
        command: str,
        *,
        cwd: str | None = None,
        project_dir: str | None = None,
        home: str | None = None,
        tmpdir: str | None = None,
        git_branch: str | None = None,
        env: Mapping[str, str] | None = None,
        _depth: int = 0,
    ) -> Verdict:
        """Judge ``command``; never raises on odd input."""
        if not isinstance(command, str):
            command = str(command)
        if " ".join(command.split()) in self.allow_exact:
            return Verdict("bash", "allow", "allowlist", "allowlisted command", [])
        known = dict(env or {})
        if tmpdir:
            known.setdefault("TMPDIR", tmpdir)
        parsed = parse(command, cwd=cwd or project_dir, home=home, project_dir=project_dir, env=known)
        places = Places(home=home, project=project_dir, cwd=cwd, tmpdir=tmpdir)
        line = LineCheck(
            parsed,
            places,
            self.protected_branches,
            git_branch,
            lambda c: bool(c.args) and self._allowed(c.text),
        )
        for cmd in parsed.commands:
            if cmd.args and self._allowed(cmd.text):
                continue
            judge = _family(cmd)
            if judge is not None:
                judge(line, cmd)
            line.check_effects(cmd)
            line.check_history(cmd)
            line.check_guard_cli(cmd)
            line.check_inline_code(cmd)
            if cmd.elevated and cmd.args:
                line.add("sudo", " ".join(cmd.wrappers) or "sudo", cmd)
        if any(c.name in DOWNLOADERS for c in parsed.commands):
            from lib.guards.bash_downloads import judge as judge_downloads

            judge_downloads(line)
        line.check_fork_bomb()
        if parsed.truncated or parsed.failed:
            line.add("unparseable", "; ".join(parsed.issues[-2:]) or "parse failure", command[:200])
        if worth_a_look(parsed):
            from lib.guards import bash_evasion

            bash_evasion.judge(line)
            if _depth < _MAX_HIDDEN_DEPTH:
                for hidden in bash_evasion.hidden_command_lines(parsed, line.allowed):
                    inner = self.evaluate(
                        hidden, cwd=cwd, project_dir=project_dir, home=home, tmpdir=tmpdir,
                        git_branch=git_branch, env=env, _depth=_depth + 1,
                    )  # fmt: skip
                    line.findings.extend(f for f, _ in inner.findings)
        return decide("bash", line.findings, self.level, self.overrides)


def evaluate_bash(
    command: str,
    *,
    level: str = "standard",
    allowlist: Iterable[str] = (),
    protected_branches: Iterable[str] = PROTECTED_BRANCHES,
    overrides: Mapping[str, str] | None = None,
    **context: str | None,
) -> Verdict:
    """One-shot form of :meth:`BashPolicy.evaluate` (context: cwd, project_dir, home, tmpdir, git_branch)."""
    policy = BashPolicy(
        level=level, allowlist=allowlist, protected_branches=protected_branches, overrides=overrides
    )
    return policy.evaluate(command, **context)  # type: ignore[arg-type]
