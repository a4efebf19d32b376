"""The hook's lean Redis connection (hiredis over a plain socket) against a real redis-server:
URLs, passwords, databases, unix sockets, error replies, and a frozen server costing one timeout."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookkit import NO_COVERAGE
from redis_server import RedisServer, free_port

from lib.backends.redis_client import BackendUnavailable, execute, reset_clients, run
from lib.backends.resp import Connection, ConnectionFailure, ServerError, parse_url
from lib.backends.settings import BackendSettings

pytestmark = pytest.mark.redis


def _python(code: str) -> str:
    """What ``code`` prints, run by a fresh interpreter from the repository."""
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=str(Path(__file__).resolve().parents[2]),
        env=os.environ | NO_COVERAGE,  # these children count their imports: coverage's own would show
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6380/2", {"host": "127.0.0.1", "port": 6380, "db": 2, "password": None}),
        ("redis://localhost", {"host": "localhost", "port": 6379, "db": 0}),
        ("redis://:s%40cret@h:1/0", {"host": "h", "password": "s@cret", "username": None}),
        ("redis://bob:pw@h/3", {"username": "bob", "password": "pw", "db": 3}),
        ("redis://pw@h", {"username": None, "password": "pw"}),
        ("redis://[::1]:7000", {"host": "::1", "port": 7000}),
        ("rediss://h:6390/0?ssl_cert_reqs=none", {"scheme": "rediss", "query": {"ssl_cert_reqs": "none"}}),
        ("unix:///run/redis.sock?db=4&password=x", {"path": "/run/redis.sock", "db": 4, "password": "x"}),
    ],
)
def test_urls_are_read_like_redis_py_reads_them(url: str, expected: dict[str, object]) -> None:
    parts = parse_url(url)
    assert {k: parts[k] for k in expected} == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://h", "not a redis://"),
        ("redis://h:99999", "port"),
        ("redis://h:x", "port"),
        ("redis://h/db", "database"),
        ("unix://", "socket path"),
    ],
)
def test_a_bad_url_names_the_problem(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_url(url)
    with pytest.raises(BackendUnavailable, match="bad URL"):
        execute(BackendSettings(url), "PING")


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[RedisServer]:
    """A server with a password and a unix socket."""
    server = RedisServer(tmp_path / "r")
    server.socket = str(tmp_path / "r" / "redis.sock")  # type: ignore[attr-defined]
    binary, port = server.binary, server.port
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--requirepass", "s3cret", "--unixsocket", server.socket, "--unixsocketperm", "700",  # type: ignore[attr-defined]
         "--dir", str(tmp_path / "r")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server.proc = proc
    deadline = time.monotonic() + 20
    while not server.ping() and time.monotonic() < deadline:
        time.sleep(0.02)
    reset_clients()
    yield server
    reset_clients()
    server.stop()


def test_password_database_and_unix_socket(secured: RedisServer) -> None:
    port = secured.port
    good = BackendSettings(f"redis://:s3cret@127.0.0.1:{port}/3")
    assert execute(good, "SET", "k", "v") == b"OK"
    assert run(good, [("GET", "k"), ("DBSIZE",)]) == [b"v", 1]
    sock = secured.socket  # type: ignore[attr-defined]
    over_unix = BackendSettings(f"unix://{sock}?db=3&password=s3cret")
    assert execute(over_unix, "GET", "k") == b"v"
    assert execute(BackendSettings(f"unix://{sock}?password=s3cret"), "GET", "k") is None  # db 0
    reply = run(good, [("INCR", "k"), ("PING",)])
    assert isinstance(reply[0], ServerError) and reply[1] == b"PONG"  # an error reply is a value
    with pytest.raises(BackendUnavailable, match="INCR refused"):
        execute(good, "INCR", "k")
    with pytest.raises(BackendUnavailable, match=r"set-up refused: .*WRONGPASS|invalid"):
        execute(BackendSettings(f"redis://:wrong@127.0.0.1:{port}/0"), "PING")
    with pytest.raises(BackendUnavailable, match="not retried"):  # remembered as down
        execute(BackendSettings(f"redis://:wrong@127.0.0.1:{port}/0"), "PING")


def test_a_frozen_server_costs_one_timeout_and_a_dropped_connection_reconnects(
    redis_server: RedisServer,
) -> None:
    reset_clients()
    settings = BackendSettings(redis_server.url, timeout=0.3)
    assert execute(settings, "PING") == b"PONG"
    assert redis_server.proc is not None
    os.kill(redis_server.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        with pytest.raises(BackendUnavailable, match="no answer within the timeout"):
            execute(settings, "PING")
        assert 0.25 < time.monotonic() - t0 < 1.5
        t0 = time.monotonic()
        with pytest.raises(BackendUnavailable, match="not retried"):
            execute(settings, "PING")
        assert time.monotonic() - t0 < 0.05
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)
    reset_clients()
    assert execute(settings, "PING") == b"PONG"  # a fresh connection after the failure


def test_a_server_that_hangs_up_mid_reply_is_a_connection_failure() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        conn.recv(100)
        conn.sendall(b"$10\r\nabc")  # half a bulk string, then the connection closes
        conn.close()

    import threading

    thread = threading.Thread(target=serve)
    thread.start()
    connection = Connection(f"redis://127.0.0.1:{port}", 2.0)
    with pytest.raises(ConnectionFailure, match="closed by the server"):
        connection.execute("GET", "k")
    thread.join()
    listener.close()
    with pytest.raises(ConnectionFailure, match="cannot connect"):
        Connection(f"redis://127.0.0.1:{free_port()}", 0.5).execute("PING")
    connection.close()


def test_a_hook_on_redis_never_imports_redis_py(redis_url: str, tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from lib.backends import open_state, open_bus\n"
        "from lib.config import validate_config\n"
        "from lib.paths import Paths\n"
        f"paths = Paths({str(tmp_path)!r})\n"
        f"config = validate_config({{'backend': {{'url': {redis_url!r}}}}}, environ={{}})\n"
        "s = open_state(paths, config, 'breakers')\n"
        "with s.transaction() as st: st['a'] = 1\n"
        "assert s.read() == {'a': 1}\n"
        "bus = open_bus(paths.log_dir, config, project_dir=paths.project_dir)\n"
        "bus.publish_many([('tool.pre', {'n': 1}), ('tool.post', {'n': 2})])\n"
        "consumer = bus.consumer('summary', topics=['tool.post'])\n"  # what the Stop hook does
        "consumer.state['seen'] = [e.payload['n'] for e in consumer.read()]\n"
        "consumer.commit()\n"
        "again = bus.consumer('summary', topics=['tool.post'])\n"
        "assert again.state == {'seen': [2]} and again.read() == [], again.state\n"
        "print('redis' in sys.modules, 'hiredis' in sys.modules, 'json' in sys.modules)\n"
    )
    assert _python(code).split() == ["False", "True", "False"]


def test_a_missing_client_package_names_the_install_command(redis_url: str) -> None:
    code = (
        "import sys\n"
        "sys.modules['hiredis'] = None\n"
        "sys.modules['redis'] = None\n"
        "from lib.backends.redis_client import BackendUnavailable, execute, get_client\n"
        "from lib.backends.settings import BackendSettings\n"
        f"settings = BackendSettings({redis_url!r})\n"
        "for attempt in (lambda: execute(settings, 'PING'), lambda: get_client(settings)):\n"
        "    try:\n"
        "        attempt()\n"
        "    except BackendUnavailable as exc:\n"
        "        print(exc)\n"
    )
    out = _python(code).splitlines()
    assert len(out) == 2
    assert "the 'hiredis' package is not installed; run: pip install 'claude-hooks-runtime[redis]'" in out[0]
    assert "the 'redis' package is not installed" in out[1]


def test_tls_with_a_ca_file_and_without_verification(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-days", "1"],
        capture_output=True,
    )  # fmt: skip
    if made.returncode != 0:
        pytest.skip(f"openssl cannot make a certificate here: {made.stderr[-200:]!r}")
    server = RedisServer(tmp_path / "r")
    tls_port = free_port()
    server.proc = subprocess.Popen(
        [server.binary, "--port", str(server.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--tls-port", str(tls_port), "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no", "--dir", str(tmp_path / "r")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not server.ping() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.ping():
            pytest.skip("this redis-server was built without TLS")
        reset_clients()
        verified = BackendSettings(f"rediss://localhost:{tls_port}/0?ssl_ca_certs={cert}", timeout=5.0)
        assert execute(verified, "PING") == b"PONG"
        unverified = BackendSettings(f"rediss://127.0.0.1:{tls_port}/0?ssl_cert_reqs=none", timeout=5.0)
        assert execute(unverified, "ECHO", "over tls") == b"over tls"
        reset_clients()
        untrusted = BackendSettings(f"rediss://localhost:{tls_port}/0", timeout=5.0)
        with pytest.raises(BackendUnavailable, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            execute(untrusted, "PING")
    finally:
        reset_clients()
        server.stop()
