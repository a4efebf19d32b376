"""The Bash command guard: destructive or risky commands are denied or asked, per rule and level.

    policy = BashPolicy(level="standard", allowlist=["re:^make (test|lint)$"])
    verdict = policy.evaluate("rm -rf ~/", cwd="/home/me/app", project_dir="/home/me/app", home="/home/me")
    verdict.decision, verdict.rule_id  # ('deny', 'rm-home')

Commands are parsed (:mod:`lib.guards.shell_parse`), never substring-matched: every simple command
the line would run is checked, including the ones inside ``bash -c``, ``$(...)``, ``xargs``,
``find -exec`` and pipelines. The rules are data (:data:`RULES`): an id, a title, a decision per level
and advice on what to do instead, which the deny reason carries to Claude.

The allowlist holds exact commands, ``re:<regex>`` (full match) or glob patterns (``npm run *``). An
exact entry matches the whole command line or one simple command; regex and glob entries match one
simple command at a time (``npm *`` never allows ``npm test; rm -rf /``).
"""

from __future__ import annotations

import posixpath

from lib.guards import switch as _switch
from lib.guards.lazy_re import compiled
from lib.guards.locations import (
    ANCESTOR,
    GIT,
    HOME,
    HOME_CRITICAL,
    OUTSIDE,
    PROJECT,
    ROOT,
    SYSTEM,
    SYSTEM_SUB,
    UNKNOWN,
    Places,
    glob_target,
    is_block_device,
    normalize,
)
from lib.guards.shell_effects import (
    DOWNLOADERS,
    SHELLS,
    file_effects,
    is_interpreter,
    mode_and_targets,
    positionals,
)
from lib.guards.shell_parse import Arg, Command, ParseResult, find_is_narrowed, find_start_paths, parse
from lib.guards.verdict import Finding, Rule, Verdict, check_level, decide

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from re import Pattern

__all__ = ["GUARDS_OFF_ENV", "RULES", "BashPolicy", "compile_allowlist", "evaluate_bash"]

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
        _R("unparseable", "is too large or too deeply nested to check", "ask/ask/allow",
           "split it into smaller, plainer commands or put the logic in a script file."),
        _R("sudo", "runs a command with root privileges", "ask/allow/allow",
           "work without sudo where possible."),
    )
}  # fmt: skip

_BROAD = {ROOT: "rm-root", SYSTEM: "rm-system", HOME: "rm-home", ANCESTOR: "rm-ancestor", PROJECT: "rm-project-root",
          GIT: "rm-git-dir", HOME_CRITICAL: "rm-home-critical"}  # fmt: skip
_PROTECTED_BRANCHES = ("main", "master")
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
_WORLD_MODE = r"0?[0-7]?[0-7][0-7][2367]|.*(?:[ao]|^)[+=][rwxXst]*w.*"


def _text(cmd: Command) -> str:
    return cmd.text or "(redirection)"


