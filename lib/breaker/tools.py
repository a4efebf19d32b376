"""Circuit breakers keyed by Claude Code tool calls: what the breaker hooks do, without the hook glue.

The model (see :mod:`lib.breaker.keys` for keys and scopes):

- A call's key names what fails (``Bash:pytest``, ``WebFetch``, ``mcp__github__create_issue``). Its
  failures form one streak; ``max_failures`` of them with no progress in between open its breaker.
- Progress breaks a streak: a success of the same key, or a successful edit or write of a file
  (``progress_tools``), which resets every breaker of the session.
- Local tools are scoped per session (record ``<key>@<session id>``); external ones (``shared_keys``)
  are shared by every session (record ``<key>``), and so is ``Bash:<program>`` for failures saying
  the program itself is broken (exit 127/126, a timeout).

PreToolUse asks :meth:`ToolBreakers.check` (one lock-free read of the breakers a call is subject to;
the lock only to reserve a half-open trial slot, leased to the call's ``tool_use_id``). PostToolUse
reports a success, PostToolUseFailure a failure (an interrupt by the user only gives the trial slot
back), and a call refused after its slot was reserved gives it back through
:meth:`ToolBreakers.release_calls` or, failing that, when the lease expires.

Settings come from the ``[breaker]`` section (validated by :class:`lib.breaker.config.BreakerSettings`,
read here as plain values so the hook path never imports pydantic).
"""

from __future__ import annotations

import time

from lib.breaker import machine
from lib.breaker.keys import (
    BASH_KEY_MODES,
    DEFAULT_SHARED_KEYS,
    SESSION,
    SHARED,
    bash_command_key,
    breaker_key,
    broken_tool_failure,
    call_keys,
    glob_match,
    is_shared,
)
from lib.breaker.machine import CLOSED, PARAM_NAMES, BreakerParams
from lib.plain_data import json_list, json_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from lib.breaker.api import CircuitBreakerError, StateChange
    from lib.breaker.storage import BreakerStorage

__all__ = [
    "BASH_KEY_MODES",
    "DEFAULT_PROGRESS_TOOLS",
    "Denial",
    "Target",
    "ToolBreakerSettings",
    "ToolBreakers",
    "bash_command_key",
    "breaker_key",
]

#: Tools whose success is progress: a file was edited or written.
DEFAULT_PROGRESS_TOOLS = ("Edit", "Write", "MultiEdit", "NotebookEdit")
#: Bash exit codes saying the program itself is broken: 126 not executable, 127 not found.
DEFAULT_BROKEN_EXIT_CODES = (126, 127)


