"""The Redis connections of one process: made lazily, with short timeouts, and remembered as down.

Two clients, one set of rules:

- the hook's **lean connection** (:func:`run`, :func:`execute`): :class:`lib.backends.resp.Connection`,
  ``hiredis`` over a plain socket, for the few commands a hook sends (state reads and transactions,
  publishing); importing it costs about 0.5 ms;
- **redis-py** (:func:`call`, :func:`command`, :func:`get_client`) for the CLI and the readers
  (``XRANGE``, ``XREAD BLOCK``, consumer groups, ``INFO``); ``redis`` is imported here and only here,
  on first use (about 80 ms), never by a hook.

Both are in the optional extra (``pip install .[redis]``). Neither retries by itself (a retry would
blow the hook's time budget); every Redis error becomes one :class:`BackendUnavailable` whose
message names the server, the problem and the fix. Once a call failed, the server counts as down
for :data:`DOWN_SECONDS` in this process, so the other stores of the same hook do not each wait
for their own timeout. The first call of a process that reaches a server first replays what the
file fallback wrote while it was away (:mod:`lib.backends.reconcile`).
"""

from __future__ import annotations

import os
import time

from lib.store import StateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, TypeVar

    from lib.backends.settings import BackendSettings

    T = TypeVar("T")
    K = TypeVar("K", bound=tuple[object, ...])

__all__ = [
    "BLOCK_SECONDS",
    "DOWN_SECONDS",
    "BackendUnavailable",
    "call",
    "command",
    "execute",
    "get_client",
    "mark_down",
    "reset_clients",
    "run",
]

#: How long a server that failed stays "down" for this process before it is tried again.
DOWN_SECONDS = 2.0
#: The longest ``XREAD BLOCK`` a blocking client waits; its reply timeout is this plus ``timeout``.
BLOCK_SECONDS = 5.0

_clients: dict[tuple[str, float, bool], Any] = {}
_lean: dict[tuple[str, float], Any] = {}
_down: dict[str, tuple[float, str]] = {}
_reconciled: set[tuple[str, str, str]] = set()
#: Servers whose fallback this process reported (the warning is printed once per process).
reported: set[str] = set()


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
    return _remembered(
        settings, _clients, (settings.url, settings.timeout, blocking), lambda: _client(settings, blocking)
    )


def _client(settings: BackendSettings, blocking: bool) -> Any:
    """A new ``redis.Redis`` (connecting on its first command), without retries."""
    try:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:
        raise _missing(settings, "redis") from None
    # no CLIENT SETINFO round trips on connect (redis-py >= 7 names this driver_info)
    quiet: dict[str, None] = (
        {"driver_info": None} if hasattr(redis, "DriverInfo") else {"lib_name": None, "lib_version": None}
    )
    try:
        # redis-py annotates from_url's ``**kwargs`` with no type
        return redis.Redis.from_url(  # pyright: ignore[reportUnknownMemberType]
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


def call(settings: BackendSettings, operation: Callable[[Any], T], *, blocking: bool = False) -> T:
    """Run ``operation(client)``; turn any Redis or socket error into :class:`BackendUnavailable`.

    A failure marks the server down for this process (see :func:`mark_down`).
    """
    client = get_client(settings, blocking=blocking)
    _reconcile_once(settings, limit=None)  # a reader (CLI) replays the whole journal
    from redis import RedisError

    try:
        return operation(client)
    except (RedisError, OSError) as exc:
        problem = _problem(exc)
        mark_down(settings, problem)
        try:
            client.connection_pool.disconnect()  # a half-read reply must not poison the next call
        except Exception:
            pass
        raise BackendUnavailable(settings.display_url, problem) from exc


def command(settings: BackendSettings, method: str, *args: Any, blocking: bool = False, **kwargs: Any) -> Any:
    """Run the client method ``method(*args, **kwargs)`` through :func:`call`."""
    return call(settings, lambda client: getattr(client, method)(*args, **kwargs), blocking=blocking)


def _remembered(settings: BackendSettings, made: dict[K, Any], key: K, make: Callable[[], Any]) -> Any:
    """The client remembered under ``key`` in ``made``, made by ``make()`` on first use; raises
    :class:`BackendUnavailable` while the server of ``settings`` counts as down."""
    problem = down_problem(settings)
    if problem is not None:
        raise BackendUnavailable(settings.display_url, f"{problem}; not retried for {DOWN_SECONDS:g}s")
    client = made.get(key)
    if client is None:
        client = made[key] = make()
    return client


def _missing(settings: BackendSettings, package: str) -> BackendUnavailable:
    return BackendUnavailable(
        settings.display_url,
        f"the {package!r} package is not installed; run: pip install 'claude-hooks-runtime[redis]' "
        "in .claude/hooks-runtime, or set [backend] url = 'file'",
    )


def _connection(settings: BackendSettings) -> Any:
    return _remembered(settings, _lean, (settings.url, settings.timeout), lambda: _lean_connection(settings))


def _lean_connection(settings: BackendSettings) -> Any:
    """A new lean connection (``hiredis`` must be there: its absence is told here, with the fix)."""
    try:
        import hiredis  # noqa: F401  # pyright: ignore[reportUnusedImport]  (the extra's parser: fail here with the install hint)
    except ImportError:
        raise _missing(settings, "hiredis") from None
    from lib.backends.resp import Connection

    try:
        return Connection(settings.url, settings.timeout)
    except ValueError as exc:
        raise BackendUnavailable(settings.display_url, f"bad URL: {exc}") from None


def run(settings: BackendSettings, commands: Sequence[Sequence[object]]) -> list[object]:
    """Send ``commands`` on the lean connection in one round trip; return the replies in order
    (a server error reply as a :class:`lib.backends.resp.ServerError` value).

    A network failure or timeout marks the server down and raises :class:`BackendUnavailable`.
    """
    conn = _connection(settings)
    _reconcile_once(settings)
    from lib.backends.resp import ConnectionFailure

    try:
        return conn.pipeline(commands)  # type: ignore[no-any-return]
    except ConnectionFailure as exc:
        problem = str(exc)
        mark_down(settings, problem)
        raise BackendUnavailable(settings.display_url, problem) from None


def execute(settings: BackendSettings, *args: object) -> Any:
    """One command on the lean connection; an error reply raises :class:`BackendUnavailable`
    (a server that refuses our commands cannot serve this hook either)."""
    (reply,) = run(settings, (args,))
    from lib.backends.resp import ServerError

    if isinstance(reply, ServerError):
        raise BackendUnavailable(settings.display_url, f"{args[0]} refused: {reply}")
    return reply


def _reconcile_once(settings: BackendSettings, limit: int | None = 200) -> None:
    """Before the first command of this process on a server, replay what the file fallback kept
    while Redis was away (a few microseconds when there is nothing: one ``stat``)."""
    journal = settings.journal_path
    if journal is None:
        return
    key = (settings.url, settings.namespace, journal)
    if key in _reconciled:
        return
    _reconciled.add(key)
    if not os.path.exists(journal):  # never an outage here: nothing to import or replay
        return
    from lib.backends.reconcile import replay_pending

    replay_pending(settings, limit=limit)


def reset_clients() -> None:
    """Close every client and forget which servers are down (tests, long-running processes)."""
    for client in _clients.values():
        try:
            client.close()
        except Exception:
            pass
    for conn in _lean.values():
        conn.close()
    _clients.clear()
    _lean.clear()
    _down.clear()
    _reconciled.clear()
    reported.clear()
