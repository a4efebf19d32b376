"""Interactive mode's question before each phase: its summary, then ``run, skip or quit?``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from lib.hypervisor.plan import Phase

__all__ = ["Choice", "ask_phase", "ask_stdin", "phase_summary"]

Choice = Literal["run", "skip", "quit"]

_ANSWERS: dict[str, Choice] = {
    "r": "run",
    "run": "run",
    "y": "run",
    "yes": "run",
    "": "run",
    "s": "skip",
    "skip": "skip",
    "n": "skip",
    "no": "skip",
    "q": "quit",
    "quit": "quit",
    "exit": "quit",
}


def phase_summary(phase: Phase, executor: str) -> str:
    """Title, effort, dependencies, executor, validation and the first line of the instructions."""
    deps = ", ".join(phase.meta.depends_on) or "none"
    lines = [
        f"phase {phase.id}: {phase.title}",
        f"  effort {phase.meta.effort or '-'} · depends on {deps} · executor {executor}"
        + (f" · validation {phase.meta.validation_script}" if phase.meta.validation_script else ""),
    ]
    first = next(
        (line.strip() for line in phase.body.splitlines() if line.strip() and not line.startswith("#")),
        "",
    )
    if first:
        lines.append(f"  {first[:160]}")
    return "\n".join(lines)


def ask_phase(ask: Callable[[str], str], say: Callable[[str], None]) -> Choice:
    """Ask until the answer is run, skip or quit (end of input and Ctrl-C are quit)."""
    while True:
        try:
            answer = ask("run, skip or quit? [r/s/q] ").strip().lower()
        except (EOFError, KeyboardInterrupt):
            return "quit"
        choice = _ANSWERS.get(answer)
        if choice is not None:
            return choice
        say(f"please answer r, s or q (got {answer!r})")


def ask_stdin(prompt: str) -> str:
    """The default question: ``input()`` on the terminal."""
    return input(prompt)
