"""The circuit breaker as a library: wrap calls, read the state, force it, listen to changes.

>>> breaker = CircuitBreaker("payments", CircuitBreakerConfig(max_failures=3))
>>> @breaker.protect(fallback=lambda order: "queued")
... def charge(order): ...
>>> with breaker.protect():
...     risky()

State lives in a storage (:mod:`lib.breaker.storage`): in memory by default, or the project's
``breakers.json`` so that separate processes share one breaker. The rules are those of
:mod:`lib.breaker.machine`; the clock is injectable, so tests drive time by hand.
"""

from __future__ import annotations

import os
import time

from lib.breaker import machine
from lib.breaker.machine import HALF_OPEN, OPEN, BreakerParams
from lib.breaker.storage import MemoryStorage
from lib.plain_data import fields_dict

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Iterator
    from types import TracebackType
    from typing import Any, ParamSpec, TypeVar

    from lib.breaker.machine import ParamsLike, Step
    from lib.breaker.storage import BreakerStorage

    P = ParamSpec("P")
    R = TypeVar("R")
    Listener = Callable[["StateChange"], None]

__all__ = [
    "BreakerSnapshot",
    "CircuitBreaker",
    "CircuitBreakerError",
    "CircuitBreakerRegistry",
    "Permit",
    "Protection",
    "StateChange",
    "default_registry",
    "get_circuit_breaker",
]

#: The keys of :meth:`BreakerSnapshot.as_dict`, in order (``streak`` is ``consecutive_failures``).
_SNAPSHOT_FIELDS = (
    "name",
    "key",
    "scope",
    "session",
    "state",
    "streak",
    "forced",
    "consecutive_failures",
    "failures",
    "opened_at",
    "retry_at",
    "retry_after",
    "cooldown",
    "half_open_in_flight",
    "half_open_successes",
    "last_error",
    "last_failure_at",
    "changed_at",
)


