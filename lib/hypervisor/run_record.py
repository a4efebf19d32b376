"""The record of every run: ``<state dir>/runs/<run id>.toon``, one file per run, never overwritten
by a later run.

A record says how the run ended (``passed``, ``failed``, ``interrupted``... or ``running`` while it
runs), when, which phases it covered, how each ended and what they cost. A record still saying
``running`` while no hypervisor holds the plan's lock belongs to a runner that died: readers show
it as ``crashed``, and the next run writes that down (:func:`mark_crashed`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import toon_format

from lib.hypervisor.checkpoints import utc_now, write_atomic
from lib.locking import is_held
from lib.plain_data import json_object

__all__ = ["RUNS_DIR", "latest_run", "lock_held", "mark_crashed", "read_runs", "write_run_record"]

RUNS_DIR = "runs"


def lock_held(state_dir: Path) -> bool:
    """Whether a hypervisor holds the plan's lock right now (so a ``running`` status is real)."""
    return is_held(str(state_dir / "hypervisor.lock"))


def record_path(state_dir: Path, run_id: str) -> Path:
    """Where the record of ``run_id`` lives."""
    return state_dir / RUNS_DIR / f"{run_id}.toon"


def write_run_record(state_dir: Path, record: Mapping[str, Any]) -> Path:
    """Write (or rewrite, as the run goes on) the record of ``record['run_id']`` atomically."""
    path = record_path(state_dir, str(record["run_id"]))
    write_atomic(path, (toon_format.dumps(dict(record)) + "\n").encode())
    return path


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = toon_format.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, toon_format.ToonDecodeError):
        return None
    return json_object(data)


def read_runs(state_dir: Path) -> list[dict[str, Any]]:
    """Every readable run record, oldest first; a ``running`` record of a dead runner reads ``crashed``."""
    folder = state_dir / RUNS_DIR
    try:
        paths = sorted(folder.glob("*.toon"))
    except OSError:
        return []
    active = None
    runs: list[dict[str, Any]] = []
    for path in paths:
        record = _read(path)
        if record is None or "run_id" not in record:
            continue
        if record.get("status") == "running":
            if active is None:
                active = lock_held(state_dir)
            if not active:
                record["status"] = "crashed"
        runs.append(record)
    runs.sort(key=lambda r: (str(r.get("started_at") or ""), str(r.get("run_id"))))
    return runs


def latest_run(state_dir: Path) -> dict[str, Any] | None:
    """The newest run record, or ``None``."""
    runs = read_runs(state_dir)
    return runs[-1] if runs else None


def mark_crashed(state_dir: Path, by_run: str) -> list[str]:
    """Rewrite every ``running`` record (their runners died: we hold the lock) as ``crashed``.

    Returns the ids of the runs so marked.
    """
    marked: list[str] = []
    for path in sorted((state_dir / RUNS_DIR).glob("*.toon")) if (state_dir / RUNS_DIR).is_dir() else []:
        record = _read(path)
        if record is None or record.get("status") != "running":
            continue
        record["status"] = "crashed"
        record["reason"] = f"the runner (pid {record.get('pid', '?')}) died; found by run {by_run}"
        record["crash_found_at"] = utc_now()
        with contextlib.suppress(OSError):
            write_atomic(path, (toon_format.dumps(record) + "\n").encode())
            marked.append(str(record.get("run_id")))
    return marked
