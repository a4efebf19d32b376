"""The hook process: read one event from stdin, run the handlers, answer Claude Code.

Registered in ``.claude/settings.json`` as ``<venv>/bin/claude-hooks <EventName>``. The contract:

- stdout carries exactly one JSON object, or nothing; handlers that ``print`` write to stderr.
- The exit code is 0. Decisions travel in the JSON (a PreToolUse deny is
  ``hookSpecificOutput.permissionDecision``), never through exit 2 or the deprecated top-level
  approve/block.
- Fail open: bad input, a config error, a handler bug or a lock timeout answers exit 0 with one
  line on stderr and a log record. With ``runtime.fail_mode = "closed"`` a PreToolUse that hits a
  runtime problem is denied instead (the reason says why and how to fix it).
- Never a silent allow: on the events the guards decide (PreToolUse, PreSkillShellCommand,
  PermissionRequest; ``EventSpec.permission``) a call the runtime could not judge (unreadable or
  oversized input naming a guarded tool, a guard that raised, an internal error, the time budget
  spent) is answered ``ask`` with the reason (``deny`` under ``guards.level = "strict"`` or
  ``fail_mode = "closed"``), in fail-open mode too: fail-open is for bookkeeping, not verdicts.
- A watchdog (``SIGALRM``, ``runtime.budget_seconds``) ends the work of a deciding event that runs
  too long, well before Claude Code's own hook timeout (which would let the call run).
- Writing the answer cannot fail: it is ASCII JSON (``\\uXXXX`` escapes), and the payload's lone
  surrogates are replaced by U+FFFD where it is parsed (:func:`lib.fastjson.scrub_surrogates`).
- Every invocation is recorded (log record, span, bus events) by :mod:`lib.observability` from the
  :class:`Invocation` below, whose attributes are that module's input.
"""

from __future__ import annotations

import os
import sys
import time

from lib import fastjson
from lib.config import ConfigError, config_section, load_config, validate_config
from lib.matcher import compile_matcher
from lib.paths import resolve_paths
from lib.plain_data import json_list, json_object
from lib.protocol.events import EVENTS, InputError, check_fields
from lib.protocol.output import Outcome, ask, deny, merge, render, system_message
from lib.registry import HookEvent, registry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO, NoReturn, TextIO

    from lib.paths import Paths

__all__ = ["BUDGET_SECONDS", "BudgetExceeded", "Invocation", "budget_of", "exit_process", "main", "run"]

_PREFIX = "claude-hooks"
#: Handler names of the built-in guards (``hooks/bash_guard.py``, ``hooks/file_guard.py``): their
#: failure on a deciding event is an unjudged call, not a missing opinion.
_GUARD_PREFIX = "guards."
#: True once a user's handler module was imported (it may rely on a normal interpreter exit).
_user_code_loaded = False


class Invocation:
    """Everything known about one hook process run; :func:`lib.observability.record_invocation` input."""

    __slots__ = (
        "config",
        "config_error",
        "correlation_id",
        "duration_ms",
        "error",
        "event_name",
        "events",
        "exit_code",
        "handler_records",
        "log_dir",
        "log_records",
        "outcome",
        "payload",
        "payload_bytes",
        "project_dir",
        "session_id",
        "start_ns",
        "state_dir",
        "stdin_ms",
        "tool_name",
        "tool_use_id",
        "warnings",
    )

    def __init__(self, event_name: str, paths: Paths) -> None:
        self.event_name = event_name  # from the payload when known, else from argv, else "unknown"
        self.payload: dict[str, object] = {}
        self.payload_bytes = 0
        self.session_id: str | None = None
        self.tool_name: str | None = None
        self.tool_use_id: str | None = None
        self.project_dir = paths.project_dir
        self.log_dir = paths.log_dir
        self.state_dir = paths.state_dir
        self.config: dict[str, object] = {}
        self.start_ns = time.time_ns()
        self.duration_ms = 0.0  # our own work: the process's time minus stdin_ms
        self.stdin_ms = 0.0  # waiting for Claude Code to write (and close) the payload on stdin
        self.outcome: dict[str, object] | None = None  # the JSON object printed, if any
        self.exit_code = 0
        self.error: str | None = None  # one-line description of a problem (bad input, bug, timeout)
        self.warnings: list[str] = []
        self.config_error: str | None = None  # the config file is invalid (the defaults ran)
        #: per handler: {"name", "start_ns", "duration_ms", "decision", "error"}
        self.handler_records: list[dict[str, object]] = []
        #: (topic, payload) events handlers asked to publish
        self.events: list[tuple[str, dict[str, object]]] = []
        #: records handlers logged: {"level", "message", "fields", "handler"}
        self.log_records: list[dict[str, object]] = []
        self.correlation_id = ""