class BreakerSnapshot:
    """A read-only view of one breaker's record at time ``now``."""

    __slots__ = (
        "changed_at",
        "consecutive_failures",
        "cooldown",
        "failures",
        "forced",
        "half_open_in_flight",
        "half_open_successes",
        "key",
        "last_error",
        "last_failure_at",
        "name",
        "now",
        "opened_at",
        "retry_at",
        "scope",
        "session",
        "state",
    )

    def __init__(self, name: str, record: object, now: float) -> None:
        rec = machine.normalise(record)
        self.name = name
        self.now = now
        self.state: str = rec["state"]  # type: ignore[assignment]
        self.forced: str | None = rec["forced"]  # type: ignore[assignment]
        self.consecutive_failures: int = rec["consecutive_failures"]  # type: ignore[assignment]
        self.failures: int = rec["failures"]  # type: ignore[assignment]
        self.half_open_successes: int = rec["half_open_successes"]  # type: ignore[assignment]
        self.opened_at: float | None = rec["opened_at"]  # type: ignore[assignment]
        self.retry_at: float | None = rec["retry_at"] if self.state == OPEN else None  # type: ignore[assignment]
        self.cooldown: float | None = rec["cooldown"]  # type: ignore[assignment]
        leases: dict[str, float] = rec["leases"]  # type: ignore[assignment]
        self.half_open_in_flight = sum(1 for expiry in leases.values() if expiry > now)
        self.last_error: str | None = rec["last_error"]  # type: ignore[assignment]
        self.last_failure_at: float | None = rec["last_failure_at"]  # type: ignore[assignment]
        self.changed_at: float | None = rec["changed_at"]  # type: ignore[assignment]
        #: The breaker key (``Bash:pytest``); the storage name for library breakers and older records.
        self.key: str = rec["key"] or name  # type: ignore[assignment]
        #: ``session`` or ``shared`` for the tool breakers of the hooks; ``None`` for library breakers.
        self.scope: str | None = rec["scope"]  # type: ignore[assignment]
        #: The session a ``session``-scoped breaker belongs to.
        self.session: str | None = rec["session"]  # type: ignore[assignment]

    @property
    def streak(self) -> int:
        """Failures in a row with no success (or, for tool breakers, no progress) in between."""
        return self.consecutive_failures

    @property
    def retry_after(self) -> float | None:
        """Seconds until an OPEN breaker lets a trial call through (0: now; ``None``: not OPEN, or
        forced open until reset)."""
        if self.retry_at is None:
            return None
        return max(0.0, self.retry_at - self.now)

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON output."""
        return fields_dict(self, _SNAPSHOT_FIELDS)

    def __repr__(self) -> str:
        return (
            f"BreakerSnapshot(name={self.name!r}, state={self.state!r}, forced={self.forced!r}, "
            f"consecutive_failures={self.consecutive_failures}, retry_after={self.retry_after!r})"
        )


class CircuitBreakerError(Exception):
    """A call was refused because the breaker ``name`` is ``state``.

    ``retry_at`` (epoch seconds) and ``retry_after`` (seconds from now) say when a call may be
    admitted again; both are ``None`` when the breaker is forced open until someone resets it.
    """

    def __init__(
        self,
        name: str,
        state: str,
        *,
        retry_at: float | None,
        now: float,
        consecutive_failures: int = 0,
        last_error: str | None = None,
    ) -> None:
        self.name = name
        self.state = state
        self.retry_at = retry_at
        self.retry_after = None if retry_at is None else max(0.0, retry_at - now)
        self.consecutive_failures = consecutive_failures
        self.last_error = last_error
        if state == HALF_OPEN:
            what = "half-open and its trial calls are taken"
        else:
            what = (
                f"open after {consecutive_failures} consecutive failures" if consecutive_failures else "open"
            )
        when = "until reset" if self.retry_after is None else f"retry in {self.retry_after:.1f}s"
        super().__init__(f"circuit breaker {name!r} is {what}; {when}")


class StateChange:
    """One transition of breaker ``name`` from ``old_state`` to ``new_state`` at ``at``."""

    __slots__ = ("at", "name", "new_state", "old_state", "snapshot")

    def __init__(
        self, name: str, old_state: str, new_state: str, at: float, snapshot: BreakerSnapshot
    ) -> None:
        self.name = name
        self.old_state = old_state
        self.new_state = new_state
        self.at = at
        self.snapshot = snapshot

    def __repr__(self) -> str:
        return f"StateChange({self.name!r}, {self.old_state!r} -> {self.new_state!r}, at={self.at!r})"


def _describe(error: BaseException | str | None) -> str | None:
    if error is None or isinstance(error, str):
        return error
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _is_storage_error(exc: BaseException) -> bool:
    from lib.locking import LockTimeout
    from lib.store import StateError

    return isinstance(exc, (StateError, LockTimeout, OSError))


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, RuntimeWarning, stacklevel=3)


class Permit:
    """Permission for one call; report its outcome exactly once (later reports are ignored).

    As a context manager it reports the outcome of its block (:meth:`settle`).
    """

    __slots__ = ("_breaker", "_settled", "lease")

    def __init__(self, breaker: CircuitBreaker | None, lease: str | None) -> None:
        self._breaker = breaker
        self.lease = lease
        self._settled = breaker is None

    def success(self) -> None:
        """The call succeeded."""
        if not self._settled:
            self._settled = True
            self._breaker._record(machine.record_success, self.lease)  # type: ignore[union-attr]

    def failure(self, error: BaseException | str | None = None) -> None:
        """The call failed; ``error`` is kept as the breaker's last error."""
        if not self._settled:
            self._settled = True
            self._breaker._record(machine.record_failure, self.lease, _describe(error))  # type: ignore[union-attr]

    def release(self) -> None:
        """The call ended without saying anything about the dependency (cancelled, excluded error)."""
        if not self._settled:
            self._settled = True
            if self.lease is not None:
                self._breaker._release(self.lease)  # type: ignore[union-attr]

    def settle(self, exc: BaseException | None) -> None:
        """Report the outcome of a call that raised ``exc`` (``None``: returned normally)."""
        if exc is None:
            self.success()
        elif self._breaker is not None and self._breaker.counts_as_failure(exc):
            self.failure(exc)
        else:
            self.release()

    def __enter__(self) -> Permit:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.settle(exc)


