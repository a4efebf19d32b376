"""The detached notification sender: a durable consumer of the bus that delivers what ``[notify]``
asks for.

Hooks start it (:func:`lib.detached.start_worker`) when they publish an event that may notify and no sender
is running; ``python -m lib notify send [--follow]`` runs it by hand. It reads the bus as the
durable consumer ``notify`` (offset and rule state saved together, so a restart neither loses nor
repeats a decision), applies :class:`lib.notify.rules.Rules`, and delivers each notification to
every channel: one attempt with a timeout, then retries with exponential backoff (1 s, 2 s, 4 s...)
for failures that may pass. Events older than :data:`STALE_SECONDS` (history from before ``[notify]``
was configured) are passed over. Every delivery leaves one record in ``hooks.jsonl`` (hook
``notify.sender``: channel, topic, result, attempts; never a URL or a token). An event is
acknowledged once every channel succeeded or gave up, so a sender killed mid-delivery delivers it
again when it restarts.

With ``follow`` it keeps the :class:`lib.detached.WorkerLock` and waits for new events until none
came for ``linger_seconds``, then exits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lib.config import as_dict, config_section
from lib.detached import NOTIFY_SENDER, DetachedWorker
from lib.event_bus import Consumer, Event, EventBus
from lib.hook_logger import HookLogger
from lib.notify.channels import Channel, DeliveryError, channels_from_config
from lib.notify.rules import Notification, Rules, RuleState, notification_for
from lib.paths import Paths
from lib.store import open_store

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.backends.redis_bus import RedisConsumer, RedisEventBus

__all__ = ["CONSUMER_NAME", "Delivery", "Sender", "deliver"]

CONSUMER_NAME = "notify"
POLL_SECONDS = 0.25
STALE_SECONDS = 900.0
"""Events older than this are not notified (history from before ``[notify]`` was set up)."""


@dataclass
class Delivery:
    """What happened to one notification on one channel."""

    channel: str
    ok: bool
    result: str
    attempts: int


@dataclass
class SendReport:
    """What a :meth:`Sender.run` did."""

    sent: list[tuple[Notification, list[Delivery]]] = field(
        default_factory=list[tuple[Notification, list[Delivery]]]
    )
    skipped: int = 0
    already_running: bool = False


def deliver(
    note: Notification,
    channel: Channel,
    *,
    retries: int,
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """One notification to one channel: an attempt, then up to ``retries`` more with backoff."""
    attempts = 0
    while True:
        attempts += 1
        try:
            return Delivery(channel.name, True, channel.send(note), attempts)
        except DeliveryError as exc:
            if not exc.retry or attempts > retries:
                return Delivery(channel.name, False, str(exc), attempts)
            sleep(min(2.0 ** (attempts - 1), 30.0))


def _age(ts: str, now: float) -> float:
    """Seconds since the bus timestamp ``ts`` (0 when it does not parse)."""
    from datetime import datetime

    try:
        return now - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class Sender(DetachedWorker):
    """Delivers the notifications of one project (see the module doc)."""

    def __init__(
        self,
        paths: Paths,
        config: Mapping[str, object],
        *,
        channels: Sequence[Channel] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.notify = config_section(config, "notify")
        self.paths = paths
        self.config = config
        self.rules = Rules(config)
        self.channels = list(channels) if channels is not None else channels_from_config(self.notify)
        self.clock = clock
        self.sleep = sleep
        retries = self.notify.get("retries")
        self.retries = retries if isinstance(retries, int) else 3
        linger = self.notify.get("linger_seconds")
        self.linger = float(linger) if isinstance(linger, (int, float)) else 30.0
        self.logger = HookLogger.from_config(paths.log_dir, config, hook="notify.sender")

    def _bus(self) -> EventBus | RedisEventBus:
        from lib.backends import open_bus

        return open_bus(self.paths.log_dir, self.config, project_dir=self.paths.project_dir, source="notify")

    def _session_seconds(self, session_id: str | None, now: float) -> float | None:
        if not session_id:
            return None
        sessions = as_dict(open_store(self.paths.state_dir, "sessions").read().get("sessions"))
        started = as_dict(sessions.get(session_id)).get("started_epoch")
        return now - float(started) if isinstance(started, (int, float)) else None

    def handle(self, event: Event, state: RuleState) -> tuple[Notification, list[Delivery]] | None:
        """Decide on one event and deliver it if the rules say so."""
        now = self.clock()
        if _age(event.ts, now) > STALE_SECONDS:
            return None
        payload = dict(event.payload)
        seconds = self._session_seconds(event.session_id, now) if event.topic == "session.stop" else None
        if seconds is not None:
            payload["session_seconds"] = round(seconds, 1)
        if not self.rules.wants(event.topic, payload, seconds):
            return None
        note = notification_for(
            event.topic,
            payload,
            session_id=event.session_id,
            project_dir=self.paths.project_dir,
            event_id=event.id,
            ts=event.ts,
        )
        send, held = self.rules.admit(note, state, now)
        if not send:
            self.logger.bind(event=event.topic, session_id=event.session_id).debug(
                "notification held back (quiet period or duplicate)", event_id=event.id
            )
            return None
        if held:
            note = Notification(
                note.event,
                note.session_id,
                note.project,
                note.title,
                f"{note.message} (+{held} more held back by the quiet period)",
                note.subject,
                note.event_id,
                note.ts,
                note.details,
            )
        results = [self.send(note, channel) for channel in self.channels]
        return note, results

    def send(self, note: Notification, channel: Channel) -> Delivery:
        """Deliver ``note`` on ``channel`` and log the result."""
        result = deliver(note, channel, retries=self.retries, sleep=self.sleep)
        log = self.logger.bind(event=note.event, session_id=note.session_id)
        fields: dict[str, object] = {
            "channel": result.channel,
            "result": result.result,
            "attempts": result.attempts,
            "event_id": note.event_id,
            "title": note.title,
        }
        if result.ok:
            log.info(f"notification sent via {result.channel}: {note.title}", **fields)
        else:
            log.warning(f"notification via {result.channel} failed: {result.result}", **fields)
        return result

    def run(self, *, follow: bool = False, stop: Callable[[], bool] | None = None) -> SendReport:
        """Process the pending events (``follow``: and new ones until idle for ``linger_seconds``)."""
        report = SendReport()
        opened: list[EventBus | RedisEventBus] = []  # the bus start() opened, closed at the end

        def start() -> tuple[Callable[[], bool], Callable[[], bool]]:
            bus = self._bus()
            opened.append(bus)
            consumer = bus.consumer(CONSUMER_NAME, topics=sorted(self.rules.topics))
            return self._step(consumer, report), lambda: bool(consumer.read(limit=1))

        def close() -> None:
            for bus in opened:
                bus.close()
            self.logger.close()

        report.already_running = not self.run_locked(
            NOTIFY_SENDER, start, close, poll=POLL_SECONDS, follow=follow, stop=stop
        )
        return report

    def _step(self, consumer: Consumer | RedisConsumer, report: SendReport) -> Callable[[], bool]:
        """The sender's step: handle the next events of ``consumer``, acknowledging each with the
        rules' state; True when there were some."""
        state = RuleState(as_dict(consumer.state.get("rules")))
        last_ack = [0.0]

        def step() -> bool:
            events = consumer.read(limit=50)
            for event in events:
                done = self.handle(event, state)
                if done is not None:
                    report.sent.append(done)
                else:
                    report.skipped += 1
                state.prune(self.clock(), max(self.rules.dedupe, self.rules.quiet))
                consumer.state["rules"] = state.to_dict()
                consumer.ack(event)
            if events:
                last_ack[0] = self.clock()
            elif self.clock() - last_ack[0] >= 5.0:  # move the offset past events of other topics
                consumer.ack()
                last_ack[0] = self.clock()
            return bool(events)

        return step