#: Seconds a hook process may work on a deciding event before the watchdog answers ``ask``
#: (``runtime.budget_seconds``; Claude Code's own timeout for our hooks is ``lib.installer.TIMEOUT``).
BUDGET_SECONDS = 10.0


class BudgetExceeded(BaseException):
    """Raised by the watchdog in whatever code runs when the time budget is spent; a
    ``BaseException`` so no handler's ``except Exception`` swallows it."""


class _Oversized(InputError):
    """The payload is over ``runtime.max_payload_bytes``; ``head`` is its start (to see the tool)."""

    def __init__(self, message: str, head: bytes) -> None:
        super().__init__(message)
        self.head = head


def _read_stdin(stream: BinaryIO, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        total = len(data)
        while chunk := stream.read(1 << 20):  # drain, so Claude Code's write does not fail
            total += len(chunk)
        raise _Oversized(
            f"payload is {total} bytes, over runtime.max_payload_bytes={limit}; "
            "not parsed (raise the limit in .claude/hooks.toml to inspect such calls)",
            data[:65536],
        )
    return data


def _names_unguarded_tool(head: bytes) -> bool:
    """True when the start of an unparsed payload names a tool none of the guards judges."""
    from hooks import MATCHERS  # the guards' own matchers (a rare path: oversized payloads)

    guarded = {t for m in ("hooks.bash_guard", "hooks.file_guard") for t in MATCHERS[m].split("|")}
    for key in (b'"tool_name":"', b'"tool_name": "'):
        i = head.find(key)
        if i >= 0:
            j = i + len(key)
            return head[j : head.find(b'"', j)].decode("utf-8", "replace") not in guarded
    return False


def _alarm(signum: int, frame: object) -> None:
    raise BudgetExceeded


def _arm(seconds: float) -> object:
    """Start (or restart) the watchdog; returns the previous SIGALRM handler (``None``: not armed)."""
    if TYPE_CHECKING:
        import signal as _signal
    else:
        import _signal  # built in: no import cost (``signal`` itself imports ``enum``: ~14 ms)

    try:
        previous = _signal.signal(_signal.SIGALRM, _alarm)
    except (ValueError, OSError):  # not the main thread: run without a watchdog
        return None
    _signal.setitimer(_signal.ITIMER_REAL, max(seconds, 0.001))
    return previous


def _disarm(previous: object) -> None:
    if previous is None:
        return
    if TYPE_CHECKING:
        import signal as _signal
    else:
        import _signal

    _signal.setitimer(_signal.ITIMER_REAL, 0)
    _signal.signal(_signal.SIGALRM, previous)  # type: ignore[arg-type]


def _parse(raw: bytes) -> dict[str, object]:
    if not raw.strip():
        raise InputError("stdin is empty; Claude Code sends one JSON object per event")
    try:
        try:
            payload = fastjson.loads(raw)
        except UnicodeDecodeError:  # judge what the bytes say; invalid sequences become U+FFFD
            payload = fastjson.loads(raw.decode("utf-8", "replace"))
    except ValueError as exc:
        raise InputError(f"stdin is not valid JSON ({str(exc).splitlines()[0]})") from None
    if fastjson.may_hold_surrogates(raw):
        payload = fastjson.scrub_surrogates(payload)
    fields = json_object(payload)
    if fields is None:
        raise InputError(f"stdin JSON is {type(payload).__name__}, expected an object")
    name = fields.get("hook_event_name")
    if not isinstance(name, str) or not name:
        raise InputError("payload has no 'hook_event_name' string; is this command registered as a hook?")
    return fields


def _load_config(paths: Paths, inv: Invocation) -> dict[str, object]:
    try:
        return load_config(paths)
    except ConfigError as exc:
        inv.warnings.append(f"config error, using defaults: {exc}")
        inv.config_error = str(exc)
        return exc.defaults if exc.defaults is not None else validate_config({}, environ={})


def _handler_modules(
    event_name: str, match_value: str | None, config: dict[str, object]
) -> list[tuple[str, bool]]:
    """``(module, is_user_module)``: the built-ins for this event whose matcher fits ``match_value``
    (the event's tool name, source, ...; ``None`` for events without a matcher field), then the
    user's own."""
    from hooks import BUILTIN, MATCHERS

    runtime = config_section(config, "runtime")
    disabled = set(json_list(runtime.get("disabled_builtins")) or ())
    modules = [
        (m, False)
        for m in BUILTIN.get(event_name, ())
        if m.rsplit(".", 1)[-1] not in disabled
        and (match_value is None or m not in MATCHERS or compile_matcher(MATCHERS[m])(match_value))
    ]
    modules.extend((str(m), True) for m in json_list(runtime.get("handlers")) or ())
    return modules


def _prepare_for_user_code() -> None:
    """The interpreter as a user's module expects it: the normal ``site`` set-up (``.pth`` files,
    user site, ``sitecustomize``) and the cyclic garbage collector on. The installed
    ``claude-hooks`` entry script starts Python with ``-S`` and the collector off, because both cost
    every hook process time the built-in handlers do not need (see :mod:`lib.installer`)."""
    global _user_code_loaded
    _user_code_loaded = True
    if sys.flags.no_site and "site" not in sys.modules:
        import site

        site.main()
    import gc

    if not gc.isenabled():
        gc.enable()


def _import_handler_module(spec: str, project_dir: str, *, user: bool = True) -> None:
    if user:
        _prepare_for_user_code()
    if spec.endswith(".py") or os.sep in spec:
        import importlib.util

        path = spec if os.path.isabs(spec) else os.path.join(project_dir, spec)
        if not os.path.isfile(path):
            raise ImportError(f"handler file {path} (runtime.handlers in .claude/hooks.toml) does not exist")
        name = "claude_hooks_user_" + os.path.splitext(os.path.basename(path))[0]
        if name in sys.modules:
            return
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise ImportError(f"cannot load handler file {path}")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
    else:
        if user and project_dir not in sys.path:
            sys.path.append(project_dir)
        __import__(spec)  # importlib.import_module without importing importlib (a dotted name only)


def _deciding(event_name: str) -> bool:
    spec = EVENTS.get(event_name)
    return spec is not None and spec.permission


def _unjudged(event_name: str, config: dict[str, object], problem: str) -> Outcome:
    """The answer of a deciding event the runtime could not judge: ask (deny when strict/closed)."""
    if _fail_closed(event_name, config):
        return _closed_deny(problem)
    strict = config_section(config, "guards").get("level") == "strict"
    reason = (
        f"claude-hooks could not check this call: {problem}. It was not judged, so "
        + ("it is denied (guards.level = 'strict')." if strict else "the user decides.")
        + " Split it into smaller, plainer commands or a script file; details in .claude/logs/hooks.jsonl."
    )
    return (deny(reason) if strict else ask(reason)) | system_message(reason)


def _fail_closed(event_name: str, config: dict[str, object]) -> bool:
    mode = config_section(config, "runtime").get("fail_mode")  # with CLAUDE_HOOKS_FAIL_MODE applied
    return _deciding(event_name) and mode == "closed"


def _dispatch(event: HookEvent, inv: Invocation, paths: Paths) -> Outcome:
    spec = EVENTS[event.name]
    match_value: str | None = None
    if spec.matcher_field is not None:
        value = event.data.get(spec.matcher_field)
        match_value = value if isinstance(value, str) else ""
    for module, user in _handler_modules(event.name, match_value, event.config):
        try:
            _import_handler_module(module, paths.project_dir, user=user)
        except Exception as exc:
            inv.warnings.append(f"handler module {module} failed to import: {type(exc).__name__}: {exc}")
            inv.handler_records.append({"name": module, "error": f"import: {type(exc).__name__}: {exc}"})
            if _fail_closed(event.name, event.config):
                event.pending = merge(
                    [event.pending or Outcome(), _closed_deny(f"handler module {module} is broken")]
                )
    outcomes: list[Outcome] = [event.pending] if event.pending is not None else []
    for handler in registry.handlers_for(event.name, match_value):
        t0 = time.perf_counter()
        record: dict[str, object] = {"name": handler.name, "start_ns": time.time_ns()}
        event.log.handler = handler.name
        try:
            result = handler.func(event)
            if result is not None and not isinstance(result, Outcome):
                raise TypeError(
                    f"returned {type(result).__name__}; return an Outcome (deny(...), ...) or None"
                )
        except Exception as exc:
            line = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            record["error"] = line
            inv.warnings.append(f"handler {handler.name} failed: {line}")
            if _fail_closed(event.name, event.config):
                result = _closed_deny(f"handler {handler.name} failed ({line})")
            elif handler.name.startswith(_GUARD_PREFIX) and _deciding(event.name):
                result = _unjudged(event.name, event.config, f"the {handler.name} check failed ({line})")
            else:
                result = None
        record["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
        event.log.handler = None
        if result is not None:
            outcomes.append(result)
            event.pending = merge(outcomes)
            record["decision"] = result.permission or ("block" if result.block_reason else "context")
        inv.handler_records.append(record)
    return merge(outcomes) if outcomes else Outcome()


def _closed_deny(problem: str) -> Outcome:
    return deny(
        f"claude-hooks is set to fail closed and {problem}; the call was not checked, so it is denied. "
        "Ask the user to fix the hook setup (see .claude/logs/hooks.jsonl) or set "
        "runtime.fail_mode = 'open' in .claude/hooks.toml."
    )


def _apply_stop_safety(
    event_name: str, payload: dict[str, object], outcome: Outcome, inv: Invocation
) -> Outcome:
    if (
        event_name in ("Stop", "SubagentStop")
        and payload.get("stop_hook_active") is True
        and outcome.block_reason
    ):
        inv.warnings.append(
            f"{event_name} block dropped: stop_hook_active is true (prevents an endless loop)"
        )
        outcome.block_reason = None
    return outcome


def run(expected_event: str | None, stdin: BinaryIO, stdout: TextIO, stderr: TextIO) -> int:
    """Handle one event; returns the exit code. ``expected_event`` is the name the command was
    registered for (argv), used when the payload cannot be read."""
    t0 = time.perf_counter()
    watchdog = _arm(BUDGET_SECONDS) if expected_event is None or _deciding(expected_event) else None
    paths = resolve_paths()
    inv = Invocation(expected_event or "unknown", paths)
    config: dict[str, object] = {}
    out: dict[str, object] | None = None
    try:
        config = _load_config(paths, inv)
        inv.config = config
        runtime = config_section(config, "runtime")
        budget = runtime.get("budget_seconds", BUDGET_SECONDS)
        if watchdog is not None and budget != BUDGET_SECONDS and isinstance(budget, (int, float)):
            _arm(float(budget) - (time.perf_counter() - t0))
        limit = runtime.get("max_payload_bytes")
        t_stdin = time.perf_counter()
        raw = _read_stdin(stdin, limit if isinstance(limit, int) else 16 << 20)
        inv.stdin_ms = round((time.perf_counter() - t_stdin) * 1000, 3)
        inv.payload_bytes = len(raw)
        payload = _parse(raw)
        inv.payload = payload
        name = str(payload["hook_event_name"])
        inv.event_name = name
        sid = payload.get("session_id")
        inv.session_id = sid if isinstance(sid, str) else None
        tuid = payload.get("tool_use_id")
        inv.tool_use_id = tuid if isinstance(tuid, str) else None
        tname = payload.get("tool_name")
        inv.tool_name = tname if isinstance(tname, str) else None
        pid = payload.get("prompt_id")
        inv.correlation_id = inv.tool_use_id or (pid if isinstance(pid, str) else "") or os.urandom(8).hex()
        if expected_event and expected_event != name:
            inv.warnings.append(f"registered for {expected_event} but received {name}; handling {name}")
        spec = EVENTS.get(name)
        if watchdog is not None and not _deciding(name):
            _disarm(watchdog)  # only deciding events need a verdict in time
            watchdog = None
        if spec is None:
            inv.error = f"unknown hook event {name!r}; answered with a no-op (newer Claude Code?)"
        else:
            check_fields(payload, spec)
            event = HookEvent(name, payload, paths=paths, config=config)
            real_stdout, sys.stdout = sys.stdout, stderr  # a stray print() must not corrupt our answer
            try:
                outcome = _dispatch(event, inv, paths)
            finally:
                sys.stdout = real_stdout
                inv.events = event.published
                inv.log_records = event.log.records
            if inv.config_error and _fail_closed(name, config):
                outcome = merge([outcome, _closed_deny("its config file is invalid")])
            outcome = _apply_stop_safety(name, payload, outcome, inv)
            out, render_warnings = render(name, outcome)
            inv.warnings.extend(render_warnings)
    except BudgetExceeded:
        inv.error = f"time budget of {budget_of(config)} s spent before a verdict (runtime.budget_seconds)"
        out = _unjudged_answer(inv.event_name, config, "it took longer than the time budget to check")
    except _Oversized as exc:
        inv.error = str(exc)
        if _fail_closed(inv.event_name, config) or not _names_unguarded_tool(exc.head):
            out = _unjudged_answer(inv.event_name, config, "its input is over runtime.max_payload_bytes")
    except InputError as exc:
        inv.error = str(exc)
        out = _unjudged_answer(inv.event_name, config, f"its input was unreadable ({exc})")
    except Exception as exc:  # a bug in the runtime itself: never block the session by accident
        inv.error = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]
        out = _unjudged_answer(
            inv.event_name, config, f"the runtime hit an internal error ({type(exc).__name__})"
        )
    finally:
        try:
            _disarm(watchdog)
        except BudgetExceeded:  # fired on the way out: the timer is one-shot, so this one holds
            _disarm(watchdog)

    inv.outcome = out = _write_answer(stdout, out, inv)
    if inv.error:
        _write_line(stderr, f"{_PREFIX}: {inv.event_name}: {inv.error}")
    for warning in inv.warnings:
        _write_line(stderr, f"{_PREFIX}: warning: {warning}")
    inv.duration_ms = round((time.perf_counter() - t0) * 1000 - inv.stdin_ms, 3)
    _record(inv, stderr)
    return inv.exit_code


def budget_of(config: dict[str, object]) -> float:
    """``runtime.budget_seconds`` of ``config`` (the default when unset)."""
    value = config_section(config, "runtime").get("budget_seconds")
    return float(value) if isinstance(value, (int, float)) else BUDGET_SECONDS


def _unjudged_answer(event_name: str, config: dict[str, object], problem: str) -> dict[str, object] | None:
    """The JSON answer for an event the runtime could not handle: only deciding events get one."""
    if not _deciding(event_name):
        return None
    out, _ = render(event_name, _unjudged(event_name, config, problem))
    return out


def _write_line(stream: TextIO, line: str) -> None:
    try:
        stream.write(line.encode("utf-8", "backslashreplace").decode("utf-8") + "\n")
    except (OSError, ValueError):  # nobody reads our stderr any more
        pass


def _write_answer(stdout: TextIO, out: dict[str, object] | None, inv: Invocation) -> dict[str, object] | None:
    """Print ``out`` as one line of ASCII JSON; returns what was printed.

    ASCII because it encodes on any stream whatever the strings hold (lone surrogates, control
    characters: JSON escapes). An answer that is no JSON at all (a handler's ``updated_input`` with
    an object JSON cannot hold) becomes the unjudged answer on a deciding event, nothing elsewhere."""
    if out is None:
        return None
    try:
        text = fastjson.dumps(out, ensure_ascii=True)
    except (TypeError, ValueError, RecursionError) as exc:
        inv.warnings.append(f"answer could not be encoded ({type(exc).__name__}: {exc})")
        out = _unjudged_answer(inv.event_name, inv.config, "its answer could not be encoded")
        if out is None:
            return None
        text = fastjson.dumps(out, ensure_ascii=True)
    try:
        stdout.write(text + "\n")
        stdout.flush()
    except (OSError, ValueError):  # Claude Code stopped reading: nothing left to tell it
        pass
    return out


def _record(inv: Invocation, stderr: TextIO) -> None:
    try:
        from lib.observability import record_invocation

        record_invocation(inv)
    except Exception as exc:
        stderr.write(f"{_PREFIX}: warning: could not record this invocation: {type(exc).__name__}: {exc}\n")


def main(argv: list[str] | None = None) -> int:
    """Console entry point: ``claude-hooks EVENT`` with the event's JSON on stdin."""
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help", "--version"):
        args = ["version"] if args[0] == "--version" else ["--help"]
        from lib.manage import main as manage

        return _run_command(manage, args)
    if args and (args[0][:1].islower() or args[0].startswith("--")):
        # a subcommand or a reader's option (events are CamelCase): install, status, logs, --project ...
        from lib.manage import COMMANDS
        from lib.manage import main as manage

        if args[0] in COMMANDS:
            return _run_command(manage, args)
        from lib.cli import main as readers

        return readers(args)
    return run(args[0] if args else None, sys.stdin.buffer, sys.stdout, sys.stderr)


def _run_command(command: Callable[[list[str]], int], args: list[str]) -> int:
    try:
        return command(args)
    except SystemExit as done:  # argparse's --help and usage errors
        return done.code if isinstance(done.code, int) else 0


def exit_process(code: int) -> NoReturn:
    """End the hook process with ``code``: the installed ``claude-hooks`` script calls this with
    :func:`main`'s result.

    With only the built-in handlers loaded, Python's own teardown is skipped (``os._exit`` after
    flushing stdout and stderr): it frees every imported module and runs a last garbage collection
    over all of them, about 2 ms of every hook process, and nothing of ours needs it (logs, events,
    spans and state are written with ``os.write`` or closed files by then; the kernel releases our
    locks). Once a user's handler module was imported, the process exits normally, so its
    ``atexit`` handlers and buffered files behave as they would anywhere else.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # Claude Code stopped reading: nothing left to tell it
            pass
    if _user_code_loaded:
        raise SystemExit(code)
    os._exit(code)


if __name__ == "__main__":
    raise SystemExit(main())