class Protection:
    """What :meth:`CircuitBreaker.protect` returns: a decorator and a (sync or async) context manager.

    As a context manager it raises :class:`CircuitBreakerError` on entry when the call is refused
    (the fallback applies to decorated functions only). Use a fresh ``protect()`` per ``with``.
    """

    __slots__ = ("_permits", "breaker", "fallback")

    def __init__(self, breaker: CircuitBreaker, fallback: Callable[..., Any] | None) -> None:
        self.breaker = breaker
        self.fallback = fallback
        self._permits: list[Permit] = []

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        import functools  # not at module level: hooks import this module and never decorate
        import inspect

        breaker, fallback = self.breaker, self.fallback
        if inspect.iscoroutinefunction(func):
            async_func: Callable[..., Awaitable[Any]] = func

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await breaker._call_async(async_func, args, kwargs, fallback)  # pyright: ignore[reportPrivateUsage]

            async_wrapper.breaker = breaker  # type: ignore[attr-defined]
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return breaker._call(func, args, kwargs, fallback)  # pyright: ignore[reportPrivateUsage]

        wrapper.breaker = breaker  # type: ignore[attr-defined]
        return wrapper

    def __enter__(self) -> CircuitBreaker:
        self._permits.append(self.breaker.allow())
        return self.breaker

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._permits.pop().settle(exc)

    async def __aenter__(self) -> CircuitBreaker:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


