"""The ``[backend]`` section as plain values: which backend, its URL, timeouts and Redis key names.

Stdlib only (every hook process reads it). The section is validated by
:class:`lib.config_models.BackendSection`; this class only reads the cached, validated form.

Redis keys are namespaced per project::

    <key_prefix>:{<namespace>}:state:<store name>        one JSON document per store
    <key_prefix>:{<namespace>}:state:<store name>:lock   its transaction lock
    <key_prefix>:{<namespace>}:events                    the event stream
    <key_prefix>:{<namespace>}:consumer:<name>           a durable consumer's saved state

The braces are a Redis Cluster hash tag: every key of a project lands in one slot, so a Lua script
may touch several of them.
"""

from __future__ import annotations

import os

from lib.plain_data import json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from lib.paths import Paths

__all__ = ["BackendSettings", "redact_url"]

_DEFAULTS: dict[str, object] = {
    "url": "file",
    "fallback_to_file": True,
    "timeout_ms": 200,
    "key_prefix": "claude-hooks",
    "namespace": None,
    "ttl_seconds": 7 * 24 * 3600,
    "stream_maxlen": 100_000,
    "claim_idle_seconds": 60.0,
}


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages, logs and ``status``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _, host = rest.rpartition("@")
    if ":" in userinfo:
        user = userinfo.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}"
    return f"{scheme}://***@{host}"  # a bare 'redis://secret@host' is a password too


def _safe_key_part(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_.@" else "_" for c in text) or "project"


class BackendSettings:
    """Where state and events live for one project, and how to reach Redis."""

    __slots__ = (
        "claim_idle_seconds",
        "config",
        "fallback_to_file",
        "key_prefix",
        "lock_timeout",
        "namespace",
        "state_dir",
        "stream_maxlen",
        "timeout",
        "ttl_seconds",
        "url",
    )

    def __init__(
        self,
        url: str = "file",
        *,
        namespace: str = "project",
        fallback_to_file: bool = True,
        timeout: float = 0.2,
        key_prefix: str = "claude-hooks",
        ttl_seconds: int = 7 * 24 * 3600,
        stream_maxlen: int = 100_000,
        claim_idle_seconds: float = 60.0,
        lock_timeout: float = 1.0,
        state_dir: str | None = None,
        config: Mapping[str, object] | None = None,
    ) -> None:
        self.url = url
        self.namespace = namespace
        self.fallback_to_file = fallback_to_file
        self.timeout = timeout
        self.key_prefix = key_prefix
        self.ttl_seconds = ttl_seconds
        self.stream_maxlen = stream_maxlen
        self.claim_idle_seconds = claim_idle_seconds
        self.lock_timeout = lock_timeout
        #: The project's file state directory: the fallback's journal lives there and is replayed
        #: into Redis once it answers again (``None``: no fallback journal, e.g. library use).
        self.state_dir = state_dir
        #: The validated config the settings were read from (the breaker parameters used when
        #: replaying breaker outcomes recorded during an outage).
        self.config: Mapping[str, object] = config or {}

    @classmethod
    def from_config(cls, paths: Paths, config: Mapping[str, object] | None) -> BackendSettings:
        """Read ``[backend]`` (and ``[state] lock_timeout_seconds``) from the validated config.

        ``CLAUDE_HOOKS_BACKEND`` is applied by :mod:`lib.config` when the config is validated; a
        config dict built without it (tests, library use) still honours the variable here.
        """
        config = config or {}
        backend = json_object(config.get("backend"))
        section: Mapping[str, object] = backend if backend is not None else {}
        state = json_object(config.get("state"))
        lock_timeout = state.get("lock_timeout_seconds", 1.0) if state is not None else 1.0

        def get(key: str) -> object:
            value = section.get(key)
            return _DEFAULTS[key] if value is None else value

        url = str(get("url"))
        if backend is None:
            url = os.environ.get("CLAUDE_HOOKS_BACKEND") or url  # a config built without lib.config
        namespace = get("namespace")
        return cls(
            url,
            namespace=_safe_key_part(
                str(namespace) if namespace else os.path.basename(paths.project_dir.rstrip(os.sep))
            ),
            fallback_to_file=bool(get("fallback_to_file")),
            timeout=float(get("timeout_ms")) / 1000.0,  # type: ignore[arg-type]
            key_prefix=str(get("key_prefix")),
            ttl_seconds=int(get("ttl_seconds")),  # type: ignore[call-overload]
            stream_maxlen=int(get("stream_maxlen")),  # type: ignore[call-overload]
            claim_idle_seconds=float(get("claim_idle_seconds")),  # type: ignore[arg-type]
            lock_timeout=float(lock_timeout),  # type: ignore[arg-type]
            state_dir=paths.state_dir,
            config=config,
        )

    @property
    def journal_path(self) -> str | None:
        """The fallback's reconciliation journal (:mod:`lib.backends.reconcile`); ``None`` without a
        state directory."""
        if self.state_dir is None:
            return None
        return os.path.join(self.state_dir, "redis-journal.jsonl")

    @property
    def kind(self) -> str:
        """``"file"`` or ``"redis"``."""
        return "file" if self.url == "file" else "redis"

    @property
    def display_url(self) -> str:
        """The URL without its password."""
        return redact_url(self.url)

    def key(self, *parts: str) -> str:
        """The Redis key ``<prefix>:{<namespace>}:<parts...>``."""
        return ":".join((self.key_prefix, "{" + self.namespace + "}", *parts))

    def __repr__(self) -> str:
        return f"BackendSettings({self.display_url!r}, namespace={self.namespace!r})"