class ToolBreakerSettings:
    """The ``[breaker]`` section as plain values: enabled, key and scope rules, defaults, overrides."""

    __slots__ = (
        "_resolved",
        "_shared_exact",
        "_shared_globs",
        "_shared_prefixes",
        "bash_key",
        "broken_exit_codes",
        "defaults",
        "enabled",
        "overrides",
        "progress_tools",
        "shared_keys",
    )

    def __init__(
        self,
        *,
        enabled: bool = True,
        bash_key: str = "normalized",
        defaults: BreakerParams | None = None,
        overrides: Mapping[str, Mapping[str, object]] | None = None,
        shared_keys: Iterable[str] = DEFAULT_SHARED_KEYS,
        progress_tools: Iterable[str] = DEFAULT_PROGRESS_TOOLS,
        broken_exit_codes: Iterable[int] = DEFAULT_BROKEN_EXIT_CODES,
    ) -> None:
        if bash_key not in BASH_KEY_MODES:
            raise ValueError(
                f"[breaker] bash_key must be one of {', '.join(BASH_KEY_MODES)}, got {bash_key!r}"
            )
        self.enabled = enabled
        self.bash_key = bash_key
        self.defaults = defaults or BreakerParams()
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        self.shared_keys = tuple(shared_keys)
        globby = [p for p in self.shared_keys if any(c in p for c in "*?[")]
        self._shared_exact = frozenset(p for p in self.shared_keys if p not in globby)
        self._shared_prefixes = tuple(p[:-1] for p in globby if not any(c in p[:-1] for c in "*?["))
        self._shared_globs = tuple(p for p in globby if any(c in p[:-1] for c in "*?["))
        self.progress_tools = tuple(progress_tools)
        self.broken_exit_codes = frozenset(broken_exit_codes)
        self._resolved: dict[tuple[str, str], BreakerParams | None] = {}

    @classmethod
    def from_mapping(cls, section: Mapping[str, object] | None) -> ToolBreakerSettings:
        """Build from the validated ``[breaker]`` dict of the config cache (``None``: all defaults)."""
        section = section or {}
        overrides = json_object(section.get("overrides")) or {}

        def items(name: str) -> list[object] | None:
            return json_list(section.get(name))

        def strings(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
            value = items(name)
            return default if value is None else tuple(str(v) for v in value)

        codes = items("broken_exit_codes")
        return cls(
            enabled=bool(section.get("enabled", True)),
            bash_key=str(section.get("bash_key", "normalized")),
            defaults=BreakerParams.from_mapping(section),
            overrides={str(k): table for k, v in overrides.items() if (table := _plain(v)) is not None},
            shared_keys=strings("shared_keys", DEFAULT_SHARED_KEYS),
            progress_tools=strings("progress_tools", DEFAULT_PROGRESS_TOOLS),
            broken_exit_codes=(
                DEFAULT_BROKEN_EXIT_CODES if codes is None else [c for c in codes if isinstance(c, int)]
            ),
        )

    def _override_for(self, key: str, tool_name: str) -> Mapping[str, object] | None:
        if key in self.overrides:
            return self.overrides[key]
        if tool_name in self.overrides:
            return self.overrides[tool_name]
        for pattern, override in self.overrides.items():
            if glob_match(key, pattern):
                return override
        return None

    def params_for(self, key: str, tool_name: str) -> BreakerParams | None:
        """The parameters of breaker ``key`` (``None``: no breaker for it)."""
        cache_key = (key, tool_name)
        if cache_key in self._resolved:
            return self._resolved[cache_key]
        params: BreakerParams | None = self.defaults
        override = self._override_for(key, tool_name)
        enabled = self.enabled
        if override is not None:
            enabled = bool(override.get("enabled", enabled))
            changes = {k: v for k, v in override.items() if k in PARAM_NAMES}
            if changes:
                params = self.defaults.replace(**changes)
        self._resolved[cache_key] = params if enabled else None
        return self._resolved[cache_key]

    def scope_of(self, key: str, tool_name: str) -> str:
        """``shared`` for keys listed in ``shared_keys`` (by key or tool name), else ``session``."""
        if (
            key in self._shared_exact
            or tool_name in self._shared_exact
            or key.startswith(self._shared_prefixes)
            or tool_name.startswith(self._shared_prefixes)
            or (self._shared_globs and is_shared(key, tool_name, self._shared_globs))
        ):
            return SHARED
        return SESSION


def _plain(override: object) -> dict[str, object] | None:
    """An override table without its unset (``None``) fields (``None``: not a table)."""
    table = json_object(override)
    if table is None:
        return None
    return {str(f): x for f, x in table.items() if x is not None}


def _field(record: object, name: str) -> object:
    """``record[name]`` of a stored record of any shape (``None`` when absent or not a dict)."""
    fields = json_object(record)
    return fields.get(name) if fields is not None else None


class Target:
    """One breaker a call is subject to: its key, scope, session, storage name and parameters."""

    __slots__ = ("key", "name", "params", "scope", "session")

    def __init__(self, key: str, scope: str, session: str, params: BreakerParams) -> None:
        self.key = key
        self.scope = scope
        self.session = session if scope == SESSION else None
        self.name = f"{key}@{session or 'unknown'}" if scope == SESSION else key
        self.params = params

    def owns(self, record: object) -> bool:
        """Whether a stored record is this breaker's (older versions stored no key/scope: not ours)."""
        return _field(record, "key") == self.key and _field(record, "scope") == self.scope

    def tagged(self, change: Callable[[object], machine.Step]) -> Callable[[object], machine.Step]:
        """``change`` run on this breaker's record (a record of an older version counts as none), its
        result carrying this breaker's identity."""

        def run(record: object) -> machine.Step:
            step = change(record if self.owns(record) else None)
            step.record.update(key=self.key, scope=self.scope, session=self.session)
            return step

        return run

    def __repr__(self) -> str:
        return f"Target({self.name!r}, scope={self.scope!r})"


class Denial:
    """A refused tool call: the breaker that refused it, the error, and the reason written for Claude."""

    __slots__ = ("error", "key", "reason", "scope")

    def __init__(self, key: str, scope: str, error: CircuitBreakerError, reason: str) -> None:
        self.key = key
        self.scope = scope
        self.error = error
        self.reason = reason

    def __repr__(self) -> str:
        return f"Denial({self.key!r}, state={self.error.state!r}, retry_after={self.error.retry_after!r})"


def _success(params: BreakerParams, now: float, lease: str | None) -> Callable[[object], machine.Step]:
    return lambda rec: machine.record_success(rec, params, now, lease)


def _failure(
    params: BreakerParams, now: float, lease: str | None, error: str
) -> Callable[[object], machine.Step]:
    return lambda rec: machine.record_failure(rec, params, now, lease, error)


def _load_many(storage: BreakerStorage, names: list[str]) -> dict[str, dict[str, object] | None]:
    load_many = getattr(storage, "load_many", None)
    if load_many is not None:
        return load_many(names)  # type: ignore[no-any-return]
    return {name: storage.load(name) for name in names}


class ToolBreakers:
    """The breakers of one session's tool calls over the project's storage; see the module docstring."""

    def __init__(
        self,
        storage: BreakerStorage,
        settings: ToolBreakerSettings | None = None,
        *,
        session_id: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.settings = settings or ToolBreakerSettings()
        self.session_id = session_id
        self.clock = clock
        #: State changes made by this process, in order (for the event bus and messages).
        self.changes: list[StateChange] = []

    # -- which breakers a call is subject to --------------------------------------------------

    def key_for(self, tool_name: str, tool_input: Mapping[str, object] | None) -> str:
        """The breaker key of a tool call under the configured Bash key mode."""
        return breaker_key(tool_name, tool_input, self.settings.bash_key)

    def _target(self, key: str, tool_name: str, scope: str | None = None) -> Target | None:
        params = self.settings.params_for(key, tool_name)
        if params is None:
            return None
        return Target(key, scope or self.settings.scope_of(key, tool_name), self.session_id, params)

    def call_targets(
        self, tool_name: str, tool_input: Mapping[str, object] | None
    ) -> tuple[Target | None, Target | None]:
        """The breaker where this call's ordinary failures count, and for Bash the shared
        ``Bash:<program>`` breaker where failures of a broken program count (``None``: no breaker)."""
        key, program = call_keys(tool_name, tool_input, self.settings.bash_key)
        own = self._target(key, tool_name)
        return own, None if program is None else self._target(program, tool_name, SHARED)

    def targets(self, tool_name: str, tool_input: Mapping[str, object] | None) -> list[Target]:
        """Every breaker that may refuse this call: its own, the same key shared (a key forced open by
        the user blocks it in every session), and for Bash its program's shared breaker."""
        found: list[Target] = []
        own, program = self.call_targets(tool_name, tool_input)
        if own is not None:
            found.append(own)
            if own.scope == SESSION:
                found.append(Target(own.key, SHARED, self.session_id, own.params))
        if program is not None and all(t.name != program.name for t in found):
            found.append(program)
        return found

    # -- applying transitions ------------------------------------------------------------------

    def _apply(self, target: Target, change: Callable[[object], machine.Step], now: float) -> machine.Step:
        step = self.storage.apply(target.name, target.tagged(change))
        if step.transitions:
            from lib.breaker.api import BreakerSnapshot, StateChange

            snap = BreakerSnapshot(target.name, step.record, now)
            self.changes.extend(
                StateChange(target.name, old, new, now, snap) for old, new in step.transitions
            )
        return step

    @staticmethod
    def _settled(
        snapshot: dict[str, object] | None, target: Target, change: Callable[[object], machine.Step]
    ) -> bool:
        """Whether ``change`` admits and leaves ``snapshot`` as it is (then nothing is stored, nothing
        reported, and the hook never takes the lock)."""
        if snapshot is not None and not target.owns(snapshot):
            return False  # a record of an older version: rewrite it as ours
        step = change(snapshot)
        return step.admitted and not step.transitions and step.record == machine.normalise(snapshot)

    def _update(
        self, target: Target, snapshot: dict[str, object] | None, change: Callable[[object], machine.Step]
    ) -> None:
        if not self._settled(snapshot, target, change):
            self._apply(target, change, self.clock())

    # -- the hook events -------------------------------------------------------------------------

    def check(
        self, tool_name: str, tool_input: Mapping[str, object] | None, tool_use_id: str | None
    ) -> Denial | None:
        """PreToolUse: ``None`` to let the call through, or a :class:`Denial`."""
        targets = self.targets(tool_name, tool_input)
        if not targets:
            return None
        now = self.clock()
        lease = tool_use_id or ""
        snapshots = _load_many(self.storage, [t.name for t in targets])
        taken: list[Target] = []
        for target in targets:
            snapshot = snapshots[target.name]
            if snapshot is None:
                continue  # no record: a fresh, closed breaker admits without a change
            params = target.params

            def acquire(rec: object, params: BreakerParams = params) -> machine.Step:
                return machine.acquire(rec, params, now, lease)

            if self._settled(snapshot, target, acquire):
                continue  # a closed breaker admits without a change: nothing to store or report
            step = self._apply(target, acquire, now)
            if step.admitted:
                taken.append(target)
                continue
            for held in taken:  # refused after all: give back the trial slots taken for this call
                self._apply(held, lambda rec: machine.release(rec, now, lease), now)
            return self._denial(target, step, now)
        return None

    def _denial(self, target: Target, step: machine.Step, now: float) -> Denial:
        from lib.breaker.api import CircuitBreakerError
        from lib.breaker.messages import denial_reason

        rec = step.record
        streak: int = rec["consecutive_failures"]  # type: ignore[assignment]
        last_error: str | None = rec["last_error"]  # type: ignore[assignment]
        state = str(rec["state"])
        error = CircuitBreakerError(
            target.key,
            state,
            retry_at=step.retry_at,
            now=now,
            consecutive_failures=streak,
            last_error=last_error,
        )
        reason = denial_reason(
            key=target.key,
            scope=target.scope,
            state=state,
            streak=streak,
            last_error=last_error,
            retry_at=step.retry_at,
            now=now,
            progress_tools=self.settings.progress_tools,
        )
        return Denial(target.key, target.scope, error, reason)

    def _run(self, plan: list[tuple[Target | None, Callable[[object], machine.Step]]]) -> None:
        """Apply each ``(target, change)`` (the first change wins where two targets are one breaker)."""
        steps: dict[str, tuple[Target, Callable[[object], machine.Step]]] = {}
        for target, change in plan:
            if target is not None and target.name not in steps:
                steps[target.name] = (target, change)
        if not steps:
            return
        snapshots = _load_many(self.storage, list(steps))
        for name, (target, change) in steps.items():
            self._update(target, snapshots[name], change)

    def record_success(
        self, tool_name: str, tool_input: Mapping[str, object] | None, tool_use_id: str | None
    ) -> None:
        """PostToolUse: a success of the call's own key (and, for Bash, of its program); a successful
        edit or write of a file is progress for every breaker of the session."""
        now = self.clock()
        plan: list[tuple[Target | None, Callable[[object], machine.Step]]] = []
        for target in self.call_targets(tool_name, tool_input):
            if target is not None:
                plan.append((target, _success(target.params, now, tool_use_id)))
        self._run(plan)
        if tool_name in self.settings.progress_tools:
            self.progress()

    def record_failure(
        self,
        tool_name: str,
        tool_input: Mapping[str, object] | None,
        tool_use_id: str | None,
        error: str | None,
        *,
        is_interrupt: bool = False,
    ) -> None:
        """PostToolUseFailure. A failure saying the program is broken (exit 127/126, a timeout) counts
        for the program's shared breaker; any other failure for the call's own breaker, and (the
        program ran) as a success of the program's. An interrupt by the user says nothing about the
        tool and only frees its trial slots."""
        own, program = self.call_targets(tool_name, tool_input)
        now = self.clock()
        lease = tool_use_id or ""

        def release(rec: object) -> machine.Step:
            return machine.release(rec, now, lease)

        if is_interrupt:
            self._run([(own, release), (program, release)])
            return
        message = error or "(no error message)"
        if program is not None and broken_tool_failure(error, self.settings.broken_exit_codes):
            self._run([(program, _failure(program.params, now, tool_use_id, message)), (own, release)])
        elif own is not None:
            success = _success(program.params, now, tool_use_id) if program is not None else release
            self._run([(own, _failure(own.params, now, tool_use_id, message)), (program, success)])

    def progress(self) -> list[str]:
        """Claude made progress: reset every (unforced) breaker of this session; returns their names."""
        if not self.session_id:
            return []
        now = self.clock()
        done: list[str] = []
        for name, record in self.storage.load_all().items():
            if record.get("scope") != SESSION or record.get("session") != self.session_id:
                continue
            if (record["state"] == CLOSED and not record["consecutive_failures"]) or record["forced"]:
                continue
            target = Target(str(record["key"]), SESSION, self.session_id, self.settings.defaults)
            self._apply(target, lambda rec: machine.progress(rec, now), now)
            done.append(name)
        return done

    def release_calls(self, tool_use_ids: Iterable[object]) -> list[str]:
        """Give back the trial slots held by these calls (refused or batch finished without a result).

        Reads lock-free and writes only the breakers that hold one of the leases; returns their names.
        """
        ids = {i for i in tool_use_ids if isinstance(i, str)}
        if not ids:
            return []
        released: list[str] = []
        now = self.clock()
        for key, record in self.storage.load_all().items():
            leases = record.get("leases")
            held = [i for i in ids if isinstance(leases, dict) and i in leases]
            if not held:
                continue

            def change(rec: object, held: list[str] = held) -> machine.Step:
                step = machine.Step(machine.normalise(rec))
                for lease in held:
                    step = machine.release(step.record, now, lease)
                return step

            self.storage.apply(key, change)
            released.append(key)
        return released
