"""Where and how the shipper sends spans: ``[otel]`` plus the standard ``OTEL_*`` variables.

- endpoint: ``[otel] traces_endpoint`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` as is, else
  ``[otel] endpoint`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` + ``/v1/traces`` (the variables reach the
  config as overrides, see :data:`lib.config.ENV_OVERRIDES`);
- headers: ``OTEL_EXPORTER_OTLP_HEADERS`` (and ``..._TRACES_HEADERS``; ``k=v,k2=v2``, values
  URL-decoded), then ``[otel] headers`` (values may be ``${ENV_VAR}``);
- resource: ``service.name`` from ``[otel] service_name``, else ``OTEL_SERVICE_NAME``, else
  ``claude-hooks``; ``OTEL_RESOURCE_ATTRIBUTES`` then ``[otel] resource_attributes``; plus
  ``service.version``, ``host.name``, ``process.pid`` of the shipper is NOT added (spans come from
  many hook processes).

Pure: the environment is passed in.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from lib.config import as_dict, config_section
from lib.env_refs import expand

__all__ = ["OtelSettings", "parse_key_values"]

DEFAULT_SERVICE_NAME = "claude-hooks"


def parse_key_values(text: str | None) -> dict[str, str]:
    """``k=v,k2=v2`` (the OTEL_* list format; keys and values URL-decoded, blanks trimmed, bad
    entries skipped)."""
    out: dict[str, str] = {}
    for item in (text or "").split(","):
        key, sep, value = item.partition("=")
        if sep and key.strip():
            out[unquote(key.strip())] = unquote(value.strip())
    return out


@dataclass(frozen=True)
class OtelSettings:
    """Everything the shipper needs to export."""

    traces_url: str
    protocol: str
    headers: Mapping[str, str]
    resource: Mapping[str, str]
    timeout: float
    batch_size: int
    linger: float

    @classmethod
    def from_config(
        cls, config: Mapping[str, object], environ: Mapping[str, str], *, version: str = "0"
    ) -> OtelSettings:
        """Settings from the validated config and the environment; raises ``ValueError`` (naming the
        key) when no endpoint is set or a ``${VAR}`` is missing (:class:`lib.env_refs.EnvRefError`)."""
        otel = config_section(config, "otel")
        traces = otel.get("traces_endpoint")
        base = otel.get("endpoint")
        if isinstance(traces, str) and traces:
            url = traces
        elif isinstance(base, str) and base:
            url = base.rstrip("/") + "/v1/traces"
        else:
            raise ValueError(
                'no OTLP endpoint: set [otel] endpoint = "http://127.0.0.1:4318" in .claude/hooks.toml '
                "or OTEL_EXPORTER_OTLP_ENDPOINT"
            )
        headers = parse_key_values(environ.get("OTEL_EXPORTER_OTLP_HEADERS"))
        headers.update(parse_key_values(environ.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")))
        for key, value in as_dict(otel.get("headers")).items():
            headers[key] = expand(str(value), f"[otel] headers.{key}", environ)
        resource = {
            "service.name": DEFAULT_SERVICE_NAME,
            "service.version": version,
            "host.name": platform.node(),
            "telemetry.sdk.name": "claude-hooks",
            "telemetry.sdk.language": "python",
        }
        resource.update(parse_key_values(environ.get("OTEL_RESOURCE_ATTRIBUTES")))
        resource.update({k: str(v) for k, v in as_dict(otel.get("resource_attributes")).items()})
        name = otel.get("service_name") or environ.get("OTEL_SERVICE_NAME")
        if isinstance(name, str) and name:
            resource["service.name"] = name
        protocol = otel.get("protocol")
        timeout = otel.get("timeout_seconds")
        batch = otel.get("batch_size")
        linger = otel.get("linger_seconds")
        return cls(
            traces_url=url,
            protocol=protocol if protocol in ("http/protobuf", "http/json") else "http/protobuf",
            headers=headers,
            resource=resource,
            timeout=float(timeout) if isinstance(timeout, (int, float)) else 10.0,
            batch_size=batch if isinstance(batch, int) else 512,
            linger=float(linger) if isinstance(linger, (int, float)) else 60.0,
        )
