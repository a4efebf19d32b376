"""The event bus on a Redis Stream, with the API of :class:`lib.event_bus.EventBus`.

One stream per project (``<prefix>:{<namespace>}:events``):

- :meth:`RedisEventBus.publish` is one ``XADD ... MAXLEN ~ <stream_maxlen>`` (pipelined with an
  ``EXPIRE ttl_seconds``, so the stream of an abandoned project goes away); in-process
  subscribers are called as on the file bus. When Redis is unavailable and
  ``[backend] fallback_to_file`` is on, the event goes to the project's file bus instead (one warning
  line per process), so a hook never loses it.
- :meth:`RedisEventBus.tail` reads with ``XRANGE`` and, with ``follow=True``, waits with
  ``XREAD BLOCK``.
- :meth:`RedisEventBus.consumer` is a durable consumer on a consumer group of the same name:
  ``XREADGROUP`` delivers, ``XACK`` acknowledges (in one ``MULTI`` with the consumer's saved
  ``state``), entries this member read but did not acknowledge are delivered again by its next
  ``read()``, and entries another member left pending for ``claim_idle_seconds`` (it crashed) are
  taken over with ``XAUTOCLAIM``. Delivery is at-least-once, as on the file bus.

**Ids.** An event id is an ``int`` as on the file bus: the stream id ``<ms>-<seq>`` packed as
``ms << 20 | seq`` (unique and increasing like the stream ids; Redis cannot add a million entries to
one stream within one millisecond). :func:`stream_id` converts back.
"""

from __future__ import annotations

import os

from lib import fastjson
from lib.backends.fallback import report_fallback
from lib.backends.redis_client import BLOCK_SECONDS, BackendUnavailable, call, command, execute, run
from lib.event_bus import BusBase, Event, event_matches
from lib.hook_logger import iso_timestamp
from lib.plain_data import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import Any, TypeGuard, Unpack

    from lib.backends.settings import BackendSettings
    from lib.event_bus import EventBus, Follow, Stamps

    Decoder = Callable[[bytes], object]
    Warn = Callable[[str], None]

__all__ = ["RedisConsumer", "RedisEventBus", "event_id", "stream_id"]

_SEQ_BITS = 20
_SEQ_MASK = (1 << _SEQ_BITS) - 1
_BATCH = 500


def event_id(stream_entry_id: bytes | str) -> int:
    """The integer event id of a stream entry id ``b"<ms>-<seq>"``."""
    text = stream_entry_id.decode() if isinstance(stream_entry_id, bytes) else stream_entry_id
    ms, _, seq = text.partition("-")
    return int(ms) << _SEQ_BITS | int(seq or 0)


def stream_id(event: int) -> str:
    """The stream entry id ``"<ms>-<seq>"`` of an integer event id."""
    return f"{event >> _SEQ_BITS}-{event & _SEQ_MASK}"


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def _event(entry_id: bytes, fields: Mapping[bytes, bytes] | None, decoder: Decoder | None) -> Event | None:
    """The event in a stream entry (``None``: not one of ours, or trimmed away)."""
    if not fields:
        return None
    topic = _text(fields.get(b"topic"))
    if not topic:
        return None
    raw = fields.get(b"payload") or b"{}"
    try:
        payload = decoder(raw) if decoder is not None else fastjson.loads(raw)
    except ValueError:
        payload = None
    return Event(
        event_id(entry_id),
        _text(fields.get(b"ts")) or "",
        topic,
        _text(fields.get(b"source")) or "",
        json_object(payload) or {},
        _text(fields.get(b"session_id")),
        _text(fields.get(b"correlation_id")),
    )


def event_fields(event: Event) -> dict[str, str]:
    """The stream entry fields of one event (``payload`` as compact JSON; no id: ``XADD`` gives it)."""
    fields = {
        "ts": event.ts,
        "topic": event.topic,
        "source": event.source,
        "payload": fastjson.dumps(event.payload, ensure_ascii=False),
    }
    if event.session_id is not None:
        fields["session_id"] = event.session_id
    if event.correlation_id is not None:
        fields["correlation_id"] = event.correlation_id
    return fields


