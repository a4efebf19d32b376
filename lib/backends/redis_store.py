"""A JSON state store in Redis with the API of :class:`lib.store.JsonStore`, shared by every client.

One store is one JSON object under one key (``<prefix>:{<namespace>}:state:<name>``), so the
circuit breaker and the rate limiter keep their pure read-modify-write logic unchanged:
``read()`` is one ``GET``, and ``with store.transaction() as state:`` is exclusive across every
process on every machine that uses the same Redis:

1. ``__enter__`` runs a Lua script that takes the store's lock (``SET lock <token> NX PX <lease>``)
   and returns the document in the same round trip. A client that finds the lock taken waits in
   ``BLPOP <lock>:wake`` (no polling: the holder's release pushes one wake-up token, which wakes one
   waiter; a holder that crashed is noticed by a short ``BLPOP`` timeout) and tries again, until
   ``lock_timeout`` (then :class:`lib.locking.LockTimeout`, as with the file store).
2. ``__exit__`` runs a second script that writes the new document with ``EX ttl_seconds`` only if
   the lock still holds this caller's token, and releases it. A caller paused past its lease
   (``lock_timeout``) is fenced off: its write is refused with a :class:`lib.store.StateError`
   instead of overwriting a newer state.

An unchanged document is not rewritten, only its TTL refreshed; an emptied one is deleted. Every
key has a TTL, so the state of an abandoned project expires. A document that is not a JSON object
is renamed to ``<key>:corrupt-<time>`` and reported like a corrupt state file.

The commands go through the hook's lean connection (:func:`lib.backends.redis_client.run`); the
scripts are sent with ``EVAL`` (the server caches them by their SHA1, and a restarted server needs
no ``SCRIPT LOAD``).
"""

from __future__ import annotations

import os
import time

from lib import fastjson
from lib.backends.redis_client import BackendUnavailable, execute, run
from lib.locking import LockTimeout
from lib.plain_data import json_object
from lib.store import StateError, encode_state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from lib.backends.settings import BackendSettings

__all__ = ["LeaseLost", "RedisStore"]


class LeaseLost(StateError):
    """A transaction outlived its lock lease and another client took the lock: its write was refused."""


# KEYS: document, lock. ARGV: token, lease ms. -> {1, document or false} | {0, lock pttl}
_ACQUIRE = """
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {1, redis.call('GET', KEYS[1])}
end
return {0, redis.call('PTTL', KEYS[2])}
"""

# Releasing the lock leaves exactly one wake-up token for a waiter blocked in BLPOP.
_WAKE = """
redis.call('DEL', KEYS[2])
redis.call('DEL', KEYS[3])
redis.call('RPUSH', KEYS[3], '1')
redis.call('PEXPIRE', KEYS[3], 2000)
"""

# KEYS: document, lock, wake[, applied set]. ARGV: token, mode (set|del|touch), ttl s, document[, ids...].
# -> 1 done | 0 lock lost. With the applied set, the ids join it in the same step (replay).
_COMMIT = (
    """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
if KEYS[4] then
  redis.call('SADD', KEYS[4], unpack(ARGV, 5))
  redis.call('EXPIRE', KEYS[4], ARGV[3])
end
if ARGV[2] == 'set' then
  redis.call('SET', KEYS[1], ARGV[4], 'EX', ARGV[3])
elseif ARGV[2] == 'del' then
  redis.call('DEL', KEYS[1])
else
  redis.call('EXPIRE', KEYS[1], ARGV[3])
end"""
    + _WAKE
    + "return 1\n"
)

# KEYS: document (unused), lock, wake. ARGV: token. Release without writing (the transaction raised).
_RELEASE = (
    """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end"""
    + _WAKE
    + "return 1\n"
)

#: The longest a waiter blocks in one BLPOP before it looks at the lock again (a crashed holder's
#: lease runs out without a wake-up token).
_WAIT_SLICE = 0.05


