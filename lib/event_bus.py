"""The event bus: ``.claude/logs/events.jsonl``, published to by hooks, read by hooks and the hypervisor.

An event::

    {"id": 18342, "ts": "2026-11-21T07:52:08.123456Z", "topic": "tool.failure", "source": "hooks",
     "session_id": "...", "correlation_id": "toolu_...", "payload": {"tool_name": "Bash", ...}}

**Ids.** An event's id is its position in the bus (:func:`lib.jsonl.make_position`: file generation
<< 40 | byte offset of the record). The publisher takes the bus's lock exclusively for one ``fstat``
and one ``write`` (:meth:`lib.jsonl.JsonlWriter.append_positioned`), so the id written inside the
record is exactly where it lands: unique and increasing across processes and rotations, at the cost
of one uncontended ``flock`` per event (a hook publishes 1-3). It is also the resume point: no
index, no counter file.

**Reading.** In-process subscribers (:meth:`EventBus.subscribe`, topic patterns like ``tool.*``) are
called on publish; a subscriber that raises is reported on stderr and skipped, the event is written
anyway. Other processes use :meth:`EventBus.tail` (optionally ``follow=True``, ``since=<id>``), or a
durable named :class:`Consumer`: it remembers, in ``consumers/<name>.json`` (a
:class:`lib.store.JsonStore`), the position up to which every event it was given has been
acknowledged, and the acknowledged ids beyond it. Delivery is at-least-once, like a Redis Streams
consumer group with ``XACK``: an event read but not acknowledged (the process died) is delivered
again by the next :meth:`Consumer.read`; an acknowledged one never is.

Stdlib only on the publish path; every hook process imports this module.
"""

from __future__ import annotations

import os
import sys
import time
from abc import ABC, abstractmethod  # abc is loaded at interpreter start-up: free here

from lib.hook_logger import iso_timestamp
from lib.jsonl import JsonlReader, JsonlWriter
from lib.plain_data import fields_dict, json_list, json_object
from lib.safe_files import ensure_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from typing import TypedDict, Unpack

    from lib.store import JsonStore

    Subscriber = Callable[["Event"], None]
    Decoder = Callable[[bytes], object]
    Follow = tuple[float, Callable[[], bool] | None]
    """How to follow a bus: the poll interval and the ``stop()`` that ends it."""

    class Stamps(TypedDict, total=False):
        """The publisher's options of every bus (see :class:`BusBase`)."""

        source: str
        session_id: str | None
        correlation_id: str | None
        clock: Callable[[], int]


__all__ = [
    "BUS_FILE",
    "TOPICS",
    "BusBase",
    "Consumer",
    "Event",
    "EventBus",
    "Subscription",
    "check_topic",
    "deliver",
    "event_matches",
    "topic_matches",
]

BUS_FILE = "events.jsonl"
CONSUMER_DIR = "consumers"

