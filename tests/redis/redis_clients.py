"""Run many client processes (``redis_worker.py``) against one project and collect their JSON answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

WORKER = str(Path(__file__).with_name("redis_worker.py"))
REPO = Path(__file__).resolve().parents[2]


def run_clients(backend: Any, action: str, procs: int, **job: Any) -> list[dict[str, Any]]:
    """Start ``procs`` workers, let them all begin ``action`` at once; return their answers."""
    config = {**backend.config, "state": {"lock_timeout_seconds": 10.0}}
    spec = {"project": str(backend.project), "config": config, "action": action, **job}
    children = [
        subprocess.Popen(
            [sys.executable, WORKER, json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(REPO),
            env=backend.env(),
        )
        for _ in range(procs)
    ]
    for child in children:  # every worker is up and connected ...
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "ready", (
            f"worker did not start: {line!r} {child.stderr.read() if child.stderr else ''}"
        )
    for child in children:  # ... then they all go
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    answers = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, f"worker failed ({child.returncode}):\n{err}"
        answers.append(json.loads(out.strip().splitlines()[-1]))
    return answers
