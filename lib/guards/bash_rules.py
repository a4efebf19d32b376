"""The Bash guard's rules (:data:`RULES`) and :class:`LineCheck`, the findings for one command line
with the checks every simple command gets (history, rc files, hook settings, the guard switch,
inline code, fork bombs).

The rule families (:mod:`lib.guards.bash_deletes`, :mod:`~lib.guards.bash_git`,
:mod:`~lib.guards.bash_system`, :mod:`~lib.guards.bash_downloads`, :mod:`~lib.guards.bash_infra`,
:mod:`~lib.guards.bash_evasion`) add their findings to a :class:`LineCheck`; :mod:`lib.guards.bash_policy`
picks the families and decides. This module imports none of them.
"""

from __future__ import annotations

import posixpath

from lib.guards import switch as _switch
from lib.guards.locations import is_block_device, normalize
from lib.guards.shell_effects import file_effects, is_interpreter
from lib.guards.verdict import Finding, Rule

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from lib.guards.locations import Places
    from lib.guards.shell_parse import Command, ParseResult

__all__ = ["DECODERS", "GUARDS_OFF_ENV", "PROTECTED_BRANCHES", "RULES", "LineCheck", "worth_a_look"]

#: Commands that turn text into other text (base64 -d, xxd -r, rev, ...): piped into a shell they hide
#: what runs (:mod:`lib.guards.bash_evasion`).
DECODERS = frozenset({"base64", "base32", "basenc", "xxd", "rev", "openssl", "uudecode", "gzip", "gunzip", "zcat",
                      "bzcat", "xzcat", "tr", "printf"})  # fmt: skip
#: Names that make a line worth the evasion family's look: decoders, environment dumps, senders, eval,
#: alias (its body), and any ``$IFS`` or computed command name.
_EVASION_TELLS = DECODERS | {"env", "printenv", "set", "export", "declare", "compgen", "curl", "wget", "nc", "ncat",
                             "netcat", "socat", "telnet", "http", "https", "xh", "scp", "ssh", "sftp", "ftp", "eval",
                             "alias"}  # fmt: skip


def worth_a_look(parsed: ParseResult) -> bool:
    """True when :mod:`lib.guards.bash_evasion` has something to judge in ``parsed``."""
    return any(
        c.name in _EVASION_TELLS
        or c.name.startswith("$")
        or not c.name
        or "IFS" in c.text
        or (c.name == "git" and any(a.value.startswith("-c") for a in c.args))
        for c in parsed.commands
        if c.args or c.wrappers
    )


#: Environment variable the *user* sets (``CLAUDE_HOOKS_GUARDS=off``) when starting Claude Code to turn
#: the guards off for that session. Commands that try to set it are denied.
GUARDS_OFF_ENV = _switch.ENV

_R = Rule
RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        _R("rm-root", "deletes the filesystem root", "deny/deny/deny",
           "delete only the specific paths you created, e.g. `rm -rf ./build`."),
        _R("rm-no-preserve-root", "disables rm's root protection (--no-preserve-root)", "deny/deny/deny",
           "never pass --no-preserve-root; delete specific project paths instead."),
        _R("rm-system", "deletes or moves a system directory", "deny/deny/deny",
           "leave system directories alone; change files inside the project, or ask the user to do "
           "system maintenance."),
        _R("rm-home", "deletes or moves a home directory", "deny/deny/deny",
           "delete only the specific files or folders you mean, by their full path."),
        _R("rm-ancestor", "deletes or moves a parent directory of the project", "deny/deny/deny",
           "stay inside the project; delete specific paths below it, e.g. `rm -rf ./dist`."),
        _R("rm-project-root", "deletes or moves the whole project (or everything in it)", "deny/deny/ask",
           "delete only generated paths inside the project, e.g. `rm -rf ./build ./dist`."),
        _R("rm-git-dir", "deletes or moves the project's .git directory (all history)", "deny/deny/ask",
           "keep .git; use git commands (`git clean -n`, `git gc`) to tidy the repository."),
        _R("rm-home-critical", "deletes keys, credentials or a major folder in the home directory", "deny/deny/ask",
           "leave ~/.ssh, ~/.gnupg, ~/.aws, ~/.config and similar alone; ask the user to clean them up."),
        _R("rm-outside-project", "recursively deletes a directory outside the project", "deny/ask/allow",
           "delete inside the project or a temp directory; for other locations ask the user first."),
        _R("rm-system-path", "deletes files inside system directories", "deny/ask/allow",
           "do not change system files; work inside the project or ask the user."),
        _R("rm-empty-var", "recursive delete that hits / or a system directory if a variable is empty",
           "deny/ask/allow",
           "guard the variable: `rm -rf \"${DIR:?}/\"*`, or use a literal path."),
        _R("rm-unresolved", "recursive delete of the working directory's contents while it is unknown",
           "ask/allow/allow",
           "use an explicit path, e.g. `rm -rf ./build/*`, or check the `cd` result first."),
        _R("sudo-rm", "deletes files with root privileges", "deny/ask/ask",
           "delete without sudo inside the project, or ask the user to run the privileged command."),
        _R("disk-write", "writes to a raw disk device or formats/partitions a disk", "deny/deny/deny",
           "never write to block devices; write to a file inside the project instead."),
        _R("chmod-broad", "changes permissions or owner of /, a system or a home directory", "deny/deny/deny",
           "change permissions only on the project files that need it, e.g. `chmod +x ./script.sh`."),
        _R("chmod-world-writable", "makes files world-writable recursively (777/o+w)", "deny/ask/allow",
           "grant only what is needed, e.g. `chmod -R u+rwX,go+rX ./dir` or `chmod +x file`."),
        _R("fork-bomb", "is a fork bomb", "deny/deny/deny",
           "run the program you actually need; a fork bomb only exhausts the machine."),
        _R("pipe-to-shell", "runs code downloaded from the network (curl | sh)", "deny/deny/ask",
           "download to a file, show it for review, and let the user run it: "
           "`curl -fsSL URL -o /tmp/install.sh` then ask."),
        _R("git-force-push-protected", "force-pushes to (or mirrors over) a protected branch", "deny/deny/ask",
           "push to a feature branch and open a pull request; never rewrite main/master."),
        _R("git-force-push-unknown", "force-pushes without naming the branch (may be protected)", "deny/ask/allow",
           "name the branch explicitly, e.g. `git push --force-with-lease origin my-feature`."),
        _R("git-force-push", "force-pushes (rewrites remote history)", "ask/allow/allow",
           "prefer `git push --force-with-lease origin <branch>` on your own branch."),
        _R("git-delete-protected-branch", "deletes a protected branch (main/master)", "deny/deny/ask",
           "keep protected branches; delete only your own feature branches."),
        _R("git-branch-delete", "force-deletes a git branch", "ask/allow/allow",
           "check the branch is merged first (`git branch -d` refuses unmerged ones)."),
        _R("git-reset-hard", "discards uncommitted changes (git reset --hard)", "deny/ask/allow",
           "commit or stash first (`git stash`), or use `git reset --soft`/`--mixed`."),
        _R("git-clean", "deletes untracked files (git clean -f)", "deny/ask/allow",
           "preview with `git clean -n`, then remove specific paths; -x also deletes ignored files like .env."),
        _R("git-discard-changes", "discards uncommitted changes to the whole tree", "deny/ask/allow",
           "stash them (`git stash`) or restore only the files you mean: `git restore path/to/file`."),
        _R("git-discard-file", "discards uncommitted changes to files", "ask/allow/allow",
           "make sure the changes are not needed, or stash them first."),
        _R("git-history-rewrite", "rewrites or expires git history (filter-branch, reflog expire, gc --prune=now)",
           "deny/ask/allow", "leave history alone unless the user asked for it explicitly."),
        _R("kill-all", "kills every process (kill -1, killall5) or init", "deny/deny/deny",
           "kill only the process you started, by its PID."),
        _R("system-power", "shuts down or reboots the machine", "deny/deny/ask",
           "there is no need to power off or reboot; ask the user if a restart is required."),
        _R("history-tamper", "erases or disables shell history", "deny/deny/ask",
           "leave shell history alone."),
        _R("rc-tamper", "changes shell startup files, crontab or SSH authorized_keys", "deny/ask/allow",
           "put project settings in the project (e.g. a .envrc or Makefile) and tell the user what to add "
           "to their shell config."),
        _R("hooks-tamper", "changes Claude Code settings or the hooks runtime (disables the guards)",
           "deny/deny/deny",
           "leave .claude/settings*.json, .claude/hooks.toml and .claude/hooks-runtime alone; ask the user "
           "to change hook settings."),
        _R("guard-off", "tries to switch the guards off", "deny/deny/deny",
           "only the user can switch guards off; ask them if a guard is in the way."),
        _R("hooks-state-reset", "resets the hooks' circuit breakers or rate limits", "ask/ask/allow",
           "a breaker or rate limit is open for a reason: fix the failing call, or ask the user to reset it."),
        _R("infra-destroy", "destroys infrastructure or cloud resources", "deny/ask/ask",
           "show what would change first (`terraform plan -destroy`, `kubectl get`, `helm status`) and let "
           "the user run the destructive step."),
        _R("data-destroy", "destroys a database, a data store or every container and volume", "deny/ask/ask",
           "back up first and let the user run it; delete specific rows or objects with a WHERE/prefix instead."),
        _R("container-host-mount", "runs a container with the host's root, Docker socket or full privileges",
           "deny/ask/ask",
           "mount only the project directory (`-v \"$PWD\":/app`) and drop --privileged/--pid=host."),
        _R("publish", "publishes a package or release to a public registry", "ask/ask/allow",
           "build and check the package locally (`npm pack`, `twine check`, `cargo package`); the user publishes."),
        _R("exfiltrate", "sends the environment or secret files over the network", "deny/deny/ask",
           "never send environment variables or credentials anywhere; send only the specific data needed."),
        _R("decoded-to-shell", "runs decoded or obfuscated text as shell code (base64 -d | sh)", "deny/ask/ask",
           "run the plain command itself, so it can be read and checked."),
        _R("dynamic-command", "runs a command whose name is computed at run time on dangerous arguments",
           "deny/ask/ask",
           "write the command name literally, so it can be checked."),
        _R("unparseable", "is too large or too deeply nested to check", "ask/ask/allow",
           "split it into smaller, plainer commands or put the logic in a script file."),
        _R("sudo", "runs a command with root privileges", "ask/allow/allow",
           "work without sudo where possible."),
    )
}  # fmt: skip

