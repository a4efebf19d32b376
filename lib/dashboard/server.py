"""The dashboard's HTTP server: one page, a small JSON API and a Server-Sent-Events stream.

Routes::

    GET  /                      the page (static/index.html; ?token=... sets the token cookie)
    GET  /static/app.js|app.css the page's script and style (shipped in the package)
    GET  /api/snapshot          everything the page shows, as JSON
    GET  /api/trace?session=ID  a session's span tree as waterfall rows
    GET  /api/stream?since=SEQ  SSE: ``calls`` (changed tool-call rows), ``state`` (reload), pings
    POST /api/breakers/reset    {"name": KEY}: the reset of ``python -m lib breakers reset KEY``

Standard library only (``http.server.ThreadingHTTPServer``): one thread per connection is plenty for a
local page, and one follower thread reads the logs for every client. Bound to loopback, requests must
name a loopback host (no DNS rebinding); bound elsewhere, every request must carry the token printed at
start (cookie, ``Authorization: Bearer`` or ``?token=``). The reset is the only write; it needs the
``X-Dashboard: 1`` header (a cross-site form cannot send it) and, when an ``Origin`` is sent, ours.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
import time
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from lib.dashboard.model import DashboardModel
from lib.dashboard.sources import ProjectSource, flatten_trace
from lib.usage.transcript import json_object

__all__ = ["Dashboard", "DashboardServer", "is_loopback"]

STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
COOKIE = "claude_hooks_dashboard"
PING_SECONDS = 15.0
LOAD_CHUNK = 5_000
"""Records per log read under the lock while the backlog is first read."""
MAX_BODY = 4096


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine only."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _static(name: str) -> bytes:
    return (resources.files("lib.dashboard") / "static" / name).read_bytes()


class Dashboard:
    """The model, the source feeding it, and the follower thread that keeps it current."""

    def __init__(self, source: ProjectSource, *, poll_interval: float = 0.25) -> None:
        self.source = source
        self.model = DashboardModel()
        self.poll_interval = poll_interval
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.loaded = threading.Event()
        self.stopping = threading.Event()
        self.state_version = 0
        self.load_seconds: float | None = None
        self._fingerprint: tuple[object, ...] | None = None
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def start(self) -> None:
        """Start following the logs (the first pass reads everything kept)."""
        self._thread = threading.Thread(target=self._follow, name="dashboard-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the follower and close the readers."""
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.source.close()

    def _poll_once(self, limit: int | None = None) -> bool:
        with self.lock:  # one chunk at a time: snapshots are served while a big backlog is read
            got = self.source.poll(self.model, limit) > 0
        fingerprint = self.source.state_fingerprint()
        state_changed = fingerprint != self._fingerprint
        self._fingerprint = fingerprint
        if got or state_changed:
            with self.changed:
                if state_changed:
                    self.state_version += 1
                self.changed.notify_all()
        return got

    def _follow(self) -> None:
        started = time.perf_counter()
        try:
            while self._poll_once(LOAD_CHUNK) and not self.stopping.is_set():
                pass
        except Exception as exc:  # shown on the page; the follower keeps trying
            self.error = f"{type(exc).__name__}: {exc}"
        self.load_seconds = time.perf_counter() - started
        self.loaded.set()
        with self.changed:  # the page drew a partial snapshot: tell it to fetch the whole one
            self.state_version += 1
            self.changed.notify_all()
        while not self.stopping.wait(self.poll_interval):
            try:
                while self._poll_once() and not self.stopping.is_set():
                    pass
                self.error = None
            except Exception as exc:
                self.error = f"{type(exc).__name__}: {exc}"

    def snapshot(self) -> dict[str, Any]:
        """Everything the page shows (while the logs are first read: what was read so far)."""
        loading = not self.loaded.is_set()
        state = self.source.state()
        with self.lock:
            model = self.model
            data: dict[str, Any] = {
                "seq": model.seq,
                "state_version": self.state_version,
                "feed": model.feed(),
                "log_sessions": model.session_rows(),
                "timeline": model.timeline(),
                "records": model.records,
                "events": model.events,
                "skipped": dict(model.skipped),
            }
        paths = self.source.paths
        data.update(
            project=paths.project_dir,
            log_dir=paths.log_dir,
            generated_at=time.time(),
            load_seconds=self.load_seconds,
            error=self.error,
            breakers=state["breakers"],
            rate_limits=state["rate_limits"],
            state_sessions=state["sessions"],
            usage=state["usage"],
            loading=loading,
            hint=None if loading else self._hint(data),
        )
        return data

    def _hint(self, data: dict[str, Any]) -> str | None:
        paths = self.source.paths
        import os

        if not os.path.isdir(paths.project_dir):
            return f"No project at {paths.project_dir}: give an existing directory with --project DIR."
        if not data["records"] and not data["events"]:
            return (
                f"No hook activity recorded in {paths.log_dir} yet: install the hooks with "
                f"./install.sh {paths.project_dir} and run claude there; this page updates by itself."
            )
        return None


