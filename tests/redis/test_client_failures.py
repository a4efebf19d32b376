"""What a user sees when the Redis backend cannot be used: a missing package, a bad URL, a server that
drops mid-call, a server marked down that comes back, and a lock wait the server answers too late.

Each failure is a :class:`BackendUnavailable` (or :class:`LockTimeout`) whose message names the URL and
the fix; none is a traceback.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator

import pytest

from lib.backends import redis_client
from lib.backends.redis_client import (
    BackendUnavailable,
    call,
    down_problem,
    execute,
    get_client,
    mark_down,
    reset_clients,
)
from lib.backends.redis_store import RedisStore
from lib.backends.settings import BackendSettings
from lib.locking import LockTimeout

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    reset_clients()
    yield
    reset_clients()


def test_a_server_marked_down_is_tried_again_once_the_pause_is_over(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = BackendSettings(redis_url)
    mark_down(settings, "connection refused")
    assert down_problem(settings) == "connection refused"
    with pytest.raises(BackendUnavailable, match="connection refused; not retried for"):
        execute(settings, "PING")
    later = time.monotonic() + redis_client.DOWN_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)  # the module redis_client reads the clock from
    assert down_problem(settings) is None
    assert execute(settings, "PING") in (b"PONG", "PONG", True)


@pytest.mark.parametrize(
    ("package", "use"),
    [
        ("redis", get_client),  # redis-py: the CLI and the readers
        ("hiredis", lambda settings: redis_client.run(settings, [("PING",)])),  # the hook's lean client
    ],
)
def test_a_missing_package_is_named_with_the_command_that_installs_it(
    package: str, use: Callable[[BackendSettings], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # `import <package>` now raises ImportError
    settings = BackendSettings("redis://127.0.0.1:1/0")
    with pytest.raises(BackendUnavailable) as raised:
        use(settings)
    message = str(raised.value)
    assert f"the {package!r} package is not installed" in message
    assert "pip install 'claude-hooks-runtime[redis]'" in message
    assert "redis://127.0.0.1:1/0" in message


def test_a_url_that_cannot_be_read_is_a_bad_url_not_a_crash() -> None:
    settings = BackendSettings("redis://127.0.0.1:notaport/0")
    with pytest.raises(BackendUnavailable, match="bad URL"):
        get_client(settings)  # redis-py (the CLI and readers)
    with pytest.raises(BackendUnavailable, match="notaport"):
        redis_client.run(settings, [("PING",)])  # the hook's lean connection


def test_a_call_that_fails_mid_way_marks_the_server_down_even_if_closing_fails(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = BackendSettings(redis_url)
    client = get_client(settings)

    def broken_disconnect() -> None:
        raise RuntimeError("socket already gone")

    monkeypatch.setattr(client.connection_pool, "disconnect", broken_disconnect)

    def dropped(_: object) -> None:
        raise ConnectionResetError("connection reset by peer")

    with pytest.raises(BackendUnavailable, match="connection reset by peer"):
        call(settings, dropped)
    assert down_problem(settings) is not None  # the next hooks fall back at once instead of waiting


def test_a_lock_wait_answered_after_the_deadline_is_a_lock_timeout(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = BackendSettings(redis_url, fallback_to_file=False)
    holder = RedisStore(settings, "breakers", lock_timeout=5)
    waiter = RedisStore(settings, "breakers", lock_timeout=0.05)
    real_execute = redis_client.execute

    def late_wake(s: BackendSettings, *args: object) -> object:
        if args and args[0] == "BLPOP":  # the server answers the wake-up wait only after our deadline
            time.sleep(0.1)
            raise BackendUnavailable(s.display_url, "timed out")
        return real_execute(s, *args)

    import lib.backends.redis_store as redis_store

    with holder.transaction() as state:
        state["held"] = True
        monkeypatch.setattr(redis_store, "execute", late_wake)
        with pytest.raises(LockTimeout, match="lock not acquired"), waiter.transaction():
            pass
    monkeypatch.undo()
    assert holder.read() == {"held": True}


def test_ttl_and_clear_of_a_store(redis_url: str) -> None:
    store = RedisStore(BackendSettings(redis_url, fallback_to_file=False), "tasks")
    assert store.ttl() is None  # no such key yet
    with store.transaction() as state:
        state["a"] = 1
    ttl = store.ttl()
    assert ttl is not None and 0 < ttl <= BackendSettings(redis_url).ttl_seconds
    store.clear()
    assert store.read() == {}