def _is_array(reply: object) -> TypeGuard[list[Any]]:
    """Whether a RESP reply is an array (its elements are what hiredis parsed: untyped)."""
    return isinstance(reply, list)


def _entries(raw: object) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
    """Stream entries as RESP sends them (``[[id, [field, value, ...]], ...]``; a trimmed entry's
    fields are nil) as ``(id, {field: value})`` pairs."""
    out: list[tuple[bytes, dict[bytes, bytes] | None]] = []
    for entry in raw if _is_array(raw) else ():
        entry_id, flat = entry[0], entry[1]
        fields = dict(zip(flat[::2], flat[1::2], strict=True)) if _is_array(flat) else None
        out.append((entry_id, fields))
    return out


def _flat(fields: Mapping[str, str]) -> list[str]:
    return [part for pair in fields.items() for part in pair]


class RedisEventBus(BusBase):
    """Publish to and read from one project's Redis stream (same methods as the file bus).

    ``fallback`` builds the file bus used for :meth:`publish` when Redis is unavailable (``None``:
    raise :class:`~lib.backends.redis_client.BackendUnavailable` instead); ``warn`` receives the
    one-line notice of that fallback.
    """

    def __init__(
        self,
        settings: BackendSettings,
        *,
        fallback: Callable[[], EventBus] | None = None,
        warn: Warn | None = None,
        **stamps: Unpack[Stamps],
    ) -> None:
        super().__init__(**stamps)
        self.settings = settings
        self.key = settings.key("events")
        #: Where the events live, for messages and the CLI.
        self.path = f"{settings.display_url} {self.key}"
        self._fallback_factory = fallback
        self._fallback: EventBus | None = None
        self._warn = warn

    def _append(self, events: list[Event]) -> list[Event]:
        """``XADD`` each event, then one ``EXPIRE``, in one round trip; when Redis is unavailable and
        falling back is allowed, the events go to the file bus and to the reconciliation journal
        instead (:mod:`lib.backends.reconcile`), to be replayed into the stream once Redis answers."""
        settings = self.settings
        records = [event_fields(event) for event in events]
        commands: list[tuple[object, ...]] = [
            ("XADD", self.key, "MAXLEN", "~", settings.stream_maxlen, "*", *_flat(fields))
            for fields in records
        ]
        commands.append(("EXPIRE", self.key, settings.ttl_seconds))  # an abandoned project's stream expires
        try:
            replies = run(settings, commands)
            bad = next((r for r in replies if not isinstance(r, (bytes, int))), None)
            if bad is not None:
                raise BackendUnavailable(settings.display_url, f"XADD refused: {bad}")
        except BackendUnavailable as exc:
            if self._fallback_factory is None:
                raise
            if self._fallback is None:
                self._fallback = self._fallback_factory()
            report_fallback(exc, f"the file bus {self._fallback.path}", self._warn)
            first = events[0]
            published = self._fallback.publish_many(
                [(event.topic, event.payload) for event in events],
                session_id=first.session_id,
                correlation_id=first.correlation_id,
                source=first.source,
            )
            from lib.backends.reconcile import journal_events

            journal_events(settings, records)
            return published
        for event, entry in zip(events, replies, strict=False):
            event.id = event_id(entry)  # type: ignore[arg-type]
        return events

    # -- reading ----------------------------------------------------------------------------------

    def _events(self, since: int | None, decoder: Decoder | None, follow: Follow | None) -> Iterator[Event]:
        """The stream's events after id ``since`` (``follow``: and new ones, waiting in ``XREAD BLOCK``)."""
        last = stream_id(since) if since is not None else None
        while True:
            low = f"({last}" if last is not None else "-"
            batch = command(self.settings, "xrange", self.key, low, "+", count=_BATCH)
            for entry_id, fields in batch:
                last = entry_id.decode()
                event = _event(entry_id, fields, decoder)
                if event is not None:
                    yield event
            if len(batch) < _BATCH:
                break
        if follow is None:
            return
        poll_interval, stop = follow
        block_ms = max(1, min(int(BLOCK_SECONDS * 1000), int(poll_interval * 1000)))
        cursor = last or "0-0"
        while not (stop is not None and stop()):
            reply = command(
                self.settings, "xread", {self.key: cursor}, count=_BATCH, block=block_ms, blocking=True
            )
            for _stream, entries in reply or ():
                for entry_id, fields in entries:
                    cursor = entry_id.decode()
                    event = _event(entry_id, fields, decoder)
                    if event is not None:
                        yield event

    def consumer(
        self, name: str, *, topics: Iterable[str] | None = None, session_id: str | None = None
    ) -> RedisConsumer:
        """The durable consumer ``name``: a consumer group (created on first use at the oldest
        retained event), read as the member ``name``."""
        return RedisConsumer(self, name, topics=topics, session_id=session_id)

    def consumers(self) -> dict[str, dict[str, object]]:
        """Every consumer group of the stream: pending count, last delivered id, lag (for the CLI)."""

        def groups(client: Any) -> list[dict[bytes | str, object]]:
            try:
                return list(client.xinfo_groups(self.key))
            except Exception as exc:
                if "no such key" in str(exc).lower():
                    return []
                raise

        out: dict[str, dict[str, object]] = {}
        for info in call(self.settings, groups):
            plain = {_text(k) or str(k): (_text(v) if isinstance(v, bytes) else v) for k, v in info.items()}
            out[str(plain.get("name"))] = plain
        return out

    def length(self) -> int:
        """How many events the stream holds."""
        return int(call(self.settings, lambda c: c.xlen(self.key)))

    def close(self) -> None:
        """Close the fallback file bus, if one was opened (the connection stays for the process)."""
        if self._fallback is not None:
            self._fallback.close()
            self._fallback = None


