"""How a change made on the file fallback is replayed onto the Redis document (pure, no I/O).

A fallback transaction is journaled as the *changes* it made: per entry of the document's section
(``breakers`` for the circuit breakers, ``windows`` for the rate limits, top-level keys for any other
store), the entry before and after. Replaying applies what happened, not the local result, onto
the state Redis kept meanwhile (other machines went on writing there):

- a **breaker**: the failures the entry gained are replayed as failures (at their time, with their
  error) through :mod:`lib.breaker.machine`, so a breaker whose combined count reaches
  ``max_failures`` opens; a success (a failure count reset, a half-open trial that succeeded) is
  replayed as a success. Leases and forced states stay local;
- a **rate-limit window**: the calls the window gained are added to Redis's window (the limit and
  metadata follow the local entry);
- any other store: the changed top-level keys are written (last writer wins), removed ones removed.
"""

from __future__ import annotations

from lib.breaker import machine
from lib.plain_data import json_list, json_object, nested_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from lib.breaker.machine import BreakerParams

    ParamsFor = Callable[[str], BreakerParams | None]

__all__ = ["apply_changes", "diff", "replay_breaker", "replay_window"]


def _section(state: Mapping[str, object]) -> str | None:
    for name in ("breakers", "windows"):
        if isinstance(state.get(name), dict):
            return name
    return None


def diff(
    before: Mapping[str, object], after: Mapping[str, object]
) -> tuple[str | None, dict[str, list[object]]]:
    """``(section, {entry: [before, after]})`` for the entries a transaction changed (``None`` for
    an entry that did not exist / was removed); section ``None`` means top-level keys."""
    section = _section(after) or _section(before)
    if section is not None:
        old_map = json_object(before.get(section)) or {}
        new_map = json_object(after.get(section)) or {}
    else:
        old_map, new_map = dict(before), dict(after)
    changes: dict[str, list[object]] = {}
    for key in old_map.keys() | new_map.keys():
        was, now = old_map.get(key), new_map.get(key)
        if was != now:
            changes[key] = [was, now]
    return section, changes


def _succeeded(before: dict[str, object], after: dict[str, object]) -> bool:
    b_state, a_state = before["state"], after["state"]
    if after["half_open_successes"] > before["half_open_successes"]:  # type: ignore[operator]
        return True
    if b_state == machine.HALF_OPEN and a_state == machine.CLOSED and after["forced"] is None:
        return True
    if b_state == a_state == machine.CLOSED:
        if before["consecutive_failures"] and not after["consecutive_failures"]:
            return True
        window = str(after["window"])
        return window != before["window"] and window.endswith("S")
    return False


def _failures(record: Mapping[str, object]) -> int:
    count = record["failures"]
    return count if isinstance(count, int) else 0  # an int in a normalised record


def replay_breaker(
    current: object, before: object, after: object, params: BreakerParams, now: float
) -> dict[str, object]:
    """Redis's breaker record ``current`` with the outcomes the local change ``before -> after``
    recorded replayed onto it."""
    b, a = machine.normalise(before), machine.normalise(after)
    record = machine.normalise(current)
    gained = _failures(a) - _failures(b)
    if gained > 0:
        when = a["last_failure_at"] if isinstance(a["last_failure_at"], float) else now
        error = a["last_error"] if isinstance(a["last_error"], str) else None
        for _ in range(gained):
            record = machine.record_failure(record, params, when, error=error).record
        return record
    if _succeeded(b, a):
        when = a["changed_at"] if isinstance(a["changed_at"], float) else now
        record = machine.record_success(record, params, when).record
    return record


def _calls(entry: object) -> list[float]:
    fields = json_object(entry)
    calls = json_list(fields.get("calls")) if fields is not None else None
    return [float(c) for c in calls if isinstance(c, (int, float))] if calls is not None else []


def replay_window(current: object, before: object, after: object) -> dict[str, object] | None:
    """Redis's rate-limit window ``current`` plus the calls the local window gained (``None``: the
    local change recorded no call, leave Redis's window as it is)."""
    after_fields = json_object(after)
    if after_fields is None:
        return None
    remaining = _calls(before)
    gained: list[float] = []
    for call in _calls(after):
        if call in remaining:
            remaining.remove(call)
        else:
            gained.append(call)
    if not gained:
        return None
    merged = dict(json_object(current) or {})
    merged.update({k: v for k, v in after_fields.items() if k != "calls"})
    merged["calls"] = sorted(_calls(current) + gained)
    return merged


def apply_changes(
    state: dict[str, object],
    section: str | None,
    changes: Mapping[str, object],
    params_for: ParamsFor,
    now: float,
) -> None:
    """Replay one journaled change set onto the Redis document ``state`` (in place)."""
    if section is None:
        for key, change in changes.items():
            pair = json_list(change)
            if pair is None or len(pair) != 2:
                continue
            if pair[1] is None:
                state.pop(key, None)
            else:
                state[key] = pair[1]
        return
    entries = nested_object(state, section)
    state.setdefault("version", 1)  # the writers own the format version (breakers: 2, rate limits: 1)
    for key, change in changes.items():
        pair = json_list(change)
        if pair is None or len(pair) != 2:
            continue
        before, after = pair
        if section == "breakers":
            if after is None:
                continue  # trimmed or reset locally: Redis's record stays
            # a record's name may carry its session (``Bash:pytest@<sid>``); parameters go by its key
            after_fields = json_object(after)
            params = params_for(str(after_fields.get("key") or key) if after_fields is not None else key)
            if params is None:
                continue
            entries[key] = replay_breaker(entries.get(key), before, after, params, now)
        else:
            merged = replay_window(entries.get(key), before, after)
            if merged is not None:
                entries[key] = merged
