"""Nothing lost across a Redis outage: the fallback's journal, replayed into Redis exactly once.

While Redis is unreachable, a hook with ``fallback_to_file`` keeps its breakers, rate limits and
events in the project's files (:mod:`lib.backends.fallback`). Each such write is also appended to
the **journal** ``<state_dir>/redis-journal.jsonl`` (the shared writer :class:`lib.jsonl.JsonlWriter`):
a state transaction as the changes it made (:func:`lib.backends.merge.diff`), an event as its stream
fields. Every record has a random id.

The first command a process sends to a server that answers (a hook's, or a reader's in the CLI)
first replays what the journal holds past the saved position (the cursor
``<state_dir>/redis-journal.json``, a :class:`lib.store.JsonStore` whose lock also keeps two
processes from replaying at once; a process that finds it taken goes on without waiting):

- events are added to the stream by a script that adds their id to the set
  ``<prefix>:{<namespace>}:reconciled`` in the same step, so an event is never added twice however
  often it is replayed (a crash between the replay and the saved position included);
- state changes of one store are applied in one transaction of that store
  (:meth:`lib.backends.redis_store.RedisStore.apply_once`): the ids already in the set are skipped,
  the others are applied with :func:`lib.backends.merge.apply_changes` and join the set with the
  write.

So events are delivered at least once (a replayed event gets a new stream id; its ``ts`` is the
time it happened) and counts are exact once reconciled. A hook replays at most
:data:`HOOK_BATCH` records (the rest goes to the next ones); ``python -m lib`` readers replay all.
When nothing was ever journaled, the check is one ``stat``.
"""

from __future__ import annotations

import os
import sys
import time

from lib.plain_data import json_object
from lib.store import LockTimeout, StateError, open_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from lib.backends.merge import ParamsFor
    from lib.backends.settings import BackendSettings
    from lib.breaker.machine import BreakerParams
    from lib.jsonl import Entry
    from lib.store import JsonStore

__all__ = ["HOOK_BATCH", "journal_events", "journal_path", "journal_state", "pending", "replay_pending"]

JOURNAL = "redis-journal"
#: Records one hook process replays at most (readers of the CLI replay everything).
HOOK_BATCH = 200
_EVENTS_PER_TRIP = 50

# KEYS: stream, applied set. ARGV: id, maxlen, ttl, field, value, ... -> 1 added | 0 already there
_ADD_EVENT = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('EXPIRE', KEYS[2], ARGV[3])
local args = {'XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*'}
for i = 4, #ARGV do args[#args + 1] = ARGV[i] end
redis.call(unpack(args))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


def journal_path(settings: BackendSettings) -> str | None:
    """Where the journal of ``settings``'s project lives (``None``: no state directory known)."""
    return settings.journal_path


def _new_id() -> str:
    return os.urandom(12).hex()


def _append(settings: BackendSettings, records: list[dict[str, object]]) -> None:
    path = journal_path(settings)
    if path is None or not records:
        return
    from lib.jsonl import JsonlWriter

    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with JsonlWriter(path) as writer:
            writer.append_many(records)
    except (OSError, StateError) as exc:  # bookkeeping: the hook goes on, the user is told
        sys.stderr.write(
            f"claude-hooks: warning: {path}: cannot journal a change for Redis ({exc}); it stays in the "
            "local files only. Check free disk space and that .claude/state is writable\n"
        )


def journal_state(
    settings: BackendSettings,
    store: str,
    before: Mapping[str, object],
    after: Mapping[str, object],
    *,
    uncertain: bool = False,
) -> None:
    """Journal what a fallback transaction of ``store`` changed (nothing when it changed nothing).

    ``uncertain``: the change was sent to a Redis that died before it answered, so it may have been
    applied too (then its replay counts it twice; the record says so for whoever audits the journal).
    """
    from lib.backends.merge import diff

    section, changes = diff(before, after)
    if changes:
        record = {
            "id": _new_id(),
            "kind": "state",
            "store": store,
            "at": time.time(),
            "section": section,
            "changes": changes,
        }
        if uncertain:
            record["uncertain"] = True
        _append(settings, [dict(record)])


def journal_events(settings: BackendSettings, events: Sequence[Mapping[str, str]]) -> None:
    """Journal events published to the file bus while Redis was away (their stream fields)."""
    _append(settings, [{"id": _new_id(), "kind": "event", "fields": dict(f)} for f in events])


def _cursor(settings: BackendSettings) -> JsonStore:
    assert settings.state_dir is not None
    return open_store(settings.state_dir, JOURNAL, lock_timeout=0.0, durable=False)


