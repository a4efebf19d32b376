"""A small TTL cache and its persistence: entries that expire, saved atomically, restored safely.

:class:`TTLCache` keeps values in memory with an expiry time each (injectable clock).
:class:`CachePersistence` saves such entries to one JSON file through :class:`lib.store.JsonStore`
(atomic replace, created 0600, a corrupt file is moved aside) and restores them, dropping entries
that expired meanwhile or that do not have the expected shape. A missing or corrupt file restores
as an empty cache. The file::

    {"version": 1, "entries": {"key": {"value": ..., "expires_at": 1767225600.0, "stored_at": ...}}}

Times are epoch seconds (``time.time``), so they mean the same in the next process.
"""

from __future__ import annotations

import json
import time

from lib.plain_data import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

__all__ = ["CacheEntry", "CachePersistence", "TTLCache"]

#: The ``version`` written into cache files.
FORMAT_VERSION = 1


class CacheEntry:
    """One cached value, when it was stored and when it expires (``None``: never)."""

    __slots__ = ("expires_at", "stored_at", "value")

    def __init__(self, value: object, expires_at: float | None, stored_at: float) -> None:
        self.value = value
        self.expires_at = expires_at
        self.stored_at = stored_at

    def expired(self, now: float) -> bool:
        """Whether the entry is past its expiry at ``now``."""
        return self.expires_at is not None and self.expires_at <= now

    def as_dict(self) -> dict[str, object]:
        """The entry as stored in the file."""
        return {"value": self.value, "expires_at": self.expires_at, "stored_at": self.stored_at}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CacheEntry):
            return NotImplemented
        return (self.value, self.expires_at, self.stored_at) == (
            other.value,
            other.expires_at,
            other.stored_at,
        )

    def __repr__(self) -> str:
        return (
            f"CacheEntry(value={self.value!r}, expires_at={self.expires_at!r}, stored_at={self.stored_at!r})"
        )


