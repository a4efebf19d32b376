"""Register handlers for Claude Code events and hand them a typed view of each event.

    from lib import hook, deny

    @hook("PreToolUse", matcher="Bash")
    def no_force_push(event):
        if "push --force" in event.tool_input.get("command", ""):
            return deny("Force-pushing is off in this repo; push a new branch instead.")

A handler takes a :class:`HookEvent` and returns an :class:`~lib.protocol.output.Outcome` or
``None``. Matchers follow Claude Code's own rules (:mod:`lib.matcher`), tested against the event's
matcher field (``tool_name`` for tool events, ``source`` for SessionStart, ...).
"""

from __future__ import annotations

from lib.matcher import compile_matcher
from lib.plain_data import json_object
from lib.protocol.events import EVENTS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from lib.paths import Paths
    from lib.protocol.models import HookInput
    from lib.protocol.output import Outcome
    from lib.store import StateStore

    HandlerFunc = Callable[["HookEvent"], Outcome | None]

__all__ = ["EventLog", "Handler", "HookEvent", "HookRegistry", "hook", "registry"]


class EventLog:
    """Collects a handler's log records; the runtime writes them with the invocation's context."""

    __slots__ = ("handler", "records")

    def __init__(self) -> None:
        self.records: list[dict[str, object]] = []
        #: The name of the handler running now (set by the runtime); records carry it.
        self.handler: str | None = None

    def log(self, level: str, message: str, **fields: object) -> None:
        """Record ``message`` at ``level`` (debug, info, warning, error) with extra ``fields``."""
        self.records.append({"level": level, "message": message, "fields": fields, "handler": self.handler})

    def debug(self, message: str, **fields: object) -> None:
        """Record a debug message."""
        self.log("debug", message, **fields)

    def info(self, message: str, **fields: object) -> None:
        """Record an info message."""
        self.log("info", message, **fields)

    def warning(self, message: str, **fields: object) -> None:
        """Record a warning."""
        self.log("warning", message, **fields)

    def error(self, message: str, **fields: object) -> None:
        """Record an error."""
        self.log("error", message, **fields)


class HookEvent:
    """One event as a handler sees it: the raw payload plus where to log, publish and keep state."""

    __slots__ = ("_model", "config", "data", "log", "name", "paths", "pending", "published")

    def __init__(
        self,
        name: str,
        data: dict[str, object],
        *,
        paths: Paths,
        config: dict[str, object] | None = None,
    ) -> None:
        self.name = name
        self.data = data
        self.paths = paths
        self.config: dict[str, object] = config or {}
        #: The merged outcome of the handlers that ran before this one (``None`` if none decided).
        self.pending: Outcome | None = None
        #: ``(topic, payload)`` pairs handlers asked to publish; the runtime appends them to the bus.
        self.published: list[tuple[str, dict[str, object]]] = []
        #: Log records handlers write (``event.log.info(...)``); the runtime writes them to the log.
        self.log = EventLog()
        self._model: HookInput | None = None

    # -- payload fields -------------------------------------------------------------------------
    @property
    def session_id(self) -> str:
        """The Claude Code session id."""
        return str(self.data.get("session_id", ""))

    @property
    def tool_name(self) -> str:
        """The tool's name on tool events, else ``""``."""
        value = self.data.get("tool_name")
        return value if isinstance(value, str) else ""

    @property
    def tool_input(self) -> dict[str, object]:
        """The tool's input on tool events, else ``{}``."""
        value = json_object(self.data.get("tool_input"))
        return {} if value is None else value

    @property
    def tool_use_id(self) -> str | None:
        """The id linking a tool call's Pre and Post events, when present."""
        value = self.data.get("tool_use_id")
        return value if isinstance(value, str) else None

    def get(self, field: str, default: object = None) -> object:
        """Any payload field, including ones added by newer Claude Code versions."""
        return self.data.get(field, default)

    def model(self) -> HookInput:
        """The payload validated into its pydantic model (built on first use; unknown fields kept)."""
        if self._model is None:
            from lib.protocol.models import parse_input

            self._model = parse_input(self.data)
        return self._model

    # -- what handlers use around the payload ---------------------------------------------------
    def section(self, name: str) -> dict[str, object]:
        """One section of the validated config as plain data (``{}`` when absent)."""
        value = json_object(self.config.get(name))
        return {} if value is None else value

    @property
    def denied(self) -> bool:
        """True when an earlier handler already denied this tool call."""
        return self.pending is not None and self.pending.permission == "deny"

    def publish(self, topic: str, payload: dict[str, object]) -> None:
        """Queue an event for the bus; the runtime writes it once the handlers have run."""
        self.published.append((topic, payload))

    def store(self, name: str, *, durable: bool = True) -> StateStore:
        """The project's state store ``name`` on the configured backend (``[backend]`` in the config):
        ``<state_dir>/<name>.json`` by default, or a JSON document in Redis shared by every machine.

        Both have the :class:`lib.store.JsonStore` API: ``read()`` and ``with transaction() as state``.
        """
        from lib.backends import open_state

        return open_state(self.paths, self.config, name, warn=self.log.warning, durable=durable)


class Handler:
    """A registered handler: which event, which matcher, which function."""

    __slots__ = ("event", "func", "matcher", "matches", "name")

    def __init__(self, event: str, matcher: str | None, func: HandlerFunc, name: str) -> None:
        self.event = event
        self.matcher = matcher
        self.func = func
        self.name = name
        self.matches = compile_matcher(matcher)

    def __repr__(self) -> str:
        return f"Handler({self.name!r}, event={self.event!r}, matcher={self.matcher!r})"


class HookRegistry:
    """Handlers by event, in registration order."""

    __slots__ = ("_handlers",)

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}

    def register(
        self, event: str, func: HandlerFunc, *, matcher: str | None = None, name: str | None = None
    ) -> Handler:
        """Register ``func`` for ``event``; raises ``ValueError`` for an unknown event name."""
        if event not in EVENTS:
            allowed = ", ".join(sorted(EVENTS))
            raise ValueError(f"unknown hook event {event!r}; use one of: {allowed}")
        label = name or f"{func.__module__}.{getattr(func, '__qualname__', func.__class__.__name__)}"
        handler = Handler(event, matcher, func, label)
        bucket = self._handlers.setdefault(event, [])
        bucket[:] = [h for h in bucket if h.name != label]  # re-importing a module replaces, not doubles
        bucket.append(handler)
        return handler

    def hook(
        self, event: str, matcher: str | None = None, *, name: str | None = None
    ) -> Callable[[HandlerFunc], HandlerFunc]:
        """Decorator form of :meth:`register`."""

        def decorate(func: HandlerFunc) -> HandlerFunc:
            self.register(event, func, matcher=matcher, name=name)
            return func

        return decorate

    def handlers_for(self, event: str, match_value: str | None) -> list[Handler]:
        """The handlers for ``event`` whose matcher accepts ``match_value``.

        Events without a matcher field ignore matchers, as Claude Code does.
        """
        handlers = self._handlers.get(event, [])
        if match_value is None:
            return list(handlers)
        return [h for h in handlers if h.matches(match_value)]

    def all(self) -> list[Handler]:
        """Every registered handler."""
        return [h for hs in self._handlers.values() for h in hs]

    def clear(self) -> None:
        """Forget every handler (tests)."""
        self._handlers.clear()


#: The process-wide registry the runtime dispatches from.
registry = HookRegistry()
hook = registry.hook