def pending(settings: BackendSettings) -> bool:
    """Whether the journal may hold records not replayed yet (one ``stat`` when there is none)."""
    path = journal_path(settings)
    if path is None:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    saved = _cursor(settings).read()
    return bool(saved.get("ino") != st.st_ino or saved.get("size") != st.st_size)


def replay_pending(settings: BackendSettings, *, limit: int | None = HOOK_BATCH) -> int:
    """Replay the journal's records past the saved position into Redis; return how many were new.

    Raises :class:`lib.backends.redis_client.BackendUnavailable` when Redis fails midway (what was
    replayed stays replayed, and the position says so).
    """
    if not pending(settings):
        return 0
    path = journal_path(settings)
    assert path is not None
    st = os.stat(path)
    from lib.backends.redis_client import BackendUnavailable
    from lib.jsonl import JsonlReader

    cursor = _cursor(settings)
    failure: BackendUnavailable | None = None
    applied = 0
    try:
        with cursor.transaction() as saved:
            position = saved.get("position")
            with JsonlReader(path, start=position if isinstance(position, int) else None) as reader:
                entries = reader.read(limit)
                complete = limit is None or len(entries) < limit
            try:
                applied = _replay(settings, entries)
            except (StateError, LockTimeout) as exc:
                # Redis went away, or a store's lock or lease was lost: nothing of this batch is lost
                # (what was applied is in the set and is skipped next time; the rest is retried)
                failure = exc if isinstance(exc, BackendUnavailable) else None
                complete = False
                entries = []
            if entries:
                saved["position"] = entries[-1].next_position
            if complete:
                saved["ino"], saved["size"] = st.st_ino, st.st_size
    except LockTimeout:
        return 0  # another process is replaying right now
    if failure is not None:
        raise failure
    return applied


def _params_for(settings: BackendSettings) -> ParamsFor:
    from lib.breaker.tools import ToolBreakerSettings

    tools = ToolBreakerSettings.from_mapping(json_object(settings.config.get("breaker")))

    def params_for(key: str) -> BreakerParams | None:
        return tools.params_for(key, key.split(":", 1)[0])

    return params_for


def _replay(settings: BackendSettings, entries: list[Entry]) -> int:
    from lib.backends.redis_client import run

    applied_key = settings.key("reconciled")
    events: list[tuple[object, ...]] = []
    stores: dict[str, list[dict[str, object]]] = {}
    for entry in entries:
        record = entry.record
        rid = record.get("id")
        if not isinstance(rid, str):
            continue
        fields = json_object(record.get("fields"))
        if record.get("kind") == "event" and fields is not None:
            flat = [str(part) for pair in fields.items() for part in pair]
            events.append(
                ("EVAL", _ADD_EVENT, 2, settings.key("events"), applied_key, rid, settings.stream_maxlen,
                 settings.ttl_seconds, *flat, "journal_id", rid)
            )  # fmt: skip
        elif record.get("kind") == "state" and isinstance(record.get("store"), str):
            stores.setdefault(str(record["store"]), []).append(record)
    added = 0
    for start in range(0, len(events), _EVENTS_PER_TRIP):  # each trip well within the reply timeout
        replies = run(settings, events[start : start + _EVENTS_PER_TRIP])
        from lib.backends.redis_client import BackendUnavailable

        bad = next((r for r in replies if not isinstance(r, int)), None)
        if bad is not None:
            raise BackendUnavailable(settings.display_url, f"replaying the journal: {bad}")
        added += sum(1 for r in replies if r == 1)
    if stores:
        added += _replay_states(settings, stores, applied_key)
    return added


def _replay_states(
    settings: BackendSettings, stores: dict[str, list[dict[str, object]]], applied_key: str
) -> int:
    from lib.backends.merge import apply_changes
    from lib.backends.redis_store import RedisStore

    params_for = _params_for(settings)
    added = 0
    for name, records in stores.items():
        store = RedisStore(settings, name, lock_timeout=max(settings.lock_timeout, 1.0))

        def change(
            state: dict[str, object], fresh: set[str], records: list[dict[str, object]] = records
        ) -> None:
            for record in records:
                if record["id"] not in fresh:
                    continue
                at = record.get("at")
                changes = json_object(record.get("changes"))
                section = record.get("section")
                apply_changes(
                    state,
                    section if isinstance(section, str) else None,
                    changes if changes is not None else {},
                    params_for,
                    float(at) if isinstance(at, (int, float)) else time.time(),
                )

        added += store.apply_once([str(r["id"]) for r in records], applied_key, change)
    return added