class _RedisTransaction:
    __slots__ = ("_applied", "_original", "_store", "_token", "fresh", "state")

    def __init__(self, store: RedisStore, applied: str | None = None) -> None:
        self._store = store
        self._token = ""
        self._original: bytes | None = None
        self._applied = applied  # a replay's set of applied ids; ``fresh`` join it with the commit
        self.fresh: list[str] = []  # the ids that join the applied set with the commit
        self.state: dict[str, object] = {}

    def __enter__(self) -> dict[str, object]:
        store = self._store
        token = os.urandom(12).hex()
        lease_ms = max(100, int(store.lock_timeout * 1000))
        deadline = time.monotonic() + store.lock_timeout
        # a BLPOP must answer within the reply timeout: block at most half of it at a time
        wait_slice = min(_WAIT_SLICE, store.settings.timeout / 2)
        while True:
            got, value = execute(
                store.settings, "EVAL", _ACQUIRE, 2, store.key, store.lock_key, token, lease_ms
            )
            if got:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockTimeout(store.path, store.lock_timeout)
            if wait_slice >= 0.001:
                try:
                    execute(store.settings, "BLPOP", store.wake_key, f"{min(wait_slice, remaining):.3f}")
                except BackendUnavailable:
                    # a loaded server answered the wait late: past our deadline that is a lock timeout
                    if deadline - time.monotonic() <= store.settings.timeout:
                        raise LockTimeout(store.path, store.lock_timeout) from None
                    raise
            else:
                time.sleep(min(0.001, remaining))
        self._token = token
        self._original = value
        self.state = store._decode(value)  # pyright: ignore[reportPrivateUsage]
        return self.state

    def __exit__(self, exc_type: type[BaseException] | None, exc: object, tb: object) -> None:
        store = self._store
        if exc_type is not None:
            self.release()
            return
        if not self.state:
            mode, data = ("del", b"") if self._original is not None else ("touch", b"")
        else:
            data = encode_state(self.state, store.path)
            mode = "touch" if data == self._original else "set"
        args: list[object] = ["EVAL", _COMMIT, 3, store.key, store.lock_key, store.wake_key]
        ttl = store.settings.ttl_seconds
        if self._applied is not None and self.fresh:
            args[2] = 4
            args.append(self._applied)
        args += [self._token, mode, ttl, data]
        if self._applied is not None and self.fresh:
            args += self.fresh
        done = execute(store.settings, *args)
        if not done:
            raise LeaseLost(
                f"{store.path}: the transaction outlived its lock lease ({store.lock_timeout:g}s) and "
                "another client took over, so this write was dropped; raise [state] "
                "lock_timeout_seconds in .claude/hooks.toml if this repeats"
            )

    @property
    def original_state(self) -> dict[str, object]:
        """The document as the transaction read it (a fresh copy)."""
        return self._store._decode(self._original)  # pyright: ignore[reportPrivateUsage]

    def release(self) -> None:
        """Give the lock back without writing (the block raised, or there was nothing to do)."""
        store = self._store
        try:
            execute(
                store.settings, "EVAL", _RELEASE, 3, store.key, store.lock_key, store.wake_key, self._token
            )
        except StateError:
            pass  # the lease expires by itself anyway


class RedisStore:
    """One JSON object in Redis: lock-free reads, exclusive read-modify-write transactions."""

    __slots__ = ("key", "lock_key", "lock_timeout", "name", "path", "settings", "wake_key")

    def __init__(self, settings: BackendSettings, name: str, *, lock_timeout: float | None = None) -> None:
        self.settings = settings
        self.name = name
        self.key = settings.key("state", name)
        self.lock_key = self.key + ":lock"
        self.wake_key = self.lock_key + ":wake"
        self.lock_timeout = settings.lock_timeout if lock_timeout is None else lock_timeout
        #: Where the state lives, for messages and the CLI (the URL without its password, and the key).
        self.path = f"{settings.display_url} {self.key}"

    def read(self) -> dict[str, object]:
        """The state without locking (``{}`` when the key is missing or corrupt).

        Raises :class:`lib.backends.redis_client.BackendUnavailable` when Redis cannot be reached.
        """
        return self._decode(execute(self.settings, "GET", self.key))

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

    def apply_once(
        self, ids: list[str], applied_key: str, change: Callable[[dict[str, object], set[str]], None]
    ) -> int:
        """Run ``change(state, fresh)`` in one transaction, where ``fresh`` are the ``ids`` not yet in
        the set ``applied_key``; they join the set in the same step as the write. Returns how many
        were fresh (0: nothing ran).

        This makes a replayed change (:mod:`lib.backends.reconcile`) apply exactly once however
        often, and by however many processes, it is replayed.
        """
        tx = _RedisTransaction(self, applied_key)
        state = tx.__enter__()
        try:
            known = run(self.settings, [("SISMEMBER", applied_key, i) for i in ids])
            fresh = {i for i, seen in zip(ids, known, strict=True) if seen == 0}
            if not fresh:
                tx.release()
                return 0
            change(state, fresh)
        except BaseException:
            tx.release()
            raise
        tx.fresh = sorted(fresh)
        tx.__exit__(None, None, None)
        return len(fresh)

    def ttl(self) -> int | None:
        """Seconds until the key expires (``None``: no such key or no expiry)."""
        value = int(execute(self.settings, "TTL", self.key))
        return value if value >= 0 else None

    def _decode(self, raw: bytes | None) -> dict[str, object]:
        if raw is None or not raw.strip():
            return {}
        try:
            parsed = fastjson.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            self._quarantine(f"not valid JSON ({str(exc).splitlines()[0][:120]})")
            return {}
        state = json_object(parsed)
        if state is None:
            self._quarantine(f"top level is {type(parsed).__name__}, expected a JSON object")
            return {}
        return state

    def _quarantine(self, reason: str) -> None:
        import lib.store

        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        moved_to = f"{self.key}:corrupt-{stamp}-{os.getpid()}"
        ttl = self.settings.ttl_seconds

        try:
            replies = run(
                self.settings,
                (("MULTI",), ("RENAMENX", self.key, moved_to), ("EXPIRE", moved_to, ttl), ("EXEC",)),
            )
        except BackendUnavailable:
            return
        done = replies[-1]
        if isinstance(done, list) and done and done[0] == 1:
            lib.store._corruption_handler(self.path, f"{self.settings.display_url} {moved_to}", reason)  # pyright: ignore[reportPrivateUsage]

    def __repr__(self) -> str:
        return f"RedisStore({self.path!r})"
