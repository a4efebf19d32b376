"""The usage figures of the project a ``python -m lib`` command works on (``--project``)."""

from __future__ import annotations

import argparse
from typing import Any

from lib.cli._state import open_cli_state, project_config
from lib.usage.marks import MARKS_STORE
from lib.usage.report import usage_report
from lib.usage.transcript import json_object

__all__ = ["project_usage"]


def project_usage(args: argparse.Namespace, *, session: str | None = None) -> dict[str, Any]:
    """:meth:`lib.usage.report.UsageReport.as_dict` for the project (only sessions whose id starts
    with ``session``, when given), priced with the project's ``[usage.prices]``."""
    _, config = project_config(args, "using the built-in prices")
    marks = open_cli_state(args, MARKS_STORE).read()
    if session is not None:
        sessions = json_object(marks.get("sessions"))
        marks = {"sessions": {k: v for k, v in sessions.items() if k.startswith(session)}}
    return usage_report(marks, config).as_dict()
