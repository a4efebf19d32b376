"""Structured log records in ``.claude/logs/hooks.jsonl``: what Claude did and what our hooks decided.

One record per line::

    {"ts": "2026-11-21T07:52:08.123456Z", "level": "info", "hook": "runtime", "event": "PreToolUse",
     "session_id": "...", "tool_use_id": "toolu_...", "correlation_id": "...", "tool": "Bash",
     "duration_ms": 3.1, "message": "PreToolUse Bash: allow", "fields": {...}}

Everything is redacted (:mod:`lib.redaction`) and long values truncated before it is encoded, so no
secret and no 50 MB tool output reaches the disk. Records go through :class:`lib.jsonl.JsonlWriter`:
one ``write`` per record, safe with many hook processes at once, rotated by size.

The level comes from ``CLAUDE_HOOKS_LOG_LEVEL``, else the config's ``logging.level``, else ``info``.
Stdlib only: every hook process imports this module.
"""

from __future__ import annotations

import os
import time

from lib.jsonl import JsonlWriter
from lib.plain_data import json_object, plain_dict, plain_sequence
from lib.redaction import redact, redact_text, truncate

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import ClassVar

__all__ = ["LEVEL_ENV", "LOG_FILE", "HookLogger", "LogLevel", "iso_timestamp", "resolve_level"]

LOG_FILE = "hooks.jsonl"
LEVEL_ENV = "CLAUDE_HOOKS_LOG_LEVEL"


class LogLevel(int):
    """Severity of a log record (an ``int``: 10 debug, 20 info, 30 warning, 40 error); records below
    the logger's level are not written.

    The four members are singletons (``LogLevel.INFO``, ``LogLevel(20)`` and ``LogLevel.parse("info")``
    are the same object). Not an ``enum.IntEnum``: importing ``enum`` costs
    a hook process about 4 ms.
    """

    __slots__ = ()

    DEBUG: ClassVar[LogLevel]
    INFO: ClassVar[LogLevel]
    WARNING: ClassVar[LogLevel]
    ERROR: ClassVar[LogLevel]

    def __new__(cls, value: int | LogLevel) -> LogLevel:
        """The member whose value is ``value``; ValueError for any other number."""
        member = _BY_VALUE.get(value) if isinstance(value, int) else None
        if member is None:
            raise ValueError(f"{value!r} is not a valid LogLevel")
        return member

    @classmethod
    def parse(cls, value: str | int | LogLevel) -> LogLevel:
        """``"info"``, ``"WARNING"``, ``"warn"``, ``20`` or a member -> a member; ValueError otherwise."""
        if isinstance(value, LogLevel):
            return value
        if isinstance(value, int):
            return cls(value)
        name = value.strip().upper()
        name = {"WARN": "WARNING", "ERR": "ERROR", "FATAL": "ERROR", "CRITICAL": "ERROR"}.get(name, name)
        try:
            return _BY_NAME[name]
        except KeyError:
            raise ValueError(f"unknown log level {value!r}; use one of debug, info, warning, error") from None

    @property
    def name(self) -> str:
        """The upper-case name (``INFO``)."""
        return _NAMES[int(self)]

    @property
    def label(self) -> str:
        """The lower-case name written in records (``info``)."""
        return _NAMES[int(self)].lower()

    def __repr__(self) -> str:
        return f"<LogLevel.{self.name}: {int(self)}>"

    __str__ = int.__repr__

    def __reduce__(self) -> tuple[type[LogLevel], tuple[int]]:
        return LogLevel, (int(self),)


_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR"}
_BY_VALUE: dict[int, LogLevel] = {value: int.__new__(LogLevel, value) for value in _NAMES}
_BY_NAME = {name: _BY_VALUE[value] for value, name in _NAMES.items()}
LogLevel.DEBUG = _BY_VALUE[10]
LogLevel.INFO = _BY_VALUE[20]
LogLevel.WARNING = _BY_VALUE[30]
LogLevel.ERROR = _BY_VALUE[40]


