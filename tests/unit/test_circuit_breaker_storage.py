"""Breakers shared through the project's JSON store: several processes, one breaker, no lost update,
one half-open trial, lock-free checks while closed, and a lock timeout that never hangs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from store_contract import check_two_breakers_are_one, trip

from lib.breaker.storage import JsonStoreStorage
from lib.circuit_breaker import CLOSED, HALF_OPEN, OPEN, BreakerParams, CircuitBreaker, CircuitBreakerError
from lib.locking import FileLock, LockTimeout

T0 = 1_700_000_000.0
PARAMS = BreakerParams(max_failures=3, cooldown_seconds=10, half_open_max=1, half_open_lease_seconds=30)


def breaker(state_dir: Path, now: float = T0, params: BreakerParams = PARAMS, **kw: object) -> CircuitBreaker:
    storage = JsonStoreStorage.open(str(state_dir), lock_timeout=float(kw.pop("lock_timeout", 1.0)))  # type: ignore[arg-type]
    return CircuitBreaker("Bash", params, storage=storage, clock=lambda: now, **kw)  # type: ignore[arg-type]


def open_it(state_dir: Path) -> None:
    trip(breaker(state_dir), PARAMS.max_failures)


def test_two_breaker_objects_on_one_file_share_the_state(tmp_path: Path) -> None:
    check_two_breakers_are_one(breaker(tmp_path), breaker(tmp_path))
    saved = json.loads((tmp_path / "breakers.json").read_text())
    assert saved["version"] == 2 and saved["breakers"]["Bash"]["state"] == "open"


def test_the_state_file_is_private(tmp_path: Path) -> None:
    breaker(tmp_path).record_failure("x")
    assert stat.S_IMODE(os.stat(tmp_path / "breakers.json").st_mode) == 0o600


def test_a_closed_breaker_is_checked_without_lock_or_write(tmp_path: Path) -> None:
    b = breaker(tmp_path)
    b.allow().success()
    assert not (tmp_path / "breakers.json").exists()
    assert not (tmp_path / "breakers.json.lock").exists()


def test_an_open_breaker_refuses_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    open_it(tmp_path)
    with FileLock(str(tmp_path / "breakers.json.lock")):
        t = time.monotonic()
        with pytest.raises(CircuitBreakerError):
            breaker(tmp_path, now=T0 + 1, lock_timeout=5).allow()
        assert time.monotonic() - t < 1  # read the snapshot, did not wait for the lock


def test_a_lock_timeout_fails_open_with_a_warning(tmp_path: Path) -> None:
    open_it(tmp_path)
    b = breaker(tmp_path, now=T0 + 10, lock_timeout=0.05)  # cooldown over: the trial needs the lock
    lock = FileLock(str(tmp_path / "breakers.json.lock"))
    with lock, pytest.warns(RuntimeWarning, match=r"call admitted \(fail-open\)"):
        assert b.call(lambda: "ran") == "ran"
    assert b.state == OPEN  # nothing was written


def test_a_lock_timeout_raises_when_not_failing_open(tmp_path: Path) -> None:
    open_it(tmp_path)
    b = breaker(tmp_path, now=T0 + 10, lock_timeout=0.05, fail_open=False)
    with FileLock(str(tmp_path / "breakers.json.lock")), pytest.raises(LockTimeout):
        b.allow()


def test_a_corrupt_state_file_is_moved_aside_and_the_breaker_starts_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "breakers.json").write_text('{"breakers": {"Bash": {"state": "op')
    b = breaker(tmp_path)
    assert b.state == CLOSED
    b.record_failure("x")
    assert b.consecutive_failures == 1
    assert list(tmp_path.glob("breakers.json.corrupt-*"))
    assert "moved aside" in capsys.readouterr().err


def test_a_reset_breaker_leaves_the_file(tmp_path: Path) -> None:
    open_it(tmp_path)
    breaker(tmp_path).reset()
    assert json.loads((tmp_path / "breakers.json").read_text())["breakers"] == {}


def test_delete_forgets_named_or_all_records(tmp_path: Path) -> None:
    storage = JsonStoreStorage.open(str(tmp_path))
    for name in ("a", "b", "c"):
        CircuitBreaker(name, storage=storage).record_failure("x")
    assert storage.delete(["a", "zzz"]) == ["a"]
    assert sorted(storage.load_all()) == ["b", "c"]
    assert sorted(storage.delete()) == ["b", "c"] and storage.load_all() == {}


# -- several processes --------------------------------------------------------------------------------

WORKER = textwrap.dedent(
    """
    import sys, time
    from lib.breaker.storage import JsonStoreStorage
    from lib.circuit_breaker import BreakerParams, CircuitBreaker, CircuitBreakerError

    state_dir, action, now, start_at, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    params = BreakerParams(max_failures=int(sys.argv[6]), cooldown_seconds=10, half_open_max=int(sys.argv[7]),
                           half_open_lease_seconds=30)
    b = CircuitBreaker("Bash", params, storage=JsonStoreStorage.open(state_dir, lock_timeout=10),
                       clock=lambda: now, fail_open=False)
    while time.time() < start_at:
        time.sleep(0.0005)
    if action == "fail":
        for _ in range(count):
            b.record_failure("Exit code 1")
        print("done")
    else:
        try:
            b.allow(lease_id=f"pid-{__import__('os').getpid()}")
            print("admitted")
        except CircuitBreakerError:
            print("refused")
    """
)


def run_parallel(
    state_dir: Path,
    action: str,
    procs: int,
    *,
    now: float = T0,
    count: int = 1,
    max_failures: int = 3,
    half_open_max: int = 1,
) -> list[str]:
    start_at = time.time() + 0.5 + 0.05 * procs  # every interpreter is up before anyone starts
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                str(state_dir),
                action,
                repr(now),
                repr(start_at),
                str(count),
                str(max_failures),
                str(half_open_max),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(procs)
    ]
    outs = []
    for child in children:
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        outs.append(out.strip())
    return outs


def test_parallel_failures_from_many_processes_are_all_counted(tmp_path: Path) -> None:
    run_parallel(tmp_path, "fail", 8, count=10, max_failures=1000)
    snap = breaker(tmp_path, params=PARAMS.replace(max_failures=1000)).snapshot()
    assert snap.failures == 80 and snap.consecutive_failures == 80 and snap.state == CLOSED


def test_parallel_failures_open_the_breaker_exactly_once(tmp_path: Path) -> None:
    run_parallel(tmp_path, "fail", 6, count=1, max_failures=3)
    snap = breaker(tmp_path).snapshot()
    assert snap.state == OPEN
    assert snap.consecutive_failures == 6 and snap.opened_at == T0
    assert snap.retry_at == T0 + 10  # stragglers after the opening did not extend the cooldown


@pytest.mark.parametrize("half_open_max", [1, 3])
def test_half_open_admits_half_open_max_callers_across_processes(tmp_path: Path, half_open_max: int) -> None:
    open_it(tmp_path)
    outs = run_parallel(tmp_path, "allow", 8, now=T0 + 10, half_open_max=half_open_max)
    assert outs.count("admitted") == half_open_max and outs.count("refused") == 8 - half_open_max
    snap = breaker(tmp_path, now=T0 + 10).snapshot()
    assert snap.state == HALF_OPEN and snap.half_open_in_flight == half_open_max


def test_a_lost_trial_frees_the_slot_for_another_process_when_its_lease_expires(tmp_path: Path) -> None:
    open_it(tmp_path)
    assert run_parallel(tmp_path, "allow", 1, now=T0 + 10) == ["admitted"]  # ...and never reports
    assert run_parallel(tmp_path, "allow", 1, now=T0 + 39.9) == ["refused"]
    assert run_parallel(tmp_path, "allow", 1, now=T0 + 40) == ["admitted"]


def test_the_file_keeps_at_most_max_records_dropping_healthy_ones_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lib.breaker import storage as storage_module

    monkeypatch.setattr(storage_module, "MAX_RECORDS", 20)
    storage = JsonStoreStorage.open(str(tmp_path))
    tripped = CircuitBreaker("Bash:git", BreakerParams(max_failures=1), storage=storage, clock=lambda: T0)
    tripped.record_failure("x")
    for i in range(storage_module.MAX_RECORDS + 5):
        b = CircuitBreaker(f"Bash:cmd{i}", storage=storage, clock=lambda i=i: T0 + i)  # type: ignore[misc]
        b.record_failure("x")
        b.record_success()  # healthy again: only history is left
    names = set(storage.load_all())
    assert len(names) == storage_module.MAX_RECORDS
    assert "Bash:git" in names  # an open breaker is never dropped
    assert "Bash:cmd0" not in names and f"Bash:cmd{storage_module.MAX_RECORDS + 4}" in names