class _Check:
    """Collects findings for one command line."""

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
        #: allowlisted commands: skipped, and what an allowlisted download fetches is trusted
        self.allowed = allowed
        self.findings: list[Finding] = []

    def _download(self, cmd: Command) -> bool:
        return not self.allowed(cmd) and (
            cmd.name in DOWNLOADERS
            or any(s.name in DOWNLOADERS and not self.allowed(s) for s in cmd.substitutions)
        )

    def add(self, rule_id: str, detail: str, cmd: Command | str) -> None:
        self.findings.append(Finding(RULES[rule_id], detail, cmd if isinstance(cmd, str) else _text(cmd)))

    # -- deletion -------------------------------------------------------------------------------
    def delete_target(
        self, cmd: Command, arg: Arg, recursive: bool, verb: str, *, broad_only: bool = False
    ) -> None:
        """Check one path that ``cmd`` deletes (or moves away)."""
        value = arg.value
        if arg.dynamic and recursive and arg.if_empty is not None and arg.if_empty != value:
            cls_e, _ = self.places.classify_arg(arg.if_empty, cmd.cwd, glob=arg.glob or "*" in arg.if_empty)
            if arg.if_empty.startswith("/") and cls_e in (ROOT, SYSTEM, HOME, ANCESTOR, HOME_CRITICAL):
                self.add("rm-empty-var", f"{value} becomes {arg.if_empty} when the variable is empty", cmd)
        if arg.dynamic and (value.startswith("$") or "$(" in value or value.startswith("~")):
            return  # unknown location: only the empty-variable case above can be judged
        everything = arg.glob and glob_target(value)[1]
        cls, path = self.places.classify_arg(value, cmd.cwd, glob=arg.glob)
        if cls == UNKNOWN and path is None:
            if (recursive or everything) and value.rstrip("/") in (
                ".",
                "..",
                "*",
                "./*",
                "../*",
                ".*",
                "./.*",
            ):
                self.add("rm-unresolved", f"{verb} {value} in an unknown directory", cmd)
            return
        shown = path or value
        if recursive or everything:
            if cls in _BROAD:
                self.add(_BROAD[cls], f"{verb} {shown}", cmd)
            elif not broad_only and cls == OUTSIDE:
                self.add("rm-outside-project", f"{verb} {shown}", cmd)
            elif not broad_only and cls == SYSTEM_SUB:
                self.add("rm-system-path", f"{verb} {shown}", cmd)
        elif not broad_only:
            if cls in (SYSTEM, SYSTEM_SUB, ROOT):
                self.add("rm-system-path", f"{verb} {shown}", cmd)
            elif cls == HOME_CRITICAL:
                self.add("rm-home-critical", f"{verb} {shown}", cmd)

    def check_rm(self, cmd: Command) -> None:
        recursive = no_preserve = False
        targets: list[Arg] = []
        dashdash = False
        for a in cmd.args[1:]:
            v = a.value
            if not dashdash and v == "--":
                dashdash = True
            elif not dashdash and v.startswith("--"):
                recursive = recursive or v in ("--recursive", "--dir")
                no_preserve = no_preserve or v == "--no-preserve-root"
            elif not dashdash and v.startswith("-") and len(v) > 1:
                recursive = recursive or "r" in v or "R" in v
            else:
                targets.append(a)
        if cmd.name in ("shred", "srm", "wipe"):
            recursive = recursive or cmd.name != "shred"
        for t in targets:
            if cmd.name == "shred" and is_block_device(normalize(t.value, cmd.cwd) or ""):
                self.add("disk-write", f"shred {t.value}", cmd)
            self.delete_target(cmd, t, recursive, "shreds" if cmd.name == "shred" else "deletes")
        if no_preserve:
            self.add("rm-no-preserve-root", "rm --no-preserve-root", cmd)
        if cmd.elevated and cmd.name in ("rm", "unlink", "shred", "srm"):
            self.add("sudo-rm", f"{' '.join(cmd.wrappers) or 'sudo'} {cmd.name}", cmd)

    def check_mv(self, cmd: Command) -> None:
        pos = positionals(cmd.args)
        target_dir = next((a for a in cmd.args if a.value.startswith("--target-directory=")), None)
        sources = pos if target_dir or any(a.value == "-t" for a in cmd.args) else pos[:-1]
        for s in sources:
            self.delete_target(cmd, s, True, "moves away", broad_only=True)
        if pos and is_block_device(normalize(pos[-1].value, cmd.cwd) or ""):
            self.add("disk-write", f"mv to {pos[-1].value}", cmd)

    def check_rsync(self, cmd: Command) -> None:
        if not any(a.value.startswith("--delete") or a.value in ("--remove-source-files",) for a in cmd.args):
            return
        pos = [a for a in positionals(cmd.args) if ":" not in a.value.split("/", 1)[0]]
        if len(pos) >= 2:
            self.delete_target(cmd, pos[-1], True, "rsync --delete empties")

    def check_find(self, cmd: Command) -> None:
        values = [a.value for a in cmd.args]
        deletes = "-delete" in values or any(
            v in ("-exec", "-execdir", "-ok", "-okdir") and i + 1 < len(values)
            and posixpath.basename(values[i + 1]) in ("rm", "shred", "unlink", "srm")
            for i, v in enumerate(values)
        )  # fmt: skip
        if not deletes:
            return
        narrowed = find_is_narrowed(cmd.args)
        for start in find_start_paths(cmd.args):
            if not narrowed:
                self.delete_target(cmd, start, True, "find -delete empties")
            else:
                cls, path = self.places.classify_arg(start.value, cmd.cwd)
                if cls in (ROOT, SYSTEM, HOME_CRITICAL):
                    self.add("rm-system-path", f"find {path} ... -delete", cmd)

    def check_git_clean(self, cmd: Command, sub_args: list[str]) -> None:
        flags = "".join(a[1:] for a in sub_args if a.startswith("-") and not a.startswith("--"))
        longs = {a for a in sub_args if a.startswith("--")}
        if "n" in flags or "--dry-run" in longs or "i" in flags or "--interactive" in longs:
            return
        if "f" in flags or "--force" in longs:
            extra = " including ignored files" if "x" in flags or "X" in flags else ""
            self.add("git-clean", f"git clean -{flags}{extra}", cmd)

    # -- git ------------------------------------------------------------------------------------
    def check_git(self, cmd: Command) -> None:
        argv = cmd.argv
        i = 1
        while i < len(argv):
            v = argv[i]
            if v in ("-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--config-env"):
                i += 2
                continue
            if v.startswith("-"):
                i += 1
                continue
            break
        if i >= len(argv):
            return
        sub, rest = argv[i], argv[i + 1 :]
        if sub == "push":
            self.check_git_push(cmd, rest)
        elif sub == "reset" and "--hard" in rest:
            self.add("git-reset-hard", "git reset --hard", cmd)
        elif sub == "clean":
            self.check_git_clean(cmd, rest)
        elif sub in ("checkout", "restore", "switch"):
            self.check_git_discard(cmd, sub, rest)
        elif sub == "branch":
            self.check_git_branch(cmd, rest)
        elif sub == "stash" and rest[:1] in (["clear"], ["drop"]):
            self.add(
                "git-discard-changes" if rest[0] == "clear" else "git-discard-file",
                f"git stash {rest[0]}",
                cmd,
            )
        elif sub in ("filter-branch", "filter-repo"):
            self.add("git-history-rewrite", f"git {sub}", cmd)
        elif sub == "reflog" and rest[:1] == ["expire"] and any("--expire=" in a for a in rest):
            self.add("git-history-rewrite", "git reflog expire", cmd)
        elif sub == "gc" and any(a.startswith("--prune=now") or a == "--prune=all" for a in rest):
            self.add("git-history-rewrite", "git gc --prune=now", cmd)
        elif sub == "update-ref" and "-d" in rest:
            refs = [a for a in rest if not a.startswith("-")]
            if any(self._protected(r) for r in refs):
                self.add("git-delete-protected-branch", f"git update-ref -d {' '.join(refs)}", cmd)

    def _protected(self, ref: str) -> bool:
        ref = ref.lstrip("+")
        for prefix in ("refs/heads/", "refs/remotes/origin/", "heads/", "origin/"):
            if ref.startswith(prefix):
                ref = ref[len(prefix) :]
                break
        return ref in self.protected_branches

    def check_git_push(self, cmd: Command, rest: list[str]) -> None:
        force = mirror = delete = all_refs = dry = False
        lease_only = True
        positional: list[str] = []
        i = 0
        while i < len(rest):
            v = rest[i]
            if v in ("-o", "--push-option", "--repo", "--receive-pack", "--exec"):
                i += 2
                continue
            if v in ("-f", "--force") or (v.startswith("-") and not v.startswith("--") and "f" in v[1:]):
                force = True
                lease_only = False
                if "d" in v[1:] and not v.startswith("--"):
                    delete = True
            elif v.startswith("--force-with-lease") or v == "--force-if-includes":
                force = True
            elif v == "--mirror":
                mirror = True
            elif v in ("-d", "--delete"):
                delete = True
            elif v in ("--all", "--branches"):
                all_refs = True
            elif v in ("-n", "--dry-run"):
                dry = True
            elif not v.startswith("-"):
                positional.append(v)
            i += 1
        if dry:
            return
        refspecs = positional[1:]
        if mirror:
            self.add("git-force-push-protected", "git push --mirror overwrites every remote branch", cmd)
            return
        for spec in refspecs:
            src, colon, dst = spec.partition(":")
            dest = dst if colon else src
            if colon and not src and self._protected(dst):
                self.add("git-delete-protected-branch", f"git push deletes {dst}", cmd)
            elif delete and self._protected(dest):
                self.add("git-delete-protected-branch", f"git push --delete {dest}", cmd)
            elif (force or spec.startswith("+")) and not delete:
                if dest in ("HEAD", "@") or (not colon and src in ("HEAD", "@")):
                    dest = self.branch or ""
                if self._protected(dest):
                    self.add("git-force-push-protected", f"force push to {dest}", cmd)
                elif not dest:
                    self.add("git-force-push-unknown", "force push of the current branch (unknown)", cmd)
                elif not lease_only or spec.startswith("+"):
                    self.add("git-force-push", f"force push to {dest}", cmd)
        if force and not refspecs and not delete:
            if all_refs:
                self.add("git-force-push-protected", "git push --force --all", cmd)
            elif self.branch is None:
                self.add("git-force-push-unknown", "force push without a branch name", cmd)
            elif self._protected(self.branch):
                self.add("git-force-push-protected", f"force push of the current branch {self.branch}", cmd)
            elif not lease_only:
                self.add("git-force-push", f"force push of {self.branch}", cmd)

    def check_git_discard(self, cmd: Command, sub: str, rest: list[str]) -> None:
        if sub == "switch":
            if any(a in ("-f", "--force", "--discard-changes") for a in rest):
                self.add("git-discard-changes", "git switch --discard-changes", cmd)
            return
        if (
            sub == "restore"
            and ("--staged" in rest or "-S" in rest)
            and not ("--worktree" in rest or "-W" in rest)
        ):
            return  # only unstages
        if sub == "checkout" and any(a in ("-f", "--force") for a in rest):
            self.add("git-discard-changes", "git checkout --force", cmd)
            return
        if sub == "checkout" and ("-b" in rest or "-B" in rest or "--orphan" in rest):
            return
        if "--" in rest:
            paths = rest[rest.index("--") + 1 :]
        elif sub == "restore":
            paths = [a for a in rest if not a.startswith("-")]
        else:
            paths = [a for a in rest if a in (".", "*", ":/", ":")]
        if not paths:
            return
        broad = [
            p for p in paths if p in (".", "./", "*", ":/", ":", "/", ":/*") or self._is_project_root(cmd, p)
        ]
        if broad:
            self.add("git-discard-changes", f"git {sub} {' '.join(paths)}", cmd)
        else:
            self.add("git-discard-file", f"git {sub} {' '.join(paths)}", cmd)

    def _is_project_root(self, cmd: Command, p: str) -> bool:
        path = normalize(p, cmd.cwd)
        return path is not None and path == self.places.project

    def check_git_branch(self, cmd: Command, rest: list[str]) -> None:
        flags = "".join(a[1:] for a in rest if a.startswith("-") and not a.startswith("--"))
        longs = {a for a in rest if a.startswith("--")}
        deleting = "d" in flags or "D" in flags or "--delete" in longs
        if not deleting:
            return
        names = [a for a in rest if not a.startswith("-")]
        remote = "r" in flags or "--remotes" in longs
        for n in names:
            if self._protected(n) or (remote and self._protected(n.split("/", 1)[-1])):
                self.add("git-delete-protected-branch", f"git branch -d {n}", cmd)
            elif "D" in flags or "--force" in longs or "f" in flags:
                self.add("git-branch-delete", f"git branch -D {n}", cmd)

    # -- permissions, disks, processes, power -----------------------------------------------------
    def check_chmod(self, cmd: Command) -> None:
        args = cmd.args[1:]
        mode, targets = mode_and_targets(cmd.args)
        recursive = any(
            a.value in ("-R", "--recursive") or (a.value.startswith("-") and not a.value.startswith("--")
                                                 and a.value != mode and "R" in a.value)
            for a in args
        )  # fmt: skip
        for t in targets:
            if t.dynamic and t.value.startswith("$"):
                continue
            cls, path = self.places.classify_arg(t.value, cmd.cwd, glob=t.glob)
            if cls in (ROOT, SYSTEM, HOME, ANCESTOR) or (recursive and cls == HOME_CRITICAL):
                self.add(
                    "chmod-broad",
                    f"{cmd.name}{' -R' if recursive else ''} {mode} {path}".replace("  ", " "),
                    cmd,
                )
            elif recursive and cmd.name == "chmod" and compiled(_WORLD_MODE).fullmatch(mode):
                self.add("chmod-world-writable", f"chmod -R {mode} {path or t.value}", cmd)

    def check_disk(self, cmd: Command) -> None:
        name = cmd.name
        argv = cmd.argv
        if name.startswith(("mkfs", "mke2fs", "mkswap", "newfs", "mkntfs", "mkdosfs", "mke2fs")):
            targets = [a for a in positionals(cmd.args) if not a.value.isdigit()]
            dev = targets[-1].value if targets else ""
            path = normalize(dev, cmd.cwd) or dev
            if not dev or is_block_device(path) or dev.startswith("/dev/") or targets[-1].dynamic:
                self.add("disk-write", f"{name} {dev}".strip(), cmd)
        elif name in ("fdisk", "sfdisk", "cfdisk", "gdisk", "cgdisk"):
            if not any(
                a in ("-l", "--list", "-s", "--show-size", "-d", "--dump", "-V", "--verify") for a in argv[1:]
            ):
                self.add("disk-write", f"{name} {' '.join(argv[1:])}", cmd)
        elif name == "parted":
            if any(a in ("mklabel", "mkpart", "rm", "resizepart", "rescue", "mkfs", "mktable", "name", "set")
                   for a in argv[1:]):  # fmt: skip
                self.add("disk-write", " ".join(argv), cmd)
        elif name == "sgdisk":
            if any(
                a.startswith(("-Z", "--zap", "-o", "--clear", "-n", "--new", "-d", "--delete", "-z"))
                for a in argv[1:]
            ):
                self.add("disk-write", " ".join(argv), cmd)
        elif name == "wipefs":
            if any(
                a in ("-a", "--all", "-o", "--offset") or (a.startswith("-") and "a" in a[1:])
                for a in argv[1:]
            ):
                self.add("disk-write", " ".join(argv), cmd)
        elif name in ("blkdiscard", "zpool", "lvremove", "vgremove", "pvremove", "mdadm", "cryptsetup"):
            if (
                name == "blkdiscard"
                or (name == "zpool" and argv[1:2] in (["destroy"], ["labelclear"]))
                or (name in ("lvremove", "vgremove", "pvremove"))
                or (name == "mdadm" and "--zero-superblock" in argv)
                or (name == "cryptsetup" and argv[1:2] in (["luksFormat"], ["erase"], ["luksErase"]))
            ):
                self.add("disk-write", " ".join(argv), cmd)
        elif name == "diskutil" and len(argv) > 1 and argv[1] in (
            "eraseDisk", "eraseVolume", "partitionDisk", "zeroDisk", "randomDisk", "secureErase", "reformat",
            "eraseVolume", "apfs",
        ):  # fmt: skip
            if argv[1] != "apfs" or (len(argv) > 2 and argv[2].startswith(("delete", "erase"))):
                self.add("disk-write", " ".join(argv[:3]), cmd)
        elif name == "hdparm" and any(
            "erase" in a or "trim-sector" in a or a == "--write-sector" for a in argv
        ):
            self.add("disk-write", " ".join(argv), cmd)

    def check_kill(self, cmd: Command) -> None:
        name = cmd.name
        argv = cmd.argv
        if name == "killall5":
            self.add("kill-all", "killall5", cmd)
            return
        if name in ("pkill", "killall"):
            pos = [a for a in argv[1:] if not a.startswith("-")]
            users = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("-u", "--user", "-U", "--uid")]
            if users and len(pos) <= len(users):
                self.add("kill-all", f"{name} every process of {', '.join(users)}", cmd)
            elif any(p in ("init", "systemd", "launchd") for p in pos):
                self.add("kill-all", f"{name} {' '.join(pos)}", cmd)
            return
        # kill [-s SIG | -SIG | -n N] pid...
        rest = argv[1:]
        pids: list[str] = []
        i = 0
        signal_seen = False
        while i < len(rest):
            v = rest[i]
            if v == "--":
                pids.extend(rest[i + 1 :])
                break
            if v in ("-s", "-n", "--signal"):
                i += 2
                signal_seen = True
                continue
            if v in ("-l", "-L", "--list", "--table"):
                return
            if v.startswith("-") and not signal_seen:
                signal_seen = True
                i += 1
                continue
            pids.append(v)
            i += 1
        if "-1" in pids or "1" in pids:
            self.add("kill-all", f"kill {' '.join(rest)}", cmd)

    def check_power(self, cmd: Command) -> None:
        name = cmd.name
        argv = cmd.argv
        if name in ("shutdown", "reboot", "halt", "poweroff"):
            if name == "shutdown" and "-c" in argv:
                return
            self.add("system-power", " ".join(argv), cmd)
        elif (
            (name in ("init", "telinit") and len(argv) > 1 and argv[1] in ("0", "6", "1", "s", "S"))
            or (
                name in ("systemctl", "loginctl")
                and any(
                    a
                    in (
                        "poweroff",
                        "reboot",
                        "halt",
                        "kexec",
                        "suspend",
                        "hibernate",
                        "hybrid-sleep",
                        "rescue",
                        "emergency",
                        "soft-reboot",
                        "suspend-then-hibernate",
                    )
                    for a in argv[1:]
                )
            )
            or (name == "launchctl" and "reboot" in argv)
        ):
            self.add("system-power", " ".join(argv), cmd)

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
        return path.startswith(_SYSTEM_RC_PREFIXES) and compiled(_SYSTEM_RC).fullmatch(path) is not None

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

    def check_crontab(self, cmd: Command) -> None:
        argv = cmd.argv
        if any(a in ("-r", "-ir", "-ri") for a in argv[1:]):
            self.add("rc-tamper", "crontab -r removes every cron job", cmd)
        elif "-e" in argv[1:]:
            self.add("rc-tamper", "crontab -e edits cron jobs", cmd)
        elif any(not a.startswith("-") or a == "-" for a in argv[1:]) and "-l" not in argv:
            self.add("rc-tamper", "installs a crontab", cmd)

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
                if (
                    ".claude/" in code
                    and compiled(_HOOK_PATH_IN_CODE).search(code)
                    and compiled(_WRITE_IN_CODE).search(code)
                ):
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

    # -- downloads executed -----------------------------------------------------------------------
    def check_pipes(self) -> None:
        for slots in self.parsed.pipelines().values():
            first_download: int | None = None
            for pos, cmds in enumerate(slots):
                if first_download is None and any(self._download(c) for c in cmds):
                    first_download = pos
                elif first_download is not None:
                    for c in cmds:
                        if _runs_stdin(c):
                            self.add("pipe-to-shell", f"output of a download piped into {c.name}", c)
        downloaded: set[str] = set()
        for c in self.parsed.commands:
            if c.name in DOWNLOADERS and not self.allowed(c):
                for op, arg in file_effects(c):
                    if op == "write" and (p := normalize(arg.value, c.cwd)):
                        downloaded.add(p)
            for s in c.substitutions:
                if self._download(s) and _runs_code_from_substitution(c):
                    self.add("pipe-to-shell", f"{c.name} runs code fetched by {s.name}", c)
                    break
            if downloaded:
                for op, arg in file_effects(c):
                    if op in ("exec", "source") and normalize(arg.value, c.cwd) in downloaded:
                        self.add("pipe-to-shell", f"runs the downloaded file {arg.value}", c)

    def check_fork_bomb(self) -> None:
        for name, body in self.parsed.functions.items():
            calls = [c for c in body if c.name == name]
            if any(c.background or any(length > 1 for _, _, length in c.pipes) for c in calls) and calls:
                self.add("fork-bomb", f"function {name} spawns itself", f"{name}() {{ ... }}")
        source = self.parsed.source[:65536]
        maybe = "fork" in source or ("()" in source and "|" in source and "&" in source)
        if maybe and compiled(_FORK_BOMB_TEXT).search(source):
            self.add("fork-bomb", "fork bomb pattern", self.parsed.source)