def resolve_level(configured: str | int | None = None, environ: Mapping[str, str] | None = None) -> LogLevel:
    """The effective level: the environment variable wins over the config, ``info`` by default."""
    env = os.environ if environ is None else environ
    raw = env.get(LEVEL_ENV) or configured
    if raw is None or raw == "":
        return LogLevel.INFO
    return LogLevel.parse(raw)


def iso_timestamp(ns: int | None = None) -> str:
    """UTC ISO-8601 with microseconds and ``Z`` (``2026-11-21T07:52:08.123456Z``)."""
    if ns is None:
        ns = time.time_ns()
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1000:06d}Z"


_CONTEXT_KEYS = (
    "hook",
    "event",
    "session_id",
    "tool_use_id",
    "correlation_id",
    "tool",
    "hypervisor_run_id",
    "hypervisor_phase",
)


class HookLogger:
    """Writes structured, redacted records to one JSONL file.

    ``context`` (hook, event, session_id, tool_use_id, correlation_id, tool, and the
    hypervisor_run_id/hypervisor_phase of a session the hypervisor started) is stamped on every
    record; :meth:`bind` returns a logger with more of it. ``clock`` returns nanoseconds since the
    epoch (injectable for tests).
    """

    __slots__ = ("_clock", "_context", "_writer", "level", "max_field_chars", "max_items", "redact")

    def __init__(
        self,
        path: str,
        *,
        hook: str = "runtime",
        level: LogLevel | str | int | None = None,
        max_field_chars: int = 2000,
        max_items: int = 100,
        max_bytes: int = 10 * 1024 * 1024,
        backups: int = 5,
        redact: bool = True,
        clock: Callable[[], int] = time.time_ns,
        writer: JsonlWriter | None = None,
        **context: str | None,
    ) -> None:
        unknown = set(context) - set(_CONTEXT_KEYS)
        if unknown:
            raise TypeError(f"unknown logger context {sorted(unknown)}; use {', '.join(_CONTEXT_KEYS)}")
        self.level = resolve_level(level)
        self.max_field_chars = max_field_chars
        self.max_items = max_items
        self.redact = redact
        self._clock = clock
        self._writer = writer or JsonlWriter(path, max_bytes=max_bytes, backups=backups)
        self._context: dict[str, str | None] = {"hook": hook, **context}

    @classmethod
    def from_config(cls, log_dir: str, config: Mapping[str, object], **context: str | None) -> HookLogger:
        """A logger for ``<log_dir>/hooks.jsonl`` set up from the config's ``logging`` section."""
        cfg: Mapping[str, object] = json_object(config.get("logging")) or {}
        logger = cls(
            os.path.join(log_dir, LOG_FILE),
            level=resolve_level(cfg.get("level")),  # type: ignore[arg-type]
            max_field_chars=int(cfg.get("max_field_chars", 2000)),  # type: ignore[call-overload]
            max_bytes=int(cfg.get("rotate_max_bytes", 10 * 1024 * 1024)),  # type: ignore[call-overload]
            backups=int(cfg.get("rotate_backups", 5)),  # type: ignore[call-overload]
            redact=bool(cfg.get("redact", True)),
        )
        return logger.bind(**context) if context else logger

    @property
    def path(self) -> str:
        """The log file."""
        return self._writer.path

    @property
    def context(self) -> dict[str, str | None]:
        """The context stamped on every record (a copy)."""
        return dict(self._context)

    def bind(self, **context: str | None) -> HookLogger:
        """A logger writing to the same file with ``context`` added (or replaced)."""
        unknown = set(context) - set(_CONTEXT_KEYS)
        if unknown:
            raise TypeError(f"unknown logger context {sorted(unknown)}; use {', '.join(_CONTEXT_KEYS)}")
        other = object.__new__(HookLogger)
        other.level = self.level
        other.max_field_chars = self.max_field_chars
        other.max_items = self.max_items
        other.redact = self.redact
        other._clock = self._clock
        other._writer = self._writer
        other._context = {**self._context, **context}
        return other

    def enabled(self, level: LogLevel | str) -> bool:
        """Whether a record at ``level`` would be written."""
        return LogLevel.parse(level) >= self.level

    def log(
        self,
        level: LogLevel | str,
        message: str,
        *,
        duration_ms: float | None = None,
        ts_ns: int | None = None,
        **fields: object,
    ) -> dict[str, object] | None:
        """Write one record (if ``level`` passes); return what was written."""
        return self._emit(LogLevel.parse(level), message, duration_ms, ts_ns, fields)

    def _emit(
        self,
        level: LogLevel,
        message: str,
        duration_ms: float | None,
        ts_ns: int | None,
        fields: Mapping[str, object],
    ) -> dict[str, object] | None:
        if level < self.level:
            return None
        record = self.build(level, message, duration_ms=duration_ms, ts_ns=ts_ns, fields=fields)
        self._writer.append(record)
        return record

    def build(
        self,
        level: LogLevel,
        message: str,
        *,
        duration_ms: float | None = None,
        ts_ns: int | None = None,
        fields: Mapping[str, object] | None = None,
    ) -> dict[str, object]:
        """The record :meth:`log` would write, redacted and truncated (no I/O)."""
        record: dict[str, object] = {"ts": iso_timestamp(ts_ns if ts_ns is not None else self._clock())}
        record["level"] = level.label
        for key in _CONTEXT_KEYS:
            value = self._context.get(key)
            if value is not None:
                record[key] = value
        if duration_ms is not None:
            record["duration_ms"] = round(duration_ms, 3)
        limit = self.max_field_chars
        if self.redact:
            record["message"] = truncate(redact_text(message), limit)
            record["fields"] = redact(dict(fields or {}), max_chars=limit, max_items=self.max_items)
        else:
            record["message"] = truncate(message, limit)
            record["fields"] = _cut(dict(fields or {}), limit, self.max_items)
        return record

    def debug(self, message: str, **fields: object) -> dict[str, object] | None:
        """Write a debug record."""
        return self._emit(LogLevel.DEBUG, message, None, None, fields)

    def info(self, message: str, **fields: object) -> dict[str, object] | None:
        """Write an info record."""
        return self._emit(LogLevel.INFO, message, None, None, fields)

    def warning(self, message: str, **fields: object) -> dict[str, object] | None:
        """Write a warning record."""
        return self._emit(LogLevel.WARNING, message, None, None, fields)

    def error(self, message: str, **fields: object) -> dict[str, object] | None:
        """Write an error record."""
        return self._emit(LogLevel.ERROR, message, None, None, fields)

    def timed(self, message: str, level: LogLevel | str = LogLevel.INFO, **fields: object) -> _Timed:
        """Context manager that writes ``message`` with ``duration_ms`` when the block ends
        (at ``error`` level with the exception's type and text if it raised)."""
        return _Timed(self, message, LogLevel.parse(level), fields)

    def close(self) -> None:
        """Close the file."""
        self._writer.close()


