"""The event bus: ids unique and ordered across processes, subscribers, tail, durable consumers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from lib.event_bus import Event, EventBus, topic_matches
from lib.jsonl import JsonlWriter, split_position


def test_topic_patterns() -> None:
    assert topic_matches("tool.*", "tool.pre") and topic_matches("tool.*", "tool.failure")
    assert not topic_matches("tool.*", "toolbox.pre") and not topic_matches("tool.*", "breaker.opened")
    assert topic_matches("*", "anything") and topic_matches("breaker.opened", "breaker.opened")
    assert topic_matches("*.opened", "breaker.opened") and not topic_matches("tool.pre", "tool.post")


def test_published_event_is_written_with_its_id_and_context(tmp_path: object) -> None:
    bus = EventBus(str(tmp_path), source="test", session_id="s1", correlation_id="c1", clock=lambda: 0)
    first = bus.publish("tool.pre", {"tool_name": "Bash"})
    second = bus.publish("tool.post", {"tool_name": "Bash"}, correlation_id="c2")
    assert first.id == 0 and second.id > first.id
    with open(bus.path, "rb") as f:
        records = [json.loads(line) for line in f]
    assert records[0] == {
        "id": 0,
        "ts": "1970-01-01T00:00:00.000000Z",
        "topic": "tool.pre",
        "source": "test",
        "session_id": "s1",
        "correlation_id": "c1",
        "payload": {"tool_name": "Bash"},
    }
    assert records[1]["id"] == second.id == split_position(second.id)[1]  # the byte offset in generation 0
    assert records[1]["correlation_id"] == "c2"
    with pytest.raises(ValueError, match="non-empty word"):
        bus.publish("bad topic")


PUBLISHER = """
import sys
from lib.event_bus import EventBus
bus = EventBus(sys.argv[1], source="p" + sys.argv[2], max_bytes=int(sys.argv[3]), backups=1000)
for n in range(int(sys.argv[4])):
    bus.publish("tool.pre", {"n": n, "pad": "x" * 40})
