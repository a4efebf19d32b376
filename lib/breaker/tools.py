"""Circuit breakers keyed by Claude Code tool calls: what the breaker hooks do, without the hook glue.

PreToolUse asks :meth:`ToolBreakers.check` (a lock-free read while the breaker is closed; the lock
only to reserve a half-open trial slot, leased to the call's ``tool_use_id``). PostToolUse reports a
success, PostToolUseFailure a failure (an interrupt by the user only gives the trial slot back), and
a call refused after its slot was reserved gives it back through :meth:`ToolBreakers.release_calls`
or, failing that, when the lease expires.

Settings come from the ``[breaker]`` section (validated by :class:`lib.breaker.config.BreakerSettings`,
read here as plain values so the hook path never imports pydantic).
"""

from __future__ import annotations

import time

from lib.breaker import machine
from lib.breaker.machine import HALF_OPEN, PARAM_NAMES, BreakerParams

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from lib.breaker.api import CircuitBreaker, CircuitBreakerError, StateChange
    from lib.breaker.storage import BreakerStorage

__all__ = [
    "BASH_KEY_MODES",
    "Denial",
    "ToolBreakerSettings",
    "ToolBreakers",
    "breaker_key",
    "error_summary",
    "format_denial",
]

BASH_KEY_MODES = ("tool", "first_word", "normalized")