def _runs_stdin(cmd: Command) -> bool:
    """True when ``cmd`` executes code read from its standard input."""
    name = cmd.name
    pos = positionals(cmd.args)
    if name in SHELLS or name == "busybox":
        values = [a.value for a in cmd.args[1:]]
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


def _runs_code_from_substitution(cmd: Command) -> bool:
    """``bash -c "$(curl ...)"``, ``bash <(curl ...)``, ``eval "$(curl ...)"``, ``source <(wget ...)``."""
    name = cmd.name
    if name == "eval":
        return True
    if name in ("source", "."):
        return True
    if name in SHELLS or is_interpreter(name):
        return any(a.dynamic for a in cmd.args[1:])
    return False


_COMMAND_CHECKS: dict[str, Callable[[_Check, Command], None]] = {}
for _n in ("rm", "unlink", "shred", "srm", "wipe"):
    _COMMAND_CHECKS[_n] = _Check.check_rm
_COMMAND_CHECKS["mv"] = _Check.check_mv
_COMMAND_CHECKS["rsync"] = _Check.check_rsync
_COMMAND_CHECKS["find"] = _Check.check_find
_COMMAND_CHECKS["git"] = _Check.check_git
for _n in ("chmod", "chown", "chgrp"):
    _COMMAND_CHECKS[_n] = _Check.check_chmod