"""


@pytest.mark.slow
def test_ids_are_unique_and_increase_in_file_order_across_processes_and_rotations(tmp_path: object) -> None:
    log_dir = str(tmp_path)
    procs = [
        subprocess.Popen([sys.executable, "-c", PUBLISHER, log_dir, str(p), str(16 * 1024), "150"])
        for p in range(8)
    ]
    for proc in procs:
        assert proc.wait(timeout=60) == 0
    bus = EventBus(log_dir)
    events = list(bus.tail())
    assert len(events) == 8 * 150
    ids = [e.id for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert split_position(ids[-1])[0] > 3  # rotated several times
    with bus.reader() as reader:
        assert all(entry.record["id"] == entry.position for entry in reader)  # the id is where it landed
    per_source: dict[str, list[int]] = {}
    for event in events:
        per_source.setdefault(event.source, []).append(event.payload["n"])  # type: ignore[arg-type]
    assert all(ns == list(range(150)) for ns in per_source.values())


def test_subscribers_get_matching_events_and_a_raising_one_breaks_nothing(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    bus = EventBus(str(tmp_path))
    seen_tool: list[str] = []
    seen_all: list[str] = []

    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    bus.subscribe("tool.*", broken)
    bus.subscribe("tool.*", lambda e: seen_tool.append(e.topic))
    sub = bus.subscribe("*", lambda e: seen_all.append(e.topic))
    bus.publish("tool.failure", {})
    bus.publish("breaker.opened", {})
    sub.cancel()
    bus.publish("session.end", {})
    assert seen_tool == ["tool.failure"] and seen_all == ["tool.failure", "breaker.opened"]
    assert [e.topic for e in bus.tail()] == ["tool.failure", "breaker.opened", "session.end"]
    assert bus.subscriber_errors == [("tool.*", "RuntimeError: subscriber bug")]
    assert "subscriber bug" in capsys.readouterr().err


def test_tail_since_an_id_with_filters(tmp_path: object) -> None:
    bus = EventBus(str(tmp_path))
    a = bus.publish("tool.pre", {}, session_id="s1")
    bus.publish("tool.pre", {}, session_id="s2")
    c = bus.publish("tool.failure", {}, session_id="s1")
    bus.publish("session.end", {}, session_id="s1")
    assert [e.id for e in bus.tail(since=a.id, session_id="s1", topics=["tool.*"])] == [c.id]
    assert [e.topic for e in bus.tail(topics=["session.*", "tool.failure"])] == [
        "tool.failure",
        "session.end",
    ]


def test_tail_follow_sees_events_from_another_writer(tmp_path: object) -> None:
    bus = EventBus(str(tmp_path))
    start = bus.publish("session.start", {})
    got: list[str] = []
    done = threading.Event()

    def follow() -> None:
        for event in bus.tail(follow=True, since=start.id, poll_interval=0.01, stop=done.is_set):
            got.append(event.topic)
            if len(got) == 2:
                done.set()

    thread = threading.Thread(target=follow)
    thread.start()
    other = EventBus(str(tmp_path))
    other.publish("tool.pre", {})
    other.publish("tool.post", {})
    thread.join(timeout=10)
    assert got == ["tool.pre", "tool.post"]


def test_durable_consumer_redelivers_what_was_not_acknowledged(tmp_path: object) -> None:
    log_dir = str(tmp_path)
    bus = EventBus(log_dir)
    for n in range(4):
        bus.publish("tool.pre", {"n": n})

    first = EventBus(log_dir).consumer("hypervisor")
    batch = first.read(limit=3)
    assert [e.payload["n"] for e in batch] == [0, 1, 2]
    first.ack(batch[0], batch[2].id)  # 1 is still being worked on when the process dies
    assert first.pending == [batch[1].id]

    again = EventBus(log_dir).consumer("hypervisor")  # a new process
    assert [e.payload["n"] for e in again.read()] == [1, 3]
    again.commit()
    assert again.read() == []
    bus.publish("tool.post", {"n": 4})
    assert [e.payload["n"] for e in EventBus(log_dir).consumer("hypervisor").read()] == [4]
    assert [e.payload["n"] for e in EventBus(log_dir).consumer("other").read()] == [0, 1, 2, 3, 4]


def test_consumer_filters_and_keeps_state_with_its_acknowledgements(tmp_path: object) -> None:
    bus = EventBus(str(tmp_path))
    bus.publish("tool.failure", {}, session_id="s1")
    bus.publish("tool.failure", {}, session_id="s2")
    bus.publish("tool.pre", {}, session_id="s1")
    consumer = bus.consumer("summary-s1", topics=["tool.failure"], session_id="s1")
    events = consumer.read()
    assert len(events) == 1 and events[0].session_id == "s1"
    consumer.state["failures"] = 1
    consumer.commit()
    reopened = bus.consumer("summary-s1", topics=["tool.failure"], session_id="s1")
    assert reopened.state == {"failures": 1}
    assert reopened.read() == []
    assert reopened.committed is not None and reopened.committed > events[0].id  # moved past the skipped ones


def test_consumer_follows_the_bus_across_rotation(tmp_path: object) -> None:
    bus = EventBus(str(tmp_path), max_bytes=300, backups=50)
    consumer = bus.consumer("c")
    bus.publish("a.one", {"pad": "x" * 100})
    assert [e.topic for e in consumer.read()] == ["a.one"]
    consumer.commit()
    for n in range(10):
        bus.publish("b.more", {"n": n, "pad": "x" * 100})
    got = consumer.read()
    assert [e.payload["n"] for e in got] == list(range(10))
    assert len({split_position(e.id)[0] for e in got}) > 2


def test_consumer_name_must_be_a_safe_file_name(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        EventBus(str(tmp_path)).consumer("../escape")


def test_records_without_an_id_get_their_position(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "events.jsonl")
    with JsonlWriter(path) as writer:
        pos = writer.append({"topic": "legacy.event", "payload": {}})
        writer.append({"not": "an event"})
    [event] = list(EventBus(str(tmp_path)).tail())
    assert event.id == pos and event.topic == "legacy.event"


def test_publish_many_writes_one_batch_whose_ids_are_their_positions(tmp_path: object) -> None:
    bus = EventBus(str(tmp_path), session_id="s1", correlation_id="c1")
    seen: list[str] = []
    bus.subscribe("tool.*", lambda e: seen.append(e.topic))
    bus.publish("session.start", {"a": 1})
    events = bus.publish_many(
        [("tool.pre", {"n": 1}), ("tool.denied", None), ("breaker.opened", {"k": "Bash"})]
    )
    assert [e.topic for e in events] == ["tool.pre", "tool.denied", "breaker.opened"]
    assert seen == ["tool.pre", "tool.denied"]
    with bus.reader() as reader:
        entries = reader.read()
    assert [e.record["topic"] for e in entries] == [
        "session.start",
        "tool.pre",
        "tool.denied",
        "breaker.opened",
    ]
    assert (
        [e.record["id"] for e in entries[1:]] == [e.id for e in events] == [e.position for e in entries[1:]]
    )
    assert all(e.record["session_id"] == "s1" and e.record["correlation_id"] == "c1" for e in entries)
    with pytest.raises(ValueError, match="non-empty word"):
        bus.publish_many([("tool.post", {}), ("bad topic", {})])
    assert len(list(bus.tail())) == 4  # nothing of the refused batch was written
    bus.close()
