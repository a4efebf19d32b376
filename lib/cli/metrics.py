"""``python -m lib metrics``: hook latency, tool calls and failures, denials, breaker openings.

    python -m lib metrics                  # everything kept in the logs
    python -m lib metrics --since 1h --json

Latency comes from the hook log (one record per hook process, with per-handler timings); calls,
failures, denials, breaker openings and rate-limit refusals from the event bus.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter, defaultdict
from typing import Any

from lib.cli._command import Command
from lib.cli._observe import (
    add_filters,
    dump_json,
    entries,
    escape,
    filtered,
    log_paths,
    parse_since,
    percentile,
    session_matches,
)
from lib.event_bus import BUS_FILE, Event
from lib.hook_logger import LOG_FILE
from lib.plain_data import json_list, json_object
from lib.usage.cli import project_usage
from lib.usage.report import usage_lines

__all__ = ["COMMAND", "collect"]


def _latency(values: list[float]) -> dict[str, Any]:
    return {
        "count": len(values),
        "p50_ms": round(percentile(values, 50), 3),
        "p95_ms": round(percentile(values, 95), 3),
        "max_ms": round(max(values), 3) if values else 0.0,
    }


def collect(log_dir: str, *, since: str | None = None, session: str | None = None) -> dict[str, Any]:
    """The metrics as plain data."""
    by_event: dict[str, list[float]] = defaultdict(list)
    by_handler: dict[str, list[float]] = defaultdict(list)
    handler_errors: Counter[str] = Counter()
    hook_errors = 0
    runtime_records = filtered(
        entries(os.path.join(log_dir, LOG_FILE)),
        since,
        lambda rec: rec.get("hook", "runtime") == "runtime",
        session=session,
    )
    for entry in runtime_records:
        rec = entry.record
        duration = rec.get("duration_ms")
        if isinstance(duration, (int, float)):
            by_event[str(rec.get("event"))].append(float(duration))
        if rec.get("level") == "error":
            hook_errors += 1
        fields = json_object(rec.get("fields")) or {}
        for h in map(json_object, json_list(fields.get("handlers")) or ()):
            if h is None:
                continue
            name = str(h.get("name"))
            duration = h.get("duration_ms")
            if isinstance(duration, (int, float)):
                by_handler[name].append(float(duration))
            if h.get("error"):
                handler_errors[name] += 1

    calls: dict[str, set[str]] = defaultdict(set)
    failures: Counter[str] = Counter()
    interrupts: Counter[str] = Counter()
    denials: Counter[str] = Counter()
    denials_by: Counter[str] = Counter()
    breaker_opened: Counter[str] = Counter()
    ratelimited: Counter[str] = Counter()
    sessions: set[str] = set()
    for entry in entries(os.path.join(log_dir, BUS_FILE)):
        event = Event.from_record(entry.record, entry.position)
        if event is None or (since is not None and event.ts < since):
            continue
        if not session_matches(session, event.session_id):
            continue
        if event.session_id:
            sessions.add(event.session_id)
        payload = event.payload
        tool = str(payload.get("tool_name") or "-")
        use_id = payload.get("tool_use_id")
        if event.topic in ("tool.pre", "tool.post", "tool.failure"):
            calls[tool].add(str(use_id) if use_id else f"#{event.id}")
        if event.topic == "tool.failure":
            (interrupts if payload.get("is_interrupt") else failures)[tool] += 1
        elif event.topic == "tool.denied":
            denials[tool] += 1
            by = payload.get("by")
            by_list = json_list(by)
            for who in by_list if by_list is not None else [by]:
                denials_by[str(who or "unknown")] += 1
        elif event.topic == "breaker.opened":
            breaker_opened[str(payload.get("key") or tool)] += 1
        elif event.topic == "ratelimit.exceeded":
            ratelimited[str(payload.get("key") or tool)] += 1

    tools = sorted(set(calls) | set(failures) | set(denials))
    return {
        "hooks": {name: _latency(values) for name, values in sorted(by_event.items())},
        "handlers": {
            name: {**_latency(values), "errors": handler_errors.get(name, 0)}
            for name, values in sorted(by_handler.items())
        },
        "hook_errors": hook_errors,
        "tools": {
            tool: {
                "calls": len(calls.get(tool, ())),
                "failures": failures.get(tool, 0),
                "interrupted": interrupts.get(tool, 0),
                "denied": denials.get(tool, 0),
            }
            for tool in tools
        },
        "denials_by": dict(denials_by),
        "breaker_openings": dict(breaker_opened),
        "ratelimit_exceeded": dict(ratelimited),
        "sessions": len(sessions),
    }


def _say(line: str) -> None:
    """One line of the report: tool, event and handler names come from payloads, so escaped."""
    print(escape(line))


def run(args: argparse.Namespace) -> int:
    """Print the metrics."""
    data = collect(log_paths(args).log_dir, since=parse_since(args.since), session=args.session)
    data["usage"] = project_usage(args, session=args.session)  # tokens and cost, from the transcripts
    if args.json:
        print(dump_json(data))
        return 0
    if not data["hooks"] and not data["tools"]:
        _say("No hook activity recorded yet.")
        return 0
    _say(f"Hook latency ({data['hook_errors']} hook errors)")
    _say(f"  {'EVENT':<28}{'CALLS':>7}{'P50':>10}{'P95':>10}{'MAX':>10}")
    for name, m in data["hooks"].items():
        _say(f"  {name:<28}{m['count']:>7}{m['p50_ms']:>8.1f}ms{m['p95_ms']:>8.1f}ms{m['max_ms']:>8.1f}ms")
    if data["handlers"]:
        _say("Handler latency")
        _say(f"  {'HANDLER':<28}{'CALLS':>7}{'P50':>10}{'P95':>10}{'ERRORS':>8}")
        for name, m in data["handlers"].items():
            _say(f"  {name:<28}{m['count']:>7}{m['p50_ms']:>8.2f}ms{m['p95_ms']:>8.2f}ms{m['errors']:>8}")
    if data["tools"]:
        _say(f"Tool calls ({data['sessions']} sessions)")
        _say(f"  {'TOOL':<28}{'CALLS':>7}{'FAILED':>8}{'INTERRUPTED':>13}{'DENIED':>8}")
        for tool, m in data["tools"].items():
            _say(f"  {tool:<28}{m['calls']:>7}{m['failures']:>8}{m['interrupted']:>13}{m['denied']:>8}")
    if data["denials_by"]:
        _say("Denials by: " + ", ".join(f"{k} {v}" for k, v in sorted(data["denials_by"].items())))
    _say(
        "Breaker openings: "
        + (", ".join(f"{k} {v}" for k, v in sorted(data["breaker_openings"].items())) or "none")
    )
    _say(
        "Rate limit refusals: "
        + (", ".join(f"{k} {v}" for k, v in sorted(data["ratelimit_exceeded"].items())) or "none")
    )
    for line in usage_lines(data["usage"], args.session):
        print(line)
    return 0


COMMAND = Command(
    help="hook latency (p50/p95), calls and failures per tool, denials, breaker openings",
    description="Summarise .claude/logs: hook latency and what happened to Claude's tool calls.",
    options=(add_filters,),
)
