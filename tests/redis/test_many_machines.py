"""A small version of the many-machines simulation (``bench/redis_machines.py`` runs the large one):
3 machines x 3 parallel sessions on one Redis, killed and restarted in the middle; after
reconciliation Redis holds every failure, rate-limit call and event exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis_machines import simulate

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def test_machines_sharing_a_redis_lose_nothing_across_a_restart(tmp_path: Path) -> None:
    report = simulate(tmp_path, machines=3, parallel=3, calls=6, restart_at=0.4, down_seconds=1.0)
    failed = [f"{name}: {detail}" for name, ok, detail in report["checks"] if not ok]
    assert not failed, (failed, report)
    assert report["journal_records"] > 0  # the outage really went through the journal