PROTECTED_BRANCHES = ("main", "master")
_HISTORY_FILES = (".bash_history", ".zsh_history", ".zhistory", ".history", ".sh_history", ".local/share/fish/fish_history",
                  ".python_history", ".node_repl_history", ".psql_history", ".mysql_history", ".lesshst")  # fmt: skip
_RC_FILES = (".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zprofile", ".zshenv",
             ".zlogin", ".zlogout", ".kshrc", ".mkshrc", ".cshrc", ".tcshrc", ".config/fish/config.fish",
             ".ssh/authorized_keys", ".ssh/authorized_keys2", ".ssh/rc", ".ssh/config", ".inputrc", ".pam_environment",
             ".xprofile", ".xinitrc", ".config/autostart")  # fmt: skip
_SYSTEM_RC_PREFIXES = ("/etc/", "/var/spool/cron/", "/Library/LaunchDaemons/", "/Library/LaunchAgents/")
_SYSTEM_RC = (
    r"/etc/(?:profile(?:\.d/.*)?|bash\.bashrc|bashrc|zshrc|zsh/.*|zprofile|zshenv|environment|crontab|cron\.\w+/.*"
    r"|sudoers(?:\.d/.*)?|ld\.so\.preload|rc\.local|systemd/.*|init\.d/.*)|/var/spool/cron/.*"
    r"|/Library/LaunchDaemons/.*|/Library/LaunchAgents/.*"
)
_GUARD_CHANGES = frozenset({"off", "on", "disable", "enable", "allow", "pause", "resume", "reset", "set"})
_HOOK_PATHS_REL = (".claude/settings.json", ".claude/settings.local.json", ".claude/hooks.toml")
_HOOK_DIRS_REL = (".claude/hooks-runtime", ".claude/state")
_FORK_BOMB_TEXT = r"([\w:.]+)\s*\(\)\s*\{\s*\1\s*\|\s*\1\s*&\s*;?\s*\}|fork\s+while\s+fork|while\s*\(?\s*(?:1|true|True)\s*\)?\s*:?\s*\{?\s*(?:os\.)?fork\(\)"
_HOOK_PATH_IN_CODE = r"\.claude/(?:settings(?:\.local)?\.json|hooks\.toml|hooks-runtime|state/)"
_WRITE_IN_CODE = r"""open\([^)]*,\s*['"][wax+]|write(?:FileSync|File|_text|_bytes)?\(|unlink|remove|rmtree|rmSync|rename|replace\(|truncate|chmod"""


