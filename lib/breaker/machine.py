"""The circuit breaker's state machine as pure functions over plain data.

A breaker's state is a *record*: a JSON-ready dict (see :func:`new_record`). Every transition
function takes the old record, the :class:`BreakerParams`, the current time (seconds since the
epoch, supplied by the caller: no clock is read here) and returns a :class:`Step` holding a fresh
record plus what happened. Nothing here does I/O, so the same functions serve the in-memory
breaker, the locked JSON store and, later, Redis (apply a step inside WATCH/MULTI).

The rules:

- CLOSED: every call is admitted. A failure increments ``consecutive_failures``, a success resets
  it. The breaker opens when ``consecutive_failures`` reaches ``max_failures``, or, if
  ``failure_rate_threshold`` is set, when at least ``minimum_calls`` of the last
  ``window_size`` calls were recorded and their failure rate reaches the threshold.
- OPEN: every call is rejected until ``retry_at``. The cooldown of an opening is
  ``cooldown_seconds * cooldown_multiplier ** (open_streak - 1)`` capped at
  ``max_cooldown_seconds``, where ``open_streak`` counts the openings since the breaker last closed.
- After the cooldown the next caller moves the breaker to HALF_OPEN and takes a trial *lease*. At
  most ``half_open_max`` unexpired leases exist at once; a lease expires ``half_open_lease_seconds``
  after it was taken, so a trial whose result never arrives cannot keep the breaker stuck.
- HALF_OPEN: ``success_threshold`` successes close the breaker; any failure re-opens it with the
  next (longer) cooldown. An outcome that says nothing about the dependency (an interrupt, a call
  refused elsewhere) only gives the lease back (:func:`release`).
- A forced state (:func:`force_open`, :func:`force_close`) freezes the machine until :func:`reset`.
"""

from __future__ import annotations

from lib.plain_data import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    class ParamsLike(Protocol):
        """Anything with the breaker's parameters as attributes (``CircuitBreakerConfig`` too)."""

        @property
        def max_failures(self) -> int: ...
        @property
        def cooldown_seconds(self) -> float: ...
        @property
        def half_open_max(self) -> int: ...
        @property
        def success_threshold(self) -> int: ...
        @property
        def half_open_lease_seconds(self) -> float: ...
        @property
        def failure_rate_threshold(self) -> float | None: ...
        @property
        def window_size(self) -> int: ...
        @property
        def minimum_calls(self) -> int: ...
        @property
        def cooldown_multiplier(self) -> float: ...
        @property
        def max_cooldown_seconds(self) -> float: ...


__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "IDENTITY_FIELDS",
    "OPEN",
    "PARAM_NAMES",
    "STATES",
    "BreakerParams",
    "Step",
    "acquire",
    "cooldown_for",
    "force_close",
    "force_open",
    "new_record",
    "normalise",
    "progress",
    "record_failure",
    "record_success",
    "release",
    "reset",
]

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
STATES = (CLOSED, OPEN, HALF_OPEN)

#: The most characters of an error message a record keeps.
MAX_ERROR_CHARS = 1000

PARAM_NAMES = (
    "max_failures",
    "cooldown_seconds",
    "half_open_max",
    "success_threshold",
    "half_open_lease_seconds",
    "failure_rate_threshold",
    "window_size",
    "minimum_calls",
    "cooldown_multiplier",
    "max_cooldown_seconds",
)