for _n in ("fdisk", "sfdisk", "cfdisk", "gdisk", "cgdisk", "parted", "sgdisk", "wipefs", "blkdiscard", "zpool",
           "lvremove", "vgremove", "pvremove", "mdadm", "cryptsetup", "diskutil", "hdparm", "mkswap", "mke2fs",
           "newfs", "mkntfs", "mkdosfs"):  # fmt: skip
    _COMMAND_CHECKS[_n] = _Check.check_disk
for _n in ("kill", "pkill", "killall", "killall5"):
    _COMMAND_CHECKS[_n] = _Check.check_kill
for _n in ("shutdown", "reboot", "halt", "poweroff", "init", "telinit", "systemctl", "loginctl", "launchctl"):
    _COMMAND_CHECKS[_n] = _Check.check_power
_COMMAND_CHECKS["crontab"] = _Check.check_crontab
del _n


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

            patterns.append(compiled(fnmatch.translate(entry)))
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
        protected_branches: Iterable[str] = _PROTECTED_BRANCHES,
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
        check = _Check(
            parsed,
            places,
            self.protected_branches,
            git_branch,
            lambda c: bool(c.args) and self._allowed(c.text),
        )
        for cmd in parsed.commands:
            if cmd.args and self._allowed(cmd.text):
                continue
            fn = _COMMAND_CHECKS.get(cmd.name)
            if fn is None and cmd.name.startswith(("mkfs", "mke2fs")):
                fn = _Check.check_disk
            if fn is not None:
                fn(check, cmd)
            check.check_effects(cmd)
            check.check_history(cmd)
            check.check_guard_cli(cmd)
            check.check_inline_code(cmd)
            if cmd.elevated and cmd.args:
                check.add("sudo", " ".join(cmd.wrappers) or "sudo", cmd)
        check.check_pipes()
        check.check_fork_bomb()
        if parsed.truncated or parsed.failed:
            check.add("unparseable", "; ".join(parsed.issues[-2:]) or "parse failure", command[:200])
        return decide("bash", check.findings, self.level, self.overrides)


def evaluate_bash(
    command: str,
    *,
    level: str = "standard",
    allowlist: Iterable[str] = (),
    protected_branches: Iterable[str] = _PROTECTED_BRANCHES,
    overrides: Mapping[str, str] | None = None,
    **context: str | None,
) -> Verdict:
    """One-shot form of :meth:`BashPolicy.evaluate` (context: cwd, project_dir, home, tmpdir, git_branch)."""
    policy = BashPolicy(
        level=level, allowlist=allowlist, protected_branches=protected_branches, overrides=overrides
    )
    return policy.evaluate(command, **context)  # type: ignore[arg-type]