class CircuitBreaker:
    """A named circuit breaker over a storage (memory by default; see :mod:`lib.breaker.storage`).

    ``config`` is a :class:`~lib.breaker.config.CircuitBreakerConfig` or
    :class:`~lib.breaker.machine.BreakerParams`. Exceptions derived from Exception count as
    failures except those in ``exclude``; BaseExceptions such as KeyboardInterrupt or a cancelled
    task only give back a half-open trial slot. ``fallback(*args, **kwargs)`` answers decorated calls
    and :meth:`call` while the breaker refuses them. When the storage fails (lock timeout, disk
    full) the call is admitted and the outcome dropped, each with a :class:`RuntimeWarning`, if
    ``fail_open``; otherwise the storage error is raised.
    """

    def __init__(
        self,
        name: str,
        config: ParamsLike | None = None,
        *,
        storage: BreakerStorage | None = None,
        clock: Callable[[], float] = time.time,
        exclude: Iterable[type[BaseException]] = (),
        fallback: Callable[..., Any] | None = None,
        listeners: Iterable[Listener] = (),
        fail_open: bool = True,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a circuit breaker needs a non-empty name, got {name!r}")
        self.name = name
        self.config = config
        self.params = BreakerParams() if config is None else BreakerParams.from_object(config)
        self.storage: BreakerStorage = MemoryStorage() if storage is None else storage
        self.clock = clock
        self.exclude = tuple(exclude)
        self.fallback = fallback
        self.fail_open = fail_open
        self._listeners: list[Listener] = list(listeners)

    def __repr__(self) -> str:
        return f"CircuitBreaker({self.name!r}, state={self.state!r})"

    # -- reading -----------------------------------------------------------------------------

    def snapshot(self) -> BreakerSnapshot:
        """The current record as a :class:`BreakerSnapshot` (lock-free)."""
        return BreakerSnapshot(self.name, self.storage.load(self.name), self.clock())

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"`` as stored (an OPEN breaker whose cooldown has
        passed turns HALF_OPEN when the next call asks)."""
        return self.snapshot().state

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success (or since the breaker last closed)."""
        return self.snapshot().consecutive_failures

    def counts_as_failure(self, exc: BaseException) -> bool:
        """Whether ``exc`` raised by a protected call counts as a failure of the dependency."""
        return isinstance(exc, Exception) and not isinstance(exc, self.exclude)

    # -- listeners ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(change)`` with a :class:`StateChange` after each transition this process makes."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        self._listeners.remove(listener)

    def _apply(self, change: Callable[[object], Step], now: float) -> Step:
        step = self.storage.apply(self.name, change)
        if step.transitions and self._listeners:
            snap = BreakerSnapshot(self.name, step.record, now)
            for old, new in step.transitions:
                event = StateChange(self.name, old, new, now, snap)
                for listener in tuple(self._listeners):
                    try:
                        listener(event)
                    except Exception as exc:
                        _warn(f"circuit breaker {self.name!r}: listener {listener!r} raised {exc!r}")
        return step

    # -- the call protocol -------------------------------------------------------------------

    def allow(self, lease_id: str | None = None) -> Permit:
        """Ask to make one call: return a :class:`Permit` or raise :class:`CircuitBreakerError`.

        ``lease_id`` names the half-open trial slot (a tool_use_id, say); one is made up if omitted.
        """
        now = self.clock()
        lease = lease_id or os.urandom(8).hex()
        params = self.params
        try:
            step = self._apply(lambda rec: machine.acquire(rec, params, now, lease), now)
        except Exception as exc:
            if not (self.fail_open and _is_storage_error(exc)):
                raise
            _warn(f"circuit breaker {self.name!r}: state unavailable, call admitted (fail-open): {exc}")
            return Permit(None, None)
        if not step.admitted:
            rec = step.record
            raise CircuitBreakerError(
                self.name,
                str(rec["state"]),
                retry_at=step.retry_at,
                now=now,
                consecutive_failures=rec["consecutive_failures"],  # type: ignore[arg-type]
                last_error=rec["last_error"],  # type: ignore[arg-type]
            )
        return Permit(self, step.lease)

    def resume(self, lease_id: str | None) -> Permit:
        """The permit of a call admitted earlier, maybe by another process, known by its lease id.

        Hooks use it: PreToolUse admits with ``lease_id=tool_use_id``, PostToolUse reports through
        ``resume(tool_use_id).success()``.
        """
        return Permit(self, lease_id)

    def _record(self, transition: Callable[..., Step], lease: str | None, *extra: Any) -> None:
        now = self.clock()
        params = self.params
        try:
            self._apply(lambda rec: transition(rec, params, now, lease, *extra), now)
        except Exception as exc:
            if self.fail_open is False or not _is_storage_error(exc):
                raise
            _warn(f"circuit breaker {self.name!r}: outcome not recorded: {exc}")

    def _release(self, lease: str) -> None:
        now = self.clock()
        try:
            self._apply(lambda rec: machine.release(rec, now, lease), now)
        except Exception as exc:
            if self.fail_open is False or not _is_storage_error(exc):
                raise
            _warn(f"circuit breaker {self.name!r}: trial slot not released: {exc}")

    def record_success(self) -> None:
        """Report a success of a call made without :meth:`allow` (counts in every state)."""
        self._record(machine.record_success, None)

    def record_failure(self, error: BaseException | str | None = None) -> None:
        """Report a failure of a call made without :meth:`allow`."""
        self._record(machine.record_failure, None, _describe(error))

    def call(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``func(*args, **kwargs)`` through the breaker; its exceptions propagate unchanged."""
        return self._call(func, args, kwargs, None)

    async def call_async(self, func: Callable[P, Awaitable[R]], *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``func(*args, **kwargs)`` through the breaker; a sync or async fallback is honoured."""
        return await self._call_async(func, args, kwargs, None)

    def _admit(self, fallback: Callable[..., Any] | None) -> Permit | Callable[..., Any]:
        """A permit for one call or, when the breaker refuses it, the fallback to call instead
        (``fallback``, else the breaker's own); with no fallback the refusal propagates."""
        try:
            return self.allow()
        except CircuitBreakerError:
            fallback = fallback or self.fallback
            if fallback is None:
                raise
            return fallback

    def _call(self, func: Callable[..., R], args: Any, kwargs: Any, fallback: Callable[..., Any] | None) -> R:
        permit = self._admit(fallback)
        if not isinstance(permit, Permit):
            return permit(*args, **kwargs)  # type: ignore[no-any-return]
        with permit:
            return func(*args, **kwargs)

    async def _call_async(
        self, func: Callable[..., Awaitable[R]], args: Any, kwargs: Any, fallback: Callable[..., Any] | None
    ) -> R:
        permit = self._admit(fallback)
        if not isinstance(permit, Permit):
            result = permit(*args, **kwargs)
            if hasattr(result, "__await__"):
                result = await result
            return result  # type: ignore[no-any-return]
        with permit:
            return await func(*args, **kwargs)

    def protect(
        self, func: Callable[P, R] | None = None, *, fallback: Callable[..., Any] | None = None
    ) -> Any:
        """``@breaker.protect``, ``@breaker.protect(fallback=f)`` or ``with breaker.protect():``.

        Works on sync and ``async def`` functions and as ``with`` / ``async with``.
        """
        protection = Protection(self, fallback)
        return protection if func is None else protection(func)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        """``@breaker`` decorates like ``@breaker.protect``."""
        return Protection(self, None)(func)

    # -- operator actions --------------------------------------------------------------------

    def reset(self) -> None:
        """Back to CLOSED with no failures, clearing a forced state and the cooldown growth."""
        now = self.clock()
        self._apply(lambda rec: machine.reset(rec, now), now)

    def force_open(self) -> None:
        """Refuse every call until :meth:`reset`."""
        now = self.clock()
        self._apply(lambda rec: machine.force_open(rec, now), now)

    def force_close(self) -> None:
        """Admit every call, whatever fails, until :meth:`reset`."""
        now = self.clock()
        self._apply(lambda rec: machine.force_close(rec, now), now)


class CircuitBreakerRegistry:
    """Named breakers sharing one storage and clock: ``registry.get("db")`` makes one on first use."""

    def __init__(
        self, *, storage: BreakerStorage | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self._storage = storage
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    @property
    def storage(self) -> BreakerStorage:
        """The storage new breakers use (one :class:`MemoryStorage` unless given)."""
        if self._storage is None:
            self._storage = MemoryStorage()
        return self._storage

    def get(self, name: str, config: ParamsLike | None = None) -> CircuitBreaker:
        """The breaker ``name``, created with ``config`` on first use.

        Raises ValueError if ``config`` differs from the one the breaker was created with.
        """
        breaker = self._breakers.get(name)
        if breaker is None:
            candidate = CircuitBreaker(name, config, storage=self.storage, clock=self.clock)
            breaker = self._breakers.setdefault(name, candidate)
        if config is not None and BreakerParams.from_object(config) != breaker.params:
            raise ValueError(
                f"circuit breaker {name!r} already exists with {breaker.params!r}; "
                "pass the same config (or none) to get_circuit_breaker, or register a new name"
            )
        return breaker

    def register(self, breaker: CircuitBreaker) -> CircuitBreaker:
        """Add a breaker built by hand; raises ValueError if its name is taken by another one."""
        existing = self._breakers.setdefault(breaker.name, breaker)
        if existing is not breaker:
            raise ValueError(f"circuit breaker {breaker.name!r} is already registered")
        return breaker

    def remove(self, name: str) -> None:
        """Forget the breaker ``name`` (its stored state stays)."""
        self._breakers.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._breakers

    def __iter__(self) -> Iterator[CircuitBreaker]:
        return iter(list(self._breakers.values()))

    def __len__(self) -> int:
        return len(self._breakers)

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._breakers)

    def reset_all(self) -> None:
        """Reset every registered breaker."""
        for breaker in self:
            breaker.reset()


_default_registry = CircuitBreakerRegistry()


def default_registry() -> CircuitBreakerRegistry:
    """The process-wide registry behind :func:`get_circuit_breaker`."""
    return _default_registry


def get_circuit_breaker(name: str, config: ParamsLike | None = None) -> CircuitBreaker:
    """The process-wide breaker ``name`` (in-memory storage), created with ``config`` on first use."""
    return _default_registry.get(name, config)
