"""Bash guard rules for ``git``: force pushes, deleted branches, discarded changes, ``git clean``,
history rewrites.

Loaded by :mod:`lib.guards.bash_policy` the first time a command line runs ``git``. Protected branches
come from ``guards.protected_branches``; ``HEAD`` is the checked-out branch (``LineCheck.branch``).
"""

from __future__ import annotations

from lib.guards.locations import normalize
from lib.guards.shell_words import skip_options

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.guards.bash_rules import LineCheck
    from lib.guards.shell_parse import Command

__all__ = ["judge"]

#: git's options before the subcommand that take a value (``git -C dir push``).
_GLOBAL_WITH_VALUE = frozenset(
    {"-C", "-c", "--git-dir", "--work-tree", "--namespace", "--exec-path", "--config-env"}
)


def judge(line: LineCheck, cmd: Command) -> None:
    """Add the findings of the git rules for ``cmd``."""
    argv = cmd.argv
    i = skip_options(argv, 1, _GLOBAL_WITH_VALUE, dashdash_ends=False)
    if i >= len(argv):
        return
    sub, rest = argv[i], argv[i + 1 :]
    if sub == "push":
        _push(line, cmd, rest)
    elif sub == "reset" and "--hard" in rest:
        line.add("git-reset-hard", "git reset --hard", cmd)
    elif sub == "clean":
        _clean(line, cmd, rest)
    elif sub in ("checkout", "restore", "switch"):
        _discard(line, cmd, sub, rest)
    elif sub == "branch":
        _branch(line, cmd, rest)
    elif sub == "stash" and rest[:1] in (["clear"], ["drop"]):
        line.add(
            "git-discard-changes" if rest[0] == "clear" else "git-discard-file",
            f"git stash {rest[0]}",
            cmd,
        )
    elif sub in ("filter-branch", "filter-repo"):
        line.add("git-history-rewrite", f"git {sub}", cmd)
    elif sub == "reflog" and rest[:1] == ["expire"] and any("--expire=" in a for a in rest):
        line.add("git-history-rewrite", "git reflog expire", cmd)
    elif sub == "gc" and any(a.startswith("--prune=now") or a == "--prune=all" for a in rest):
        line.add("git-history-rewrite", "git gc --prune=now", cmd)
    elif sub == "update-ref" and "-d" in rest:
        refs = [a for a in rest if not a.startswith("-")]
        if any(_protected(line, r) for r in refs):
            line.add("git-delete-protected-branch", f"git update-ref -d {' '.join(refs)}", cmd)


def _clean(line: LineCheck, cmd: Command, sub_args: list[str]) -> None:
    flags = "".join(a[1:] for a in sub_args if a.startswith("-") and not a.startswith("--"))
    longs = {a for a in sub_args if a.startswith("--")}
    if "n" in flags or "--dry-run" in longs or "i" in flags or "--interactive" in longs:
        return
    if "f" in flags or "--force" in longs:
        extra = " including ignored files" if "x" in flags or "X" in flags else ""
        line.add("git-clean", f"git clean -{flags}{extra}", cmd)


def _protected(line: LineCheck, ref: str) -> bool:
    ref = ref.lstrip("+")
    for prefix in ("refs/heads/", "refs/remotes/origin/", "heads/", "origin/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix) :]
            break
    return ref in line.protected_branches


def _push(line: LineCheck, cmd: Command, rest: list[str]) -> None:
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
        line.add("git-force-push-protected", "git push --mirror overwrites every remote branch", cmd)
        return
    for spec in refspecs:
        src, colon, dst = spec.partition(":")
        dest = dst if colon else src
        if colon and not src and _protected(line, dst):
            line.add("git-delete-protected-branch", f"git push deletes {dst}", cmd)
        elif delete and _protected(line, dest):
            line.add("git-delete-protected-branch", f"git push --delete {dest}", cmd)
        elif (force or spec.startswith("+")) and not delete:
            if dest in ("HEAD", "@") or (not colon and src in ("HEAD", "@")):
                dest = line.branch or ""
            if _protected(line, dest):
                line.add("git-force-push-protected", f"force push to {dest}", cmd)
            elif not dest:
                line.add("git-force-push-unknown", "force push of the current branch (unknown)", cmd)
            elif not lease_only or spec.startswith("+"):
                line.add("git-force-push", f"force push to {dest}", cmd)
    if force and not refspecs and not delete:
        if all_refs:
            line.add("git-force-push-protected", "git push --force --all", cmd)
        elif line.branch is None:
            line.add("git-force-push-unknown", "force push without a branch name", cmd)
        elif _protected(line, line.branch):
            line.add("git-force-push-protected", f"force push of the current branch {line.branch}", cmd)
        elif not lease_only:
            line.add("git-force-push", f"force push of {line.branch}", cmd)


def _discard(line: LineCheck, cmd: Command, sub: str, rest: list[str]) -> None:
    if sub == "switch":
        if any(a in ("-f", "--force", "--discard-changes") for a in rest):
            line.add("git-discard-changes", "git switch --discard-changes", cmd)
        return
    if (
        sub == "restore"
        and ("--staged" in rest or "-S" in rest)
        and not ("--worktree" in rest or "-W" in rest)
    ):
        return  # only unstages
    if sub == "checkout" and any(a in ("-f", "--force") for a in rest):
        line.add("git-discard-changes", "git checkout --force", cmd)
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
        p for p in paths if p in (".", "./", "*", ":/", ":", "/", ":/*") or _is_project_root(line, cmd, p)
    ]
    if broad:
        line.add("git-discard-changes", f"git {sub} {' '.join(paths)}", cmd)
    else:
        line.add("git-discard-file", f"git {sub} {' '.join(paths)}", cmd)


def _is_project_root(line: LineCheck, cmd: Command, p: str) -> bool:
    path = normalize(p, cmd.cwd)
    return path is not None and path == line.places.project


def _branch(line: LineCheck, cmd: Command, rest: list[str]) -> None:
    flags = "".join(a[1:] for a in rest if a.startswith("-") and not a.startswith("--"))
    longs = {a for a in rest if a.startswith("--")}
    deleting = "d" in flags or "D" in flags or "--delete" in longs
    if not deleting:
        return
    names = [a for a in rest if not a.startswith("-")]
    remote = "r" in flags or "--remotes" in longs
    for n in names:
        if _protected(line, n) or (remote and _protected(line, n.split("/", 1)[-1])):
            line.add("git-delete-protected-branch", f"git branch -d {n}", cmd)
        elif "D" in flags or "--force" in longs or "f" in flags:
            line.add("git-branch-delete", f"git branch -D {n}", cmd)
