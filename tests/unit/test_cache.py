"""TTL cache and its persistence: expiry, eviction, atomic save, restore that drops expired entries and
survives a missing or corrupt file, merges from several processes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hookkit import FakeClock

from lib.cache import CacheEntry, CachePersistence, TTLCache

T0 = 1_700_000_000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


# -- TTLCache --------------------------------------------------------------------------------------


def test_values_expire_after_their_ttl(clock: FakeClock) -> None:
    cache = TTLCache(clock=clock)
    cache.set("a", {"x": 1}, ttl=10)
    cache.set("forever", 1)
    clock.now += 9.999
    assert cache.get("a") == {"x": 1} and "a" in cache
    clock.now = T0 + 10
    assert cache.get("a", "gone") == "gone" and "a" not in cache
    assert cache.get("forever") == 1 and len(cache) == 1


def test_default_ttl_applies_when_none_is_given(clock: FakeClock) -> None:
    cache = TTLCache(default_ttl=5, clock=clock)
    cache.set("a", 1)
    clock.now += 5
    assert cache.get("a") is None


def test_least_recently_used_is_evicted_past_max_entries(clock: FakeClock) -> None:
    cache = TTLCache(max_entries=2, clock=clock)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.get("a")
    cache.set("c", 3)
    assert sorted(cache) == ["a", "c"]


def test_expired_entries_go_before_live_ones_are_evicted(clock: FakeClock) -> None:
    cache = TTLCache(max_entries=2, clock=clock)
    cache.set("live", 1)
    cache.set("short", 2, ttl=1)
    clock.now += 2
    cache.set("new", 3)
    assert sorted(cache) == ["live", "new"]


def test_delete_clear_purge(clock: FakeClock) -> None:
    cache = TTLCache(clock=clock)
    cache.set("a", 1, ttl=1)
    cache.set("b", 2)
    assert cache.delete("b") and not cache.delete("b")
    clock.now += 1
    assert cache.purge() == 1 and cache.entries() == {}
    cache.set("c", 3)
    cache.clear()
    assert len(cache) == 0


@pytest.mark.parametrize("bad", [0, -1])
def test_a_non_positive_ttl_is_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="ttl must be > 0"):
        TTLCache().set("a", 1, ttl=bad)
    with pytest.raises(ValueError, match="default_ttl must be > 0"):
        TTLCache(default_ttl=bad)


# -- persistence -----------------------------------------------------------------------------------


def test_save_and_restore_round_trip(tmp_path: Path, clock: FakeClock) -> None:
    cache = TTLCache(clock=clock)
    cache.set("a", {"nested": [1, "two", None]}, ttl=60)
    cache.set("b", "forever")
    store = CachePersistence(str(tmp_path / "cache.json"), clock=clock)
    assert store.save(cache) == 2
    restored = store.restore()
    assert restored == {
        "a": CacheEntry({"nested": [1, "two", None]}, T0 + 60, T0),
        "b": CacheEntry("forever", None, T0),
    }
    fresh = TTLCache(clock=clock)
    assert store.restore_into(fresh) == 2 and fresh.get("a") == {"nested": [1, "two", None]}


def test_restore_drops_entries_that_expired_meanwhile(tmp_path: Path, clock: FakeClock) -> None:
    cache = TTLCache(clock=clock)
    cache.set("short", 1, ttl=5)
    cache.set("long", 2, ttl=500)
    store = CachePersistence(str(tmp_path / "cache.json"), clock=clock)
    store.save(cache)
    clock.now += 5
    assert list(store.restore()) == ["long"]


def test_save_skips_expired_entries(tmp_path: Path, clock: FakeClock) -> None:
    store = CachePersistence(str(tmp_path / "cache.json"), clock=clock)
    assert store.save({"old": CacheEntry(1, T0 - 1, T0 - 100), "new": CacheEntry(2, None, T0)}) == 1
    assert list(json.loads((tmp_path / "cache.json").read_text())["entries"]) == ["new"]


def test_a_missing_file_restores_empty_and_its_directory_is_created(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "cache.json"
    store = CachePersistence(str(path))
    assert store.restore() == {}
    store.save({"k": CacheEntry(1, None, 0.0)})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_corrupt_file_restores_empty_and_is_moved_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cache.json"
    path.write_bytes(b'{"version": 1, "entries": {"a": {"val')
    store = CachePersistence(str(path))
    assert store.restore() == {}
    assert list(tmp_path.glob("cache.json.corrupt-*"))
    assert "moved aside" in capsys.readouterr().err
    store.save({"a": CacheEntry(1, None, 0.0)})
    assert list(store.restore()) == ["a"]


def test_malformed_entries_are_skipped_one_by_one(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "cache.json"
    path.write_text(
        json.dumps(
            {
                "entries": {
                    "ok": {"value": 1, "expires_at": None, "stored_at": T0},
                    "no_value": {"expires_at": None},
                    "bad_expiry": {"value": 1, "expires_at": "tomorrow"},
                    "not_a_dict": 5,
                    "bad_stored_at": {"value": 2, "expires_at": T0 + 1, "stored_at": "x"},
                }
            }
        )
    )
    restored = CachePersistence(str(path), clock=clock).restore()
    assert restored == {"ok": CacheEntry(1, None, T0), "bad_stored_at": CacheEntry(2, T0 + 1, 0.0)}


def test_entries_must_be_plain_data_and_nothing_is_written_otherwise(tmp_path: Path) -> None:
    store = CachePersistence(str(tmp_path / "cache.json"))
    store.save({"keep": CacheEntry(1, None, 0.0)})
    with pytest.raises(TypeError, match="cache entry 'obj' is not JSON-serialisable"):
        store.save({"fine": CacheEntry(2, None, 0.0), "obj": CacheEntry(object(), None, 0.0)})
    assert list(store.restore()) == ["keep"]


def test_save_replaces_and_merge_adds(tmp_path: Path, clock: FakeClock) -> None:
    store = CachePersistence(str(tmp_path / "cache.json"), clock=clock)
    store.save({"a": CacheEntry(1, None, T0), "b": CacheEntry(2, None, T0)})
    store.save({"c": CacheEntry(3, None, T0)})
    assert list(store.restore()) == ["c"]
    assert store.merge({"c": CacheEntry(30, None, T0), "d": CacheEntry(4, None, T0)}) == 2
    assert {k: e.value for k, e in store.restore().items()} == {"c": 30, "d": 4}
    store.clear()
    assert store.restore() == {}


MERGER = textwrap.dedent(
    """
    import sys
    from lib.cache import CacheEntry, CachePersistence
    store = CachePersistence(sys.argv[1], lock_timeout=10)
    for i in range(20):
        store.merge({f"{sys.argv[2]}-{i}": CacheEntry(i, None, 0.0)})
    """
)


def test_merges_from_parallel_processes_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "cache.json")
    procs = [subprocess.Popen([sys.executable, "-c", MERGER, path, f"p{n}"]) for n in range(4)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    assert len(CachePersistence(path).restore()) == 80
