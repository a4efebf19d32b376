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
from typing import Any

import pytest
from redis_server import RedisServer, redis_binary

from lib.backends import open_bus, open_state
from lib.backends.redis_client import reset_clients
from lib.config import validate_config
from lib.paths import Paths

REPO = Path(__file__).resolve().parents[2]


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


class Backend:
    """A project on one backend: its paths, its validated config, and how to open state and the bus."""

    def __init__(self, kind: str, project: Path, url: str, **section: Any) -> None:
        self.kind = kind
        self.project = project
        self.url = url
        (project / ".claude").mkdir(parents=True, exist_ok=True)
        self.paths = Paths(str(project))
        self.section = {"url": url, **section}
        self.config = validate_config({"backend": self.section}, environ={})

    def with_options(self, **section: Any) -> Backend:
        """The same project with other ``[backend]`` options."""
        merged = {k: v for k, v in {**self.section, **section}.items() if k != "url"}
        return Backend(self.kind, self.project, self.url, **merged)

    def state(self, name: str, **kwargs: Any) -> Any:
        """The state store ``name`` as a hook would open it."""
        return open_state(self.paths, self.config, name, **kwargs)

    def bus(self, **options: Any) -> Any:
        """The event bus as a hook would open it."""
        return open_bus(self.paths.log_dir, self.config, project_dir=self.paths.project_dir, **options)

    def env(self) -> dict[str, str]:
        """The environment for a child process on this backend (the config file carries the URL)."""
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_HOOKS_", "CLAUDE_PROJECT_DIR"))
        }
        env["CLAUDE_PROJECT_DIR"] = str(self.project)
        env["PYTHONPATH"] = str(REPO)
        return env

    def write_config(self, extra: str = "") -> None:
        """Write ``.claude/hooks.toml`` selecting this backend (plus ``extra`` TOML)."""
        lines = ["[backend]"] + [f"{k} = {_toml(v)}" for k, v in self.section.items()]
        (self.project / ".claude" / "hooks.toml").write_text("\n".join(lines) + "\n" + extra)

    def __repr__(self) -> str:
        return f"Backend({self.kind})"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


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
