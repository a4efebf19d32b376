"""The hook's side of notifications: start the detached sender when this invocation published an
event that may notify and no sender is running.

The hook only records the need (the event is on the bus already); delivery, rules, retries and
logging happen in :mod:`lib.notify.sender`. Stdlib only, no I/O beyond the lock probe of
:func:`lib.detached.ensure_running` (hot path).
"""

from __future__ import annotations

from lib.detached import ensure_running, python_argv

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["WORKER_NAME", "sender_argv", "start_if_needed"]

WORKER_NAME = "notify"


def sender_argv(project_dir: str) -> list[str]:
    """The command line of the detached sender."""
    return python_argv("-m", "lib", "--project", project_dir, "notify", "send", "--follow")


def start_if_needed(
    project_dir: str, state_dir: str, notify: Mapping[str, object], topics: Iterable[str]
) -> bool:
    """Start the sender if one of ``topics`` can notify (``notify["topics"]``); True if started."""
    wanted = notify.get("topics")
    if not isinstance(wanted, list) or not any(topic in wanted for topic in topics):
        return False
    return ensure_running(state_dir, WORKER_NAME, sender_argv(project_dir))
