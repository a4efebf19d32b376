"""Sliding-window rate limits, shared by every hook process through the locked JSON store.

A limit allows ``limit`` calls in any ``window_seconds`` interval. Each key keeps the times of its
admitted calls inside the window (a sliding log: exact, and it can say when the next call frees up);
a refused call is not recorded. The window arithmetic (:func:`slide`) is pure and takes the time
as an argument; :class:`RateLimiter` applies it atomically in ``<state_dir>/ratelimits.json``::

    {"version": 1, "windows": {"Bash@<session id>": {"calls": [1767.1, ...], "limit": 30,
                                                      "window_seconds": 60.0, ...}}}

For tool calls (:class:`ToolRateLimits`) the key is the tool name, per Claude session or for the
whole project; the ``[rate_limit]`` section of ``.claude/hooks.toml`` sets the limits.
"""

from __future__ import annotations

import time

from lib.plain_data import fields_dict, json_list, json_object, nested_object, two_level_copy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from threading import Lock

    from lib.store import StateStore

__all__ = [
    "RateDecision",
    "RateLimitSettings",
    "RateLimiter",
    "ToolRateLimits",
    "format_rate_limit",
    "rate_key",
    "slide",
]

#: The ``version`` written into ``ratelimits.json``.
FORMAT_VERSION = 1

#: The keys of :meth:`RateDecision.as_dict`, in order.
_DECISION_FIELDS = (
    "key",
    "allowed",
    "used",
    "limit",
    "remaining",
    "window_seconds",
    "reset_at",
    "clear_at",
    "retry_after",
)


class RateDecision:
    """The answer for one call: admitted or not, how many calls remain, when a slot frees up.

    ``reset_at`` is when the oldest call in the window leaves it (the next free slot when the
    limit is reached); ``clear_at`` when the window is empty again. Both are epoch seconds.
    """

    __slots__ = (
        "allowed",
        "clear_at",
        "key",
        "limit",
        "now",
        "remaining",
        "reset_at",
        "used",
        "window_seconds",
    )

    def __init__(
        self,
        key: str,
        *,
        allowed: bool,
        used: int,
        limit: int,
        window_seconds: float,
        reset_at: float,
        clear_at: float,
        now: float,
    ) -> None:
        self.key = key
        self.allowed = allowed
        self.used = used
        self.limit = limit
        self.window_seconds = window_seconds
        self.remaining = max(0, limit - used)
        self.reset_at = reset_at
        self.clear_at = clear_at
        self.now = now

    @property
    def retry_after(self) -> float:
        """Seconds until a call is admitted again (0 when it was admitted)."""
        return 0.0 if self.allowed else max(0.0, self.reset_at - self.now)

    def as_dict(self) -> dict[str, object]:
        """Plain data for JSON output."""
        return fields_dict(self, _DECISION_FIELDS)

    def __repr__(self) -> str:
        return (
            f"RateDecision({self.key!r}, allowed={self.allowed}, used={self.used}/{self.limit}, "
            f"retry_after={self.retry_after:.3f})"
        )


def _calls(record: object) -> list[float]:
    fields = json_object(record)
    calls = json_list(fields.get("calls")) if fields is not None else None
    if calls is None:
        return []
    return sorted(float(c) for c in calls if isinstance(c, (int, float)) and not isinstance(c, bool))


def slide(
    calls: list[float], now: float, limit: int, window_seconds: float, *, record: bool = True
) -> tuple[list[float], bool]:
    """Drop the calls that left the window ``(now - window_seconds, now]`` and, if fewer than
    ``limit`` remain, admit one more (appending ``now`` when ``record``).

    Returns the calls to keep and whether the call is admitted. Pure: ``calls`` is not modified.
    """
    start = now - window_seconds
    live = [c for c in calls if start < c <= now] + [c for c in calls if c > now]  # clock skew: keep
    live.sort()
    allowed = len(live) < limit
    if allowed and record:
        live.append(now)
    return live, allowed


def _decision(
    key: str, live: list[float], allowed: bool, limit: int, window: float, now: float
) -> RateDecision:
    if live:
        # the call whose departure lets one more in: with n recorded, n - limit + 1 must leave
        index = max(0, min(len(live) - 1, len(live) - limit)) if not allowed else 0
        reset_at = live[index] + window
        clear_at = live[-1] + window
    else:
        reset_at = clear_at = now
    return RateDecision(
        key,
        allowed=allowed,
        used=len(live),
        limit=limit,
        window_seconds=window,
        reset_at=reset_at,
        clear_at=clear_at,
        now=now,
    )


def _check(limit: int, window_seconds: float) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"rate limit must be an integer >= 1, got {limit!r}")
    if not isinstance(window_seconds, (int, float)) or not window_seconds > 0:
        raise ValueError(f"rate limit window_seconds must be > 0, got {window_seconds!r}")


