"""Span records of ``traces.jsonl`` as OTLP messages, built with the official protobuf classes
(``opentelemetry-proto``).

Attribute names follow the OpenTelemetry semantic conventions where they exist and Claude Code's own
telemetry for the same facts: every span carries ``session.id`` (Claude Code's name); a tool call
carries ``gen_ai.tool.name`` and ``gen_ai.tool.call.id`` (plus ``gen_ai.operation.name =
execute_tool`` on the tool-call span) next to our ``tool.name`` / ``tool.use_id``; the session's model
is ``gen_ai.request.model``. Imported only by the shipper, never by a hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from lib.config import as_dict

__all__ = ["SCOPE_NAME", "export_request", "merge_records", "request_json", "semantic_attributes", "to_span"]

SCOPE_NAME = "claude-hooks"
_STATUS = {"ok": Status.STATUS_CODE_OK, "error": Status.STATUS_CODE_ERROR}
_ALIASES = {
    "tool.name": "gen_ai.tool.name",
    "tool.use_id": "gen_ai.tool.call.id",
    "session.model": "gen_ai.request.model",
}


def any_value(value: object) -> AnyValue | None:
    """``value`` as an OTLP ``AnyValue`` (None for null)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value) if -(2**63) <= value < 2**63 else AnyValue(string_value=str(value))
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, (list, tuple)):
        from typing import cast

        items = [v for v in (any_value(x) for x in cast("list[object]", value)) if v is not None]
        return AnyValue(array_value=ArrayValue(values=items))
    return AnyValue(string_value=str(value))


def key_values(attributes: Mapping[str, object]) -> list[KeyValue]:
    """OTLP attributes (null values dropped)."""
    out: list[KeyValue] = []
    for key, value in attributes.items():
        converted = any_value(value)
        if converted is not None:
            out.append(KeyValue(key=str(key), value=converted))
    return out


def semantic_attributes(record: Mapping[str, object]) -> dict[str, object]:
    """The span's attributes plus the semantic-convention names for the same facts."""
    attributes = dict(as_dict(record.get("attributes")))
    for ours, standard in _ALIASES.items():
        if attributes.get(ours) is not None and standard not in attributes:
            attributes[standard] = attributes[ours]
    session = record.get("session_id")
    if isinstance(session, str) and session:
        attributes.setdefault("session.id", session)
    name = record.get("name")
    if isinstance(name, str) and name.startswith("tool ") and "gen_ai.tool.name" in attributes:
        attributes.setdefault("gen_ai.operation.name", "execute_tool")
    correlation = record.get("correlation_id")
    if isinstance(correlation, str) and correlation:
        attributes.setdefault("claude_hooks.correlation_id", correlation)
    return attributes


def merge_records(start: Mapping[str, object], end: Mapping[str, object]) -> dict[str, object]:
    """A ``span_start`` and its ``span_end`` as one complete span record."""
    merged = dict(start)
    for key in ("end_ns", "end_time", "status", "status_message"):
        if key in end:
            merged[key] = end[key]
    attributes: dict[str, object] = {}
    for record in (start, end):
        attributes.update(as_dict(record.get("attributes")))
    merged["attributes"] = attributes
    merged["type"] = "span"
    return merged


def _hex_bytes(value: object, size: int) -> bytes | None:
    if not isinstance(value, str) or len(value) != size * 2:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        return None


def to_span(record: Mapping[str, object]) -> Span | None:
    """A complete span record as an OTLP ``Span`` (None if its ids or times are unusable)."""
    trace_id = _hex_bytes(record.get("trace_id"), 16)
    span_id = _hex_bytes(record.get("span_id"), 8)
    start = record.get("start_ns")
    end = record.get("end_ns")
    if trace_id is None or span_id is None or not isinstance(start, int):
        return None
    if not isinstance(end, int) or end < start:
        end = start
    status = record.get("status")
    message = record.get("status_message")
    span = Span(
        trace_id=trace_id,
        span_id=span_id,
        name=str(record.get("name") or "span"),
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=end,
        attributes=key_values(semantic_attributes(record)),
        status=Status(
            code=_STATUS.get(str(status), Status.STATUS_CODE_UNSET),
            message=message if isinstance(message, str) else "",
        ),
    )
    parent = _hex_bytes(record.get("parent_span_id"), 8)
    if parent is not None:
        span.parent_span_id = parent
    return span


def export_request(
    records: Iterable[Mapping[str, object]], resource: Mapping[str, str], version: str = ""
) -> tuple[ExportTraceServiceRequest, int]:
    """``(request, span count)`` for complete span records (unusable ones are left out)."""
    spans = [s for s in (to_span(r) for r in records) if s is not None]
    request = ExportTraceServiceRequest(
        resource_spans=[
            ResourceSpans(
                resource=Resource(attributes=key_values(resource)),
                scope_spans=[
                    ScopeSpans(scope=InstrumentationScope(name=SCOPE_NAME, version=version), spans=spans)
                ],
            )
        ]
    )
    return request, len(spans)


def request_json(request: ExportTraceServiceRequest) -> dict[str, object]:
    """The OTLP/JSON form of ``request``: protobuf's JSON mapping with the OTLP exceptions (trace and
    span ids as hex, not base64; enums as integers)."""
    data = MessageToDict(request, use_integers_for_enums=True)
    for resource_spans in data.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = _b64_to_hex(span[key])
    return data


def _b64_to_hex(value: str) -> str:
    import base64

    return base64.b64decode(value).hex()
