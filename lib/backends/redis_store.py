"""A JSON state store in Redis with the API of :class:`lib.store.JsonStore`, shared by every client.

One store is one JSON object under one key (``<prefix>:{<namespace>}:state:<name>``), so the
circuit breaker and the rate limiter keep their pure read-modify-write logic unchanged:
``read()`` is one ``GET``, and ``with store.transaction() as state:`` is exclusive across every
process on every machine that uses the same Redis:

1. ``__enter__`` runs a Lua script that takes the store's lock (``SET lock <token> NX PX <lease>``)
   and returns the document in the same round trip; a taken lock is retried with a short back-off
   until ``lock_timeout`` (then :class:`lib.locking.LockTimeout`, as with the file store).
2. ``__exit__`` runs a second script that writes the new document with ``EX ttl_seconds`` only if
   the lock still holds this caller's token, and releases it. A caller paused past its lease
   (``lock_timeout``) is fenced off: its write is refused with a :class:`lib.store.StateError`
   instead of overwriting a newer state.

An unchanged document is not rewritten, only its TTL refreshed; an emptied one is deleted. Every
key has a TTL, so the state of an abandoned project expires. A document that is not a JSON object
is renamed to ``<key>:corrupt-<time>`` and reported like a corrupt state file.
"""

from __future__ import annotations

import contextlib
import json
import os
import time

from lib.backends.redis_client import call
from lib.locking import LockTimeout
from lib.store import StateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lib.backends.settings import BackendSettings

__all__ = ["RedisStore"]

# KEYS: document, lock. ARGV: token, lease ms. -> {1, document or false} | {0, lock pttl}
_ACQUIRE = """
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[1])}
end
return {0, redis.call('PTTL', KEYS[2])}
"""

# KEYS: document, lock. ARGV: token, mode (set|del|touch), ttl s, document. -> 1 done | 0 lock lost
_COMMIT = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if ARGV[2] == 'set' then
  redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[3])
elseif ARGV[2] == 'del' then
  redis.call('DEL', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS: lock. ARGV: token. Release without writing (the transaction raised).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_scripts: dict[tuple[int, str], Any] = {}


def _script(client: Any, source: str) -> Any:
    """A registered script (EVALSHA, falling back to EVAL after a server restart), per client."""
    key = (id(client), source)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = client.register_script(source)
    return script


def _encode(state: dict[str, object], where: str) -> bytes:
    try:
        return json.dumps(state, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        raise StateError(f"{where}: state is not JSON-serialisable ({exc}); store only plain data") from exc


class _RedisTransaction:
    __slots__ = ("_original", "_store", "_token", "state")

    def __init__(self, store: RedisStore) -> None:
        self._store = store
        self._token = ""
        self._original: bytes | None = None
        self.state: dict[str, object] = {}

    def __enter__(self) -> dict[str, object]:
        store = self._store
        token = os.urandom(12).hex()
        lease_ms = max(100, int(store.lock_timeout * 1000))
        deadline = time.monotonic() + store.lock_timeout
        delay = 0.0005
        while True:
            got, value = call(
                store.settings,
                lambda c: _script(c, _ACQUIRE)(keys=[store.key, store.lock_key], args=[token, lease_ms]),
            )
            if got:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeout(store.path, store.lock_timeout)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.01)
        self._token = token
        self._original = value
        self.state = store._decode(value)  # pyright: ignore[reportPrivateUsage]
        return self.state

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        store = self._store
        if exc_type is not None:
            with contextlib.suppress(StateError):  # the lease expires by itself anyway
                call(
                    store.settings, lambda c: _script(c, _RELEASE)(keys=[store.lock_key], args=[self._token])
                )
            return
        if not self.state:
            mode, data = ("del", b"") if self._original is not None else ("touch", b"")
        else:
            data = _encode(self.state, store.path)
            mode = "touch" if data == self._original else "set"
        done = call(
            store.settings,
            lambda c: _script(c, _COMMIT)(
                keys=[store.key, store.lock_key],
                args=[self._token, mode, store.settings.ttl_seconds, data],
            ),
        )
        if not done:
            raise StateError(
                f"{store.path}: the transaction outlived its lock lease ({store.lock_timeout:g}s) and "
                "another client took over, so this write was dropped; raise [state] "
                "lock_timeout_seconds in .claude/hooks.toml if this repeats"
            )


class RedisStore:
    """One JSON object in Redis: lock-free reads, exclusive read-modify-write transactions."""

    __slots__ = ("key", "lock_key", "lock_timeout", "name", "path", "settings")

    def __init__(self, settings: BackendSettings, name: str, *, lock_timeout: float | None = None) -> None:
        self.settings = settings
        self.name = name
        self.key = settings.key("state", name)
        self.lock_key = self.key + ":lock"
        self.lock_timeout = settings.lock_timeout if lock_timeout is None else lock_timeout
        #: Where the state lives, for messages and the CLI (the URL without its password, and the key).
        self.path = f"{settings.display_url} {self.key}"

    def read(self) -> dict[str, object]:
        """The state without locking (``{}`` when the key is missing or corrupt).

        Raises :class:`lib.backends.redis_client.BackendUnavailable` when Redis cannot be reached.
        """
        return self._decode(call(self.settings, lambda c: c.get(self.key)))

    def transaction(self) -> _RedisTransaction:
        """Lock, load and yield the state as a mutable dict; write it back if it changed.

        Raises :class:`LockTimeout` when another client holds the lock for ``lock_timeout``, and
        :class:`~lib.backends.redis_client.BackendUnavailable` when Redis cannot be reached. An
        exception inside the block writes nothing.
        """
        return _RedisTransaction(self)

    def clear(self) -> None:
        """Replace the state by an empty object (under the lock)."""
        with self.transaction() as state:
            state.clear()

    def ttl(self) -> int | None:
        """Seconds until the key expires (``None``: no such key or no expiry)."""
        value = int(call(self.settings, lambda c: c.ttl(self.key)))
        return value if value >= 0 else None

    def _decode(self, raw: bytes | None) -> dict[str, object]:
        if raw is None or not raw.strip():
            return {}
        try:
            state = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._quarantine(f"not valid JSON ({str(exc).splitlines()[0][:120]})")
            return {}
        if not isinstance(state, dict):
            self._quarantine(f"top level is {type(state).__name__}, expected a JSON object")
            return {}
        return state

    def _quarantine(self, reason: str) -> None:
        import lib.store

        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        moved_to = f"{self.key}:corrupt-{stamp}-{os.getpid()}"
        ttl = self.settings.ttl_seconds

        def move(client: Any) -> bool:
            pipe = client.pipeline(transaction=True)
            pipe.renamenx(self.key, moved_to)
            pipe.expire(moved_to, ttl)
            renamed, _ = pipe.execute(raise_on_error=False)
            return renamed is True or renamed == 1

        try:
            moved = call(self.settings, move)
        except StateError:
            return
        if moved:
            lib.store._corruption_handler(self.path, f"{self.settings.display_url} {moved_to}", reason)  # pyright: ignore[reportPrivateUsage]

    def __repr__(self) -> str:
        return f"RedisStore({self.path!r})"
