"""Run many client processes (``worker.py``) against one project and collect their JSON answers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORKER = str(Path(__file__).with_name("worker.py"))
REPO = Path(__file__).resolve().parents[2]


def run_clients(backend: Any, action: str, procs: int, **job: Any) -> list[dict[str, Any]]:
    """Start ``procs`` workers doing ``action`` at the same moment; return their answers."""
    start_at = time.time() + 0.6 + 0.12 * procs  # every interpreter is up before anyone starts
    spec = {
        "project": str(backend.project),
        "backend": backend.section,
        "action": action,
        "start_at": start_at,
        **job,
    }
    children = [
        subprocess.Popen(
            [sys.executable, WORKER, json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(REPO),
            env=backend.env(),
        )
        for _ in range(procs)
    ]
    answers = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, f"worker failed ({child.returncode}):\n{err}"
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers
