"""The hook's side of OTLP shipping: start the detached shipper when none is running.

Called by every hook once its spans are written, when ``[otel]`` is active (an endpoint is set).
The shipper (:mod:`lib.otel.shipper`) follows ``traces.jsonl``; this module never imports the
OpenTelemetry packages. Stdlib only (hot path).
"""

from __future__ import annotations

from lib.detached import ensure_running, python_argv

__all__ = ["WORKER_NAME", "shipper_argv", "start_if_needed"]

WORKER_NAME = "otel-shipper"


def shipper_argv(project_dir: str) -> list[str]:
    """The command line of the detached shipper."""
    return python_argv("-m", "lib", "--project", project_dir, "otel", "ship", "--follow")


def start_if_needed(project_dir: str, state_dir: str) -> bool:
    """Start the shipper unless one runs (or was started a moment ago); True if started."""
    return ensure_running(state_dir, WORKER_NAME, shipper_argv(project_dir))
