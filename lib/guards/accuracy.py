"""Measure the guards on a labelled corpus: how many dangerous cases they stop, how many safe ones
they get in the way of.

A corpus is JSON Lines; each entry has ``tool`` (``Bash``, ``Read``, ``Write``, ...), ``input`` (the
command or the path), ``expected`` (``deny``/``ask``/``allow`` at the ``standard`` level), ``note``,
and optionally ``tool_input`` (the whole tool input, for Grep/Glob), ``branch`` (the current git branch,
``null`` when unknown; default ``feature/login``) and ``cwd``. Entries are judged in a fixed, fictional
project (:data:`CONTEXT`) exactly as the hooks judge a tool call: a Bash command goes through the Bash
guard and the file guard, a file tool through the file guard; the most severe decision wins.

Used by ``bench/guard_accuracy.py`` (prints the rates) and ``tests/unit/guards`` (asserts them).
"""

from __future__ import annotations

import json

from lib.guards.bash_policy import BashPolicy
from lib.guards.file_policy import FilePolicy
from lib.guards.verdict import LEVELS, RANK
from lib.plain_data import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from lib.guards.verdict import Verdict

__all__ = ["CONTEXT", "Measurement", "judge", "load_corpus", "measure"]

#: The fictional project every corpus entry runs in.
CONTEXT = {"cwd": "/home/dev/src/app", "project_dir": "/home/dev/src/app", "home": "/home/dev"}
_DEFAULT_BRANCH = "feature/login"


def load_corpus(path: str) -> list[dict[str, object]]:
    """Read a corpus file; raises ``ValueError`` naming the line of a malformed entry."""
    entries: list[dict[str, object]] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entry = json_object(json.loads(line))
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: not JSON ({exc})") from None
            if entry is None or not isinstance(entry.get("input"), str):
                raise ValueError(f"{path}:{lineno}: needs an object with a string 'input'")
            if entry.get("expected") not in RANK:
                raise ValueError(f"{path}:{lineno}: 'expected' must be one of {', '.join(RANK)}")
            entry.setdefault("tool", "Bash")
            entries.append(entry)
    return entries


def judge(
    entry: dict[str, object], level: str, policies: tuple[BashPolicy, FilePolicy] | None = None
) -> tuple[str, list[str]]:
    """The combined decision for one corpus entry at ``level`` and the ids of the rules that decided."""
    bash, files = policies or (BashPolicy(level=level), FilePolicy(level=level, resolve=None))
    tool = str(entry.get("tool", "Bash"))
    text = str(entry["input"])
    cwd = str(entry.get("cwd") or CONTEXT["cwd"])
    project, home = CONTEXT["project_dir"], CONTEXT["home"]
    verdicts: list[Verdict] = []
    if tool == "Bash":
        branch = entry.get("branch", _DEFAULT_BRANCH)
        git_branch = branch if isinstance(branch, str) else None
        verdicts.append(bash.evaluate(text, cwd=cwd, project_dir=project, home=home, git_branch=git_branch))
        verdicts.append(
            files.evaluate_tool("Bash", {"command": text}, cwd=cwd, project_dir=project, home=home)
        )
    else:
        tool_input = json_object(entry.get("tool_input"))
        if tool_input is None:
            key = "notebook_path" if tool == "NotebookEdit" else "path" if tool in ("LS",) else "file_path"
            tool_input = {key: text}
        verdicts.append(files.evaluate_tool(tool, tool_input, cwd=cwd, project_dir=project, home=home))
    top = max(verdicts, key=lambda v: RANK[v.decision])
    rules = [v.rule_id for v in verdicts if v.rule_id and v.decision == top.decision]
    return top.decision, rules


class Measurement:
    """Block rate and false-positive rate of one level over a corpus."""

    __slots__ = ("blocked", "dangerous", "false_positives", "level", "mismatches", "misses", "safe")

    def __init__(self, level: str) -> None:
        self.level = level
        self.dangerous = 0
        self.blocked = 0
        self.safe = 0
        #: (entry, decision, rules) of safe entries that were denied or asked
        self.false_positives: list[tuple[dict[str, object], str, list[str]]] = []
        #: dangerous entries that were allowed
        self.misses: list[tuple[dict[str, object], str, list[str]]] = []
        #: entries whose decision differs from ``expected`` (only meaningful at the standard level)
        self.mismatches: list[tuple[dict[str, object], str, list[str]]] = []

    @property
    def block_rate(self) -> float:
        """Share of dangerous entries denied or asked."""
        return self.blocked / self.dangerous if self.dangerous else 1.0

    @property
    def false_positive_rate(self) -> float:
        """Share of safe entries denied or asked."""
        return len(self.false_positives) / self.safe if self.safe else 0.0


def measure(entries: Iterable[dict[str, object]], level: str) -> Measurement:
    """Judge every entry at ``level``."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}")
    policies = (BashPolicy(level=level), FilePolicy(level=level, resolve=None))
    m = Measurement(level)
    for entry in entries:
        decision, rules = judge(entry, level, policies)
        expected = str(entry["expected"])
        if expected == "allow":
            m.safe += 1
            if decision != "allow":
                m.false_positives.append((entry, decision, rules))
        else:
            m.dangerous += 1
            if decision != "allow":
                m.blocked += 1
            else:
                m.misses.append((entry, decision, rules))
        if decision != expected:
            m.mismatches.append((entry, decision, rules))
    return m
