"""The Redis connection of one process: made lazily, with short timeouts, and remembered as down.

``redis`` (the optional extra, ``pip install .[redis]``) is imported here and only here, on first
use: a hook on the file backend never loads it. A client never retries by itself (a retry would
blow the hook's time budget); every Redis error becomes one :class:`BackendUnavailable` whose
message names the server, the problem and the fix. Once a call failed, the server counts as down
for :data:`DOWN_SECONDS` in this process, so the other stores of the same hook do not each wait
for their own timeout.
"""

from __future__ import annotations

import contextlib
import time

from lib.store import StateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    from lib.backends.settings import BackendSettings

    T = TypeVar("T")

__all__ = [
    "BLOCK_SECONDS",
    "DOWN_SECONDS",
    "BackendUnavailable",
    "call",
    "command",
    "get_client",
    "mark_down",
    "reset_clients",
]

#: How long a server that failed stays "down" for this process before it is tried again.
DOWN_SECONDS = 2.0
#: The longest ``XREAD BLOCK`` a blocking client waits; its reply timeout is this plus ``timeout``.
BLOCK_SECONDS = 5.0

_clients: dict[tuple[str, float, bool], Any] = {}
_down: dict[str, tuple[float, str]] = {}


class BackendUnavailable(StateError):
    """The Redis backend could not be used for this call (down, slow, refused or misconfigured)."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = url
        self.problem = problem
        super().__init__(
            f"{url}: Redis unavailable ({problem}); start it or fix [backend] url in .claude/hooks.toml "
            "(or CLAUDE_HOOKS_BACKEND)"
        )


def _problem(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    name = type(exc).__name__
    return f"{name}: {text}"[:300] if text else name


def mark_down(settings: BackendSettings, problem: str) -> None:
    """Remember that the server of ``settings`` failed (skipped for :data:`DOWN_SECONDS`)."""
    _down[settings.url] = (time.monotonic() + DOWN_SECONDS, problem)


def down_problem(settings: BackendSettings) -> str | None:
    """Why the server of ``settings`` counts as down right now, or ``None``."""
    entry = _down.get(settings.url)
    if entry is None:
        return None
    if time.monotonic() >= entry[0]:
        del _down[settings.url]
        return None
    return entry[1]


def get_client(settings: BackendSettings, *, blocking: bool = False) -> Any:
    """This process's ``redis.Redis`` for ``settings`` (``blocking``: a reply timeout long enough
    for ``XREAD BLOCK`` of up to :data:`BLOCK_SECONDS`).

    Raises :class:`BackendUnavailable` when the ``redis`` package is missing or the server is down.
    """
    problem = down_problem(settings)
    if problem is not None:
        raise BackendUnavailable(settings.display_url, f"{problem}; not retried for {DOWN_SECONDS:g}s")
    key = (settings.url, settings.timeout, blocking)
    client = _clients.get(key)
    if client is not None:
        return client
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise BackendUnavailable(
            settings.display_url,
            "the 'redis' package is not installed; run: pip install 'claude-hooks-runtime[redis]' "
            "in .claude/hooks-runtime, or set [backend] url = 'file'",
        ) from None
    # no CLIENT SETINFO round trips on connect (redis-py >= 7 names this driver_info)
    quiet: dict[str, None] = (
        {"driver_info": None} if hasattr(redis, "DriverInfo") else {"lib_name": None, "lib_version": None}
    )
    try:
        client = redis.Redis.from_url(
            settings.url,
            socket_connect_timeout=settings.timeout,
            socket_timeout=settings.timeout + BLOCK_SECONDS if blocking else settings.timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
            protocol=2,  # RESP2 everywhere: no HELLO round trip, one reply shape for redis-py 5 to 8
            **quiet,
        )
    except (ValueError, redis.RedisError) as exc:
        raise BackendUnavailable(settings.display_url, f"bad URL: {_problem(exc)}") from None
    _clients[key] = client
    return client


def call(settings: BackendSettings, operation: Callable[[Any], T], *, blocking: bool = False) -> T:
    """Run ``operation(client)``; turn any Redis or socket error into :class:`BackendUnavailable`.

    A failure marks the server down for this process (see :func:`mark_down`).
    """
    client = get_client(settings, blocking=blocking)
    from redis import RedisError

    try:
        return operation(client)
    except (RedisError, OSError) as exc:
        problem = _problem(exc)
        mark_down(settings, problem)
        with contextlib.suppress(Exception):
            client.connection_pool.disconnect()  # a half-read reply must not poison the next call
        raise BackendUnavailable(settings.display_url, problem) from exc


def command(settings: BackendSettings, method: str, *args: Any, blocking: bool = False, **kwargs: Any) -> Any:
    """Run the client method ``method(*args, **kwargs)`` through :func:`call`."""
    return call(settings, lambda client: getattr(client, method)(*args, **kwargs), blocking=blocking)


def reset_clients() -> None:
    """Close every client and forget which servers are down (tests, long-running processes)."""
    for client in _clients.values():
        with contextlib.suppress(Exception):
            client.close()
    _clients.clear()
    _down.clear()