TOPICS = (
    "session.start",
    "session.end",
    "prompt.submit",
    "tool.pre",
    "tool.post",
    "tool.failure",
    "tool.denied",
    "permission.waiting",
    "session.stop",
    "breaker.opened",
    "breaker.half_open",
    "breaker.closed",
    "ratelimit.exceeded",
    "hook.error",
    "hook.event",
)
"""Topics the runtime and the built-in hooks publish (handlers may publish others). ``hook.event``
carries every event without a topic of its own (``Notification``, ``SubagentStop``, ``FileChanged``,
...), its ``event`` field naming it."""


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``topic`` matches ``pattern``: exact, ``*`` (everything), ``tool.*`` (prefix), or a glob."""
    if pattern in ("*", "#", topic):
        return True
    if pattern.endswith(".*") and "*" not in pattern[:-2] and "?" not in pattern and "[" not in pattern:
        return topic.startswith(pattern[:-1])
    if "*" in pattern or "?" in pattern or "[" in pattern:
        from fnmatch import fnmatchcase

        return fnmatchcase(topic, pattern)
    return False


#: The keys of an event record on the bus, in order.
_EVENT_FIELDS = ("id", "ts", "topic", "source", "session_id", "correlation_id", "payload")


class Event:
    """One event on the bus."""

    __slots__ = ("correlation_id", "id", "payload", "session_id", "source", "topic", "ts")

    def __init__(
        self,
        id: int,
        ts: str,
        topic: str,
        source: str,
        payload: dict[str, object],
        session_id: str | None = None,
        correlation_id: str | None = None,
    ) -> None:
        self.id = id
        self.ts = ts
        self.topic = topic
        self.source = source
        self.payload = payload
        self.session_id = session_id
        self.correlation_id = correlation_id

    def to_dict(self) -> dict[str, object]:
        """The record as written to the bus."""
        return fields_dict(self, _EVENT_FIELDS)

    @classmethod
    def from_record(cls, record: Mapping[str, object], position: int | None = None) -> Event | None:
        """The event in a bus record, or None if the record is not one. ``position`` (where the
        reader found it) stands in for a missing id."""
        topic = record.get("topic")
        if not isinstance(topic, str):
            return None
        raw_id = record.get("id")
        event_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else position
        if event_id is None:
            return None
        payload = json_object(record.get("payload"))
        sid, cid = record.get("session_id"), record.get("correlation_id")
        return cls(
            event_id,
            str(record.get("ts", "")),
            topic,
            str(record.get("source", "")),
            {} if payload is None else payload,
            sid if isinstance(sid, str) else None,
            cid if isinstance(cid, str) else None,
        )

    def __repr__(self) -> str:
        return f"Event(id={self.id}, topic={self.topic!r}, session_id={self.session_id!r}, payload={self.payload!r})"


class Subscription:
    """An in-process subscription, in a bus object's list of them from its creation; call
    :meth:`cancel` to stop receiving events."""

    __slots__ = ("_subscriptions", "callback", "pattern")

    def __init__(self, subscriptions: list[Subscription], pattern: str, callback: Subscriber) -> None:
        self._subscriptions = subscriptions
        self.pattern = pattern
        self.callback = callback
        subscriptions.append(self)

    def cancel(self) -> None:
        """Unsubscribe (idempotent)."""
        if self in self._subscriptions:
            self._subscriptions.remove(self)


def deliver(event: Event, subscriptions: list[Subscription], errors: list[tuple[str, str]]) -> None:
    """Hand ``event`` to the subscriptions whose pattern matches its topic (the file bus and the Redis
    bus both call this). One that raises is reported on stderr and in ``errors`` (``(pattern, error
    text)``), and the others still get the event."""
    for sub in list(subscriptions):
        if not topic_matches(sub.pattern, event.topic):
            continue
        try:
            sub.callback(event)
        except Exception as exc:
            text = f"{type(exc).__name__}: {exc}"
            errors.append((sub.pattern, text))
            sys.stderr.write(
                f"claude-hooks: warning: event subscriber for {sub.pattern!r} raised on {event.topic} "
                f"(event {event.id}): {text}\n"
            )


def check_topic(topic: str) -> None:
    """Raise ``ValueError`` unless ``topic`` is a non-empty word without white space."""
    if not topic or any(c.isspace() for c in topic):
        raise ValueError(f"event topic {topic!r} must be a non-empty word like 'tool.failure'")


def event_matches(event: Event, topics: Iterable[str] | None, session_id: str | None) -> bool:
    """Whether ``event`` is of session ``session_id`` (None: any) and matches one of ``topics`` (None: any)."""
    if session_id is not None and event.session_id != session_id:
        return False
    return topics is None or any(topic_matches(p, event.topic) for p in topics)


class BusBase(ABC):
    """What the file bus (:class:`EventBus`) and the Redis bus
    (:class:`lib.backends.redis_bus.RedisEventBus`) share: the stamps of a publisher, publishing in
    order, and in-process subscriptions.

    ``source`` names the publisher (``hooks``, ``hypervisor``...); ``session_id`` and
    ``correlation_id`` are stamped on events that do not give their own. ``clock`` returns
    nanoseconds since the epoch. A subclass stores the events (:meth:`_append`).
    """

    def __init__(
        self,
        *,
        source: str = "hooks",
        session_id: str | None = None,
        correlation_id: str | None = None,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.source = source
        self.session_id = session_id
        self.correlation_id = correlation_id
        self._clock = clock
        self._subscriptions: list[Subscription] = []
        #: ``(subscription pattern, error text)`` of subscribers that raised, newest last
        self.subscriber_errors: list[tuple[str, str]] = []

    # -- publishing -------------------------------------------------------------------------------

    def publish(
        self,
        topic: str,
        payload: Mapping[str, object] | None = None,
        *,
        session_id: str | None = None,
        correlation_id: str | None = None,
        source: str | None = None,
    ) -> Event:
        """Append an event to the bus, then hand it to the matching in-process subscribers."""
        return self.publish_many(
            ((topic, payload),), session_id=session_id, correlation_id=correlation_id, source=source
        )[0]

    def publish_many(
        self,
        events: Iterable[tuple[str, Mapping[str, object] | None]],
        *,
        session_id: str | None = None,
        correlation_id: str | None = None,
        source: str | None = None,
    ) -> list[Event]:
        """Append several ``(topic, payload)`` events, in order and next to each other (see the bus's
        :meth:`_append`), then hand each to the matching in-process subscribers. A bad topic raises
        before anything is written."""
        ts = iso_timestamp(self._clock())
        sid = session_id if session_id is not None else self.session_id
        cid = correlation_id if correlation_id is not None else self.correlation_id
        src = source or self.source
        unstored: list[Event] = []
        for topic, payload in events:
            check_topic(topic)
            unstored.append(Event(0, ts, topic, src, dict(payload or {}), sid, cid))
        published = self._append(unstored) if unstored else []
        for event in published:
            deliver(event, self._subscriptions, self.subscriber_errors)
        return published

    @abstractmethod
    def _append(self, events: list[Event]) -> list[Event]:
        """Store ``events`` (checked, stamped, their ids still 0) in order; return them as stored,
        with their ids."""
        raise NotImplementedError

    def subscribe(self, pattern: str, callback: Subscriber) -> Subscription:
        """Call ``callback(event)`` for every event this bus object publishes whose topic matches."""
        return Subscription(self._subscriptions, pattern, callback)

    # -- reading ----------------------------------------------------------------------------------

    def tail(
        self,
        *,
        follow: bool = False,
        since: int | None = None,
        topics: Iterable[str] | None = None,
        session_id: str | None = None,
        poll_interval: float = 0.2,
        stop: Callable[[], bool] | None = None,
        decoder: Decoder | None = None,
    ) -> Iterator[Event]:
        """Events after id ``since`` (all retained events if None), filtered by topic patterns and
        session; with ``follow`` keep waiting for new ones until ``stop()`` is true (the file bus
        looks every ``poll_interval`` seconds, the Redis bus waits in ``XREAD BLOCK``)."""
        topic_list = list(topics) if topics is not None else None
        for event in self._events(since, decoder, (poll_interval, stop) if follow else None):
            if event_matches(event, topic_list, session_id):
                yield event

    @abstractmethod
    def _events(self, since: int | None, decoder: Decoder | None, follow: Follow | None) -> Iterator[Event]:
        """Every event after id ``since``; with ``follow`` (poll interval, stop) the new ones too,
        until ``stop()`` is true."""
        raise NotImplementedError


class EventBus(BusBase):
    """Publish to and read from one project's bus file (the publisher's ``stamps``: :class:`BusBase`)."""

    def __init__(
        self,
        log_dir: str,
        *,
        max_bytes: int = 10 * 1024 * 1024,
        backups: int = 5,
        lock_timeout: float = 2.0,
        **stamps: Unpack[Stamps],
    ) -> None:
        super().__init__(**stamps)
        self.log_dir = log_dir
        self.path = os.path.join(log_dir, BUS_FILE)
        self.lock_timeout = lock_timeout
        self._writer = JsonlWriter(self.path, max_bytes=max_bytes, backups=backups, lock_timeout=lock_timeout)

    def _append(self, events: list[Event]) -> list[Event]:
        """Write the events with one lock and one write; each one's id is where it lands."""

        def builder(event: Event) -> Callable[[int], dict[str, object]]:
            def build(position: int) -> dict[str, object]:
                event.id = position
                return event.to_dict()

            return build

        self._writer.append_positioned_many([builder(event) for event in events])
        return events

    # -- reading ----------------------------------------------------------------------------------

    def reader(self, *, start: int | None = None, decoder: Decoder | None = None) -> JsonlReader:
        """A raw reader of the bus file (positions are event ids)."""
        return JsonlReader(self.path, start=start, decoder=decoder, lock_timeout=self.lock_timeout)

    def _events(self, since: int | None, decoder: Decoder | None, follow: Follow | None) -> Iterator[Event]:
        """The bus file's events after id ``since`` (``follow``: and new ones, polled)."""
        with JsonlReader(self.path, start=since, decoder=decoder, lock_timeout=self.lock_timeout) as reader:
            entries = reader.follow(poll_interval=follow[0], stop=follow[1]) if follow else iter(reader)
            for entry in entries:
                event = Event.from_record(entry.record, entry.position)
                if event is not None and (since is None or event.id > since):
                    yield event

    def consumer(
        self, name: str, *, topics: Iterable[str] | None = None, session_id: str | None = None
    ) -> Consumer:
        """The durable consumer ``name`` (created on first use, starting at the oldest retained event)."""
        return Consumer(self, name, topics=topics, session_id=session_id)

    def close(self) -> None:
        """Close the bus file."""
        self._writer.close()


