"""The dashboard's HTTP API, stream and checks, served in this process (no browser needed)."""

from __future__ import annotations

import argparse
import http.client
import json
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashkit import DESTRUCTIVE, TRANSCRIPT_COST, FilledProject

from lib.cli import build_parser
from lib.cli.dashboard import serve
from lib.dashboard.server import COOKIE, DashboardServer, is_loopback


class Running:
    def __init__(self, server: DashboardServer) -> None:
        self.server = server
        self.host, self.port = "127.0.0.1", int(server.server_address[1])

    def request(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        out = (response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        conn.close()
        return out

    def json(self, path: str, **headers: str) -> Any:
        status, _, body = self.request("GET", path, headers=headers)
        assert status == 200, body
        return json.loads(body)


def _start(project: Path, host: str = "127.0.0.1") -> Running:
    server, dashboard = serve(argparse.Namespace(project=str(project), host=host, port=0, open=False))
    dashboard.poll_interval = 0.05
    dashboard.start()
    assert dashboard.loaded.wait(timeout=60)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return Running(server)


def _stop(running: Running) -> None:
    running.server.shutdown()
    running.server.server_close()
    running.server.dashboard.stop()


@pytest.fixture
def served(filled_project: FilledProject) -> Iterator[Running]:
    running = _start(filled_project.path)
    yield running
    _stop(running)


def test_snapshot_has_sessions_calls_breakers_and_cost(
    served: Running, filled_project: FilledProject
) -> None:
    data = served.json("/api/snapshot")
    sid = filled_project.session_id
    [session] = [s for s in data["log_sessions"] if s["session_id"] == sid]
    assert session["ended"] and session["prompts"] == 1 and session["failures"] >= 5
    assert session["model"] is None or isinstance(session["model"], str)
    assert [s["status"] for s in data["state_sessions"] if s["session_id"] == sid] == ["ended"]
    [denied] = [c for c in data["feed"] if c["id"] == "toolu_deny_1"]
    assert (
        denied["input"] == DESTRUCTIVE and denied["decision"] == "denied" and denied["by"] == ["guards.bash"]
    )
    assert any(b["state"] == "open" for b in data["breakers"])
    assert data["usage"]["sessions"][sid]["cost_usd"] == round(TRANSCRIPT_COST, 6)
    assert data["timeline"]["points"] and data["hint"] is None and data["skipped"] == {}
    status, headers, page = served.request("GET", "/")
    assert status == 200 and b"/static/app.js" in page
    assert "script-src 'self'" in headers["content-security-policy"]
    for name, kind in (("app.js", "javascript"), ("app.css", "css")):
        status, headers, _ = served.request("GET", f"/static/{name}")
        assert status == 200 and kind in headers["content-type"]
    assert served.request("HEAD", "/")[0] == 200
    assert served.request("HEAD", "/api/stream")[0] == 405
    assert served.request("GET", "/static/../../etc/passwd")[0] == 404
    assert served.request("GET", "/nope")[0] == 404


def test_trace_rows_of_a_session(served: Running, filled_project: FilledProject) -> None:
    trace = served.json(f"/api/trace?session={filled_project.session_id}")
    names = [s["name"] for s in trace["spans"]]
    assert names[0] == "session" and "PreToolUse" in names
    assert trace["total_ms"] > 0 and all(s["offset_ms"] >= 0 for s in trace["spans"])
    assert served.json("/api/trace?session=unknown") == {"spans": [], "total_ms": 0.0, "truncated": False}
    assert served.request("GET", "/api/trace")[0] == 400


def _read_events(response: http.client.HTTPResponse, wanted: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    event = None
    while time.monotonic() < deadline:
        line = response.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == wanted:
            return dict(json.loads(line[6:]))
    raise AssertionError(f"no {wanted} event within {timeout}s")


def test_the_stream_sends_new_calls_and_state_changes(served: Running, filled_project: FilledProject) -> None:
    seq = served.json("/api/snapshot")["seq"]
    conn = http.client.HTTPConnection(served.host, served.port, timeout=20)
    conn.request("GET", f"/api/stream?since={seq}")
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "text/event-stream"
    filled_project.fire(filled_project.bash_pre("echo streamed", "toolu_stream_1"))
    data = _read_events(response, "calls", 15)
    assert [r["id"] for r in data["rows"]] == ["toolu_stream_1"] and data["seq"] > seq
    conn.close()
    # a client too far behind is told to reload
    served.server.dashboard.model.changes.clear()
    conn = http.client.HTTPConnection(served.host, served.port, timeout=20)
    conn.request("GET", "/api/stream?since=bogus")
    response = conn.getresponse()
    filled_project.fire(filled_project.bash_pre("echo again", "toolu_stream_2"))
    assert _read_events(response, "reload", 15) == {}
    conn.close()


def test_breaker_reset_is_guarded_and_uses_the_cli_reset(
    served: Running, filled_project: FilledProject
) -> None:
    name = next(b["name"] for b in served.json("/api/snapshot")["breakers"] if b["state"] == "open")
    post = served.request
    assert post("POST", "/api/breakers/reset", {"name": name})[0] == 403  # no X-Dashboard header
    crossing = {"X-Dashboard": "1", "Origin": "http://evil.example", "Content-Type": "application/json"}
    assert post("POST", "/api/breakers/reset", {"name": name}, crossing)[0] == 403
    ok = {"X-Dashboard": "1", "Content-Type": "application/json"}
    assert post("POST", "/api/breakers/reset", b"not json", ok)[0] == 400
    assert post("POST", "/api/breakers/reset", {"nom": name}, ok)[0] == 400
    assert post("POST", "/api/breakers/reset", b"", ok)[0] == 400
    assert post("POST", "/api/other", {"name": name}, ok)[0] == 404
    status, _, body = post("POST", "/api/breakers/reset", {"name": "NoSuchTool"}, ok)
    assert (status, json.loads(body)) == (404, {"reset": [], "not_found": ["NoSuchTool"]})
    assert filled_project.hooks.state("breakers")["breakers"][name]["state"] == "open"
    status, _, body = post("POST", "/api/breakers/reset", {"name": name}, ok)
    assert (status, json.loads(body)) == (200, {"reset": [name], "not_found": []})
    assert name not in filled_project.hooks.state("breakers").get("breakers", {})


def test_only_loopback_host_names_are_answered(served: Running) -> None:
    assert served.request("GET", "/api/snapshot", headers={"Host": "attacker.example:80"})[0] == 403
    assert served.request("GET", "/api/snapshot", headers={"Host": f"localhost:{served.port}"})[0] == 200
    assert served.request("GET", "/api/snapshot", headers={"Host": f"[::1]:{served.port}"})[0] == 200
    assert is_loopback("127.0.0.2") and is_loopback("::1") and not is_loopback("0.0.0.0")
    assert not is_loopback("example.com")


def test_binding_beyond_loopback_needs_the_token(filled_project: FilledProject) -> None:
    running = _start(filled_project.path, host="0.0.0.0")
    try:
        token = running.server.token
        assert token and running.server.url.startswith("http://0.0.0.0:")
        status, _, body = running.request("GET", "/api/snapshot")
        assert status == 401 and b"token" in body
        assert running.request("GET", "/api/snapshot", headers={"Authorization": "Bearer wrong"})[0] == 401
        assert running.request("GET", "/api/snapshot", headers={"Authorization": f"Bearer {token}"})[0] == 200
        status, headers, _ = running.request("GET", f"/?token={token}")
        assert status == 200 and headers["set-cookie"].startswith(f"{COOKIE}={token};")
        assert "HttpOnly" in headers["set-cookie"]
        cookie = {"Cookie": f"{COOKIE}={token}", "Host": "my-machine.lan"}
        assert running.request("GET", "/api/snapshot", headers=cookie)[0] == 200
        assert running.request("GET", "/api/snapshot", headers={"Cookie": "x=\x7f;;"})[0] == 401
    finally:
        _stop(running)


def test_torn_and_corrupt_records_are_skipped_and_counted(filled_project: FilledProject) -> None:
    logs = filled_project.path / ".claude" / "logs"
    with open(logs / "hooks.jsonl", "ab") as f:
        f.write(
            b'{"ts": "2026-01-01T00:00:00Z", "hook": "runtime", "event": "PreTo\n\xff\xfe garbage\n[1, 2]\n'
        )
    with open(logs / "events.jsonl", "ab") as f:
        f.write(b"not json at all\n")
    running = _start(filled_project.path)
    try:
        data = running.json("/api/snapshot")
        assert data["skipped"] == {"hooks": 3, "events": 1}
        assert data["feed"]  # the good records are all there
    finally:
        _stop(running)


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "lib", "--project", str(tmp_path), "dashboard", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"dashboard: port {port} on 127.0.0.1 is in use (another dashboard?); "
        "choose another with --port N, or --port 0 for any free port"
    )
    assert "Traceback" not in proc.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "lib", "--project", str(tmp_path), "dashboard", "--host", "192.0.2.1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and bad.stderr.startswith("dashboard: cannot listen on 192.0.2.1:8765: ")


def test_an_empty_project_gets_a_hint(tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    running = _start(tmp_path)
    try:
        data = running.json("/api/snapshot")
        assert data["hint"].startswith("No hook activity recorded in ")
        assert data["feed"] == [] and data["breakers"] == [] and data["usage"]["total"]["cost_usd"] is None
    finally:
        _stop(running)


def test_the_command_prints_the_url_and_stops_on_interrupt(tmp_path: Path) -> None:
    from dashkit import start_dashboard

    dash = start_dashboard(tmp_path)
    try:
        assert dash.lines[0] == f"Dashboard of {tmp_path}"
        import signal

        dash.proc.send_signal(signal.SIGINT)
        assert dash.proc.wait(timeout=10) == 0
        again = start_dashboard(tmp_path)  # SIGTERM stops it cleanly too
        again.proc.send_signal(signal.SIGTERM)
        assert again.proc.wait(timeout=10) == 0
    finally:
        if dash.proc.poll() is None:
            dash.proc.kill()
            dash.proc.wait()


def test_run_prints_the_token_once_and_opens_the_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import webbrowser

    from lib.cli import dashboard as command

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)

    def interrupted(self: DashboardServer, poll_interval: float = 0.5) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(DashboardServer, "serve_forever", interrupted)
    args = argparse.Namespace(project=str(tmp_path), host="0.0.0.0", port=0, open=True)
    assert command.run(args) == 0
    parsed = build_parser().parse_args(["dashboard", "--port", "0", "--open"])
    assert (parsed.func, parsed.host, parsed.port, parsed.open) == (command.run, "127.0.0.1", 0, True)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Dashboard of {tmp_path}"
    assert out[1].startswith("  http://0.0.0.0:") and "?token=" in out[1]
    assert opened == [out[1].strip()]
    assert out[-1] == "Ctrl-C stops it."


def test_serve_names_the_problem_with_the_address(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit, match=re.escape(f"port {port} on 127.0.0.1 is in use")):
            serve(argparse.Namespace(project=str(tmp_path), host="127.0.0.1", port=port, open=False))
    with pytest.raises(SystemExit, match=re.escape("cannot listen on 192.0.2.1:0")):
        serve(argparse.Namespace(project=str(tmp_path), host="192.0.2.1", port=0, open=False))
