"""The config file: defaults, validation errors that name file/key/allowed, env overrides, the cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lib.config import ConfigError, load_config, validate_config
from lib.paths import resolve_paths


def test_defaults_without_a_file(tmp_path: Path) -> None:
    config = load_config(resolve_paths(str(tmp_path), environ={}), environ={})
    assert config["runtime"]["fail_mode"] == "open"  # type: ignore[index]
    assert config["breaker"]["max_failures"] == 5  # type: ignore[index]
    assert config["logging"]["level"] == "info"  # type: ignore[index]


def test_unknown_key_names_file_key_and_allowed_keys(tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    cfg = tmp_path / ".claude" / "hooks.toml"
    cfg.write_text("[breaker]\nmax_failure = 3\n")
    with pytest.raises(ConfigError) as err:
        load_config(resolve_paths(str(tmp_path), environ={}), environ={})
    text = str(err.value)
    assert (
        str(cfg) in text
        and "breaker.max_failure" in text
        and "allowed here:" in text
        and "max_failures" in text
    )


def test_bad_value_names_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"x.toml: runtime.fail_mode: Input should be 'open' or 'closed'"):
        validate_config({"runtime": {"fail_mode": "sometimes"}}, "x.toml", environ={})


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "hooks.toml").write_text("[breaker\n")
    with pytest.raises(ConfigError, match=r"hooks.toml: invalid TOML"):
        load_config(resolve_paths(str(tmp_path), environ={}), environ={})


def test_env_overrides_win_and_errors_name_the_variable(tmp_path: Path) -> None:
    config = validate_config({"logging": {"level": "info"}}, environ={"CLAUDE_HOOKS_LOG_LEVEL": "debug"})
    assert config["logging"]["level"] == "debug"  # type: ignore[index]
    with pytest.raises(ConfigError, match=r"environment variable CLAUDE_HOOKS_FAIL_MODE: runtime.fail_mode"):
        validate_config({}, environ={"CLAUDE_HOOKS_FAIL_MODE": "shut"})


def test_cache_is_reused_until_the_file_changes(tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    cfg = tmp_path / ".claude" / "hooks.toml"
    cfg.write_text("[breaker]\nmax_failures = 3\n")
    paths = resolve_paths(str(tmp_path), environ={})
    assert load_config(paths, environ={})["breaker"]["max_failures"] == 3  # type: ignore[index]
    cache = tmp_path / ".claude" / "state" / "config-cache.json"
    cached = json.loads(cache.read_text())
    # Poison the cached copy: a hit must serve it without re-validating.
    cached["config"]["breaker"]["max_failures"] = 99
    cache.write_text(json.dumps(cached))
    assert load_config(paths, environ={})["breaker"]["max_failures"] == 99  # type: ignore[index]
    cfg.write_text("[breaker]\nmax_failures = 4\n")
    os.utime(cfg, ns=(1, 1))  # a different mtime, whatever the clock's resolution
    assert load_config(paths, environ={})["breaker"]["max_failures"] == 4  # type: ignore[index]


def test_an_invalid_file_is_validated_once_and_its_error_served_from_the_cache(tmp_path: Path) -> None:
    (tmp_path / ".claude").mkdir()
    cfg = tmp_path / ".claude" / "hooks.toml"
    cfg.write_text('[runtime]\nfail_mode = "sometimes"\n')
    paths = resolve_paths(str(tmp_path), environ={})
    with pytest.raises(ConfigError, match=r"runtime\.fail_mode") as first:
        load_config(paths, environ={})
    assert first.value.defaults == validate_config({}, environ={})
    cache = tmp_path / ".claude" / "state" / "config-cache.json"
    cached = json.loads(cache.read_text())
    assert "runtime.fail_mode" in cached["error"]
    cached["error"] = "served from the cache"  # a hit must not re-validate
    cache.write_text(json.dumps(cached))
    with pytest.raises(ConfigError, match="served from the cache") as second:
        load_config(paths, environ={})
    assert second.value.defaults == first.value.defaults
    cfg.write_text('[runtime]\nfail_mode = "closed"\n')
    os.utime(cfg, ns=(1, 1))
    assert load_config(paths, environ={})["runtime"]["fail_mode"] == "closed"  # type: ignore[index]
