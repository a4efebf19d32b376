"""Checkpoints: one ``.toon`` file per phase recording its last attempt.

Written in real TOON (``toon-format``) after every phase attempt, atomically (temp file, fsync,
rename) and only by the hypervisor process. Read back tolerantly: our TOON, JSON checkpoints
(including other tools' ``.toon`` files that hold JSON), and a clear "unreadable" answer for
msgpack (with or without a ``TOON`` magic header) or anything else, so a resume never guesses.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
import toon_format
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lib.hypervisor.plan import Phase
from lib.plain_data import json_object
from lib.redaction import redact
from lib.safe_files import atomic_write, ensure_dir

__all__ = [
    "CHECKPOINT_FORMAT",
    "Checkpoint",
    "CheckpointRead",
    "CheckpointStore",
    "PhaseStatus",
    "ValidationRecord",
    "decode_checkpoint",
    "default_checkpoint_path",
    "encode_checkpoint",
    "read_checkpoint",
    "utc_now",
    "write_atomic",
    "write_checkpoint",
]

CHECKPOINT_FORMAT = 1
"""Version of the checkpoint layout written by this module."""


def utc_now() -> str:
    """The current time as an ISO 8601 UTC string (TOON has no datetime type)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PhaseStatus(StrEnum):
    """A phase's status in its checkpoint."""

    PENDING = "pending"
    RUNNING = "running"
    RETRYING = "retrying"
    PASSED = "passed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"
    SKIPPED = "skipped"


_STATUS_ALIASES = {
    "passed": PhaseStatus.PASSED,
    "pass": PhaseStatus.PASSED,
    "completed": PhaseStatus.PASSED,
    "complete": PhaseStatus.PASSED,
    "done": PhaseStatus.PASSED,
    "success": PhaseStatus.PASSED,
    "succeeded": PhaseStatus.PASSED,
    "ok": PhaseStatus.PASSED,
    "failed": PhaseStatus.FAILED,
    "fail": PhaseStatus.FAILED,
    "failure": PhaseStatus.FAILED,
    "error": PhaseStatus.FAILED,
    "running": PhaseStatus.RUNNING,
    "in_progress": PhaseStatus.RUNNING,
    "in-progress": PhaseStatus.RUNNING,
    "started": PhaseStatus.RUNNING,
    "retrying": PhaseStatus.RETRYING,
    "interrupted": PhaseStatus.INTERRUPTED,
    "cancelled": PhaseStatus.INTERRUPTED,
    "canceled": PhaseStatus.INTERRUPTED,
    "crashed": PhaseStatus.CRASHED,
    "skipped": PhaseStatus.SKIPPED,
    "pending": PhaseStatus.PENDING,
    "todo": PhaseStatus.PENDING,
}


class ValidationRecord(BaseModel):
    """What the validation script said: exit code, a digest of its output and the output's tail."""

    model_config = ConfigDict(extra="ignore")

    script: str | None = None
    exit_code: int | None = None
    digest: str | None = None
    tail: str = ""
    duration_s: float | None = None


