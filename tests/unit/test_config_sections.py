"""What ``.claude/hooks.toml`` accepts in its [guards] and [backend] sections, and how a mistake is
reported: the file, the key, and what to write instead (passwords never echoed)."""

from __future__ import annotations

import pytest

from lib.config import ConfigError, validate_config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"guards": {"allowlist": ["re:("]}}, "guards.allowlist: Value error, guards.allowlist entry 're:(' is not a valid regex"),
        ({"guards": {"rules": {"nope": "deny"}}}, "guards.rules: Value error, unknown rule id(s) nope; known rules: "),
        ({"backend": {"url": "http://x"}}, "'http://x' is not a backend; use 'file' or a URL like 'redis://127.0.0.1:6379/0'"),
        ({"backend": {"url": "redis://:hunter2pw@"}}, "'redis://:***@' has no host; write 'redis://HOST:PORT/DB'"),
        ({"backend": {"url": "unix://"}}, "'unix://' has no socket path; write 'unix:///run/redis/redis.sock?db=0'"),
        ({"backend": {"url": "redis://h:99999/0"}}, "'redis://h:99999/0' has an invalid port"),
        ({"backend": {"url": "redis://h:1/x"}}, "the database after the '/' must be a number, e.g. /0"),
        ({"backend": {"namespace": "a b"}}, "backend.namespace: Value error, 'a b' must not contain spaces or braces"),
        ({"backend": {"key_prefix": "x{y}"}}, "backend.key_prefix: Value error, 'x{y}' must not contain"),
        ({"breaker": {"nope": 1}}, "breaker.nope: unknown key; allowed here: bash_key, "),
        ({"breaker": {"overrides": {"Bash": {"nope": 1}}}}, "unknown key; allowed here: "),
    ],
)  # fmt: skip
def test_a_mistake_names_the_file_the_key_and_the_fix(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_config(data, "/p/.claude/hooks.toml", environ={})
    assert str(caught.value).startswith("/p/.claude/hooks.toml: ")
    assert message in str(caught.value)
    assert "hunter2pw" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        (" FILE ", "file"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("rediss://cache.internal:6380", "rediss://cache.internal:6380"),
        ("unix:///run/redis/redis.sock?db=2", "unix:///run/redis/redis.sock?db=2"),
    ],
)
def test_backend_urls_a_user_writes_are_accepted(url: str, kept: str) -> None:
    config = validate_config({"backend": {"url": url}}, "hooks.toml", environ={})
    backend = config["backend"]
    assert isinstance(backend, dict) and backend["url"] == kept


def test_guard_rules_and_allowlist_entries_that_exist_are_accepted() -> None:
    config = validate_config(
        {
            "guards": {
                "rules": {"git-force-push": "ask", "env-read": "allow"},
                "allowlist": ["re:^make( |$)", "ls"],
            }
        },
        "hooks.toml",
        environ={},
    )
    guards = config["guards"]
    assert isinstance(guards, dict)
    assert guards["rules"] == {"git-force-push": "ask", "env-read": "allow"}
    assert guards["allowlist"] == ["re:^make( |$)", "ls"]