class RateLimiter:
    """Sliding-window limits by key, in a JSON state store (:class:`lib.store.JsonStore` or its Redis
    counterpart from :func:`lib.backends.open_state`), or in memory when ``store`` is ``None``.

    :meth:`acquire` takes the store's lock (the call must be recorded); :meth:`peek` and
    :meth:`status` read lock-free. Raises :class:`lib.store.StateError` / ``LockTimeout`` when the
    store cannot be written; the caller decides whether that fails open or closed.
    """

    def __init__(self, store: StateStore | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._memory: dict[str, object] = {}
        self._lock: Lock | None = None
        if store is None:
            import threading

            self._lock = threading.Lock()

    @classmethod
    def open(
        cls, state_dir: str, *, lock_timeout: float = 1.0, clock: Callable[[], float] = time.time
    ) -> RateLimiter:
        """The limiter on ``<state_dir>/ratelimits.json``."""
        from lib.store import open_store

        return cls(open_store(state_dir, "ratelimits", lock_timeout=lock_timeout), clock=clock)

    def _guard(self) -> Lock:
        assert self._lock is not None, "the in-memory limiter has a lock"
        return self._lock

    @staticmethod
    def _windows(state: dict[str, object]) -> dict[str, object]:
        return nested_object(state, "windows")

    def _read(self) -> dict[str, object]:
        if self.store is None:
            with self._guard():
                return two_level_copy(self._memory)
        return self._windows(self.store.read())

    def _transact(self, change: Callable[[dict[str, object]], RateDecision]) -> RateDecision:
        if self.store is None:
            with self._guard():
                return change(self._memory)
        with self.store.transaction() as state:
            state["version"] = FORMAT_VERSION
            return change(self._windows(state))

    def acquire(
        self, key: str, limit: int, window_seconds: float, *, meta: Mapping[str, object] | None = None
    ) -> RateDecision:
        """Admit one call under ``key`` if fewer than ``limit`` were admitted in the window, and record it.

        ``meta`` (plain data, e.g. the tool and session) is stored with the window for the CLI.
        Windows of other keys that have emptied are dropped in the same transaction.
        """
        _check(limit, window_seconds)
        now = self.clock()

        def change(windows: dict[str, object]) -> RateDecision:
            old = windows.get(key)
            live, allowed = slide(_calls(old), now, limit, window_seconds)
            decision = _decision(key, live, allowed, limit, window_seconds, now)
            if allowed:
                windows[key] = {
                    **(old if isinstance(old, dict) else {}),
                    **(dict(meta) if meta else {}),
                    "calls": [round(c, 6) for c in live],
                    "limit": limit,
                    "window_seconds": window_seconds,
                }
            _prune(windows, now, keep=key)
            return decision

        return self._transact(change)

    def peek(self, key: str, limit: int, window_seconds: float) -> RateDecision:
        """What :meth:`acquire` would answer now, without recording anything (lock-free)."""
        _check(limit, window_seconds)
        now = self.clock()
        live, allowed = slide(_calls(self._read().get(key)), now, limit, window_seconds, record=False)
        return _decision(key, live, allowed, limit, window_seconds, now)

    def status(self) -> list[dict[str, object]]:
        """Every non-empty window as plain data (key, meta, used, limit, remaining, resets), by key."""
        now = self.clock()
        out: list[dict[str, object]] = []
        windows = self._read()
        for key in sorted(windows):
            record = json_object(windows[key])
            if record is None:
                continue
            limit, window = record.get("limit"), record.get("window_seconds")
            if not isinstance(limit, int) or not isinstance(window, (int, float)) or limit < 1 or window <= 0:
                continue
            live, _ = slide(_calls(record), now, limit, float(window), record=False)
            if not live:
                continue
            decision = _decision(key, live, len(live) < limit, limit, float(window), now)
            meta = {k: v for k, v in record.items() if k not in ("calls", "limit", "window_seconds")}
            out.append({**meta, **decision.as_dict()})
        return out

    def reset(self, patterns: Iterable[str] | None = None) -> list[str]:
        """Forget the windows whose key matches one of ``patterns`` (exact or glob; ``None``: all)."""
        wanted = None if patterns is None else list(patterns)
        from fnmatch import fnmatchcase

        def change(windows: dict[str, object]) -> list[str]:
            targets = [
                k for k in windows if wanted is None or any(k == p or fnmatchcase(k, p) for p in wanted)
            ]
            for k in targets:
                del windows[k]
            return targets

        if self.store is None:
            with self._guard():
                return change(self._memory)
        with self.store.transaction() as state:
            return change(self._windows(state))


def _prune(windows: dict[str, object], now: float, *, keep: str) -> None:
    for key in [k for k in windows if k != keep]:
        record = json_object(windows[key])
        window = record.get("window_seconds") if record is not None else None
        calls = _calls(record)
        if not isinstance(window, (int, float)) or not calls or calls[-1] <= now - window:
            del windows[key]


# -- tool calls ------------------------------------------------------------------------------------

SCOPES = ("session", "project")
ACTIONS = ("deny", "ask")


def rate_key(tool_name: str, session_id: str | None, scope: str = "session") -> str:
    """The window key of a tool call: ``Bash@<session id>`` per session, ``Bash`` per project."""
    if scope == "project" or not session_id:
        return tool_name
    return f"{tool_name}@{session_id}"


def _rule(value: object) -> tuple[int, float] | None:
    fields = json_object(value)
    if fields is None:
        return None
    calls, window = fields.get("calls"), fields.get("window_seconds")
    if isinstance(calls, bool) or not isinstance(calls, int) or not isinstance(window, (int, float)):
        return None
    return calls, float(window)


class RateLimitSettings:
    """The ``[rate_limit]`` section as plain values (validated by the config models)."""

    __slots__ = ("action", "default", "enabled", "scope", "tools")

    def __init__(
        self,
        *,
        enabled: bool = True,
        action: str = "deny",
        scope: str = "session",
        default: tuple[int, float] | None = (300, 60.0),
        tools: Mapping[str, tuple[int, float] | None] | None = None,
    ) -> None:
        if action not in ACTIONS:
            raise ValueError(f"[rate_limit] action must be one of {', '.join(ACTIONS)}, got {action!r}")
        if scope not in SCOPES:
            raise ValueError(f"[rate_limit] scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        self.enabled = enabled
        self.action = action
        self.scope = scope
        self.default = default
        self.tools = dict(tools or {})

    @classmethod
    def from_mapping(cls, section: Mapping[str, object] | None) -> RateLimitSettings:
        """Build from the validated ``[rate_limit]`` dict of the config cache (``None``: defaults)."""
        if not section:
            return cls()
        tools = json_object(section.get("tools"))
        return cls(
            enabled=bool(section.get("enabled", True)),
            action=str(section.get("action", "deny")),
            scope=str(section.get("scope", "session")),
            default=_rule(section.get("default")) if "default" in section else (300, 60.0),
            tools={k: _rule(v) for k, v in tools.items()} if tools is not None else {},
        )

    def rule_for(self, tool_name: str) -> tuple[int, float] | None:
        """``(calls, window_seconds)`` for ``tool_name``: its own entry (exact, then glob), else the default."""
        if not self.enabled:
            return None
        if tool_name in self.tools:
            return self.tools[tool_name]
        if self.tools:
            from fnmatch import fnmatchcase  # imports re: only when per-tool limits are configured

            for pattern, rule in self.tools.items():
                if fnmatchcase(tool_name, pattern):
                    return rule
        return self.default


def _fmt_window(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 120 else f"{seconds / 60:g} min"


def format_rate_limit(tool_name: str, decision: RateDecision, scope: str, *, for_user: bool = False) -> str:
    """The reason shown when ``tool_name`` is over its limit: the count, the limit, when it resets."""
    where = "in this session" if scope == "session" else "in this project"
    wait = max(0, round(decision.retry_after))
    clock = time.strftime("%H:%M:%S UTC", time.gmtime(decision.reset_at))
    head = (
        f"Rate limit: {tool_name} was called {decision.used} times in the last "
        f"{_fmt_window(decision.window_seconds)} {where} (limit {decision.limit} per "
        f"{_fmt_window(decision.window_seconds)}); {decision.remaining} calls remain. "
        f"The next call is allowed in {wait}s (at {clock})"
    )
    if for_user:
        return head + ". Allow this call anyway?"
    return head + ". Wait, batch the work into fewer calls, or use another approach meanwhile."


class ToolRateLimits:
    """Rate limits on Claude Code tool calls, as the PreToolUse hook applies them."""

    def __init__(self, limiter: RateLimiter, settings: RateLimitSettings | None = None) -> None:
        self.limiter = limiter
        self.settings = settings or RateLimitSettings()

    def check(self, tool_name: str, session_id: str | None) -> RateDecision | None:
        """Record the call and return its decision (``None``: no limit applies to this tool)."""
        rule = self.settings.rule_for(tool_name)
        if rule is None:
            return None
        scope = self.settings.scope
        key = rate_key(tool_name, session_id, scope)
        meta: dict[str, object] = {"tool": tool_name, "scope": scope}
        if scope == "session" and session_id:
            meta["session_id"] = session_id
        return self.limiter.acquire(key, rule[0], rule[1], meta=meta)

    def reason(self, tool_name: str, decision: RateDecision) -> str:
        """The deny reason (for Claude) or ask reason (for the user) for a refused call."""
        return format_rate_limit(
            tool_name, decision, self.settings.scope, for_user=self.settings.action == "ask"
        )
