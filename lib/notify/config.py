"""The ``[notify]`` section of ``.claude/hooks.toml`` (pydantic; read when the config file changes).

The minimal configuration::

    [notify]
    webhook_url = "http://127.0.0.1:9000/hook"   # a JSON POST per notification
    events = ["breaker.opened", "tool.denied", "permission.waiting", "session.stop"]

Any URL, token or header value may be written ``"${NAME}"`` (or contain it): it is read from the
environment variable ``NAME`` when a message is sent, so the secret never sits in the file, the
config cache or a log.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

__all__ = ["DEFAULT_EVENTS", "NOTIFY_TOPICS", "NotifySection"]

NOTIFY_TOPICS = ("permission.waiting", "session.stop", "breaker.opened", "tool.denied")
"""The bus topics a notification can be about."""
DEFAULT_EVENTS = NOTIFY_TOPICS
"""What notifies when ``events`` is not set (``tool.denied`` then only at ``[guards] level = "strict"``)."""


class NotifySection(BaseModel):
    """Notifications (webhook, Slack, ntfy, desktop) when something needs you, sent by a detached sender."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhook_url: str | None = Field(
        None,
        description="A JSON POST per notification (event, session_id, project, title, message, ...). "
        "Here and in every URL, token or header value, '${NAME}' reads the environment variable NAME.",
    )
    webhook_headers: dict[str, str] = Field(
        default_factory=dict, description="Extra HTTP headers of the webhook POST, e.g. an Authorization."
    )
    slack_webhook_url: str | None = Field(None, description="A Slack-compatible incoming webhook URL.")
    ntfy_topic: str | None = Field(None, description="An ntfy topic to publish to.")
    ntfy_server: str = Field("https://ntfy.sh", description="The ntfy server of ntfy_topic.")
    ntfy_token: str | None = Field(None, description="An ntfy access token (sent as a Bearer token).")
    desktop: bool = Field(False, description="Desktop notifications through notify-send or osascript.")
    events: list[str] | None = Field(
        None,
        description="Topics that notify: permission.waiting, session.stop, breaker.opened, tool.denied. "
        "Default: all four, tool.denied only at guards level 'strict'.",
    )
    stop_after_seconds: float = Field(
        300.0, ge=0, description="session.stop notifies only when the session ran at least this long."
    )
    quiet_seconds: float = Field(
        60.0, ge=0, description="Per session and topic, at most one notification in this period."
    )
    dedupe_seconds: float = Field(
        3600.0,
        ge=0,
        description="The same thing (topic and subject) in one session notifies once per period.",
    )
    timeout_seconds: float = Field(5.0, gt=0, le=60, description="Timeout of one delivery attempt.")
    retries: int = Field(
        3, ge=0, le=10, description="Retries of a failed delivery (backoff 1 s, 2 s, 4 s...)."
    )
    linger_seconds: float = Field(
        30.0, ge=5, le=3600, description="The detached sender waits this long for more before it exits."
    )

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str] | None) -> list[str] | None:
        for topic in value or ():
            if topic not in NOTIFY_TOPICS:
                raise ValueError(f"{topic!r} cannot notify; use some of {', '.join(NOTIFY_TOPICS)}")
        return value

    @field_validator("webhook_url", "slack_webhook_url", "ntfy_server")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://", "${")):
            raise ValueError("must be an http:// or https:// URL, or '${ENV_VAR}' naming one")
        return value

    @computed_field  # type: ignore[prop-decorator]
    @property
    def active(self) -> bool:
        """Whether any channel is configured (what a hook checks before anything else)."""
        return bool(self.webhook_url or self.slack_webhook_url or self.ntfy_topic or self.desktop)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def topics(self) -> list[str]:
        """The topics that can notify (the hook starts the sender only for these)."""
        return list(self.events if self.events is not None else DEFAULT_EVENTS)