class BreakerParams:
    """The breaker's parameters as plain, already validated values (no pydantic on the hot path).

    :class:`lib.breaker.config.CircuitBreakerConfig` validates the same fields; build params from it
    with :meth:`from_object`, or from the validated config cache with :meth:`from_mapping`.
    """

    __slots__ = PARAM_NAMES

    def __init__(
        self,
        max_failures: int = 5,
        cooldown_seconds: float = 60.0,
        half_open_max: int = 1,
        success_threshold: int = 2,
        half_open_lease_seconds: float = 300.0,
        failure_rate_threshold: float | None = None,
        window_size: int = 20,
        minimum_calls: int = 10,
        cooldown_multiplier: float = 2.0,
        max_cooldown_seconds: float = 600.0,
    ) -> None:
        self.max_failures = max_failures
        self.cooldown_seconds = cooldown_seconds
        self.half_open_max = half_open_max
        self.success_threshold = success_threshold
        self.half_open_lease_seconds = half_open_lease_seconds
        self.failure_rate_threshold = failure_rate_threshold
        self.window_size = window_size
        self.minimum_calls = minimum_calls
        self.cooldown_multiplier = cooldown_multiplier
        self.max_cooldown_seconds = max_cooldown_seconds

    @classmethod
    def from_object(cls, obj: ParamsLike) -> BreakerParams:
        """Copy the parameters from any object that has them as attributes."""
        if isinstance(obj, BreakerParams):
            return obj
        return cls(**{name: getattr(obj, name) for name in PARAM_NAMES})

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> BreakerParams:
        """Take the parameters present in ``values`` (other keys are ignored), defaults for the rest."""
        return cls(**{name: values[name] for name in PARAM_NAMES if name in values})  # type: ignore[arg-type]

    def replace(self, **changes: object) -> BreakerParams:
        """Return a copy with ``changes`` applied."""
        values: dict[str, object] = {name: getattr(self, name) for name in PARAM_NAMES}
        for name, value in changes.items():
            if name not in values:
                raise TypeError(f"BreakerParams has no parameter {name!r}; known: {', '.join(PARAM_NAMES)}")
            values[name] = value
        return BreakerParams(**values)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        """The parameters as a plain dict."""
        return {name: getattr(self, name) for name in PARAM_NAMES}

    def cooldown_for(self, open_streak: int) -> float:
        """The cooldown of the ``open_streak``-th opening in a row (1 = first), capped."""
        return cooldown_for(self, open_streak)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BreakerParams):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in PARAM_NAMES)

    def __hash__(self) -> int:
        return hash(tuple(getattr(self, n) for n in PARAM_NAMES))

    def __repr__(self) -> str:
        return "BreakerParams(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in PARAM_NAMES) + ")"


def cooldown_for(params: ParamsLike, open_streak: int) -> float:
    """The cooldown of the ``open_streak``-th opening since the breaker last closed (1 = first)."""
    cap = max(params.max_cooldown_seconds, params.cooldown_seconds)
    cooldown = params.cooldown_seconds
    if params.cooldown_multiplier > 1.0:
        for _ in range(open_streak - 1):
            cooldown *= params.cooldown_multiplier
            if cooldown >= cap:
                return cap
    return min(cooldown, cap)


