"""``python -m lib traces``: traces of Claude Code sessions (``.claude/logs/traces.jsonl``).

python -m lib traces                      # one line per trace (session)
python -m lib traces show 5921294c        # the span tree of a trace, with durations
python -m lib traces show 5921294c --otlp # the same trace as OTLP/JSON (for a collector or Jaeger)
python -m lib traces -f                   # follow spans as hooks write them
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import Any

from lib.cli._command import Command
from lib.cli._observe import (
    add_common,
    color,
    dump_json,
    entries,
    escape,
    log_file,
    matching,
    parse_since,
    printer,
    session_matches,
    short_id,
    short_time,
    use_color,
)
from lib.hook_logger import iso_timestamp
from lib.trace_manager import TRACE_FILE
from lib.trace_tree import TraceNode, build_trees, to_otlp

__all__ = ["COMMAND", "draw_tree"]


def _actions(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="traces_action", metavar="ACTION")
    show = actions.add_parser("show", help="draw the span tree of a trace with durations")
    show.add_argument("trace", metavar="ID", help="trace id or session id (a prefix is enough)")
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="the tree as JSON")
    show.add_argument("--otlp", action="store_true", help="OTLP/JSON export of the trace")
    show.set_defaults(func=_show)
    export = actions.add_parser("export", help="OTLP/JSON of every trace (or the given ones)")
    export.add_argument("traces", nargs="*", metavar="ID", help="trace or session ids (prefixes)")
    export.set_defaults(func=_export)


def _load(args: argparse.Namespace) -> list[TraceNode]:
    path = log_file(args, TRACE_FILE)
    return build_trees(e.record for e in entries(path))


def _pick(roots: list[TraceNode], wanted: str) -> list[TraceNode]:
    compact = wanted.replace("-", "").lower()
    return [
        r
        for r in roots
        if r.trace_id.startswith(compact) or (r.session_id or "").startswith(wanted) or r.span_id == wanted
    ]


def _duration(node: TraceNode) -> str:
    ms = node.duration_ms
    if ms is None:
        return "open"
    return f"{ms / 1000:.2f}s" if ms >= 1000 else f"{ms:.1f}ms"


def _summary(root: TraceNode) -> dict[str, Any]:
    nodes = [n for _, n in root.walk()]
    return {
        "trace_id": root.trace_id,
        "session_id": root.session_id or next((n.session_id for n in nodes if n.session_id), None),
        "start": iso_timestamp(root.start_ns),
        "duration_ms": root.duration_ms,
        "spans": len(nodes),
        "tool_calls": sum(1 for n in nodes if n.name.startswith("tool ")),
        "errors": sum(1 for n in nodes if n.status == "error"),
        "root": root.name,
    }


def run(args: argparse.Namespace) -> int:
    """One line per trace, or the spans as hooks write them with ``--follow``."""
    if getattr(args, "follow", False):
        return _follow(args)
    since = parse_since(args.since)
    roots = [r for r in _load(args) if session_matches(args.session, _summary(r)["session_id"])]
    rows = [s for s in map(_summary, roots) if since is None or s["start"] >= since]
    if args.json:
        for row in rows:
            print(dump_json(row))
        return 0
    if not rows:
        print("No traces yet.")
        return 0
    print(
        f"{'TRACE':<34}{'SESSION':<10}{'START (UTC)':<25}{'DURATION':>10}{'SPANS':>7}{'TOOLS':>7}{'ERRORS':>8}"
    )
    for row in rows:
        duration = f"{row['duration_ms'] / 1000:.2f}s" if row["duration_ms"] is not None else "open"
        print(
            f"{escape(row['trace_id']):<34}{short_id(row['session_id']):<10}{short_time(row['start']):<25}"
            f"{duration:>10}{row['spans']:>7}{row['tool_calls']:>7}{row['errors']:>8}"
        )
    return 0


def draw_tree(root: TraceNode, colored: bool = False) -> list[str]:
    """The span tree as text lines with box-drawing branches and durations."""
    lines: list[str] = []

    def label(node: TraceNode) -> str:
        text = escape(node.name)
        if node.reconstructed:
            text += color(" ~", "dim", colored)
        text += "  " + color(_duration(node), "cyan", colored)
        if node.status == "error":
            text += "  " + color(
                "ERROR" + (f": {node.status_message}" if node.status_message else ""), "red", colored
            )
        decision = node.attributes.get("hook.decision")
        if decision:
            text += "  " + color(
                f"[{decision}]", "yellow" if decision in ("deny", "block") else "dim", colored
            )
        return text

    def walk(node: TraceNode, prefix: str, last: bool, top: bool) -> None:
        if top:
            lines.append(label(node))
            child_prefix = ""
        else:
            lines.append(prefix + ("└─ " if last else "├─ ") + label(node))
            child_prefix = prefix + ("   " if last else "│  ")
        for i, child in enumerate(node.children):
            walk(child, child_prefix, i == len(node.children) - 1, False)

    walk(root, "", True, True)
    return lines


def _tree_json(node: TraceNode) -> dict[str, Any]:
    data = node.model_dump(mode="json", exclude={"children"})
    data["duration_ms"] = node.duration_ms
    data["children"] = [_tree_json(c) for c in node.children]
    return data


def _show(args: argparse.Namespace) -> int:
    matches = _pick(_load(args), args.trace)
    if not matches:
        print(f"No trace matches {args.trace!r} (try `python -m lib traces`).", file=sys.stderr)
        return 1
    if args.otlp:
        print(dump_json(to_otlp(matches)))
        return 0
    if getattr(args, "json", False):
        for root in matches:
            print(dump_json(_tree_json(root)))
        return 0
    colored = use_color()
    for root in matches:
        summary = _summary(root)
        print(
            color(f"trace {root.trace_id}", "dim", colored)
            + (f"  session {escape(summary['session_id'])}" if summary["session_id"] else "")
            + f"  started {short_time(summary['start'])} UTC"
        )
        for line in draw_tree(root, colored):
            print(line)
    return 0


def _export(args: argparse.Namespace) -> int:
    roots = _load(args)
    if args.traces:
        roots = [r for wanted in args.traces for r in _pick(roots, wanted)]
    print(dump_json(to_otlp(roots)))
    return 0


def _span_line(record: Mapping[str, Any], colored: bool) -> str:
    duration = record.get("duration_ms")
    return "  ".join(
        [
            color(short_time(record.get("start_time")), "dim", colored),
            color(short_id(record.get("trace_id")), "cyan", colored),
            escape(record.get("name")),
            f"{duration:.1f}ms" if isinstance(duration, (int, float)) else "",
            color("ERROR", "red", colored) if record.get("status") == "error" else "",
        ]
    ).rstrip()


def _follow(args: argparse.Namespace) -> int:
    path = log_file(args, TRACE_FILE)
    since = parse_since(args.since)
    emit = printer(args, _span_line)
    spans = matching(args, path, since, lambda r: r.get("type", "span") == "span", follow=True)
    for entry in spans:
        emit(entry.record)
    return 0


COMMAND = Command(
    help="list traces, draw one as a span tree, export OTLP/JSON",
    description="Traces of .claude/logs/traces.jsonl: a session is a trace, each hook invocation a span.",
    options=(add_common, _actions),
)