class _Timed:
    __slots__ = ("_fields", "_level", "_logger", "_message", "_t0")

    def __init__(self, logger: HookLogger, message: str, level: LogLevel, fields: dict[str, object]) -> None:
        self._logger, self._message, self._level, self._fields = logger, message, level, fields
        self._t0 = 0.0

    def __enter__(self) -> dict[str, object]:
        self._t0 = time.perf_counter()
        return self._fields  # the block may add fields

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        duration = (time.perf_counter() - self._t0) * 1000
        if exc is not None:
            self._fields["error"] = f"{type(exc).__name__}: {exc}"
            self._logger._emit(LogLevel.ERROR, self._message, duration, None, self._fields)  # pyright: ignore[reportPrivateUsage]
        else:
            self._logger._emit(self._level, self._message, duration, None, self._fields)  # pyright: ignore[reportPrivateUsage]


def _cut(value: object, limit: int, max_items: int) -> object:
    """Truncation without redaction (``logging.redact = false``)."""
    if isinstance(value, str):
        return truncate(value, limit)
    mapping = plain_dict(value)
    if mapping is not None:
        return {str(k): _cut(v, limit, max_items) for k, v in mapping.items()}
    sequence = plain_sequence(value)
    if sequence is not None:
        items: list[object] = [_cut(v, limit, max_items) for v in sequence[:max_items]]
        if len(sequence) > max_items:
            items.append(f"…[{len(sequence) - max_items} more items]")
        return items
    return value
