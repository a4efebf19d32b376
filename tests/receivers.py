"""A local HTTP receiver for the tests of what we send out (webhooks, ntfy, Slack, OTLP/HTTP), and
the ``[notify]`` config that sends webhooks to it (:func:`webhook_config`).

``HttpReceiver`` records every request (method, path, headers, body) and answers with the status
codes queued in ``statuses`` (then 200); ``hang`` makes it hold every answer that many seconds
(a receiver that accepts connections but never answers in time).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class HttpReceiver:
    """A threaded HTTP server on 127.0.0.1 recording requests; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.attempts: list[Received] = []  # every request, answered with success or not
        self.statuses: list[int] = []
        self.hang = 0.0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                got = Received("POST", self.path, dict(self.headers.items()), body, time.monotonic())
                with receiver._lock:
                    receiver.attempts.append(got)
                if receiver.hang:
                    time.sleep(receiver.hang)
                with receiver._lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    if status < 300:
                        receiver.requests.append(got)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> HttpReceiver:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def received(self) -> list[Received]:
        """The requests answered with a success so far."""
        with self._lock:
            return list(self.requests)

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> list[Received]:
        """The requests once ``predicate(requests)`` holds (or whatever arrived by ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.received()
            if predicate(got) or time.monotonic() > deadline:
                return got
            time.sleep(0.05)


WEBHOOK_CONFIG = """
[notify]
webhook_url = "{url}/hook"
events = ["breaker.opened", "tool.denied", "permission.waiting", "session.stop"]

[breaker]
max_failures = {max_failures}
cooldown_seconds = 600
"""


def webhook_config(receiver: HttpReceiver, max_failures: int) -> str:
    """A ``hooks.toml`` that notifies ``receiver`` (at ``/hook``) of a breaker opening, a denied call,
    a permission prompt waiting and a session's end; the breaker opens after ``max_failures`` failures."""
    return WEBHOOK_CONFIG.format(url=receiver.url, max_failures=max_failures)


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_workers(state_dir: str | os.PathLike[str]) -> list[int]:
    """SIGKILL the detached workers (notification sender, OTLP shipper) a test's hooks started, by the
    pids in their lock files; returns the pids that were still running."""
    import signal
    from pathlib import Path

    killed = []
    for lock in sorted(Path(state_dir, "workers").glob("*.lock")):
        text = lock.read_text().strip()
        if text.isdigit():
            try:
                os.kill(int(text), signal.SIGKILL)
                killed.append(int(text))
            except ProcessLookupError:
                pass
    return killed


def worker_pid(state_dir: str | os.PathLike[str], name: str, timeout: float = 10.0) -> int | None:
    """The pid of the running worker ``name`` (waits for it to take its lock)."""
    import fcntl
    from pathlib import Path

    lock = Path(state_dir, "workers", name + ".lock")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            fd = os.open(lock, os.O_RDONLY)
        except FileNotFoundError:
            time.sleep(0.05)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = lock.read_text().strip()
            if text.isdigit():
                return int(text)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        time.sleep(0.05)
    return None


def decode(request: Received) -> ExportTraceServiceRequest:
    """The export request a POST carried (protobuf, or OTLP/JSON parsed back into the same class),
    decoded with the official OpenTelemetry protobuf classes."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    if request.headers.get("Content-Type") == "application/json":
        import base64

        from google.protobuf.json_format import ParseDict

        data = json.loads(request.body)
        for rs in data.get("resourceSpans", ()):
            for ss in rs.get("scopeSpans", ()):
                for span in ss.get("spans", ()):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in span:  # OTLP/JSON ids are hex; protobuf's JSON mapping wants base64
                            span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
        return ParseDict(data, ExportTraceServiceRequest())
    return ExportTraceServiceRequest.FromString(request.body)


def spans_of(requests: list[Received]) -> list[dict[str, object]]:
    """Every span received, as plain values (ids hex, attributes a dict of Python values)."""
    out = []
    for request in requests:
        message = decode(request)
        for rs in message.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    attributes: dict[str, object] = {}
                    for kv in span.attributes:
                        kind = kv.value.WhichOneof("value")
                        attributes[kv.key] = getattr(kv.value, kind) if kind else None
                    out.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "status": span.status.code,
                            "attributes": attributes,
                            "resource": resource,
                            "path": request.path,
                        }
                    )
    return out
