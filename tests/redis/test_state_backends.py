"""The state store on both backends: the JsonStore contract, no lost update across processes, lock
timeouts; and what only Redis has: TTLs, per-project namespaces, fencing, corrupt documents."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from redis_backend import Backend
from redis_clients import run_clients
from store_contract import check_a_raising_transaction_writes_nothing

from lib.backends import open_state
from lib.backends.redis_client import BackendUnavailable
from lib.locking import LockTimeout
from lib.store import StateError


def test_read_transaction_and_clear(backend: Backend) -> None:
    store = backend.state("things")
    assert store.read() == {}
    with store.transaction() as state:
        state["a"] = {"n": 1, "text": "héllo"}
    assert store.read() == {"a": {"n": 1, "text": "héllo"}}
    assert backend.state("things").read() == {"a": {"n": 1, "text": "héllo"}}  # another handle sees it
    store.clear()
    assert store.read() == {}


def test_an_exception_inside_a_transaction_writes_nothing_and_frees_the_lock(backend: Backend) -> None:
    store = backend.state("things")
    check_a_raising_transaction_writes_nothing(store)
    with backend.state("things", lock_timeout=0.2).transaction() as state:  # not left locked
        state["kept"] = 3
    assert store.read() == {"kept": 3}


def test_unserialisable_state_is_refused_with_the_store_named(backend: Backend) -> None:
    store = backend.state("things")
    with pytest.raises(StateError, match="not JSON-serialisable"), store.transaction() as state:
        state["bad"] = object()
    assert store.read() == {}


def test_a_held_lock_times_out_the_next_writer(backend: Backend) -> None:
    holder = backend.state("things")
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.transaction() as state:
            state["by"] = "holder"
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert entered.wait(5)
        t0 = time.monotonic()
        with (
            pytest.raises(LockTimeout, match="lock_timeout_seconds"),
            backend.state("things", lock_timeout=0.15).transaction(),
        ):
            pass
        assert time.monotonic() - t0 < 2
        assert backend.state("things").read() == {}  # lock-free read during the transaction
    finally:
        release.set()
        thread.join()
    assert holder.read() == {"by": "holder"}


@pytest.mark.slow
def test_no_update_is_lost_between_processes(backend: Backend) -> None:
    answers = run_clients(backend, "increment", 6, n=40)
    assert [a["done"] for a in answers] == [40] * 6
    state = backend.state("counter").read()
    assert state["n"] == 240
    assert sorted(state["by"].values()) == [40] * 6  # type: ignore[union-attr]


# -- Redis only ------------------------------------------------------------------------------------


@pytest.fixture
def redis_backend(redis_url: str, tmp_path: Path) -> Backend:
    return Backend("redis", tmp_path / "project", redis_url, fallback_to_file=False, ttl_seconds=120)


def _raw(url: str) -> object:
    import redis

    return redis.Redis.from_url(url)


@pytest.mark.redis
def test_state_is_one_json_document_per_store_under_a_project_key_with_a_ttl(redis_backend: Backend) -> None:
    store = redis_backend.state("breakers")
    with store.transaction() as state:
        state["x"] = 1
    client = _raw(redis_backend.url)
    assert client.get("claude-hooks:{project}:state:breakers") == b'{"x":1}'  # type: ignore[attr-defined]
    assert 100 < client.ttl("claude-hooks:{project}:state:breakers") <= 120  # type: ignore[attr-defined]
    assert client.exists("claude-hooks:{project}:state:breakers:lock") == 0  # type: ignore[attr-defined]
    client.expire("claude-hooks:{project}:state:breakers", 5)  # type: ignore[attr-defined]
    with store.transaction() as state:
        pass  # unchanged: not rewritten, but the TTL is refreshed
    assert client.ttl("claude-hooks:{project}:state:breakers") > 100  # type: ignore[attr-defined]
    store.clear()
    assert client.exists("claude-hooks:{project}:state:breakers") == 0  # type: ignore[attr-defined]


@pytest.mark.redis
def test_projects_are_namespaced_and_a_shared_namespace_is_shared(redis_url: str, tmp_path: Path) -> None:
    one = Backend("redis", tmp_path / "one" / "app", redis_url, fallback_to_file=False)
    other = Backend("redis", tmp_path / "other" / "api", redis_url, fallback_to_file=False)
    same_checkout_elsewhere = Backend(
        "redis", tmp_path / "ci-runner" / "app", redis_url, fallback_to_file=False
    )
    pinned = Backend("redis", tmp_path / "x" / "whatever", redis_url, fallback_to_file=False, namespace="app")
    with one.state("breakers").transaction() as state:
        state["Bash"] = "open"
    assert other.state("breakers").read() == {}
    assert same_checkout_elsewhere.state("breakers").read() == {"Bash": "open"}
    assert pinned.state("breakers").read() == {"Bash": "open"}
    prefixed = Backend(
        "redis", tmp_path / "one" / "app", redis_url, fallback_to_file=False, key_prefix="team2"
    )
    assert prefixed.state("breakers").read() == {}


@pytest.mark.redis
def test_a_writer_that_outlived_its_lease_is_fenced_off(redis_backend: Backend) -> None:
    slow = redis_backend.state("things", lock_timeout=0.1)  # lease 100 ms
    with pytest.raises(StateError, match="outlived its lock lease"), slow.transaction() as state:
        state["by"] = "slow"
        time.sleep(0.2)  # lease expired: another client may take the lock
        with redis_backend.state("things").transaction() as newer:
            newer["by"] = "fast"
    assert redis_backend.state("things").read() == {"by": "fast"}


@pytest.mark.redis
@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [(b"{not json", "not valid JSON"), (b"[1, 2]", "top level is list, expected a JSON object")],
)
def test_a_corrupt_document_is_moved_aside_and_reported(
    redis_backend: Backend, capsys: pytest.CaptureFixture[str], corrupt: bytes, reason: str
) -> None:
    client = _raw(redis_backend.url)
    client.set("claude-hooks:{project}:state:breakers", corrupt)  # type: ignore[attr-defined]
    store = redis_backend.state("breakers")
    assert store.read() == {}
    err = capsys.readouterr().err
    assert "claude-hooks:{project}:state:breakers" in err and reason in err and "moved aside" in err
    moved = client.keys("claude-hooks:{project}:state:breakers:corrupt-*")  # type: ignore[attr-defined]
    assert len(moved) == 1 and client.get(moved[0]) == corrupt  # type: ignore[attr-defined]
    assert client.ttl(moved[0]) > 0  # type: ignore[attr-defined]
    with store.transaction() as state:
        state["fresh"] = True
    assert store.read() == {"fresh": True}


@pytest.mark.redis
def test_an_unreachable_server_raises_fast_or_falls_back_to_the_file_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from redis_server import free_port

    url = f"redis://127.0.0.1:{free_port()}/0"
    strict = Backend("redis", tmp_path / "p", url, fallback_to_file=False)
    with pytest.raises(
        BackendUnavailable,
        match=r"127\.0\.0\.1:\d+/0: Redis unavailable \(cannot connect: ConnectionRefusedError: .*refused.*\); start it or fix \[backend\] url",
    ):
        strict.state("breakers").read()
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable, match="not retried"):  # remembered as down: no second wait
        strict.state("ratelimits").read()
    assert time.monotonic() - t0 < 0.05

    from lib.backends.redis_client import reset_clients

    reset_clients()
    lenient = Backend("redis", tmp_path / "p", url)  # fallback_to_file defaults to true
    warnings: list[str] = []
    store = open_state(lenient.paths, lenient.config, "breakers", warn=warnings.append)
    with store.transaction() as state:
        state["local"] = 1
    assert store.read() == {"local": 1}
    assert (tmp_path / "p" / ".claude" / "state" / "breakers.json").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Redis unavailable" in err[0] and "breakers.json" in err[0], err
    assert len(warnings) == 1
    reset_clients()


def test_the_file_backend_never_imports_redis(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from lib.registry import HookEvent\n"
        "from lib.paths import Paths\n"
        "from lib.config import validate_config\n"
        f"ev = HookEvent('PreToolUse', {{}}, paths=Paths({str(tmp_path)!r}), config={{}})\n"
        "s = ev.store('breakers')\n"
        "with s.transaction() as st: st['a'] = 1\n"
        "assert s.read() == {'a': 1}\n"
        "print(type(s).__name__, 'redis' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUDE_HOOKS_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.split() == ["JsonStore", "False"]


# -- status ----------------------------------------------------------------------------------------


def test_describe_the_file_backend(tmp_path: Path) -> None:
    from lib.backends import describe

    backend = Backend("file", tmp_path / "project", "file")
    info = describe(backend.paths, backend.config)
    assert info["backend"] == "file" and info["url"] == "file" and info["reachable"] is True
    assert info["state_dir"] == str(tmp_path / "project" / ".claude" / "state")


@pytest.mark.redis
def test_describe_a_reachable_and_an_unreachable_redis(redis_url: str, tmp_path: Path) -> None:
    from redis_server import free_port

    from lib.backends import describe

    backend = Backend("redis", tmp_path / "project", redis_url)
    with backend.state("breakers").transaction() as state:
        state["x"] = 1
    backend.bus().publish("tool.pre", {})
    info = describe(backend.paths, backend.config)
    assert info["backend"] == "redis" and info["reachable"] is True and info["error"] is None
    assert isinstance(info["latency_ms"], float) and info["server_version"]
    assert info["namespace"] == "project" and info["stores"] == ["breakers"] and info["events"] == 1
    port = free_port()
    down = Backend("redis", tmp_path / "project", f"redis://:s3cret@127.0.0.1:{port}/2")
    info = describe(down.paths, down.config)
    assert info["reachable"] is False and "Connection refused" in str(info["error"])
    assert info["url"] == f"redis://:***@127.0.0.1:{port}/2" and "s3cret" not in str(info)