class TTLCache:
    """Values that expire ``ttl`` seconds after they are set; least recently used evicted past
    ``max_entries``."""

    def __init__(
        self,
        *,
        default_ttl: float | None = None,
        max_entries: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if default_ttl is not None and not default_ttl > 0:
            raise ValueError(f"default_ttl must be > 0 seconds or None, got {default_ttl!r}")
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be >= 1 or None, got {max_entries!r}")
        self.default_ttl = default_ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: dict[str, CacheEntry] = {}

    def set(self, key: str, value: object, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (default: ``default_ttl``; ``None``: forever)."""
        ttl = self.default_ttl if ttl is None else ttl
        if ttl is not None and not ttl > 0:
            raise ValueError(f"ttl must be > 0 seconds, got {ttl!r}")
        now = self.clock()
        self._entries.pop(key, None)
        self._entries[key] = CacheEntry(value, None if ttl is None else now + ttl, now)
        if self.max_entries is not None and len(self._entries) > self.max_entries:
            self.purge()
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]

    def get(self, key: str, default: object = None) -> object:
        """The value of ``key``, or ``default`` when absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return default
        if entry.expired(self.clock()):
            del self._entries[key]
            return default
        self._entries[key] = self._entries.pop(key)  # most recently used last
        return entry.value

    def delete(self, key: str) -> bool:
        """Remove ``key``; returns whether it was present."""
        return self._entries.pop(key, None) is not None

    def clear(self) -> None:
        """Remove every entry."""
        self._entries.clear()

    def purge(self) -> int:
        """Drop the expired entries; returns how many."""
        now = self.clock()
        expired = [k for k, e in self._entries.items() if e.expired(now)]
        for key in expired:
            del self._entries[key]
        return len(expired)

    def entries(self) -> dict[str, CacheEntry]:
        """The unexpired entries (a copy)."""
        now = self.clock()
        return {k: e for k, e in self._entries.items() if not e.expired(now)}

    def load(self, entries: Mapping[str, CacheEntry]) -> int:
        """Add ``entries`` as they are (expiry kept); returns how many were unexpired and added."""
        now = self.clock()
        added = 0
        for key, entry in entries.items():
            if not entry.expired(now):
                self._entries.pop(key, None)
                self._entries[key] = entry
                added += 1
        if self.max_entries is not None:
            while len(self._entries) > self.max_entries:
                del self._entries[next(iter(self._entries))]
        return added

    def __contains__(self, key: object) -> bool:
        entry = self._entries.get(key)  # type: ignore[call-overload]
        return entry is not None and not entry.expired(self.clock())

    def __len__(self) -> int:
        return len(self.entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries())


def _parse_entry(raw: object) -> CacheEntry | None:
    fields = json_object(raw)
    if fields is None or "value" not in fields:
        return None
    expires_at, stored_at = fields.get("expires_at"), fields.get("stored_at", 0.0)
    if expires_at is not None and (isinstance(expires_at, bool) or not isinstance(expires_at, (int, float))):
        return None
    if isinstance(stored_at, bool) or not isinstance(stored_at, (int, float)):
        stored_at = 0.0
    return CacheEntry(fields["value"], None if expires_at is None else float(expires_at), float(stored_at))


class CachePersistence:
    """Save and restore TTL'd entries in the JSON file ``path``.

    Writes go through the store's lock and atomic replace, so a reader (or a crash) never sees half
    a file and concurrent :meth:`merge` calls lose nothing. Restoring needs no lock.
    """

    def __init__(
        self, path: str, *, lock_timeout: float = 1.0, clock: Callable[[], float] = time.time
    ) -> None:
        import os

        from lib.safe_files import ensure_dir
        from lib.store import JsonStore

        directory = os.path.dirname(os.path.abspath(path))
        ensure_dir(directory)
        self.store = JsonStore(path, lock_timeout=lock_timeout)
        self.clock = clock

    @property
    def path(self) -> str:
        """The cache file."""
        return self.store.path

    def _serialise(self, entries: Mapping[str, CacheEntry] | TTLCache) -> dict[str, object]:
        source = entries.entries() if isinstance(entries, TTLCache) else entries
        now = self.clock()
        out: dict[str, object] = {}
        for key, entry in source.items():
            if not isinstance(key, str):
                raise TypeError(f"{self.path}: cache key {key!r} is not a string; use string keys")
            if entry.expired(now):
                continue
            try:
                json.dumps(entry.value)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    f"{self.path}: cache entry {key!r} is not JSON-serialisable ({exc}); cache plain data"
                ) from None
            out[key] = entry.as_dict()
        return out

    def save(self, entries: Mapping[str, CacheEntry] | TTLCache) -> int:
        """Replace the file's content with the unexpired ``entries``; returns how many were saved.

        Raises TypeError (naming the key) for a value that is not plain JSON data, before writing
        anything; :class:`lib.store.StateError` / ``LockTimeout`` when the file cannot be written.
        """
        data = self._serialise(entries)
        with self.store.transaction() as state:
            state.clear()
            state.update({"version": FORMAT_VERSION, "entries": data})
        return len(data)

    def merge(self, entries: Mapping[str, CacheEntry] | TTLCache) -> int:
        """Add ``entries`` to those in the file (theirs win on the same key), dropping expired ones;
        returns how many the file holds afterwards."""
        data = self._serialise(entries)
        now = self.clock()
        with self.store.transaction() as state:
            current = self._read_entries(state, now)
            merged: dict[str, object] = {k: e.as_dict() for k, e in current.items()}
            merged.update(data)
            state.clear()
            state.update({"version": FORMAT_VERSION, "entries": merged})
        return len(merged)

    @staticmethod
    def _read_entries(state: Mapping[str, object], now: float) -> dict[str, CacheEntry]:
        raw = json_object(state.get("entries"))
        if raw is None:
            return {}
        out: dict[str, CacheEntry] = {}
        for key, value in raw.items():
            entry = _parse_entry(value)
            if entry is not None and not entry.expired(now):
                out[key] = entry
        return out

    def restore(self) -> dict[str, CacheEntry]:
        """The unexpired, well-formed entries of the file ({} when it is missing or corrupt)."""
        return self._read_entries(self.store.read(), self.clock())

    def restore_into(self, cache: TTLCache) -> int:
        """Load the restored entries into ``cache``; returns how many were added."""
        return cache.load(self.restore())

    def clear(self) -> None:
        """Empty the file."""
        self.store.clear()
