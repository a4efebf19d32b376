"""Where state and events live: the project's files (default) or a Redis server shared by many agents.

Selected by ``[backend] url`` in ``.claude/hooks.toml`` or ``CLAUDE_HOOKS_BACKEND``:

- ``file``: :class:`lib.store.JsonStore` files in ``.claude/state`` and the JSONL bus
  :class:`lib.event_bus.EventBus` in ``.claude/logs``.
- ``redis://host:port/db`` (``rediss://``, ``unix://``): :class:`~lib.backends.redis_store.RedisStore`
  and :class:`~lib.backends.redis_bus.RedisEventBus`, shared by every machine, CI runner and
  container that points at the same server and namespace. Needs ``pip install .[redis]``.

Both kinds have one API (``read()`` / ``transaction()`` for state, ``publish`` / ``tail`` /
``consumer`` for events), so the breaker and the rate limiter run unchanged on either. This module
is imported by every hook that keeps state: stdlib only. With a Redis URL a hook talks to Redis
through the lean client :mod:`lib.backends.resp` (``hiredis``); ``redis`` (redis-py) is imported
only by the CLI and readers. What the file fallback writes during an outage is replayed into Redis
afterwards (:mod:`lib.backends.reconcile`).
"""

from __future__ import annotations

import os
import time

from lib.plain_data import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TypeAlias

    from lib.backends.redis_bus import RedisEventBus
    from lib.backends.settings import BackendSettings
    from lib.event_bus import EventBus
    from lib.paths import Paths
    from lib.store import StateStore

    Warn: TypeAlias = Callable[[str], None]

__all__ = [
    "backend_settings",
    "backend_url",
    "describe",
    "describe_project",
    "open_bus",
    "open_state",
    "status_line",
]

_FILE_BUS_OPTIONS = ("max_bytes", "backups", "lock_timeout")


def backend_url(config: Mapping[str, object] | None) -> str:
    """The configured backend URL (``"file"`` when none), without importing anything."""
    section = json_object((config or {}).get("backend"))
    if section is not None:
        url = section.get("url")
        return url if isinstance(url, str) and url else "file"
    return os.environ.get("CLAUDE_HOOKS_BACKEND") or "file"  # a config built without lib.config


def backend_settings(paths: Paths, config: Mapping[str, object] | None) -> BackendSettings:
    """The ``[backend]`` section as :class:`~lib.backends.settings.BackendSettings`."""
    from lib.backends.settings import BackendSettings

    return BackendSettings.from_config(paths, config)


def _lock_timeout(config: Mapping[str, object] | None) -> float:
    state = json_object((config or {}).get("state"))
    value = state.get("lock_timeout_seconds", 1.0) if state is not None else 1.0
    return float(value) if isinstance(value, (int, float)) else 1.0


def open_state(
    paths: Paths,
    config: Mapping[str, object] | None,
    name: str,
    *,
    lock_timeout: float | None = None,
    warn: Warn | None = None,
    durable: bool = True,
) -> StateStore:
    """The project's state store ``name`` on the configured backend.

    ``file``: ``<state_dir>/<name>.json``. Redis: the JSON document ``<prefix>:{<namespace>}:state:<name>``;
    with ``fallback_to_file`` it is wrapped so that a call made while Redis is unavailable uses the
    file store (``warn`` receives the one-line notice). Nothing is connected until the first call.
    ``durable=False`` skips the file store's fsync (for state that may lose its last update in a
    machine crash, such as rate-limit windows).
    """
    from lib.store import open_store

    timeout = _lock_timeout(config) if lock_timeout is None else lock_timeout
    if backend_url(config) == "file":  # the hot path: nothing else to import
        return open_store(paths.state_dir, name, lock_timeout=timeout, durable=durable)
    from lib.backends.redis_store import RedisStore

    settings = backend_settings(paths, config)

    store = RedisStore(settings, name, lock_timeout=timeout)
    if not settings.fallback_to_file:
        return store
    from lib.backends.fallback import FallbackStore

    return FallbackStore(
        store, open_store(paths.state_dir, name, lock_timeout=timeout, durable=durable), warn
    )


