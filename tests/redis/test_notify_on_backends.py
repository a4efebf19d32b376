"""The notification sender consumes the bus the project is configured with: the file bus, or the
Redis stream (a durable consumer group there), with the same at-most-once-per-event delivery."""

from __future__ import annotations

import json

from receivers import HttpReceiver
from redis_backend import Backend

from lib.config import validate_config
from lib.notify.sender import Sender


def test_the_sender_delivers_from_either_backend_once(backend: Backend) -> None:
    with HttpReceiver() as receiver:
        config = validate_config(
            {
                "backend": backend.section,
                "notify": {"webhook_url": receiver.url, "events": ["breaker.opened"]},
            },
            environ={},
        )
        bus = backend.bus(session_id="s1")
        bus.publish("tool.failure", {"tool_name": "Bash"})
        bus.publish("breaker.opened", {"key": "Bash", "tool_name": "Bash", "consecutive_failures": 3})
        bus.close()

        first = Sender(backend.paths, config).run()
        second = Sender(backend.paths, config).run()

        [got] = receiver.received()
    assert len(first.sent) == 1 and second.sent == []
    body = json.loads(got.body)
    assert (body["event"], body["session_id"], body["title"]) == (
        "breaker.opened",
        "s1",
        "Circuit breaker open: Bash",
    )
