"""When a parallel run falls back to one phase at a time: only on evidence of the problem the
recovery plan exists for (phases blocking each other, or the machine running out of something),
never on an ordinary failure. Pure."""

from __future__ import annotations

import re

from lib.hypervisor.executors import ExecutorResult

__all__ = ["fallback_evidence"]

_EXHAUSTION = re.compile(
    r"resource temporarily unavailable|cannot allocate memory|out of memory|no space left on device|"
    r"too many open files|too many processes|fork: retry|\b(EAGAIN|ENOMEM|ENOSPC|EMFILE|ENFILE)\b|"
    r"database is locked|index\.lock': File exists|unable to create .*\.lock",
    re.IGNORECASE,
)


def fallback_evidence(phase_id: str, result: ExecutorResult, overlapped: bool) -> str | None:
    """Why this failed attempt shows that parallel phases hurt each other (``None``: it does not).

    ``overlapped``: other phases ran while this attempt did.
    """
    if not overlapped:
        return None
    if result.outcome == "timeout":
        return (
            f"phase {phase_id} timed out while other phases ran at the same time (they may block each other)"
        )
    text = "\n".join(t for t in (result.error or "", result.output_tail) if t)
    match = _EXHAUSTION.search(text)
    if match:
        return f"phase {phase_id} ran out of a resource while other phases ran: {match.group(0)!r}"
    if result.exit_code in (-9, 137) and result.outcome != "interrupted":
        return (
            f"phase {phase_id} was killed (SIGKILL, likely the out-of-memory killer) while other phases ran"
        )
    return None
