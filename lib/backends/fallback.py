"""Use the file store for a call when Redis cannot be reached, and say so once per process.

With ``[backend] fallback_to_file = true`` (the default), a hook whose Redis is down or slow keeps
its breaker and rate limits working on the project's own ``.claude/state`` files for that call
instead of failing: the state is then local to this machine until Redis answers again. What such a
transaction changed is also appended to the reconciliation journal, and replayed into Redis by the
next process that reaches it (:mod:`lib.backends.reconcile`). The first fallback of a process writes
one line to stderr and calls the ``warn`` callback (the hook's log).
"""

from __future__ import annotations

import sys

from lib import fastjson
from lib.backends.redis_client import BackendUnavailable, reported
from lib.locking import LockTimeout
from lib.plain_data import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from lib.backends.redis_store import RedisStore
    from lib.store import JsonStore

    Warn = Callable[[str], None]

__all__ = ["FallbackStore", "report_fallback"]


def report_fallback(error: BackendUnavailable, where: str, warn: Warn | None = None) -> None:
    """Tell the user, once per process, that ``where`` is used because of ``error``."""
    if reported:
        return
    reported.add(error.url)
    line = (
        f"{error.url}: Redis unavailable ({error.problem}); using {where} for now, replayed into Redis "
        "when it is back ([backend] fallback_to_file in .claude/hooks.toml)"
    )
    sys.stderr.write(f"claude-hooks: warning: {line}\n")
    if warn is not None:
        try:
            warn(line)
        except Exception:
            pass


class _FallbackTransaction:
    __slots__ = ("_before", "_inner", "_state", "_store")

    def __init__(self, store: FallbackStore) -> None:
        self._store = store
        self._inner: object = None
        self._before: dict[str, object] | None = None
        self._state: dict[str, object] = {}

    def __enter__(self) -> dict[str, object]:
        store = self._store
        inner = store.primary.transaction()
        try:
            state = inner.__enter__()
        except (BackendUnavailable, LockTimeout) as exc:
            # Redis down, or its lock held by others past lock_timeout (a crowd of agents on one
            # document): the change goes to the file store and the journal, and is merged into
            # Redis by the next process instead of being lost
            if isinstance(exc, BackendUnavailable):
                report_fallback(exc, f"the file store {store.secondary.path}", store.warn)
            fallback = store.secondary.transaction()
            state = fallback.__enter__()
            self._inner = fallback
            self._state = state
            self._before = json_object(
                fastjson.loads(fastjson.dumps(state))
            )  # a deep copy of plain JSON data
            return state
        self._inner = inner
        return state

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        store = self._store
        inner = self._inner
        if self._before is not None:  # on the file store
            inner.__exit__(exc_type, exc, tb)  # type: ignore[attr-defined]
            if exc_type is None:
                from lib.backends.reconcile import journal_state

                journal_state(store.primary.settings, store.primary.name, self._before, self._state)
            return
        from lib.backends.redis_store import LeaseLost

        try:
            inner.__exit__(exc_type, exc, tb)  # type: ignore[attr-defined]
        except (BackendUnavailable, LeaseLost) as failure:
            # Redis went away between the read and the write, or this process was paused past its
            # lock lease: the change is journaled and replayed onto the newer state by the next
            # process (if a dying server applied it but its reply was lost, it counts twice)
            if isinstance(failure, BackendUnavailable):
                report_fallback(failure, f"the reconciliation journal of {store.secondary.path}", store.warn)
            from lib.backends.reconcile import journal_state

            original = getattr(inner, "original_state", None)
            journal_state(
                store.primary.settings,
                store.primary.name,
                original or {},
                inner.state,  # type: ignore[attr-defined]
                uncertain=isinstance(failure, BackendUnavailable),
            )


class FallbackStore:
    """A :class:`RedisStore` that turns to a :class:`lib.store.JsonStore` when Redis is unavailable.

    A failure while the Redis transaction commits is not retried on the file store (the block has
    already run): it raises, and the hook answers with ``runtime.fail_mode``.
    """

    __slots__ = ("primary", "secondary", "warn")

    def __init__(self, primary: RedisStore, secondary: JsonStore, warn: Warn | None = None) -> None:
        self.primary = primary
        self.secondary = secondary
        self.warn = warn

    @property
    def path(self) -> str:
        """Where the state lives normally (the Redis key)."""
        return self.primary.path

    @property
    def lock_timeout(self) -> float:
        """The primary store's lock timeout."""
        return self.primary.lock_timeout

    def read(self) -> dict[str, object]:
        """The Redis state, or the file state when Redis is unavailable."""
        try:
            return self.primary.read()
        except BackendUnavailable as exc:
            report_fallback(exc, f"the file store {self.secondary.path}", self.warn)
            return self.secondary.read()

    def transaction(self) -> _FallbackTransaction:
        """A transaction on Redis, or on the file store when Redis is unavailable at its start."""
        return _FallbackTransaction(self)

    def clear(self) -> None:
        """Replace the state by an empty object (under the lock)."""
        with self.transaction() as state:
            state.clear()

    def __repr__(self) -> str:
        return f"FallbackStore({self.primary.path!r} -> {self.secondary.path!r})"