class DashboardServer(ThreadingHTTPServer):
    """The HTTP server of one :class:`Dashboard`."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, address: tuple[str, int], dashboard: Dashboard, *, token: str | None) -> None:
        self.dashboard = dashboard
        self.token = token
        self.static = {name: _static(name) for name in STATIC_TYPES}
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """Where the page is (host as bound, actual port)."""
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


class _Handler(BaseHTTPRequestHandler):
    server: DashboardServer  # pyright: ignore[reportIncompatibleVariableOverride]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the dashboard does not log every request."""

    # -- plumbing -------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in {**SECURITY_HEADERS, **(extra or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: object) -> None:
        self._send(status, orjson.dumps(value, default=str), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def _host_ok(self) -> bool:
        if self.server.token is not None:
            return True  # the token is the check; the Host may be any name of the machine
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback(name.strip("[]"))

    def _token_ok(self) -> bool:
        token = self.server.token
        if token is None:
            return True
        offered: list[str] = []
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            offered.append(auth[7:].strip())
        cookie = SimpleCookie()
        try:
            cookie.load(self.headers.get("Cookie", ""))
        except Exception:
            pass
        if COOKIE in cookie:
            offered.append(cookie[COOKIE].value)
        offered.extend(self._query().get("token", []))
        return any(hmac.compare_digest(o.encode(), token.encode()) for o in offered)

    def _allowed(self) -> bool:
        if not self._host_ok():
            self._error(HTTPStatus.FORBIDDEN, "this dashboard answers only to localhost / 127.0.0.1")
            return False
        if not self._token_ok():
            self._error(
                HTTPStatus.UNAUTHORIZED,
                "token required: open the URL with ?token=... that the dashboard printed at start",
            )
            return False
        return True

    # -- routes ---------------------------------------------------------------------------------

    def do_HEAD(self) -> None:
        """Headers of a GET (not of the stream, which never ends)."""
        if urlsplit(self.path).path == "/api/stream":
            self._error(HTTPStatus.METHOD_NOT_ALLOWED, "GET the stream")
            return
        self.do_GET()

    def do_GET(self) -> None:
        """The page, its files, the API and the stream."""
        if not self._allowed():
            return
        route = urlsplit(self.path).path
        try:
            if route in ("/", "/index.html"):
                extra: dict[str, str] = {}
                if self.server.token is not None and self._query().get("token"):
                    extra["Set-Cookie"] = f"{COOKIE}={self.server.token}; HttpOnly; SameSite=Strict; Path=/"
                self._send(HTTPStatus.OK, self.server.static["index.html"], STATIC_TYPES["index.html"], extra)
            elif route.startswith("/static/") and route[8:] in STATIC_TYPES:
                name = route[8:]
                self._send(HTTPStatus.OK, self.server.static[name], STATIC_TYPES[name])
            elif route == "/api/snapshot":
                self._json(HTTPStatus.OK, self.server.dashboard.snapshot())
            elif route == "/api/trace":
                session = (self._query().get("session") or [""])[0]
                if not session:
                    self._error(HTTPStatus.BAD_REQUEST, "give ?session=<session id>")
                    return
                self._json(HTTPStatus.OK, flatten_trace(self.server.dashboard.source.trace(session)))
            elif route == "/api/stream":
                self._stream()
            else:
                self._error(HTTPStatus.NOT_FOUND, f"no such page: {route}")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_POST(self) -> None:
        """The one write: reset a breaker."""
        if not self._allowed():
            return
        route = urlsplit(self.path).path
        if route != "/api/breakers/reset":
            self._error(HTTPStatus.NOT_FOUND, f"no such action: {route}")
            return
        if self.headers.get("X-Dashboard") != "1":
            self._error(HTTPStatus.FORBIDDEN, "missing X-Dashboard: 1 header (resets come from the page)")
            return
        origin = self.headers.get("Origin")
        host = self.headers.get("Host", "")
        if origin is not None and origin != f"http://{host}":
            self._error(HTTPStatus.FORBIDDEN, f"cross-origin request from {origin[:100]!r} refused")
            return
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY:
            self._error(HTTPStatus.BAD_REQUEST, f"send a JSON body of at most {MAX_BODY} bytes")
            return
        try:
            body = orjson.loads(self.rfile.read(length))
        except orjson.JSONDecodeError:
            body = None
        name = json_object(body).get("name")
        if not isinstance(name, str) or not name:
            self._error(HTTPStatus.BAD_REQUEST, 'body must be {"name": "<breaker key>"}')
            return
        dashboard = self.server.dashboard
        done, missing = dashboard.source.reset_breaker(name)
        with dashboard.changed:
            dashboard.state_version += 1
            dashboard.changed.notify_all()
        status = HTTPStatus.OK if done else HTTPStatus.NOT_FOUND
        self._json(status, {"reset": done, "not_found": missing})

    def _stream(self) -> None:
        dashboard = self.server.dashboard
        try:
            seq = int((self._query().get("since") or ["0"])[0])
        except ValueError:
            seq = 0
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "keep-alive")
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)
        self.end_headers()
        self.close_connection = True
        dashboard.loaded.wait(timeout=60)
        state_version = dashboard.state_version
        self.wfile.write(b"retry: 1000\n\n")
        self.wfile.flush()
        last_write = time.monotonic()
        while not dashboard.stopping.is_set():
            with dashboard.changed:
                if dashboard.model.seq == seq and dashboard.state_version == state_version:
                    dashboard.changed.wait(timeout=PING_SECONDS)
                rows = dashboard.model.changes_since(seq)
                seq = dashboard.model.seq
                new_state = dashboard.state_version != state_version
                state_version = dashboard.state_version
            chunks: list[bytes] = []
            if rows is None:
                chunks.append(b"event: reload\ndata: {}\n\n")
            elif rows:
                chunks.append(b"event: calls\ndata: " + orjson.dumps({"seq": seq, "rows": rows}) + b"\n\n")
            if new_state:
                chunks.append(b"event: state\ndata: {}\n\n")
            if not chunks and time.monotonic() - last_write >= PING_SECONDS:
                chunks.append(b": ping\n\n")
            if chunks:
                self.wfile.write(b"".join(chunks))
                self.wfile.flush()
                last_write = time.monotonic()
