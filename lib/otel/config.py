"""The ``[otel]`` section of ``.claude/hooks.toml`` (pydantic; read when the config file changes).

The minimal configuration is ``[otel] endpoint = "http://127.0.0.1:4318"`` (OTLP/HTTP; spans go to
``/v1/traces``), or the environment variable ``OTEL_EXPORTER_OTLP_ENDPOINT`` (an override, like
every variable in :data:`lib.config.ENV_OVERRIDES`). ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` are read by the shipper (see
:mod:`lib.otel.settings`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

__all__ = ["OtelSection"]


class OtelSection(BaseModel):
    """Spans pushed to an OpenTelemetry collector over OTLP/HTTP by a detached shipper."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Ship when an endpoint is set (false: never).")
    endpoint: str | None = Field(
        None,
        description="OTLP/HTTP base URL, e.g. http://127.0.0.1:4318 (spans go to /v1/traces). "
        "Env: OTEL_EXPORTER_OTLP_ENDPOINT.",
    )
    traces_endpoint: str | None = Field(
        None, description="Full URL for spans, used as is. Env: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT."
    )
    protocol: Literal["http/protobuf", "http/json"] = Field(
        "http/protobuf", description="OTLP/HTTP encoding."
    )
    headers: dict[str, str] = Field(
        default_factory=dict,
        description="HTTP headers (values may be '${ENV_VAR}'); added to OTEL_EXPORTER_OTLP_HEADERS.",
    )
    service_name: str | None = Field(
        None, description="service.name of our spans (default: OTEL_SERVICE_NAME, else 'claude-hooks')."
    )
    resource_attributes: dict[str, str] = Field(
        default_factory=dict, description="More resource attributes (added to OTEL_RESOURCE_ATTRIBUTES)."
    )
    timeout_seconds: float = Field(10.0, gt=0, le=120, description="Timeout of one export request.")
    batch_size: int = Field(512, ge=1, le=10000, description="Spans per export request at most.")
    linger_seconds: float = Field(
        60.0, ge=5, le=3600, description="The detached shipper waits this long for new spans before it exits."
    )

    @field_validator("endpoint", "traces_endpoint")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL (OTLP/HTTP, e.g. http://127.0.0.1:4318)")
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def active(self) -> bool:
        """Whether spans are shipped (what a hook checks)."""
        return self.enabled and bool(self.endpoint or self.traces_endpoint)
