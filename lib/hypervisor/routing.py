"""Skill routing: a phase's frontmatter picks the executor that runs it.

Precedence: the phase's ``executor:`` field; else the run's ``--executor``; else ``shell`` when the
phase has a ``command`` and ``claude`` otherwise. The chosen executor reads its options (the
``command``, the ``claude:`` block) from the same frontmatter.
"""

from __future__ import annotations

from collections.abc import Mapping

from lib.hypervisor.interfaces import AgentDelegationEngine
from lib.hypervisor.plan import Phase

__all__ = ["FrontmatterSkillRouter"]


class FrontmatterSkillRouter:
    """Routes each phase to one of ``executors`` by its frontmatter."""

    def __init__(self, executors: Mapping[str, AgentDelegationEngine], default: str | None = None) -> None:
        if default is not None and default not in executors:
            raise ValueError(f"unknown executor {default!r}; choose one of {', '.join(sorted(executors))}")
        self.executors = dict(executors)
        self.default = default

    def name_for(self, phase: Phase) -> str:
        """The executor name ``phase`` runs with."""
        if phase.meta.executor:
            return phase.meta.executor
        if self.default:
            return self.default
        return "shell" if phase.meta.command is not None else "claude"

    def route(self, phase: Phase) -> AgentDelegationEngine:
        """The executor for ``phase``."""
        return self.executors[self.name_for(phase)]
