"""Reading traces: span records -> a tree of frozen :class:`TraceNode` models, and OTLP/JSON export.

Not on the hook hot path (pydantic); :mod:`lib.trace_manager` re-exports these names lazily.

Merging rules for the records :mod:`lib.trace_manager` writes: ``span`` is a complete span;
``span_start`` and ``span_end`` with the same ids are one span opened and closed by two processes. A
span whose parent has no record at all is given a *reconstructed* parent from the ``ancestors`` it
lists (start = earliest child start, end = latest child end, status unset), so a trace is always one
tree even when a hook was not installed for every event or a process died.

The OTLP/JSON export follows the OpenTelemetry protocol's JSON mapping (hex trace and span ids,
nanosecond times as strings, typed attribute values), so the output can be posted to a collector's
``/v1/traces`` endpoint or loaded into Jaeger.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from lib.plain_data import json_list, plain_dict, plain_sequence

__all__ = ["TraceNode", "build_trees", "load_traces", "to_otlp"]

Status = Literal["unset", "ok", "error"]
_OTLP_STATUS = {"unset": 0, "ok": 1, "error": 2}
_SPAN_KIND_INTERNAL = 1


def _dt(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


class TraceNode(BaseModel):
    """One span and its children, immutable."""

    model_config = ConfigDict(frozen=True)

    name: str
    start_time: datetime
    children: tuple[TraceNode, ...] = ()
    trace_id: str
    span_id: str
    parent_span_id: str | None = None
    end_time: datetime | None = None
    start_ns: int
    end_ns: int | None = None
    status: Status = "unset"
    status_message: str | None = None
    attributes: dict[str, Any] = {}
    session_id: str | None = None
    correlation_id: str | None = None
    reconstructed: bool = False
    """True when no record of this span exists and it was rebuilt from its children."""

    @property
    def duration_ms(self) -> float | None:
        """Milliseconds from start to end; None while the span is open."""
        return None if self.end_ns is None else round((self.end_ns - self.start_ns) / 1e6, 3)

    def walk(self, depth: int = 0) -> Iterator[tuple[int, TraceNode]]:
        """This node and its descendants, depth first, with their depth."""
        yield depth, self
        for child in self.children:
            yield from child.walk(depth + 1)

    def find(self, name_prefix: str) -> list[TraceNode]:
        """Descendants (and self) whose name starts with ``name_prefix``."""
        return [node for _, node in self.walk() if node.name.startswith(name_prefix)]


def _merge(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    spans: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        kind = rec.get("type", "span")
        trace_id, span_id = rec.get("trace_id"), rec.get("span_id")
        if not isinstance(trace_id, str) or not isinstance(span_id, str):
            continue
        span = spans.setdefault(
            (trace_id, span_id), {"trace_id": trace_id, "span_id": span_id, "attributes": {}}
        )
        attributes = rec.get("attributes")
        if kind in ("span", "span_start"):
            for key in ("name", "parent_span_id", "ancestors", "session_id", "correlation_id"):
                if rec.get(key) is not None:
                    span[key] = rec[key]
            start_ns = rec.get("start_ns")
            if isinstance(start_ns, int) and (span.get("start_ns") is None or start_ns < span["start_ns"]):
                span["start_ns"] = start_ns  # a resumed session opens its span again: keep the first
        if kind in ("span", "span_end"):
            for key in ("end_ns", "status", "status_message"):
                if rec.get(key) is not None:
                    span[key] = rec[key]
        if kind not in ("span", "span_start", "span_end"):
            continue
        if isinstance(attributes, dict):
            span["attributes"].update(attributes)
    return spans


def build_trees(records: Iterable[Mapping[str, Any]]) -> list[TraceNode]:
    """The root spans (with their subtrees) of every trace in ``records``, oldest first."""
    spans = _merge(records)
    # every span lists its shared ancestors (parent first): create the ones without any record
    for (trace_id, _), span in list(spans.items()):
        pairs = [json_list(p) for p in span.get("ancestors") or ()]
        chain = [(str(p[0]), str(p[1])) for p in pairs if p is not None and len(p) == 2]
        if chain and span.get("parent_span_id") is None:
            span["parent_span_id"] = chain[0][0]
        for i, (ancestor_id, ancestor_name) in enumerate(chain):
            ancestor = spans.setdefault(
                (trace_id, ancestor_id), {"trace_id": trace_id, "span_id": ancestor_id, "attributes": {}}
            )
            ancestor.setdefault("name", ancestor_name)
            if ancestor.get("parent_span_id") is None and i + 1 < len(chain):
                ancestor["parent_span_id"] = chain[i + 1][0]

    children: dict[tuple[str, str], list[tuple[str, str]]] = {}
    roots: list[tuple[str, str]] = []
    for key, span in spans.items():
        parent_id = span.get("parent_span_id")
        parent_key = (key[0], parent_id) if parent_id else None
        if parent_key is not None and parent_key in spans and parent_key != key:
            children.setdefault(parent_key, []).append(key)
        else:
            roots.append(key)

    built: dict[tuple[str, str], TraceNode] = {}

    def build(key: tuple[str, str], seen: frozenset[tuple[str, str]]) -> TraceNode | None:
        if key in built:
            return built[key]
        span = spans[key]
        kids = [
            n for k in children.get(key, ()) if k not in seen and (n := build(k, seen | {key})) is not None
        ]
        kids.sort(key=lambda n: n.start_ns)
        start_ns = span.get("start_ns")
        end_ns = span.get("end_ns")
        if start_ns is None:
            if not kids:
                return None  # a lone span_end whose opening record is lost: nothing to show
            start_ns = min(k.start_ns for k in kids)
            span["reconstructed"] = True
        if end_ns is None and span.get("reconstructed"):
            ends = [k.end_ns for k in kids if k.end_ns is not None]
            end_ns = max(ends) if ends else None
        node = TraceNode(
            name=str(span.get("name") or "span"),
            start_time=_dt(int(start_ns)),
            end_time=_dt(int(end_ns)) if end_ns is not None else None,
            start_ns=int(start_ns),
            end_ns=int(end_ns) if end_ns is not None else None,
            children=tuple(kids),
            trace_id=key[0],
            span_id=key[1],
            parent_span_id=span.get("parent_span_id"),
            status=span["status"] if span.get("status") in _OTLP_STATUS else "unset",
            status_message=span.get("status_message"),
            attributes=dict(span.get("attributes") or {}),
            session_id=span.get("session_id"),
            correlation_id=span.get("correlation_id"),
            reconstructed=bool(span.get("reconstructed")),
        )
        built[key] = node
        return node

    out = [n for key in roots if (n := build(key, frozenset())) is not None]
    out.sort(key=lambda n: n.start_ns)
    return out


def load_traces(path: str) -> list[TraceNode]:
    """Every trace in a ``traces.jsonl`` file and its rotated predecessors."""
    import orjson

    from lib.jsonl import JsonlReader

    with JsonlReader(path, decoder=orjson.loads) as reader:
        return build_trees(entry.record for entry in reader)


def _otlp_value(value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    sequence = plain_sequence(value)
    if sequence is not None:
        return {"arrayValue": {"values": [_otlp_value(v) for v in sequence if v is not None]}}
    mapping = plain_dict(value)
    if mapping is not None:
        return {"kvlistValue": {"values": _otlp_attributes(mapping)}}
    return {"stringValue": str(value)}


def _otlp_attributes(attributes: Mapping[str, object] | Mapping[object, object]) -> list[dict[str, object]]:
    return [{"key": str(k), "value": _otlp_value(v)} for k, v in attributes.items() if v is not None]


def to_otlp(
    roots: Iterable[TraceNode], *, service_name: str = "claude-hooks", service_version: str = "0.1.0"
) -> dict[str, object]:
    """An OTLP/JSON ``ExportTraceServiceRequest`` holding every span under ``roots``."""
    spans: list[dict[str, object]] = []
    for root in roots:
        for _, node in root.walk():
            attributes = dict(node.attributes)
            if node.session_id:
                attributes.setdefault("session.id", node.session_id)
            if node.correlation_id:
                attributes.setdefault("correlation.id", node.correlation_id)
            if node.reconstructed:
                attributes["claude_hooks.reconstructed"] = True
            end_ns = (
                node.end_ns
                if node.end_ns is not None
                else max([node.start_ns] + [n.end_ns or n.start_ns for _, n in node.walk()])
            )
            span: dict[str, object] = {
                "traceId": node.trace_id,
                "spanId": node.span_id,
                "name": node.name,
                "kind": _SPAN_KIND_INTERNAL,
                "startTimeUnixNano": str(node.start_ns),
                "endTimeUnixNano": str(end_ns),
                "attributes": _otlp_attributes(attributes),
                "status": {
                    "code": _OTLP_STATUS[node.status],
                    **({"message": node.status_message} if node.status_message else {}),
                },
            }
            if node.parent_span_id:
                span["parentSpanId"] = node.parent_span_id
            spans.append(span)
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": _otlp_attributes(
                        {"service.name": service_name, "service.version": service_version}
                    )
                },
                "scopeSpans": [
                    {"scope": {"name": "claude-hooks", "version": service_version}, "spans": spans}
                ],
            }
        ]
    }
