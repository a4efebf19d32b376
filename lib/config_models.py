"""Pydantic models of ``.claude/hooks.toml``: one class per section, defaults a user can rely on.

Imported only when the config file changed (see :mod:`lib.config`); hook processes read the cached,
validated form as plain data.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lib.breaker.config import BreakerOverride
from lib.breaker.config import BreakerSettings as BreakerSection
from lib.notify.config import NotifySection
from lib.otel.config import OtelSection
from lib.usage.config import UsageSection

__all__ = [
    "BackendSection",
    "BreakerOverride",
    "BreakerSection",
    "GuardsSection",
    "HooksConfig",
    "LoggingSection",
    "NotifySection",
    "OtelSection",
    "RateLimit",
    "RateLimitSection",
    "RuntimeSection",
    "StateSection",
    "allowed_keys",
]


class Section(BaseModel):
    """Base: unknown keys are errors (a typo must not silently disable a policy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RuntimeSection(Section):
    """How the hook process behaves."""

    fail_mode: Literal["open", "closed"] = Field(
        "open",
        description="What a runtime error, config error or lock timeout answers on PreToolUse: "
        "'open' lets the call through (exit 0 + warning), 'closed' denies it.",
    )
    max_payload_bytes: int = Field(
        16 * 1024 * 1024,
        ge=1024,
        description="Payloads larger than this are not parsed: no-op, except a deciding event naming a "
        "guarded tool, which is asked.",
    )
    budget_seconds: float = Field(
        10.0,
        gt=0,
        le=25,
        description="Time a PreToolUse/PreSkillShellCommand/PermissionRequest hook may take; past it the "
        "call is asked (denied under guards.level = 'strict'), well before Claude Code's 30 s hook timeout.",
    )
    handlers: list[str] = Field(
        default_factory=list,
        description="Your own handler modules: Python files (relative to the project) or dotted module names.",
    )
    disabled_builtins: list[str] = Field(
        default_factory=list,
        description="Built-in handler modules to switch off, e.g. ['rate_limit'] (names from hooks/).",
    )


class StateSection(Section):
    """The locked JSON state store."""

    lock_timeout_seconds: float = Field(
        1.0, gt=0, le=30, description="Wait at most this long for a state lock."
    )


class LoggingSection(Section):
    """Structured logs in ``.claude/logs/``."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    max_field_chars: int = Field(2000, ge=64, description="Tool inputs/outputs are truncated to this size.")
    rotate_max_bytes: int = Field(
        10 * 1024 * 1024, ge=4096, description="Rotate a .jsonl file once it is larger than this."
    )
    rotate_backups: int = Field(5, ge=1, le=1000, description="Rotated files kept per log.")
    redact: bool = Field(True, description="Redact secrets before anything reaches disk.")


class RateLimit(Section):
    """``calls`` allowed in a sliding window of ``window_seconds``."""

    calls: int = Field(ge=1)
    window_seconds: float = Field(gt=0)


class RateLimitSection(Section):
    """Sliding-window limits on tool calls."""

    enabled: bool = True
    action: Literal["deny", "ask"] = Field("deny", description="What PreToolUse answers over the limit.")
    scope: Literal["session", "project"] = Field(
        "session", description="Count per Claude session, or across all sessions of the project."
    )
    default: RateLimit | None = Field(
        default_factory=lambda: RateLimit(calls=300, window_seconds=60.0),
        description="Limit for every tool without its own entry (null: none).",
    )
    tools: dict[str, RateLimit] = Field(default_factory=dict, description="Per-tool limits, e.g. WebFetch.")


class GuardsSection(Section):
    """Built-in guard policies."""

    level: Literal["strict", "standard", "permissive"] = "standard"
    bash: bool = Field(True, description="Guard Bash commands.")
    files: bool = Field(True, description="Guard file reads and writes.")
    allowlist: list[str] = Field(
        default_factory=list,
        description="Bash commands always allowed: exact, a glob (`npm *`) or 're:<regex>'; "
        "matched against one simple command at a time.",
    )
    protected_paths: list[str] = Field(default_factory=list, description="Extra protected path globs.")
    unprotected_paths: list[str] = Field(default_factory=list, description="Default protected globs to drop.")
    protected_branches: list[str] = Field(
        default_factory=lambda: ["main", "master"],
        description="Branches a force-push or a branch deletion of is denied.",
    )
    writable_dirs: list[str] = Field(
        default_factory=list,
        description="Directories outside the project that writes may go to without asking.",
    )
    rules: dict[str, Literal["deny", "ask", "allow"]] = Field(
        default_factory=dict,
        description="Per-rule decision overriding the level, by rule id (see `python -m lib guards rules`).",
    )

    @field_validator("allowlist")
    @classmethod
    def _allowlist_compiles(cls, value: list[str]) -> list[str]:
        from lib.guards.bash_policy import compile_allowlist

        compile_allowlist(value)  # raises ValueError naming a bad re: entry
        return value

    @field_validator("rules")
    @classmethod
    def _known_rules(cls, value: dict[str, str]) -> dict[str, str]:
        from lib.guards.bash_policy import RULES as BASH_RULES
        from lib.guards.file_policy import RULES as FILE_RULES

        unknown = sorted(set(value) - set(BASH_RULES) - set(FILE_RULES))
        if unknown:
            known = ", ".join(sorted(set(BASH_RULES) | set(FILE_RULES)))
            raise ValueError(f"unknown rule id(s) {', '.join(unknown)}; known rules: {known}")
        return value


class BackendSection(Section):
    """Where breaker/rate-limit state and the event bus live: files in the project (default) or Redis."""

    url: str = Field(
        "file",
        description="'file' (the project's .claude/state and .claude/logs), or a Redis URL "
        "'redis://[:password@]host:port/db', 'rediss://...' (TLS) or 'unix:///path/redis.sock?db=0' "
        "shared by every machine and runner (needs `pip install .[redis]`). "
        "Env override: CLAUDE_HOOKS_BACKEND.",
    )
    fallback_to_file: bool = Field(
        True,
        description="When Redis is unreachable or slow, use the file store for that call (and say so "
        "once on stderr); false: raise, so the hook answers with runtime.fail_mode.",
    )
    timeout_ms: int = Field(
        200, ge=10, le=10_000, description="Connect and reply timeout of each Redis call, in milliseconds."
    )
    key_prefix: str = Field(
        "claude-hooks", min_length=1, max_length=100, description="First part of every Redis key."
    )
    namespace: str | None = Field(
        None,
        max_length=200,
        description="The project's part of the Redis keys; projects with the same namespace share "
        "state. Default: the project directory's name (the same checkout name on every machine).",
    )
    ttl_seconds: int = Field(
        7 * 24 * 3600,
        ge=60,
        description="Redis state, event-stream and consumer keys expire after this long without a write "
        "(abandoned projects vanish).",
    )
    stream_maxlen: int = Field(
        100_000, ge=100, description="The Redis event stream is trimmed to about this many events."
    )
    claim_idle_seconds: float = Field(
        60.0,
        gt=0,
        description="A durable consumer takes over events another member read but did not "
        "acknowledge for this long (it crashed).",
    )

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        text = value.strip()
        if text.lower() == "file":
            return "file"
        parts = urlsplit(text)
        if parts.password:  # error messages must not carry the password
            value = text.replace(":" + parts.password + "@", ":***@", 1)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                f"{value!r} is not a backend; use 'file' or a URL like 'redis://127.0.0.1:6379/0'"
            )
        if parts.scheme == "unix":
            if not parts.path:
                raise ValueError(f"{value!r} has no socket path; write 'unix:///run/redis/redis.sock?db=0'")
            return text
        if not parts.hostname:
            raise ValueError(f"{value!r} has no host; write 'redis://HOST:PORT/DB'")
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError:
            raise ValueError(f"{value!r} has an invalid port; write 'redis://HOST:PORT/DB'") from None
        db = parts.path.strip("/")
        if db and not db.isdigit():
            raise ValueError(f"{value!r}: the database after the '/' must be a number, e.g. /0")
        return text

    @field_validator("key_prefix", "namespace")
    @classmethod
    def _check_key_part(cls, value: str | None) -> str | None:
        if value is not None and any(c.isspace() or c in "{}" for c in value):
            raise ValueError(f"{value!r} must not contain spaces or braces")
        return value


class HooksConfig(Section):
    """The whole of ``.claude/hooks.toml``."""

    runtime: RuntimeSection = Field(default_factory=RuntimeSection)  # type: ignore[arg-type]
    state: StateSection = Field(default_factory=StateSection)  # type: ignore[arg-type]
    logging: LoggingSection = Field(default_factory=LoggingSection)  # type: ignore[arg-type]
    breaker: BreakerSection = Field(default_factory=BreakerSection)  # type: ignore[arg-type]
    rate_limit: RateLimitSection = Field(default_factory=RateLimitSection)  # type: ignore[arg-type]
    guards: GuardsSection = Field(default_factory=GuardsSection)  # type: ignore[arg-type]
    backend: BackendSection = Field(default_factory=BackendSection)  # type: ignore[arg-type]
    usage: UsageSection = Field(default_factory=UsageSection)  # type: ignore[arg-type]
    notify: NotifySection = Field(default_factory=NotifySection)  # type: ignore[arg-type]
    otel: OtelSection = Field(default_factory=OtelSection)  # type: ignore[arg-type]


def allowed_keys(loc: tuple[str, ...]) -> list[str]:
    """The keys allowed at ``loc`` (a path of section names), for error messages."""
    model: type[BaseModel] = HooksConfig
    for part in loc:
        field = model.model_fields.get(part)
        annotation = field.annotation if field else None
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            break
    return sorted(model.model_fields)
