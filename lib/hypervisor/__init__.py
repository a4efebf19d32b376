"""The hypervisor: run a plan of Markdown phase files in dependency order (``python -m lib.hypervisor``).

One concern per module:

- :mod:`~lib.hypervisor.plan` loads and validates phase files (pydantic frontmatter);
- :mod:`~lib.hypervisor.graph` checks the phase DAG and computes order and waves (pure);
- :mod:`~lib.hypervisor.schedule` decides which phases may start (pure);
- :mod:`~lib.hypervisor.retry` is the backoff policy (pure);
- :mod:`~lib.hypervisor.executors`, :mod:`~lib.hypervisor.process`, :mod:`~lib.hypervisor.prompt` and
  :mod:`~lib.hypervisor.routing` run a phase (``claude -p`` or a shell command);
- :mod:`~lib.hypervisor.validation` runs the validation script that decides "done";
- :mod:`~lib.hypervisor.checkpoints` writes and reads the ``.toon`` checkpoints;
- :mod:`~lib.hypervisor.bridge` is the learning log (flaky phases, ETA, lessons);
- :mod:`~lib.hypervisor.events` and :mod:`~lib.hypervisor.monitor` talk to the event bus;
- :mod:`~lib.hypervisor.phase_breaker` stops a run after consecutive failures;
- :mod:`~lib.hypervisor.runner` runs it all; :mod:`~lib.hypervisor.dry_run` and
  :mod:`~lib.hypervisor.status` only read; :mod:`~lib.hypervisor.cli` is the command line;
- :mod:`~lib.hypervisor.interfaces` holds the Protocols (EventMesh, AgentDelegationEngine,
  SkillRouter, MemoryManager).

User documentation: ``docs/hypervisor.md``.
"""

from __future__ import annotations

from lib.hypervisor.plan import Phase, Plan, PlanInvalid, load_plan
from lib.hypervisor.runner import Mode, Runner, RunOptions, RunReport, RunStatus

__all__ = [
    "Mode",
    "Phase",
    "Plan",
    "PlanInvalid",
    "RunOptions",
    "RunReport",
    "RunStatus",
    "Runner",
    "load_plan",
]
