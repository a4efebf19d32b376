"""A separate client process for the multi-client tests: ``python redis_worker.py '<json job>'``.

The job names the project, its validated config and the action. The worker connects, prints
``ready`` and waits for a line on stdin, so that every worker is up before any begins. The worker opens its state and bus exactly as a hook does
(:func:`lib.backends.open_state` / :func:`lib.backends.open_bus`) and prints one JSON line per result.

Actions: ``increment`` (n read-modify-write transactions on store "counter"), ``breaker_fail`` /
``breaker_allow`` (a tool-call circuit breaker on store "breakers"), ``rate`` (n rate-limit
acquisitions on store "ratelimits"), ``publish`` (n bus events).
"""

from __future__ import annotations

import json
import os
import sys
import time

from lib.backends import open_bus, open_state
from lib.paths import Paths


def main() -> int:
    job = json.loads(sys.argv[1])
    paths = Paths(job["project"])
    config = job["config"]  # validated by the parent, as a hook reads it from the config cache
    action, n = job["action"], int(job.get("n", 1))
    now = job.get("now")
    open_state(paths, config, "warm-up").read()  # import and connect before the start line
    print("ready", flush=True)
    sys.stdin.readline()
    if action == "increment":
        store = open_state(paths, config, "counter")
        for _ in range(n):
            with store.transaction() as state:
                state["n"] = int(state.get("n", 0)) + 1  # type: ignore[call-overload]
                seen = state.setdefault("by", {})
                seen[str(os.getpid())] = seen.get(str(os.getpid()), 0) + 1
        print(json.dumps({"done": n}))
    elif action in ("breaker_fail", "breaker_allow"):
        from lib.breaker.machine import BreakerParams
        from lib.breaker.storage import JsonStoreStorage
        from lib.circuit_breaker import CircuitBreaker, CircuitBreakerError

        params = BreakerParams(**job["params"])
        storage = JsonStoreStorage(open_state(paths, config, "breakers"))  # type: ignore[arg-type]
        clock = (lambda: float(now)) if now is not None else time.time
        breaker = CircuitBreaker("Bash", params, storage=storage, clock=clock, fail_open=False)
        changes: list[list[object]] = []
        breaker.add_listener(
            lambda c: changes.append([c.old_state, c.new_state, c.snapshot.consecutive_failures])
        )
        if action == "breaker_fail":
            for _ in range(n):
                breaker.record_failure("Exit code 1")
            print(json.dumps({"changes": changes, "failures": breaker.snapshot().consecutive_failures}))
        else:
            try:
                breaker.allow(lease_id=f"pid-{os.getpid()}")
                print(json.dumps({"admitted": True}))
            except CircuitBreakerError:
                print(json.dumps({"admitted": False}))
    elif action == "rate":
        from lib.rate_limiter import RateLimiter

        limiter = RateLimiter(open_state(paths, config, "ratelimits"))  # type: ignore[arg-type]
        admitted = sum(1 for _ in range(n) if limiter.acquire("Bash", job["limit"], 60.0).allowed)
        print(json.dumps({"admitted": admitted}))
    elif action == "publish":
        bus = open_bus(paths.log_dir, config, project_dir=paths.project_dir, source=f"w{os.getpid()}")
        ids = [bus.publish("tool.pre", {"n": i, "pid": os.getpid()}).id for i in range(n)]
        bus.close()
        print(json.dumps({"ids": ids}))
    else:
        raise SystemExit(f"unknown action {action!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
