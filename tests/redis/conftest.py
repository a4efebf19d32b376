"""Fixtures for the backend tests: a real redis-server per session and a ``backend`` fixture that
runs a test once on the file backend and once on Redis.

``backend.config`` is the validated config a hook would load (``[backend] url`` set), so the code
under test selects its backend exactly as in production (:func:`lib.backends.open_state`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_backend import Backend
from redis_server import RedisServer, redis_binary

from lib.backends.redis_client import reset_clients


def _need_redis() -> None:
    if redis_binary() is None:
        message = "redis-server is not installed; run tests/redis/install_redis.sh"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: a missing binary there is a broken setup, not a skip
        pytest.skip(message)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the session (no persistence), on a free loopback port."""
    _need_redis()
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The session server's URL, emptied before the test; this process's clients are reset after."""
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    client.close()
    reset_clients()
    yield redis_server.url
    reset_clients()


@pytest.fixture(params=["file", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The test's project on the file backend, then on Redis."""
    if request.param == "file":
        return Backend("file", tmp_path / "project", "file")
    url = request.getfixturevalue("redis_url")
    return Backend("redis", tmp_path / "project", url, fallback_to_file=False)


@pytest.fixture
def python() -> str:
    """The interpreter of this test session (it has the redis extra)."""
    return sys.executable