class Step:
    """The result of one transition: the new record and what the caller must act on.

    ``admitted`` answers :func:`acquire` (``True`` for the other functions); ``lease`` is the trial
    lease an admitted HALF_OPEN call holds; ``retry_at`` is when a rejected caller may try again
    (``None``: not before someone resets the breaker); ``transitions`` lists the state changes as
    ``(old, new)`` pairs, in order, for listeners and events.
    """

    __slots__ = ("admitted", "lease", "record", "retry_at", "transitions")

    def __init__(
        self,
        record: dict[str, object],
        *,
        admitted: bool = True,
        lease: str | None = None,
        retry_at: float | None = None,
        transitions: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.record = record
        self.admitted = admitted
        self.lease = lease
        self.retry_at = retry_at
        self.transitions = transitions

    def __repr__(self) -> str:
        return (
            f"Step(admitted={self.admitted!r}, lease={self.lease!r}, retry_at={self.retry_at!r}, "
            f"transitions={self.transitions!r}, state={self.record['state']!r})"
        )


def new_record() -> dict[str, object]:
    """A breaker that has never seen a call: CLOSED, no failures."""
    return {
        "state": CLOSED,
        "forced": None,
        "consecutive_failures": 0,
        "half_open_successes": 0,
        "open_streak": 0,
        "opened_at": None,
        "retry_at": None,
        "cooldown": None,
        "leases": {},
        "window": "",
        "failures": 0,
        "last_error": None,
        "last_failure_at": None,
        "changed_at": None,
        "key": None,
        "scope": None,
        "session": None,
    }


#: Fields naming what a record is about (set by the tool breakers, see :mod:`lib.breaker.keys`): the
#: breaker key, its scope (``session``/``shared``) and the session it belongs to. Transitions keep them.
IDENTITY_FIELDS = ("key", "scope", "session")


def _num(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


def normalise(raw: object) -> dict[str, object]:
    """Return a well-typed copy of a stored record; fields of the wrong type fall back to defaults.

    State files can be edited by hand or written by an older version: a bad field must never crash
    a hook. A record in an unknown state is treated as a fresh CLOSED breaker.
    """
    rec = new_record()
    fields = json_object(raw)  # keys of any type: looked up by str only
    if fields is None:
        return rec
    state = fields.get("state")
    if state not in STATES:
        return rec
    rec["state"] = state
    forced = fields.get("forced")
    rec["forced"] = forced if forced in (OPEN, CLOSED) else None
    for name in ("consecutive_failures", "half_open_successes", "open_streak", "failures"):
        rec[name] = _count(fields.get(name))
    for name in ("opened_at", "retry_at", "cooldown", "last_failure_at", "changed_at"):
        rec[name] = _num(fields.get(name))
    lease_map = json_object(fields.get("leases"))
    if lease_map is not None:
        rec["leases"] = {
            str(k): float(v)
            for k, v in lease_map.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
    window = fields.get("window")
    if isinstance(window, str) and not window.strip("SF"):
        rec["window"] = window
    error = fields.get("last_error")
    rec["last_error"] = error if isinstance(error, str) else None
    for name in IDENTITY_FIELDS:
        value = fields.get(name)
        rec[name] = value if isinstance(value, str) else None
    if state == OPEN and rec["retry_at"] is None and rec["forced"] is None:
        rec["retry_at"] = rec["opened_at"] or 0.0  # unknown end of cooldown: let the next caller probe
    return rec


# -- helpers on a private copy ------------------------------------------------------------------


def _leases(rec: dict[str, object]) -> dict[str, float]:
    return rec["leases"]  # type: ignore[return-value]


def _int(rec: dict[str, object], name: str) -> int:
    return rec[name]  # type: ignore[return-value]


def _open(rec: dict[str, object], params: ParamsLike, now: float) -> None:
    """Move ``rec`` to OPEN for the next cooldown of its streak."""
    streak = _int(rec, "open_streak") + 1
    cooldown = cooldown_for(params, streak)
    rec.update(
        state=OPEN,
        open_streak=streak,
        opened_at=now,
        retry_at=now + cooldown,
        cooldown=cooldown,
        half_open_successes=0,
        leases={},
        window="",
        changed_at=now,
    )


def _close(rec: dict[str, object], now: float) -> None:
    rec.update(
        state=CLOSED,
        consecutive_failures=0,
        half_open_successes=0,
        open_streak=0,
        opened_at=None,
        retry_at=None,
        cooldown=None,
        leases={},
        window="",
        changed_at=now,
    )


def _push_window(rec: dict[str, object], params: ParamsLike, outcome: str) -> None:
    if params.failure_rate_threshold is None:
        return
    window = str(rec["window"]) + outcome
    rec["window"] = window[-params.window_size :]


def _rate_tripped(rec: dict[str, object], params: ParamsLike) -> bool:
    threshold = params.failure_rate_threshold
    if threshold is None:
        return False
    window = str(rec["window"])
    if len(window) < max(params.minimum_calls, 1):
        return False
    return window.count("F") / len(window) >= threshold


def _live_leases(rec: dict[str, object], now: float) -> dict[str, float]:
    """Drop the expired leases of ``rec`` and return the live ones."""
    live = {k: v for k, v in _leases(rec).items() if v > now}
    rec["leases"] = live
    return live


# -- transitions ---------------------------------------------------------------------------------


def acquire(record: object, params: ParamsLike, now: float, lease_id: str) -> Step:
    """Ask to make one call. CLOSED admits; OPEN rejects until its cooldown ends, then the caller
    moves the breaker to HALF_OPEN and competes for a trial lease ``lease_id`` (re-acquiring a lease
    one already holds renews it)."""
    rec = normalise(record)
    forced = rec["forced"]
    if forced == CLOSED:
        return Step(rec)
    if forced == OPEN:
        return Step(rec, admitted=False, retry_at=None)
    state = rec["state"]
    if state == CLOSED:
        return Step(rec)
    transitions: tuple[tuple[str, str], ...] = ()
    if state == OPEN:
        retry_at = rec["retry_at"]
        if isinstance(retry_at, float) and now < retry_at:
            return Step(rec, admitted=False, retry_at=retry_at)
        rec.update(state=HALF_OPEN, half_open_successes=0, leases={}, changed_at=now)
        transitions = ((OPEN, HALF_OPEN),)
    live = _live_leases(rec, now)
    if lease_id in live or len(live) < max(params.half_open_max, 1):
        live[lease_id] = now + params.half_open_lease_seconds
        return Step(rec, lease=lease_id, transitions=transitions)
    return Step(rec, admitted=False, retry_at=min(live.values()), transitions=transitions)


def record_success(record: object, params: ParamsLike, now: float, lease_id: str | None = None) -> Step:
    """A call succeeded. Resets the failure count when CLOSED; counts towards closing in HALF_OPEN.

    A success reported while OPEN (a call admitted before the breaker opened) changes nothing.
    """
    rec = normalise(record)
    if rec["forced"] is not None:
        return Step(rec)
    state = rec["state"]
    if state == CLOSED:
        rec["consecutive_failures"] = 0
        _push_window(rec, params, "S")
        return Step(rec)
    if state == HALF_OPEN:
        if lease_id is not None:
            _leases(rec).pop(lease_id, None)
        successes = _int(rec, "half_open_successes") + 1
        rec["half_open_successes"] = successes
        if successes >= params.success_threshold:
            _close(rec, now)
            return Step(rec, transitions=((HALF_OPEN, CLOSED),))
    return Step(rec)


def record_failure(
    record: object,
    params: ParamsLike,
    now: float,
    lease_id: str | None = None,
    error: str | None = None,
) -> Step:
    """A call failed with ``error``. Opens the breaker at the threshold, re-opens it from HALF_OPEN.

    A failure reported while OPEN (a straggler) updates the failure details but not the cooldown.
    """
    rec = normalise(record)
    rec["failures"] = _int(rec, "failures") + 1
    rec["last_failure_at"] = now
    if error is not None:
        from lib.redaction import redact_text  # stdlib only; imports re only when a secret may be there

        rec["last_error"] = redact_text(error[: MAX_ERROR_CHARS + 512])[:MAX_ERROR_CHARS]
    if rec["forced"] is not None:
        return Step(rec)
    state = rec["state"]
    if state == CLOSED:
        failures = _int(rec, "consecutive_failures") + 1
        rec["consecutive_failures"] = failures
        _push_window(rec, params, "F")
        if failures >= params.max_failures or _rate_tripped(rec, params):
            _open(rec, params, now)
            return Step(rec, transitions=((CLOSED, OPEN),))
        return Step(rec)
    if state == HALF_OPEN:
        rec["consecutive_failures"] = _int(rec, "consecutive_failures") + 1
        _open(rec, params, now)
        return Step(rec, transitions=((HALF_OPEN, OPEN),))
    rec["consecutive_failures"] = _int(rec, "consecutive_failures") + 1
    return Step(rec)


def progress(record: object, now: float) -> Step:
    """Claude made progress (a file edited or written): a fresh CLOSED breaker (the streak, the
    cooldown growth and any open state cleared), unless the state is forced. Identity is kept."""
    rec = normalise(record)
    if rec["forced"] is not None:
        return Step(rec)
    old = str(rec["state"])
    fresh = new_record()
    for name in IDENTITY_FIELDS:
        fresh[name] = rec[name]
    fresh["changed_at"] = now if old != CLOSED else rec["changed_at"]
    return Step(fresh, transitions=((old, CLOSED),) if old != CLOSED else ())


def release(record: object, now: float, lease_id: str) -> Step:
    """Give back a trial lease without an outcome (interrupted or refused call); no counts change."""
    rec = normalise(record)
    _leases(rec).pop(lease_id, None)
    return Step(rec)


def force_open(record: object, now: float) -> Step:
    """Hold the breaker OPEN (every call rejected) until :func:`reset`."""
    rec = normalise(record)
    old = str(rec["state"])
    rec.update(
        state=OPEN,
        forced=OPEN,
        opened_at=now if old != OPEN else rec["opened_at"],
        retry_at=None,
        cooldown=None,
        leases={},
        half_open_successes=0,
        changed_at=now if old != OPEN else rec["changed_at"],
    )
    return Step(rec, transitions=((old, OPEN),) if old != OPEN else ())


def force_close(record: object, now: float) -> Step:
    """Hold the breaker CLOSED (every call admitted, failures never open it) until :func:`reset`."""
    rec = normalise(record)
    old = str(rec["state"])
    changed_at = rec["changed_at"]
    _close(rec, now)
    rec["forced"] = CLOSED
    if old == CLOSED:
        rec["changed_at"] = changed_at
    return Step(rec, transitions=((old, CLOSED),) if old != CLOSED else ())


def reset(record: object, now: float) -> Step:
    """Back to a fresh CLOSED breaker: counts, cooldown streak and any forced state cleared."""
    old = str(normalise(record)["state"])
    rec = new_record()
    if old != CLOSED:
        rec["changed_at"] = now
    return Step(rec, transitions=((old, CLOSED),) if old != CLOSED else ())
