"""The hook's side of notifications: start the detached sender when this invocation published an
event of one of ``[notify]``'s topics (:func:`lib.observability.record_invocation` checks) and no
sender is running.

The hook only records the need (the event is on the bus already); delivery, rules, retries and
logging happen in :mod:`lib.notify.sender`. Stdlib only, no I/O beyond the lock probe of
:func:`lib.detached.ensure_running` (hot path).
"""

from __future__ import annotations

from lib.detached import ensure_running, python_argv

__all__ = ["WORKER_NAME", "sender_argv", "start_if_needed"]

WORKER_NAME = "notify"


def sender_argv(project_dir: str) -> list[str]:
    """The command line of the detached sender."""
    return python_argv("-m", "lib", "--project", project_dir, "notify", "send", "--follow")


def start_if_needed(project_dir: str, state_dir: str) -> bool:
    """Start the sender unless one runs (or was started a moment ago); True if started. The caller
    checked that the invocation published a topic of ``[notify]``'s ``topics``."""
    return ensure_running(state_dir, WORKER_NAME, sender_argv(project_dir))