def _text(cmd: Command) -> str:
    return cmd.text or "(redirection)"


class LineCheck:
    """The findings for one command line, with what the rules need to judge it: the parse, the
    places paths are classified against, the protected branches, the checked-out branch and the
    allowlist (an allowlisted command is skipped, and what an allowlisted download fetches is
    trusted). The rule families (:mod:`lib.guards.bash_deletes`, ...) add to it."""

    __slots__ = ("allowed", "branch", "findings", "parsed", "places", "protected_branches")

    def __init__(
        self,
        parsed: ParseResult,
        places: Places,
        protected_branches: tuple[str, ...],
        branch: str | None,
        allowed: Callable[[Command], bool] = lambda c: False,
    ) -> None:
        self.parsed = parsed
        self.places = places
        self.protected_branches = protected_branches
        self.branch = branch
        self.allowed = allowed
        self.findings: list[Finding] = []

    def add(self, rule_id: str, detail: str, cmd: Command | str) -> None:
        """Record that rule ``rule_id`` matched (``detail``: what was seen) in ``cmd``."""
        self.findings.append(Finding(RULES[rule_id], detail, cmd if isinstance(cmd, str) else _text(cmd)))

    # -- history, rc files, hooks ---------------------------------------------------------------
    def check_history(self, cmd: Command) -> None:
        argv = cmd.argv
        if (
            (cmd.name == "history" and any(a in ("-c", "-d") for a in argv[1:]))
            or (
                cmd.name == "unset"
                and any(a in ("HISTFILE", "HISTSIZE", "HISTFILESIZE", "SAVEHIST") for a in argv)
            )
            or (cmd.name in ("set", "shopt", "setopt", "unsetopt") and ("+o" in argv and "history" in argv))
        ):
            self.add("history-tamper", " ".join(argv), cmd)
        for name, value in self._assignments(cmd):
            if name == "HISTFILE" or (
                name in ("HISTSIZE", "HISTFILESIZE", "SAVEHIST") and value.strip() in ("0", "")
            ):
                self.add("history-tamper", f"{name}={value}", cmd)
            if name == GUARDS_OFF_ENV:
                self.add("guard-off", f"{name}={value}", cmd)

    @staticmethod
    def _assignments(cmd: Command) -> list[tuple[str, str]]:
        out = [(n, a.value) for n, a in cmd.assignments]
        if cmd.name in ("export", "declare", "typeset", "local", "readonly", "setenv", "set"):
            for a in cmd.argv[1:]:
                name, eq, value = a.partition("=")
                if eq and name.isascii() and name.isidentifier():
                    out.append((name, value))
            if cmd.name == "setenv" and len(cmd.argv) >= 2:
                out.append((cmd.argv[1], " ".join(cmd.argv[2:])))
        return out

    def check_effects(self, cmd: Command) -> None:
        """Writes to devices, history, rc files and hook settings, through any command."""
        for op, arg in file_effects(cmd):
            if op not in ("write", "delete", "modify"):
                continue
            if arg.dynamic and arg.value.startswith("$"):
                continue
            path = normalize(arg.value, cmd.cwd)
            if path is None:
                continue
            if op == "write" and is_block_device(path):
                self.add("disk-write", f"writes to {path}", cmd)
            elif op == "write" and path == "/proc/sysrq-trigger":
                self.add("system-power", "writes to /proc/sysrq-trigger", cmd)
            if self._is_history_file(path):
                self.add("history-tamper", f"{op}s {path}", cmd)
            elif op in ("write", "delete") and self._is_rc_file(path):
                self.add("rc-tamper", f"{op}s {path}", cmd)
            if self._is_hook_path(path):
                self.add("hooks-tamper", f"{op}s {path}", cmd)

    def _is_history_file(self, path: str) -> bool:
        home = self.places.home
        if home and any(path == f"{home}/{h}" for h in _HISTORY_FILES):
            return True
        return posixpath.basename(path) in (".bash_history", ".zsh_history", ".zhistory", ".sh_history")

    def _is_rc_file(self, path: str) -> bool:
        home = self.places.home
        if home and any(path == f"{home}/{f}" or path.startswith(f"{home}/{f}/") for f in _RC_FILES):
            return True
        return path.startswith(_SYSTEM_RC_PREFIXES) and _system_rc(path)

    def _is_hook_path(self, path: str) -> bool:
        roots = [r for r in (self.places.project, self.places.home) if r]
        for root in roots:
            if any(path == f"{root}/{rel}" for rel in _HOOK_PATHS_REL):
                return True
            if any(path == f"{root}/{d}" or path.startswith(f"{root}/{d}/") for d in _HOOK_DIRS_REL):
                return root == self.places.project
            if path in (f"{root}/.claude", f"{root}/.claude/settings.local.json"):
                return True
        return path.startswith(("/etc/claude-code/", "/Library/Application Support/ClaudeCode/"))

    def check_inline_code(self, cmd: Command) -> None:
        """``python -c``/``node -e`` code that writes or deletes hook settings."""
        if not is_interpreter(cmd.name) and cmd.name not in ("perl", "ruby"):
            return
        values = [a.value for a in cmd.args]
        for i, v in enumerate(values[1:-1], 1):
            if v in ("-c", "-e", "-E", "--eval", "-p") or (
                v.startswith("-") and v[-1:] in ("c", "e") and len(v) > 2
            ):
                code = values[i + 1]
                if ".claude/" in code and _writes_hook_settings(code):
                    self.add("hooks-tamper", f"{cmd.name} code writes Claude Code/hook settings", cmd)
                return

    def check_guard_cli(self, cmd: Command) -> None:
        argv = cmd.argv
        joined = " ".join(argv)
        rest: list[str] = []
        if cmd.name == "claude-hooks":
            rest = argv[1:]
        elif is_interpreter(cmd.name) and "-m" in argv:
            i = argv.index("-m")
            module = argv[i + 1] if i + 1 < len(argv) else ""
            if module == "lib":
                rest = argv[i + 2 :]
            elif module.startswith("lib.cli.guards"):
                rest = ["guards", *argv[i + 2 :]]
        if "guards" in rest and any(a in _GUARD_CHANGES for a in rest[rest.index("guards") + 1 :]):
            self.add("guard-off", joined, cmd)
        for word in ("breakers", "ratelimits"):
            if word in rest and "reset" in rest[rest.index(word) + 1 :]:
                self.add("hooks-state-reset", joined, cmd)

    def check_fork_bomb(self) -> None:
        for name, body in self.parsed.functions.items():
            calls = [c for c in body if c.name == name]
            if any(c.background or any(length > 1 for _, _, length in c.pipes) for c in calls) and calls:
                self.add("fork-bomb", f"function {name} spawns itself", f"{name}() {{ ... }}")
        source = self.parsed.source[:65536]
        maybe = "fork" in source or ("()" in source and "|" in source and "&" in source)
        if maybe and _fork_bomb_text(source):
            self.add("fork-bomb", "fork bomb pattern", self.parsed.source)


def _system_rc(path: str) -> bool:
    import re  # only for paths under /etc, /var/spool/cron, /Library/Launch*

    return re.fullmatch(_SYSTEM_RC, path) is not None


def _writes_hook_settings(code: str) -> bool:
    import re  # only for inline interpreter code that names .claude/

    return re.search(_HOOK_PATH_IN_CODE, code) is not None and re.search(_WRITE_IN_CODE, code) is not None


def _fork_bomb_text(source: str) -> bool:
    import re  # only when the text has the makings of one

    return re.search(_FORK_BOMB_TEXT, source) is not None
