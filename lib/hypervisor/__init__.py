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
- :mod:`~lib.hypervisor.options` (modes, options, exit codes) and :mod:`~lib.hypervisor.report`
  (the outcome and final summary) describe a run;
- :mod:`~lib.hypervisor.runner` is the run's loop; :mod:`~lib.hypervisor.attempt` is one attempt
  in its worker thread; :mod:`~lib.hypervisor.phase_run` one phase's bookkeeping and records;
  :mod:`~lib.hypervisor.interactive` the question of interactive mode;
- :mod:`~lib.hypervisor.resume` decides what earlier runs left done (pure);
  :mod:`~lib.hypervisor.crash_recovery` and :mod:`~lib.hypervisor.orphans` settle what a crashed
  run left; :mod:`~lib.hypervisor.run_record` keeps the record of every run;
- :mod:`~lib.hypervisor.worktrees` isolates parallel Claude phases in git worktrees;
  :mod:`~lib.hypervisor.recovery` decides the fallback to sequential (pure);
  :mod:`~lib.hypervisor.accounting` sums cost and tokens against the budget (pure);
- :mod:`~lib.hypervisor.dry_run` and :mod:`~lib.hypervisor.status` only read;
  :mod:`~lib.hypervisor.cli` is the command line;
- :mod:`~lib.hypervisor.interfaces` holds the Protocols (EventMesh, AgentDelegationEngine,
  SkillRouter, MemoryManager).

User documentation: ``docs/hypervisor.md``.
"""

from __future__ import annotations

from lib.hypervisor.options import Mode, RunOptions, RunStatus
from lib.hypervisor.plan import Phase, Plan, PlanInvalid, load_plan
from lib.hypervisor.report import RunReport
from lib.hypervisor.runner import Runner

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