# Programs that run another program given after their own options, and their options taking a value.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "-U"}),
    "env": frozenset({"-u", "-C", "-S", "--unset", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "nohup": frozenset(),
    "time": frozenset({"-f", "-o"}),
    "command": frozenset(),
    "exec": frozenset({"-a"}),
    "builtin": frozenset(),
}
# Set-up commands that rarely are "the" command of a compound line (``cd repo && make``).
_PRELUDE = frozenset({"cd", "pushd", "popd", "export", "source", ".", "set", "unset", "true", ":", "alias"})
_SEPARATORS = frozenset({"&&", "||", ";", "|", "&", "|&", ";;", "\n", "(", ")"})


def _is_assignment(token: str) -> bool:
    name, eq, _ = token.partition("=")
    return bool(eq) and name.isidentifier()


def _is_word(token: str) -> bool:
    return bool(token) and token[0].isalpha() and all(c.isalnum() or c in "-_:" for c in token)


def _segments(command: str) -> list[list[str]]:
    import shlex

    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: fall back to whitespace
        tokens = command.split()
    segments: list[list[str]] = [[]]
    for token in tokens:
        if token in _SEPARATORS or (token and not token.strip(";&|()")):
            segments.append([])
        else:
            segments[-1].append(token)
    return [s for s in segments if s]


def _program(words: list[str]) -> tuple[str, list[str]]:
    """The program a simple command runs and its arguments, past assignments and wrappers."""
    i = 0
    while i < len(words):
        word = words[i]
        if _is_assignment(word):
            i += 1
            continue
        name = word.rsplit("/", 1)[-1]
        if name in _WRAPPERS and i + 1 < len(words):
            takes_value = _WRAPPERS[name]
            i += 1
            while i < len(words) and (
                words[i].startswith("-") or _is_assignment(words[i]) or words[i].replace(".", "").isdigit()
            ):
                i += 2 if words[i] in takes_value else 1
            continue
        return name, words[i + 1 :]
    return "", []


def bash_command_key(command: str, mode: str) -> str:
    """The part of a Bash command a breaker key uses: ``git`` (first_word) or ``git push`` (normalized).

    Leading ``VAR=value`` assignments, wrappers (``sudo``, ``env``, ``timeout 10``...) and a directory
    are dropped; in a compound line set-up commands (``cd``, ``export``, ``source``) are skipped in
    favour of the first real command. ``normalized`` adds the first argument when it is a plain word
    (a subcommand: ``npm test``, ``cargo build``, ``docker compose``); options, paths and file names
    are left out. Returns ``""`` for an empty command.
    """
    programs = [_program(words) for words in _segments(command)]
    programs = [p for p in programs if p[0]]
    if not programs:
        return ""
    name, args = next((p for p in programs if p[0] not in _PRELUDE), programs[0])
    if mode != "normalized" or not args or not _is_word(args[0]):
        return name
    return f"{name} {args[0]}"


def breaker_key(tool_name: str, tool_input: Mapping[str, object] | None, bash_key: str = "tool") -> str:
    """The breaker key of one tool call: the tool name, or ``Bash:<command key>`` per ``bash_key``."""
    if tool_name != "Bash" or bash_key == "tool" or not isinstance(tool_input, dict):
        return tool_name
    command = tool_input.get("command")
    if not isinstance(command, str):
        return tool_name
    part = bash_command_key(command, bash_key)
    return f"Bash:{part}" if part else tool_name


class ToolBreakerSettings:
    """The ``[breaker]`` section as plain values: enabled, Bash key mode, defaults, per-key overrides."""

    __slots__ = ("_resolved", "bash_key", "defaults", "enabled", "overrides")

    def __init__(
        self,
        *,
        enabled: bool = True,
        bash_key: str = "tool",
        defaults: BreakerParams | None = None,
        overrides: Mapping[str, Mapping[str, object]] | None = None,
    ) -> None:
        if bash_key not in BASH_KEY_MODES:
            raise ValueError(
                f"[breaker] bash_key must be one of {', '.join(BASH_KEY_MODES)}, got {bash_key!r}"
            )
        self.enabled = enabled
        self.bash_key = bash_key
        self.defaults = defaults or BreakerParams()
        self.overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        self._resolved: dict[tuple[str, str], BreakerParams | None] = {}

    @classmethod
    def from_mapping(cls, section: Mapping[str, object] | None) -> ToolBreakerSettings:
        """Build from the validated ``[breaker]`` dict of the config cache (``None``: all defaults)."""
        section = section or {}
        overrides = section.get("overrides") or {}
        return cls(
            enabled=bool(section.get("enabled", True)),
            bash_key=str(section.get("bash_key", "tool")),
            defaults=BreakerParams.from_mapping(section),
            overrides={
                str(k): {f: x for f, x in v.items() if x is not None}
                for k, v in overrides.items()  # type: ignore[attr-defined]
                if isinstance(v, dict)
            },
        )

    def _override_for(self, key: str, tool_name: str) -> Mapping[str, object] | None:
        if key in self.overrides:
            return self.overrides[key]
        if tool_name in self.overrides:
            return self.overrides[tool_name]
        if self.overrides:
            from fnmatch import fnmatchcase  # imports re: only when overrides are configured

            for pattern, override in self.overrides.items():
                if fnmatchcase(key, pattern):
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


def error_summary(error: str | None, limit: int = 240) -> str:
    """The telling part of an error message on one line: its first line, and its last if different.

    Bash failures read ``Exit code 1`` followed by the output; the last line is usually the cause.
    """
    if not error:
        return "(no error message)"
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    if not lines:
        return "(no error message)"
    text = lines[0] if len(lines) == 1 else f"{lines[0]} … {lines[-1]}"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _subject(key: str, tool_name: str) -> str:
    if key.startswith("Bash:") and tool_name == "Bash":
        return f"Bash commands `{key[len('Bash:') :]}`"
    return f"the {tool_name} tool" if key == tool_name else f"{tool_name} ({key})"


def _when(retry_at: float, now: float) -> str:
    seconds = max(0, round(retry_at - now))
    clock = time.strftime("%H:%M:%S UTC", time.gmtime(retry_at))
    return f"in {seconds}s (at {clock})"


class Denial:
    """A refused tool call: the breaker key, the error, and the reason written for Claude."""

    __slots__ = ("error", "key", "reason")

    def __init__(self, key: str, error: CircuitBreakerError, reason: str) -> None:
        self.key = key
        self.error = error
        self.reason = reason

    def __repr__(self) -> str:
        return f"Denial({self.key!r}, state={self.error.state!r}, retry_after={self.error.retry_after!r})"


def format_denial(key: str, tool_name: str, error: CircuitBreakerError, now: float) -> str:
    """The deny reason Claude reads: what failed, how often, the last error, when, and what to do."""
    subject = _subject(key, tool_name)
    last = error_summary(error.last_error)
    if error.retry_at is None:
        return (
            f"Circuit breaker: {subject} is blocked by the user (breaker '{key}' forced open) until they reset it. "
            f"Last error: {last}. Do not retry it; take a different approach."
        )
    when = _when(error.retry_at, now)
    if error.state == HALF_OPEN:
        return (
            f"Circuit breaker: {subject} failed repeatedly (last error: {last}) and a trial call is now "
            f"checking whether it works again. Do not call it now; it may be retried {when} at the latest. "
            "Meanwhile try a different approach."
        )
    return (
        f"Circuit breaker open: {subject} failed {error.consecutive_failures} times in a row. "
        f"Last error: {last}. It is blocked and may be retried {when}. "
        "Do not repeat the same call: meanwhile try a different approach (read the error, fix the "
        "cause or the arguments, or use another tool)."
    )


class ToolBreakers:
    """The breakers of one project's tools over one storage; see the module docstring."""

    def __init__(
        self,
        storage: BreakerStorage,
        settings: ToolBreakerSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.storage = storage
        self.settings = settings or ToolBreakerSettings()
        self.clock = clock
        #: State changes made by this process, in order (for the event bus and messages).
        self.changes: list[StateChange] = []

    def key_for(self, tool_name: str, tool_input: Mapping[str, object] | None) -> str:
        """The breaker key of a tool call under the configured Bash key mode."""
        return breaker_key(tool_name, tool_input, self.settings.bash_key)

    def breaker(self, key: str, tool_name: str) -> CircuitBreaker | None:
        """The breaker for ``key`` (``None`` when disabled for it). Storage errors raise."""
        params = self.settings.params_for(key, tool_name)
        if params is None:
            return None
        from lib.breaker.api import CircuitBreaker

        return CircuitBreaker(
            key,
            params,
            storage=self.storage,
            clock=self.clock,
            listeners=(self.changes.append,),
            fail_open=False,
        )

    def check(
        self, tool_name: str, tool_input: Mapping[str, object] | None, tool_use_id: str | None
    ) -> Denial | None:
        """PreToolUse: ``None`` to let the call through, or a :class:`Denial`."""
        key = self.key_for(tool_name, tool_input)
        params = self.settings.params_for(key, tool_name)
        if params is None:
            return None
        now = self.clock()
        if self._settled(key, lambda rec: machine.acquire(rec, params, now, tool_use_id or "")):
            return None  # a closed breaker admits without a change: nothing to store or report
        from lib.breaker.api import CircuitBreakerError

        breaker = self.breaker(key, tool_name)
        if breaker is None:
            return None
        try:
            breaker.allow(lease_id=tool_use_id)
        except CircuitBreakerError as err:
            return Denial(key, err, format_denial(key, tool_name, err, self.clock()))
        return None

    def _settled(self, key: str, change: Callable[[object], machine.Step]) -> bool:
        """Whether ``change`` admits and leaves the stored record of ``key`` as it is (read
        lock-free, as the storage itself first tries it): then a :class:`CircuitBreaker` would store
        nothing and report no state change, and the hook need not load :mod:`lib.breaker.api`."""
        snapshot = self.storage.load(key)
        step = change(snapshot)
        return step.admitted and not step.transitions and step.record == machine.normalise(snapshot)

    def record_success(
        self, tool_name: str, tool_input: Mapping[str, object] | None, tool_use_id: str | None
    ) -> None:
        """PostToolUse."""
        key = self.key_for(tool_name, tool_input)
        params = self.settings.params_for(key, tool_name)
        if params is None:
            return
        now = self.clock()
        if self._settled(key, lambda rec: machine.record_success(rec, params, now, tool_use_id)):
            return  # a closed breaker without failures: nothing to reset
        breaker = self.breaker(key, tool_name)
        if breaker is not None:
            breaker.resume(tool_use_id).success()

    def record_failure(
        self,
        tool_name: str,
        tool_input: Mapping[str, object] | None,
        tool_use_id: str | None,
        error: str | None,
        *,
        is_interrupt: bool = False,
    ) -> None:
        """PostToolUseFailure; an interrupt by the user says nothing about the tool and only frees
        its trial slot."""
        breaker = self.breaker(self.key_for(tool_name, tool_input), tool_name)
        if breaker is None:
            return
        permit = breaker.resume(tool_use_id)
        if is_interrupt:
            permit.release()
        else:
            permit.failure(error or "(no error message)")

    def release_calls(self, tool_use_ids: Iterable[str]) -> list[str]:
        """Give back the trial slots held by these calls (refused or batch finished without a result).

        Reads lock-free and writes only the breakers that hold one of the leases; returns their keys.
        """
        ids = {i for i in tool_use_ids if isinstance(i, str)}
        if not ids:
            return []
        released = []
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