class RedisConsumer:
    """A durable reader on a consumer group: remembers what it processed, across processes.

    ``read()`` returns this member's unacknowledged events first, then events other members left
    pending for ``claim_idle_seconds``, then new ones; ``ack(event_or_id, ...)`` acknowledges them;
    ``commit()`` acknowledges everything the last ``read()`` returned. ``state`` is free-form data
    saved in the same ``MULTI`` as the acknowledgements. Several processes may share one ``name``
    with different ``member`` names to split the work.
    """

    def __init__(
        self,
        bus: RedisEventBus,
        name: str,
        *,
        topics: Iterable[str] | None = None,
        session_id: str | None = None,
        member: str | None = None,
    ) -> None:
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"consumer name {name!r} must be a non-empty word")
        self.bus = bus
        self.name = name
        self.member = member or name
        self.topics = list(topics) if topics is not None else None
        self.session_id = session_id
        self.state_key = bus.settings.key("consumer", name)
        self._delivered: list[int] = []
        self._ensure_group("0")
        raw = execute(bus.settings, "GET", self.state_key)
        saved = json_object(fastjson.loads(raw)) if raw else None
        user = json_object(saved.get("state")) if saved is not None else None
        self.state: dict[str, object] = dict(user) if user is not None else {}

    def _ensure_group(self, start: str) -> None:
        settings = self.bus.settings
        (reply,) = run(settings, [("XGROUP", "CREATE", self.bus.key, self.name, start, "MKSTREAM")])
        if isinstance(reply, Exception) and "BUSYGROUP" not in str(reply):
            raise BackendUnavailable(settings.display_url, f"XGROUP CREATE refused: {reply}")

    def _group_info(self) -> dict[str, object] | None:
        return self.bus.consumers().get(self.name)

    @property
    def committed(self) -> int | None:
        """The id before which every event is processed (None: nothing delivered yet)."""
        info = self._group_info()
        if info is None:
            return None
        if int(info.get("pending") or 0):  # type: ignore[call-overload]
            summary = call(self.bus.settings, lambda c: c.xpending(self.bus.key, self.name))
            low = summary.get("min")
            if low:
                return event_id(low)
        last = str(info.get("last-delivered-id") or "0-0")
        return None if last == "0-0" else event_id(last) + 1

    @property
    def pending(self) -> list[int]:
        """Ids delivered by the last read and not acknowledged yet."""
        if not self._delivered:
            return []
        low, high = stream_id(min(self._delivered)), stream_id(max(self._delivered))
        rows = call(
            self.bus.settings,
            lambda c: c.xpending_range(self.bus.key, self.name, low, high, len(self._delivered) * 2 + 10),
        )
        open_ids = {event_id(row["message_id"]) for row in rows}
        return [i for i in self._delivered if i in open_ids]

    def read(self, limit: int | None = None, *, decoder: Decoder | None = None) -> list[Event]:
        """The next events to process (at most ``limit``), oldest first."""
        settings = self.bus.settings
        key, group, member = self.bus.key, self.name, self.member
        want = limit if limit is not None else None
        seen: dict[int, Event] = {}
        skip: list[bytes] = []

        def take(entries: Iterable[tuple[bytes, Mapping[bytes, bytes] | None]]) -> int:
            added = 0
            for entry_id, fields in entries:
                event = _event(entry_id, fields, decoder)
                if event is None or not event_matches(event, self.topics, self.session_id):
                    skip.append(entry_id)  # trimmed, foreign, or not for us: processed by skipping
                    continue
                if event.id not in seen:
                    seen[event.id] = event
                    added += 1
            return added

        def room() -> int:
            return _BATCH if want is None else max(0, want - len(seen))

        def read_group(cursor: str) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
            reply = execute(
                settings, "XREADGROUP", "GROUP", group, member, "COUNT", room(), "STREAMS", key, cursor
            )
            return _entries(reply[0][1]) if reply else []

        # 1. what this member was given and did not acknowledge (it crashed, or did not commit)
        cursor = "0-0"
        while room():
            entries = read_group(cursor)
            if not entries:
                break
            take(entries)
            cursor = entries[-1][0].decode()
        # 2. what other members left pending too long
        idle_ms = int(settings.claim_idle_seconds * 1000)
        start = "0-0"
        while room():
            reply = execute(settings, "XAUTOCLAIM", key, group, member, idle_ms, start, "COUNT", room())
            start = _text(reply[0]) or "0-0"
            take(_entries(reply[1]))
            for gone in reply[2] if len(reply) > 2 else ():
                skip.append(gone)  # trimmed while pending
            if start == "0-0":
                break
        # 3. new events
        while room():
            entries = read_group(">")
            if not entries:
                break
            take(entries)
        if skip:
            execute(settings, "XACK", key, group, *skip)
        out = [seen[i] for i in sorted(seen)]
        self._delivered = [e.id for e in out]
        return out

    def ack(self, *events: Event | int) -> None:
        """Mark events (or ids) as processed, and save ``state`` in the same transaction."""
        ids = [stream_id(e.id if isinstance(e, Event) else int(e)) for e in events]
        saved = fastjson.dumps(
            {
                "name": self.name,
                "member": self.member,
                "host": os.uname().nodename,
                "updated": iso_timestamp(),
                "state": self.state,
            },
            ensure_ascii=False,
        )
        settings = self.bus.settings
        commands: list[tuple[object, ...]] = [("MULTI",)]
        if ids:
            commands.append(("XACK", self.bus.key, self.name, *ids))
        commands += [("SET", self.state_key, saved, "EX", settings.ttl_seconds), ("EXEC",)]
        done = run(settings, commands)[-1]
        if not _is_array(done) or any(isinstance(r, Exception) for r in done):
            raise BackendUnavailable(settings.display_url, f"acknowledging events failed: {done}")

    def commit(self) -> None:
        """Acknowledge every event the last :meth:`read` returned."""
        self.ack(*self._delivered)

    def reset(self, position: int | None = None) -> None:
        """Forget the progress: start again at event id ``position`` (None: the oldest retained event)."""
        start = "0" if position is None else stream_id(max(0, position - 1))

        def recreate(client: Any) -> None:
            client.xgroup_destroy(self.bus.key, self.name)

        call(self.bus.settings, recreate)
        self._ensure_group(start)
        self._delivered = []
        self.ack()