class Checkpoint(BaseModel):
    """The state of one phase after its latest attempt."""

    model_config = ConfigDict(extra="ignore")

    format: int = CHECKPOINT_FORMAT
    plan: str = ""
    phase: str
    title: str = ""
    status: PhaseStatus
    attempts: int = 0
    failures: int = 0
    run_id: str = ""
    started_at: str | None = None
    ended_at: str | None = None
    duration_s: float | None = None
    executor: str | None = None
    executor_result: dict[str, Any] = Field(default_factory=dict)
    validation: ValidationRecord | None = None
    session_id: str | None = None
    phase_digest: str | None = None
    error: str | None = None
    error_class: str | None = None
    pid: int | None = None
    pid_start: int | None = None
    hook_activity: dict[str, int] = Field(default_factory=dict)
    input_digest: str | None = None
    """Digest of the phase file and its validation script when it was judged (see ``resume``)."""
    dependencies: dict[str, str] = Field(default_factory=dict)
    """Each dependency's pass (``run_id@ended_at``) when this phase passed."""
    spend: dict[str, Any] = Field(default_factory=dict)
    """Cost and tokens of every attempt of this phase, summed (see ``accounting``)."""
    attempt_log: list[dict[str, Any]] = Field(default_factory=list[dict[str, Any]])
    """The latest attempts: run, attempt, pid, start, end, outcome and spend of each."""

    @field_validator("phase", mode="before")
    @classmethod
    def _phase_text(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("status", mode="before")
    @classmethod
    def _status_alias(cls, value: object) -> object:
        if isinstance(value, str):
            alias = _STATUS_ALIASES.get(value.strip().lower())
            if alias is not None:
                return alias
        return value

    def to_data(self) -> dict[str, Any]:
        """Plain data for the encoder (``None`` fields dropped to keep the file short)."""
        data = self.model_dump(mode="json", exclude_none=True)
        return {k: v for k, v in data.items() if v != {}}


@dataclass(frozen=True)
class CheckpointRead:
    """The result of reading a checkpoint file.

    Exactly one of ``checkpoint`` and ``problem`` is set unless the file does not exist (both
    ``None``). ``format`` is ``toon``, ``json``, ``msgpack`` or ``unknown``.
    """

    path: Path
    checkpoint: Checkpoint | None = None
    problem: str | None = None
    format: str | None = None

    @property
    def exists(self) -> bool:
        """Whether a file was found (readable or not)."""
        return self.checkpoint is not None or self.problem is not None


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    """The checkpoint as TOON text."""
    return (toon_format.dumps(redact(checkpoint.to_data())) + "\n").encode("utf-8")  # no secret at rest


def _looks_like_msgpack(data: bytes) -> bool:
    first = data[0]
    # fixmap, map16, map32: a msgpack document holding an object starts with one of these.
    return 0x80 <= first <= 0x8F or first in (0xDE, 0xDF)


def detect_format(data: bytes) -> str:
    """``json``, ``msgpack``, ``toon`` or ``unknown`` from the first bytes of a checkpoint file."""
    if data.startswith(b"TOON"):
        rest = data[4:].lstrip(b"\x00\x01\x02:- \t\r\n")
        if rest[:1] and _looks_like_msgpack(rest):
            return "msgpack"
        if rest.startswith(b"{"):
            return "json"
    stripped = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if stripped.startswith(b"{"):
        return "json"
    if _looks_like_msgpack(data):
        return "msgpack"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "unknown"
    return "toon"


def decode_checkpoint(data: bytes, path: Path) -> CheckpointRead:
    """Parse checkpoint bytes of any supported format into a :class:`CheckpointRead`."""
    if not data.strip():
        return CheckpointRead(path, problem=f"{path}: empty checkpoint file; the phase will be re-run")
    kind = detect_format(data)
    if kind == "msgpack":
        return CheckpointRead(
            path,
            problem=(
                f"{path}: msgpack checkpoint (written by another tool), which this hypervisor does not "
                "read; the phase will be re-run (move the file away to silence this)"
            ),
            format=kind,
        )
    if kind == "unknown":
        return CheckpointRead(
            path, problem=f"{path}: not a TOON, JSON or msgpack checkpoint (binary data)", format=kind
        )
    payload: object
    if kind == "json":
        start = data.find(b"{")
        try:
            payload = orjson.loads(data[start:])
        except orjson.JSONDecodeError as exc:
            return CheckpointRead(path, problem=f"{path}: invalid JSON checkpoint: {exc}", format=kind)
    else:
        try:
            payload = toon_format.loads(data.decode("utf-8").lstrip("\ufeff"))
        except toon_format.ToonDecodeError as exc:
            line = getattr(exc, "line", None)
            where = f" (line {line})" if line else ""
            return CheckpointRead(path, problem=f"{path}: invalid TOON checkpoint{where}: {exc}", format=kind)
        except (ValueError, TypeError) as exc:
            return CheckpointRead(path, problem=f"{path}: invalid TOON checkpoint: {exc}", format=kind)
    fields = json_object(payload)
    if fields is None:
        return CheckpointRead(path, problem=f"{path}: a checkpoint must hold an object", format=kind)
    data_dict: dict[str, Any] = dict(fields)
    if "phase" not in data_dict:
        for alias in ("phase_id", "id"):
            if alias in data_dict:
                data_dict["phase"] = data_dict[alias]
                break
    try:
        checkpoint = Checkpoint.model_validate(data_dict)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        return CheckpointRead(
            path,
            problem=f"{path}: field '{loc}': {first['msg']}; the phase will be re-run",
            format=kind,
        )
    return CheckpointRead(path, checkpoint=checkpoint, format=kind)


def read_checkpoint(path: Path) -> CheckpointRead:
    """Read the checkpoint at ``path`` (a missing file is not a problem)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return CheckpointRead(path)
    except OSError as exc:
        return CheckpointRead(path, problem=f"{path}: cannot read checkpoint: {exc.strerror or exc}")
    return decode_checkpoint(data, path)


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` atomically (:func:`lib.safe_files.atomic_write`: never through
    a symlink, the temp file removed on failure), then fsync the folder."""
    ensure_dir(str(path.parent))
    atomic_write(str(path), data, mode=mode)
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` as TOON, atomically."""
    write_atomic(path, encode_checkpoint(checkpoint))


def quarantine(path: Path) -> Path:
    """Move an unreadable checkpoint aside (``<name>.unreadable-<ts>``) so it is never lost."""
    target = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
    os.replace(path, target)
    return target


class CheckpointStore:
    """Where each phase's checkpoint lives, and reading and writing them (the memory manager).

    A phase's ``checkpoint`` frontmatter path, when relative, is taken under the state folder (so
    ``--state-dir`` keeps runs apart); without one the checkpoint is
    ``<state dir>/checkpoints/phase_<id>.toon``. A file holding another phase's checkpoint is
    reported, never used.
    """

    def __init__(self, plan_dir: Path, state_dir: Path) -> None:
        self.plan_dir = plan_dir
        self.state_dir = state_dir

    def path_for(self, phase: Phase) -> Path:
        """The checkpoint file of ``phase``."""
        declared = phase.meta.checkpoint
        if declared:
            path = Path(declared).expanduser()
            return path if path.is_absolute() else self.state_dir / path
        return default_checkpoint_path(self.state_dir, phase.id)

    def load(self, phase: Phase) -> CheckpointRead:
        """The phase's checkpoint as stored (or why it cannot be read)."""
        read = read_checkpoint(self.path_for(phase))
        cp = read.checkpoint
        if cp is not None and cp.phase != phase.id:
            return CheckpointRead(
                read.path,
                problem=(
                    f"{read.path}: field 'phase': holds the checkpoint of phase {cp.phase}, not of phase "
                    f"{phase.id}; give {phase.path.name} its own `checkpoint:` path"
                ),
                format=read.format,
            )
        return read

    def save(self, phase: Phase, checkpoint: Checkpoint) -> None:
        """Write the phase's checkpoint atomically as TOON."""
        write_checkpoint(self.path_for(phase), checkpoint)


def default_checkpoint_path(state_dir: Path, phase_id: str) -> Path:
    """``<state dir>/checkpoints/phase_<id>.toon``."""
    return state_dir / "checkpoints" / f"phase_{_safe_name(phase_id)}.toon"


def _safe_name(phase_id: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in phase_id)