def _consumer_file_name(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    if not safe or safe != name or name.startswith("."):
        raise ValueError(
            f"consumer name {name!r} must use only letters, digits, '-', '_' and '.' (and not start with '.')"
        )
    return safe


class Consumer:
    """A named reader that remembers what it has processed, across processes and restarts.

    ``read()`` returns the matching events after the committed position that are not acknowledged
    yet; ``ack(event_or_id, ...)`` marks them processed; ``commit()`` acknowledges everything the
    last ``read()`` returned. ``state`` is free-form data saved in the same atomic write as the
    acknowledgements (so a running total can never count an event twice).
    """

    def __init__(
        self, bus: EventBus, name: str, *, topics: Iterable[str] | None = None, session_id: str | None = None
    ) -> None:
        from lib.store import JsonStore

        self.bus = bus
        self.name = name
        self.topics = list(topics) if topics is not None else None
        self.session_id = session_id
        directory = os.path.join(bus.log_dir, CONSUMER_DIR)
        self.store: JsonStore = JsonStore(
            os.path.join(directory, _consumer_file_name(name) + ".json"), lock_timeout=bus.lock_timeout
        )
        self._directory = directory
        #: what the last read scanned, in order: (id, next position, needs an ack)
        self._scanned: list[tuple[int, int, bool]] = []
        self._delivered: list[int] = []
        self.state: dict[str, object] = {}
        saved = self.store.read()
        user = json_object(saved.get("state"))
        if user is not None:
            self.state = dict(user)

    @property
    def committed(self) -> int | None:
        """The position every event before which is processed (None: nothing yet)."""
        value = self.store.read().get("committed")
        return value if isinstance(value, int) else None

    @property
    def pending(self) -> list[int]:
        """Ids delivered by the last read and not acknowledged yet."""
        acked = set(self._acked())
        committed = self.committed
        return [i for i in self._delivered if i not in acked and (committed is None or i >= committed)]

    def _acked(self) -> list[int]:
        raw = json_list(self.store.read().get("acked"))
        return [] if raw is None else [i for i in raw if isinstance(i, int)]

    def read(self, limit: int | None = None, *, decoder: Decoder | None = None) -> list[Event]:
        """The next events to process (at most ``limit``), oldest first."""
        saved = self.store.read()
        committed = saved.get("committed")
        start = committed if isinstance(committed, int) else None
        acked = set(self._acked())
        self._scanned = []
        self._delivered = []
        out: list[Event] = []
        with JsonlReader(
            self.bus.path, start=start, decoder=decoder, lock_timeout=self.bus.lock_timeout
        ) as reader:
            for entry in reader:
                event = Event.from_record(entry.record, entry.position)
                wanted = event is not None and event_matches(event, self.topics, self.session_id)
                if event is not None and wanted and event.id in acked:
                    wanted = False
                    self._scanned.append((entry.position, entry.next_position, True))
                    continue
                if event is None or not wanted:
                    self._scanned.append((entry.position, entry.next_position, False))
                    continue
                if limit is not None and len(out) >= limit:
                    break
                self._scanned.append((entry.position, entry.next_position, True))
                out.append(event)
                self._delivered.append(event.id)
        return out

    def ack(self, *events: Event | int) -> None:
        """Mark events (or ids) as processed; the committed position moves past every leading
        processed or non-matching event, and the saved ``state`` is written with it."""
        ids = {e.id if isinstance(e, Event) else int(e) for e in events}
        ensure_dir(self.bus.log_dir)  # a symlinked log folder is refused, not written into
        ensure_dir(self._directory)
        with self.store.transaction() as saved:
            committed = saved.get("committed")
            position = committed if isinstance(committed, int) else -1
            acked = {i for i in (saved.get("acked") or ()) if isinstance(i, int)}  # type: ignore[attr-defined]
            acked |= ids
            for event_id, next_position, needs_ack in self._scanned:
                if next_position <= position:
                    continue
                if needs_ack and event_id not in acked:
                    break
                position = next_position
            saved["committed"] = position if position >= 0 else committed
            saved["acked"] = sorted(i for i in acked if i >= position)
            saved["name"] = self.name
            saved["updated"] = iso_timestamp()
            saved["state"] = self.state

    def commit(self) -> None:
        """Acknowledge every event the last :meth:`read` returned."""
        self.ack(*self._delivered)

    def reset(self, position: int | None = None) -> None:
        """Forget the progress: start again at ``position`` (None: the oldest retained event)."""
        ensure_dir(self.bus.log_dir)  # a symlinked log folder is refused, not written into
        ensure_dir(self._directory)
        with self.store.transaction() as saved:
            saved.clear()
            saved["name"] = self.name
            if position is not None:
                saved["committed"] = position
            saved["state"] = self.state


def list_consumers(log_dir: str) -> dict[str, dict[str, object]]:
    """The saved progress of every durable consumer in ``log_dir`` (for the CLI)."""
    from lib.store import JsonStore

    directory = os.path.join(log_dir, CONSUMER_DIR)
    out: dict[str, dict[str, object]] = {}
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return out
    for file_name in names:
        if file_name.endswith(".json"):
            out[file_name[: -len(".json")]] = JsonStore(os.path.join(directory, file_name)).read()
    return out
