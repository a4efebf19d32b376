"""Where notifications go: a generic JSON webhook, a Slack-compatible incoming webhook, an ntfy topic,
the desktop (``notify-send`` on Linux, ``osascript`` on macOS).

A channel turns a :class:`lib.notify.rules.Notification` into one delivery attempt with a timeout
and raises :class:`DeliveryError` when it fails; retries are the sender's. URLs, tokens and header
values may contain ``${NAME}``, read from the environment at send time (:func:`expand`). No error
text of ours carries a URL, a token or a header value: :meth:`Channel.scrub` masks them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping

from lib.config import as_dict
from lib.env_refs import EnvRefError
from lib.env_refs import expand as expand_env
from lib.notify.rules import Notification
from lib.redaction import redact_text

__all__ = ["Channel", "DeliveryError", "channels_from_config", "expand"]

_USER_AGENT = "claude-hooks-notify/1"


class DeliveryError(Exception):
    """One delivery attempt failed; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def expand(value: str, key: str) -> str:
    """``value`` with its ``${NAME}`` references resolved (:func:`lib.env_refs.expand`); a missing
    variable is a :class:`DeliveryError` that retrying cannot fix."""
    try:
        return expand_env(value, f"[notify] {key}")
    except EnvRefError as exc:
        raise DeliveryError(str(exc), retry=False) from None


class Channel(ABC):
    """A destination. ``send(note)`` makes one attempt; ``secrets`` are masked in any message."""

    name = "channel"

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.secrets: list[str] = []

    def resolve(self, value: str, key: str) -> str:
        """``value`` with ``${NAME}`` resolved (:func:`expand`); the result, and each word of it, is
        a secret of this channel from now on."""
        resolved = expand(value, key)
        self.secrets.extend([resolved, *(w for w in resolved.split() if len(w) >= 6)])
        return resolved

    def scrub(self, text: str) -> str:
        """``text`` without any URL, token or header value of this channel (and redacted)."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return redact_text(text)

    @abstractmethod
    def send(self, note: Notification) -> str:
        """Deliver ``note``; returns a short description of the result (``HTTP 200``)."""
        raise NotImplementedError

    def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> str:
        self.secrets.append(url)
        self.secrets.extend(headers.values())
        request = urllib.request.Request(url, data=body, method="POST")
        request.add_header("User-Agent", _USER_AGENT)
        for name, value in headers.items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(65536)
                return f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            retry = exc.code >= 500 or exc.code in (408, 429)
            raise DeliveryError(f"HTTP {exc.code} {self.scrub(str(exc.reason))}", retry=retry) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            raise DeliveryError(f"{type(reason).__name__}: {self.scrub(str(reason))}") from None


class WebhookChannel(Channel):
    """A JSON POST of :meth:`Notification.body` per notification."""

    name = "webhook"

    def __init__(self, url: str, headers: Mapping[str, str], timeout: float) -> None:
        super().__init__(timeout)
        self.url = url
        self.headers = dict(headers)

    def send(self, note: Notification) -> str:
        url = self.resolve(self.url, "webhook_url")
        headers = {k: self.resolve(v, f"webhook_headers.{k}") for k, v in self.headers.items()}
        headers.setdefault("Content-Type", "application/json")
        return self._post(url, json.dumps(note.body()).encode(), headers)


class SlackChannel(Channel):
    """A Slack-compatible incoming webhook (also Mattermost, Discord's /slack endpoint, ...)."""

    name = "slack"

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(timeout)
        self.url = url

    def send(self, note: Notification) -> str:
        url = self.resolve(self.url, "slack_webhook_url")
        text = f"*{note.title}*\n{note.message}\n_{note.project}_ · session `{note.session_id or '-'}`"
        body = json.dumps({"text": text}).encode()
        return self._post(url, body, {"Content-Type": "application/json"})


class NtfyChannel(Channel):
    """A message published to an ntfy topic (``POST <server>/<topic>``)."""

    name = "ntfy"

    def __init__(self, server: str, topic: str, token: str | None, timeout: float) -> None:
        super().__init__(timeout)
        self.server = server
        self.topic = topic
        self.token = token

    def send(self, note: Notification) -> str:
        server = self.resolve(self.server, "ntfy_server").rstrip("/")
        topic = self.resolve(self.topic, "ntfy_topic")
        headers = {"Title": _latin1(note.title), "Tags": "robot", "Content-Type": "text/plain; charset=utf-8"}
        if note.event in ("permission.waiting", "breaker.opened"):
            headers["Priority"] = "high"
        if self.token:
            headers["Authorization"] = "Bearer " + self.resolve(self.token, "ntfy_token")
        return self._post(f"{server}/{topic}", note.message.encode(), headers)


def _latin1(text: str) -> str:
    """HTTP header values are Latin-1: other characters become '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


class DesktopChannel(Channel):
    """``notify-send`` (Linux) or ``osascript`` (macOS), whichever is present."""

    name = "desktop"

    def command(self, note: Notification) -> list[str]:
        """The command line that shows ``note``."""
        if sys.platform == "darwin" and shutil.which("osascript"):
            script = (
                f"display notification {_applescript(note.message)} with title {_applescript(note.title)}"
            )
            return ["osascript", "-e", script]
        program = shutil.which("notify-send")
        if program is None:
            raise DeliveryError(
                "no desktop notifier: install notify-send (libnotify-bin) or use macOS's osascript",
                retry=False,
            )
        return [program, "--app-name=Claude Code", note.title, note.message]

    def send(self, note: Notification) -> str:
        try:
            done = subprocess.run(
                self.command(note), capture_output=True, timeout=self.timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"the desktop notifier did not finish within {self.timeout:g} s") from None
        except OSError as exc:
            raise DeliveryError(
                f"the desktop notifier could not start: {exc.strerror}", retry=False
            ) from None
        if done.returncode != 0:
            error = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise DeliveryError(
                f"the desktop notifier exited {done.returncode}: {self.scrub(error[0] if error else '')}"
            )
        return "shown"


def _applescript(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def channels_from_config(notify: Mapping[str, object]) -> list[Channel]:
    """The channels ``[notify]`` configures, in a fixed order: webhook, slack, ntfy, desktop."""
    timeout = notify.get("timeout_seconds")
    seconds = float(timeout) if isinstance(timeout, (int, float)) else 5.0
    out: list[Channel] = []
    webhook = notify.get("webhook_url")
    if isinstance(webhook, str) and webhook:
        headers = {k: str(v) for k, v in as_dict(notify.get("webhook_headers")).items()}
        out.append(WebhookChannel(webhook, headers, seconds))
    slack = notify.get("slack_webhook_url")
    if isinstance(slack, str) and slack:
        out.append(SlackChannel(slack, seconds))
    topic = notify.get("ntfy_topic")
    if isinstance(topic, str) and topic:
        server = notify.get("ntfy_server")
        token = notify.get("ntfy_token")
        out.append(
            NtfyChannel(
                server if isinstance(server, str) else "https://ntfy.sh",
                topic,
                token if isinstance(token, str) and token else None,
                seconds,
            )
        )
    if notify.get("desktop") is True:
        out.append(DesktopChannel(seconds))
    return out
