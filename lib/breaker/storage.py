"""Where breaker records live: in process memory, or in the project's locked JSON store.

A storage applies a transition of :mod:`lib.breaker.machine` atomically: ``apply(name, change)``
loads the record, calls ``change(record) -> Step`` and saves ``step.record``. ``change`` is pure, so
a storage may run it more than once; the JSON store first runs it on a lock-free snapshot and only
takes the lock when the step would change the record (a CLOSED breaker's check and a success that
resets nothing cost one read). A Redis storage fits the same shape: WATCH the key, run ``change``,
MULTI/SET/EXEC, retry on a conflict.

The JSON store keeps every breaker of a project in one file, ``breakers.json``::

    {"version": 2, "breakers": {"Bash:pytest@<session id>": {"state": "open", "key": "Bash:pytest",
                                "scope": "session", "session": "<session id>", ...}}}

Version 2 added the identity fields ``key``/``scope``/``session`` (:data:`lib.breaker.machine.IDENTITY_FIELDS`);
a version-1 record has none, is still read by the library API, and is ignored (as if reset) by the
tool breakers of the hooks, whose keys and scopes changed.
"""

from __future__ import annotations

from lib.breaker.machine import IDENTITY_FIELDS, new_record, normalise
from lib.plain_data import nested_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Protocol

    from lib.breaker.machine import Step
    from lib.store import StateStore

    class BreakerStorage(Protocol):
        """What a :class:`~lib.breaker.api.CircuitBreaker` needs from its storage."""

        def load(self, name: str) -> dict[str, object] | None:
            """The stored record of ``name`` (``None``: never used or reset), without locking."""

        def load_all(self) -> dict[str, dict[str, object]]:
            """Every stored record by name, without locking."""
            ...

        def apply(self, name: str, change: Callable[[object], Step]) -> Step:
            """Run ``change`` on the record of ``name`` and store its result, atomically."""
            ...

        def delete(self, names: Iterable[str] | None = None) -> list[str]:
            """Forget the records of ``names`` (``None``: all); return the names that existed."""
            ...


__all__ = ["FORMAT_VERSION", "JsonStoreStorage", "MemoryStorage"]

#: The ``version`` written into ``breakers.json``.
FORMAT_VERSION = 2

#: Past this many records, the healthy ones (closed, no failure pending) that failed longest ago are
#: dropped, so per-command keys cannot grow the file that every PreToolUse reads without bound.
MAX_RECORDS = 200


_FRESH = new_record()
_NOT_STATE = frozenset(("changed_at", *IDENTITY_FIELDS))


def _is_fresh(record: dict[str, object]) -> bool:
    """A record with nothing worth keeping (as after a reset): stored as no record at all."""
    return all(record.get(k) == v for k, v in _FRESH.items() if k not in _NOT_STATE)


def _trim(records: dict[str, object], keep: str) -> None:
    """Drop the oldest healthy records beyond :data:`MAX_RECORDS` (never ``keep`` or a tripped one)."""
    if len(records) <= MAX_RECORDS:
        return
    healthy: list[tuple[float, str]] = []
    for name, raw in records.items():
        rec = normalise(raw)
        if (
            name != keep
            and rec["state"] == "closed"
            and rec["forced"] is None
            and not rec["consecutive_failures"]
        ):
            last_failure = rec["last_failure_at"]  # a float or None in a normalised record
            healthy.append((last_failure if isinstance(last_failure, float) else 0.0, name))
    healthy.sort()
    for _, name in healthy[: len(records) - MAX_RECORDS]:
        del records[name]


class MemoryStorage:
    """Records in a dict guarded by a thread lock: one process, any number of threads."""

    def __init__(self) -> None:
        import threading

        self._records: dict[str, dict[str, object]] = {}
        self._lock = threading.Lock()

    def load(self, name: str) -> dict[str, object] | None:
        """The record of ``name`` (a copy), or ``None``."""
        with self._lock:
            record = self._records.get(name)
            return None if record is None else normalise(record)

    def load_all(self) -> dict[str, dict[str, object]]:
        """Copies of every record."""
        with self._lock:
            return {name: normalise(rec) for name, rec in self._records.items()}

    def load_many(self, names: Iterable[str]) -> dict[str, dict[str, object] | None]:
        """Copies of the records of ``names`` (``None`` for those never stored)."""
        with self._lock:
            return {n: None if n not in self._records else normalise(self._records[n]) for n in names}

    def apply(self, name: str, change: Callable[[object], Step]) -> Step:
        """Run ``change`` under the lock and keep its record (a fresh record is dropped)."""
        with self._lock:
            step = change(self._records.get(name))
            if _is_fresh(step.record):
                self._records.pop(name, None)
            else:
                self._records[name] = step.record
            return step

    def delete(self, names: Iterable[str] | None = None) -> list[str]:
        """Forget ``names`` (``None``: every record)."""
        with self._lock:
            targets = list(self._records) if names is None else [n for n in names if n in self._records]
            for name in targets:
                del self._records[name]
            return targets


class JsonStoreStorage:
    """Records under ``"breakers"`` in one JSON state store, shared by every process: the project's
    :class:`lib.store.JsonStore` file, or its Redis document (:func:`lib.backends.open_state`)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    @classmethod
    def open(cls, state_dir: str, *, lock_timeout: float = 1.0) -> JsonStoreStorage:
        """The storage in the file ``<state_dir>/breakers.json``."""
        from lib.store import open_store

        return cls(open_store(state_dir, "breakers", lock_timeout=lock_timeout))

    @property
    def path(self) -> str:
        """Where the state lives (a file, or a Redis URL and key)."""
        return self.store.path

    @staticmethod
    def _records(state: dict[str, object]) -> dict[str, object]:
        return nested_object(state, "breakers")

    def load(self, name: str) -> dict[str, object] | None:
        """The record of ``name`` from a lock-free snapshot, or ``None``."""
        record = self._records(self.store.read()).get(name)
        return None if record is None else normalise(record)

    def load_all(self) -> dict[str, dict[str, object]]:
        """Every record from a lock-free snapshot, sorted by name."""
        records = self._records(self.store.read())
        return {name: normalise(records[name]) for name in sorted(records)}

    def load_many(self, names: Iterable[str]) -> dict[str, dict[str, object] | None]:
        """The records of ``names`` from one lock-free snapshot (one read of the store)."""
        records = self._records(self.store.read())
        return {n: None if records.get(n) is None else normalise(records[n]) for n in names}

    def apply(self, name: str, change: Callable[[object], Step]) -> Step:
        """Run ``change`` on a snapshot; if it changes the record, run it again under the lock and save.

        Raises :class:`lib.store.LockTimeout` (or another :class:`lib.store.StateError`) when the
        state cannot be written; the caller decides whether that fails open or closed.
        """
        snapshot = self._records(self.store.read()).get(name)
        step = change(snapshot)
        if step.record == normalise(snapshot):
            return step
        with self.store.transaction() as state:
            records = self._records(state)
            state["version"] = FORMAT_VERSION
            step = change(records.get(name))
            if _is_fresh(step.record):
                records.pop(name, None)
            else:
                records[name] = step.record
                _trim(records, name)
        return step

    def delete(self, names: Iterable[str] | None = None) -> list[str]:
        """Forget ``names`` (``None``: every record) under the lock."""
        with self.store.transaction() as state:
            records = self._records(state)
            targets = list(records) if names is None else [n for n in names if n in records]
            for name in targets:
                del records[name]
            return targets
