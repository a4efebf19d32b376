"""The one config file, ``.claude/hooks.toml``: pydantic models, loading, env overrides, caching.

Every section is optional; an absent file means the defaults. Validation runs with pydantic once
per change of the file (or of an override variable): the validated form is cached as plain JSON in
the state dir, keyed by the file's path, mtime and size, so a hook process reads one small JSON file
instead of importing pydantic and tomllib on every tool call.

Environment overrides (for CI): ``CLAUDE_HOOKS_LOG_LEVEL`` (logging.level), ``CLAUDE_HOOKS_FAIL_MODE``
(runtime.fail_mode), ``CLAUDE_HOOKS_BACKEND`` (backend.url), ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (otel.endpoint / otel.traces_endpoint), ``CLAUDE_HOOKS_STATE_DIR`` /
``CLAUDE_HOOKS_LOG_DIR`` (locations, see :mod:`lib.paths`), ``CLAUDE_HOOKS_CONFIG`` (another config file).
"""

from __future__ import annotations

import os

from lib import fastjson
from lib.plain_data import json_object, two_level_copy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from lib.paths import Paths

__all__ = [
    "ENV_OVERRIDES",
    "ConfigError",
    "as_dict",
    "config_section",
    "load_config",
    "read_config_file",
    "validate_config",
]

#: env var -> (section, key)
ENV_OVERRIDES = {
    "CLAUDE_HOOKS_LOG_LEVEL": ("logging", "level"),
    "CLAUDE_HOOKS_FAIL_MODE": ("runtime", "fail_mode"),
    "CLAUDE_HOOKS_BACKEND": ("backend", "url"),
    "OTEL_EXPORTER_OTLP_ENDPOINT": ("otel", "endpoint"),
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ("otel", "traces_endpoint"),
}
_CACHE_NAME = "config-cache.json"
_CACHE_VERSION = 1


class ConfigError(ValueError):
    """The config file is invalid; the message names the file, the key and what is allowed.

    ``defaults`` is the validated default config (what the hooks run with meanwhile) when
    :func:`load_config` raised it, else None.
    """

    def __init__(self, message: str, defaults: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.defaults = defaults


def _cache_key(paths: Paths, environ: Mapping[str, str]) -> list[object]:
    try:
        st = os.stat(paths.config_file)
        stamp: list[object] = [st.st_mtime_ns, st.st_size]
    except FileNotFoundError:
        stamp = [None, None]
    overrides = [environ.get(name) for name in ENV_OVERRIDES]
    return [_CACHE_VERSION, paths.config_file, *stamp, *overrides]


def load_config(
    paths: Paths, environ: dict[str, str] | None = None, *, write_cache: bool = True
) -> dict[str, object]:
    """Return the validated config as plain data, from the cache when the file has not changed.

    Raises :class:`ConfigError` (with the defaults in ``defaults``) when the file or an override is
    invalid. The error is cached too, so a broken file costs one validation, not one per hook.
    ``write_cache=False`` (the reading commands) leaves the project's files as they are.
    """
    env = os.environ if environ is None else environ
    key = _cache_key(paths, env)
    cache_path = os.path.join(paths.state_dir, _CACHE_NAME)
    cached = _read_cache(cache_path)
    config = json_object(cached.get("config")) if cached is not None else None
    if cached is not None and cached.get("key") == key and config is not None:
        error = cached.get("error")
        if isinstance(error, str):
            raise ConfigError(error, defaults=config)
        return config
    raw: dict[str, object] = {}
    try:
        raw = read_config_file(paths.config_file)
        config = validate_config(raw, paths.config_file, env)
    except ConfigError as exc:
        try:  # the defaults, with the valid fail_mode and the env overrides still honoured
            defaults = validate_config(_fail_mode_only(raw), environ=env)
        except ConfigError:  # an override itself is the invalid part
            defaults = validate_config(_fail_mode_only(raw), environ={})
        if write_cache:
            _write_cache(paths, cache_path, key, defaults, error=str(exc))
        raise ConfigError(str(exc), defaults=defaults) from None
    if write_cache:
        _write_cache(paths, cache_path, key, config)
    return config


def _read_cache(cache_path: str) -> dict[str, object] | None:
    from lib.safe_files import UnsafePathError, read_regular, warn_once

    try:
        raw = read_regular(cache_path)
        cached = fastjson.loads(raw) if raw is not None else None
    except UnsafePathError as exc:  # a symlink or a foreign file: never read, never written
        warn_once(cache_path, str(exc))
        return None
    except (OSError, ValueError):
        return None
    return json_object(cached)


def _fail_mode_only(raw: dict[str, object]) -> dict[str, object]:
    """The part of an invalid file still honoured: a valid ``runtime.fail_mode`` (a user who chose
    fail-closed keeps it while another key is broken)."""
    runtime = json_object(raw.get("runtime"))
    mode = runtime.get("fail_mode") if runtime is not None else None
    return {"runtime": {"fail_mode": mode}} if mode in ("open", "closed") else {}


def read_config_file(path: str) -> dict[str, object]:
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); fix its permissions") from None
    import tomllib

    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8 TOML") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _write_cache(
    paths: Paths, cache_path: str, key: list[object], config: dict[str, object], *, error: str | None = None
) -> None:
    from lib.store import StateError, open_store

    try:
        store = open_store(paths.state_dir, _CACHE_NAME[: -len(".json")])
        with store.transaction() as state:
            state.clear()
            state.update({"key": key, "config": config})
            if error is not None:
                state["error"] = error  # the file is invalid; "config" holds the defaults
    except (OSError, StateError):
        pass  # a read-only state dir only costs a re-validation next time


def validate_config(
    data: dict[str, object],
    source: str = "<config>",
    environ: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """Validate ``data`` (plus env overrides) and return it as plain JSON-able data with defaults."""
    from pydantic import ValidationError

    from lib.config_models import HooksConfig

    env = os.environ if environ is None else environ
    merged = two_level_copy(data)  # the overrides below must not change ``data``'s tables
    origin: dict[tuple[str, str], str] = {}
    for var, (section, field) in ENV_OVERRIDES.items():
        value = env.get(var)
        if value:
            target = merged.setdefault(section, {})
            if isinstance(target, dict):
                target[field] = value
                origin[(section, field)] = var
    try:
        model = HooksConfig.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source, origin)) from None
    return model.model_dump(mode="json")


def _describe(exc: object, source: str, origin: dict[tuple[str, str], str]) -> str:
    from pydantic import ValidationError

    from lib.config_models import allowed_keys

    assert isinstance(exc, ValidationError)
    problems: list[str] = []
    for err in exc.errors():
        loc = tuple(str(p) for p in err["loc"])
        key = ".".join(loc) or "(top level)"
        where = source
        if len(loc) >= 2 and (loc[0], loc[1]) in origin:
            where = f"environment variable {origin[(loc[0], loc[1])]}"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = f"unknown key; allowed here: {', '.join(allowed_keys(loc[:-1]))}"
        problems.append(f"{where}: {key}: {msg}")
    return "; ".join(problems)


def as_dict(value: object) -> dict[str, object]:
    """``value`` when it is a dict (a table of the validated config, a JSON record), else ``{}``;
    typed for the readers of plain config data."""
    table = json_object(value)
    return {} if table is None else table


def config_section(config: Mapping[str, object], name: str) -> dict[str, object]:
    """The section ``name`` of a validated config (``{}`` when absent)."""
    return as_dict(config.get(name))
