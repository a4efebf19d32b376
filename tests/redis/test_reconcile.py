"""An outage is reconciled: what hooks wrote to the file fallback while Redis was down reaches Redis
when it is back, exactly once, and a breaker whose combined count crosses the threshold opens.

Real hooks (spawned as Claude Code spawns them) on two machines sharing one namespace, and a real
``redis-server`` killed with SIGKILL and started again (append-only file, so it keeps what it had).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hookkit import HookProject, payload_for
from redis_projects import backend_config, hook_project
from redis_server import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

BREAKERS = "claude-hooks:{webapp}:state:breakers"
RATELIMITS = "claude-hooks:{webapp}:state:ratelimits"
CONFIG_TAIL = (
    # one Bash breaker shared by every session and machine, as a team sharing a flaky tool would set it
    '[breaker]\nmax_failures = 5\ncooldown_seconds = 60\nbash_key = "tool"\nshared_keys = ["Bash"]\n'
    '[rate_limit]\nscope = "project"\n'
)


def _doc(url: str, key: str) -> dict[str, Any]:
    import redis

    raw = redis.Redis.from_url(url).get(key)
    return json.loads(raw) if raw else {}


def _stream(url: str) -> list[dict[bytes, bytes]]:
    import redis

    return [fields for _, fields in redis.Redis.from_url(url).xrange("claude-hooks:{webapp}:events")]


def _calls(doc: dict[str, Any]) -> list[float]:
    return sorted(c for w in doc.get("windows", {}).values() for c in w.get("calls", []))


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "Redis unavailable" in line]


@pytest.fixture
def server(tmp_path: Path) -> Any:
    server = RedisServer(tmp_path / "redis", durable=True)
    server.start()
    yield server
    server.stop()


def test_an_outage_is_replayed_once_and_the_combined_count_opens_the_breaker(
    server: RedisServer, tmp_path: Path
) -> None:
    config = backend_config(server.url, timeout_ms=2000) + CONFIG_TAIL
    laptop = hook_project(tmp_path / "laptop" / "webapp", config)
    runner = hook_project(tmp_path / "runner" / "webapp", config)
    for _ in range(3):  # three failures reach Redis
        assert laptop.run(payload_for("PostToolUseFailure", "Bash")).code == 0
    assert _doc(server.url, BREAKERS)["breakers"]["Bash"]["consecutive_failures"] == 3

    server.kill()
    during = [runner.run(payload_for("PostToolUseFailure", "Bash")) for _ in range(2)]
    during.append(runner.run(payload_for("PreToolUse", "Bash")))
    for result in during:  # answered, with exactly one warning line each
        assert result.code == 0 and "Traceback" not in result.stderr, result
        assert len(_warnings(result.stderr)) == 1, result.stderr
        assert "replayed into Redis when it is back" in result.stderr
    local_calls = _calls(runner.state("ratelimits"))
    assert len(local_calls) == 1
    assert (runner.path / ".claude" / "state" / "redis-journal.jsonl").exists()

    server.start()
    calls_before = _calls(_doc(server.url, RATELIMITS))
    # the runner's next hook replays its journal before it asks: 3 + 2 failures open the breaker
    first = runner.run(payload_for("PreToolUse", "Bash"))
    assert first.code == 0 and not _warnings(first.stderr), first
    assert first.decision == "deny" and "ircuit breaker" in first.reason, first
    record = _doc(server.url, BREAKERS)["breakers"]["Bash"]
    assert record["state"] == "open" and record["failures"] == 5
    assert laptop.run(payload_for("PreToolUse", "Bash")).decision == "deny"  # shared, as before
    # the outage's rate-limit call and events reached Redis
    redis_calls = _calls(_doc(server.url, RATELIMITS))
    assert set(local_calls) <= set(redis_calls) and set(calls_before) <= set(redis_calls)
    failures = [f for f in _stream(server.url) if f[b"topic"] == b"tool.failure"]
    assert len(failures) == 5
    assert sum(1 for f in failures if b"journal_id" in f) == 2

    # exactly once: the saved position lost (a crash right after replaying) replays nothing twice
    (runner.path / ".claude" / "state" / "redis-journal.json").unlink()
    again = runner.run(payload_for("PreToolUse", "Bash"))
    assert again.code == 0 and again.decision == "deny"
    assert _doc(server.url, BREAKERS)["breakers"]["Bash"]["failures"] == 5
    assert len([f for f in _stream(server.url) if f[b"topic"] == b"tool.failure"]) == 5
    assert _calls(_doc(server.url, RATELIMITS)).count(local_calls[0]) == 1


def _cli(project: HookProject, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lib", "--project", str(project.path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(Path(__file__).resolve().parents[2]),
        env=project.env(),
    )


def test_reading_commands_degrade_with_one_line_when_redis_is_down(
    server: RedisServer, tmp_path: Path
) -> None:
    project = hook_project(tmp_path / "webapp", backend_config(server.url, timeout_ms=2000) + CONFIG_TAIL)
    assert project.run(payload_for("PostToolUseFailure", "Bash")).code == 0
    server.kill()
    assert project.run(payload_for("PostToolUseFailure", "Bash")).code == 0  # to the local files
    for args in (["events"], ["events", "--consumers"], ["breakers"], ["ratelimits"], ["status"]):
        proc = _cli(project, *args)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        assert proc.returncode == 0, (args, proc.stderr)
        assert len(_warnings(proc.stderr)) + len(_warnings(proc.stdout)) == 1, (
            args,
            proc.stdout,
            proc.stderr,
        )
    shown = _cli(project, "events", "--json")
    assert '"tool.failure"' in shown.stdout  # the local file bus: what the hook wrote while Redis was away

    strict = hook_project(
        tmp_path / "strict", backend_config(server.url, timeout_ms=2000, fallback_to_file=False) + CONFIG_TAIL
    )
    for args in (["events"], ["events", "--consumers"], ["breakers"], ["ratelimits"]):
        proc = _cli(strict, *args)
        assert "Traceback" not in proc.stderr, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Redis unavailable" in lines[0], (args, proc.stderr)

    # back up: the first reader replays the journal
    server.start()
    proc = _cli(project, "breakers", "--json")
    assert proc.returncode == 0 and not _warnings(proc.stderr), proc.stderr
    assert _doc(server.url, BREAKERS)["breakers"]["Bash"]["failures"] == 2