def open_bus(
    log_dir: str,
    config: Mapping[str, object] | None,
    *,
    project_dir: str,
    warn: Warn | None = None,
    **options: object,
) -> EventBus | RedisEventBus:
    """The project's event bus on the configured backend; ``options`` are :class:`EventBus`'s
    (``source``, ``session_id``, ``correlation_id``, ``clock``, and the file-only ``max_bytes``,
    ``backups``, ``lock_timeout``, used by the file bus and the fallback).

    A drop-in for ``EventBus(log_dir, **options)``.
    """
    from lib.event_bus import EventBus

    if backend_url(config) == "file":
        return EventBus(log_dir, **options)  # type: ignore[arg-type]
    from lib.backends.redis_bus import RedisEventBus
    from lib.paths import Paths

    settings = backend_settings(Paths(project_dir, log_dir=log_dir), config)

    common = {k: v for k, v in options.items() if k not in _FILE_BUS_OPTIONS}

    def file_bus() -> EventBus:
        return EventBus(log_dir, **options)  # type: ignore[arg-type]

    return RedisEventBus(
        settings,
        fallback=file_bus if settings.fallback_to_file else None,
        warn=warn,
        **common,  # type: ignore[arg-type]
    )


def describe(paths: Paths, config: Mapping[str, object] | None) -> dict[str, object]:
    """Which backend is in use and whether it answers (for ``python -m lib status``).

    Keys: ``backend`` (``file``/``redis``), ``url`` (no password), ``reachable``, ``latency_ms``,
    ``error``, and for Redis ``namespace``, ``key_prefix``, ``fallback_to_file``, ``server_version``,
    ``stores`` (state documents present) and ``events`` (stream length). Never raises.
    """
    settings = backend_settings(paths, config)
    info: dict[str, object] = {
        "backend": settings.kind,
        "url": settings.display_url,
        "reachable": False,
        "latency_ms": None,
        "error": None,
    }
    if settings.kind == "file":
        info["state_dir"] = paths.state_dir
        info["log_dir"] = paths.log_dir
        t0 = time.perf_counter()
        problems = [f"{d} is not writable" for d in (paths.state_dir, paths.log_dir) if not _writable(d)]
        info["latency_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        info["reachable"] = not problems
        info["error"] = "; ".join(problems) or None
        return info
    info.update(
        namespace=settings.namespace,
        key_prefix=settings.key_prefix,
        fallback_to_file=settings.fallback_to_file,
        timeout_ms=round(settings.timeout * 1000),
    )
    from lib.backends.redis_client import BackendUnavailable, call

    try:
        t0 = time.perf_counter()
        call(settings, lambda c: c.ping())
        info["latency_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        info["reachable"] = True
        server = call(settings, lambda c: c.info("server"))
        info["server_version"] = server.get("redis_version")
        prefix = settings.key("state", "")
        keys = call(settings, lambda c: sorted(c.scan_iter(match=prefix + "*", count=200)))
        names = [k.decode()[len(prefix) :] for k in keys]
        info["stores"] = [n for n in names if ":" not in n]
        info["events"] = int(call(settings, lambda c: c.xlen(settings.key("events"))))
    except BackendUnavailable as exc:
        info["error"] = exc.problem
    return info


def describe_project(paths: Paths) -> dict[str, object]:
    """:func:`describe` with the project's own config (``.claude/hooks.toml`` and the environment);
    an invalid config is reported under ``config_error`` and the default backend described."""
    from lib.config import ConfigError, load_config

    config_error = None
    try:
        config: Mapping[str, object] = load_config(paths, write_cache=False)
    except ConfigError as exc:
        config, config_error = {}, str(exc)
    info = describe(paths, config)
    if config_error:
        info["config_error"] = config_error
    return info


def status_line(info: Mapping[str, object]) -> str:
    """One human line for :func:`describe`'s result, e.g.
    ``Backend: redis redis://10.0.0.5:6379/0 (namespace webapp): reachable, 0.4 ms``."""
    where = f"{info.get('backend')} {info.get('url')}" if info.get("backend") != "file" else "file"
    if info.get("backend") == "file":
        where += f" ({info.get('state_dir')})"
    elif info.get("namespace"):
        where += f" (namespace {info.get('namespace')})"
    if info.get("reachable"):
        health = "reachable"
        latency = info.get("latency_ms")
        if info.get("backend") != "file" and isinstance(latency, (int, float)):
            health += f", {latency:.1f} ms"
    else:
        health = f"UNREACHABLE ({info.get('error')})"
        if info.get("fallback_to_file"):
            health += "; hooks fall back to the file store"
    line = f"Backend: {where}: {health}"
    if info.get("config_error"):
        line += f" [config error: {info.get('config_error')}]"
    return line


def _writable(directory: str) -> bool:
    while not os.path.isdir(directory):  # not created yet: the first existing parent decides
        parent = os.path.dirname(directory)
        if parent == directory:
            return False
        directory = parent
    return os.access(directory, os.W_OK | os.X_OK)
