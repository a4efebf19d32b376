"""Fixtures of the OTLP tests: a local OTLP/HTTP receiver that decodes with the official classes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from receivers import HttpReceiver, Received


def decode(request: Received) -> ExportTraceServiceRequest:
    """The export request a POST carried (protobuf, or OTLP/JSON parsed back into the same class)."""
    if request.headers.get("Content-Type") == "application/json":
        import base64

        from google.protobuf.json_format import ParseDict

        data = json.loads(request.body)
        for rs in data.get("resourceSpans", ()):
            for ss in rs.get("scopeSpans", ()):
                for span in ss.get("spans", ()):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if key in span:  # OTLP/JSON ids are hex; protobuf's JSON mapping wants base64
                            span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
        return ParseDict(data, ExportTraceServiceRequest())
    return ExportTraceServiceRequest.FromString(request.body)


def spans_of(requests: list[Received]) -> list[dict[str, object]]:
    """Every span received, as plain values (ids hex, attributes a dict of Python values)."""
    out = []
    for request in requests:
        message = decode(request)
        for rs in message.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for span in ss.spans:
                    attributes: dict[str, object] = {}
                    for kv in span.attributes:
                        kind = kv.value.WhichOneof("value")
                        attributes[kv.key] = getattr(kv.value, kind) if kind else None
                    out.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "status": span.status.code,
                            "attributes": attributes,
                            "resource": resource,
                            "path": request.path,
                        }
                    )
    return out


@pytest.fixture
def collector() -> Iterator[HttpReceiver]:
    """A running OTLP/HTTP receiver."""
    with HttpReceiver() as server:
        yield server
