"""A local stand-in for the Anthropic Messages API that the real Claude Code CLI can talk to.

The server answers ``POST /v1/messages`` (Claude Code 2.1.328 sends ``/v1/messages?beta=true`` with
``stream: true``) with Server-Sent Events, one scripted assistant turn per request, and records every
request it receives so a test can look at what Claude Code sent back (tool results, errors, hook text).

A *script* says what "Claude" does, turn by turn. It is either a list of turns, consumed in order, one
per streaming request::

    script = [
        bash("echo hi"),                              # a turn with one tool call
        [bash("ls"), tool_use("Read", file_path=p)],  # a turn with several tool calls
        "All done.",                                  # final text: stop_reason end_turn
    ]

or a callable ``(MessagesRequest) -> turn`` that decides each reply from the request (the whole
conversation is in the request, so such a callable can be stateless; see :func:`retry_while_failing`).
A turn is a ``str`` (final text), a :class:`ToolUse`, a list of them, or a :class:`Reply`.

What else Claude Code 2.1.328 calls, measured with a logging server: nothing when
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` is set; without it, one ``HEAD /api/hello`` probe.
Both are answered: ``HEAD``/``GET`` probes get ``200 {}``, ``POST /v1/messages/count_tokens`` gets a
token count, a non-streaming ``POST /v1/messages`` (side queries such as title generation or quota
checks in other versions) gets a short text message without consuming the script. Any other path
gets a JSON 404 and is listed in :attr:`MockAnthropic.problems`, as are an exhausted script and a
script callable that raised.

Usage::

    with MockAnthropic(script) as mock:
        run the CLI with ANTHROPIC_BASE_URL=mock.base_url
        mock.requests            # every request, in arrival order
        mock.turn_requests       # the streaming /v1/messages requests (one per scripted turn)
"""

from __future__ import annotations

import itertools
import json
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MessagesRequest",
    "MockAnthropic",
    "RecordedRequest",
    "Reply",
    "ReportedUsage",
    "Script",
    "ToolResult",
    "ToolUse",
    "Turn",
    "bash",
    "retry_while_failing",
    "tool_use",
]

SCRIPT_EXHAUSTED_TEXT = "(mock_anthropic: the script has no more turns)"
SIDE_QUERY_TEXT = "ok"


@dataclass(frozen=True)
class ToolUse:
    """One ``tool_use`` block: Claude asks Claude Code to run tool ``name`` with ``input``.

    ``id`` is generated (``toolu_e2e_0001``, ...) when left empty.
    """

    name: str
    input: Mapping[str, Any] = field(default_factory=dict)
    id: str = ""


@dataclass(frozen=True)
class Reply:
    """One assistant message: text strings and tool calls in order.

    ``stop_reason`` defaults to ``tool_use`` when a block is a :class:`ToolUse`, else ``end_turn``.
    """

    blocks: Sequence[str | ToolUse]
    stop_reason: str | None = None
    usage: Mapping[str, int] | None = None
    """Token counts to report for this message (``input_tokens``, ``output_tokens``,
    ``cache_read_input_tokens``, ``cache_creation_input_tokens``); default: estimated."""


Turn = str | ToolUse | Reply | Sequence[str | ToolUse]
"""What one scripted assistant turn may be."""

Script = Sequence[Turn] | Callable[["MessagesRequest"], Turn]
"""A list of turns, or a callable deciding each turn from the request."""


def tool_use(name: str, input: Mapping[str, Any] | None = None, /, **fields: Any) -> ToolUse:
    """A call of tool ``name``; give the input as a mapping or as keyword arguments."""
    return ToolUse(name=name, input={**(input or {}), **fields})


def bash(command: str, description: str = "run a command") -> ToolUse:
    """A ``Bash`` tool call running ``command``."""
    return ToolUse(name="Bash", input={"command": command, "description": description})


@dataclass(frozen=True)
class ToolResult:
    """A ``tool_result`` block that Claude Code sent back to the model."""

    tool_use_id: str
    is_error: bool
    text: str
    """The result content flattened to text (string content, or the text blocks joined by newlines)."""
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class RecordedRequest:
    """Any HTTP request the mock received. ``body`` is the parsed JSON (or ``None``)."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any

    @property
    def route(self) -> str:
        """The path without its query string (``/v1/messages?beta=true`` -> ``/v1/messages``)."""
        return urlsplit(self.path).path


@dataclass(frozen=True)
class MessagesRequest(RecordedRequest):
    """A ``POST /v1/messages`` request, with helpers to read the conversation it carries."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` array (the whole conversation so far)."""
        return list(self.body.get("messages") or [])

    @property
    def stream(self) -> bool:
        """Whether Claude Code asked for an SSE stream (main-loop turns do)."""
        return bool(self.body.get("stream"))

    @property
    def tool_names(self) -> list[str]:
        """Names of the tools Claude Code offered the model."""
        return [str(t.get("name")) for t in self.body.get("tools") or []]

    @property
    def session_id(self) -> str | None:
        """Claude Code's session id, from the ``X-Claude-Code-Session-Id`` header."""
        return self.headers.get("x-claude-code-session-id")

    def tool_results(self) -> list[ToolResult]:
        """The tool results in the last user message: the answers to the previous turn's calls."""
        for message in reversed(self.messages):
            if message.get("role") == "user" and _blocks_of(message, "tool_result"):
                return [_tool_result(b) for b in _blocks_of(message, "tool_result")]
            if message.get("role") == "assistant":
                return []
        return []

    def all_tool_results(self) -> list[ToolResult]:
        """Every tool result in the conversation, oldest first."""
        return [
            _tool_result(b)
            for m in self.messages
            if m.get("role") == "user"
            for b in _blocks_of(m, "tool_result")
        ]

    def tool_uses(self) -> list[ToolUse]:
        """Every tool call the assistant made in the conversation, oldest first."""
        return [
            ToolUse(name=str(b.get("name")), input=dict(b.get("input") or {}), id=str(b.get("id")))
            for m in self.messages
            if m.get("role") == "assistant"
            for b in _blocks_of(m, "tool_use")
        ]

    def text(self) -> str:
        """All text of the conversation's user messages (prompt, reminders, hook context), joined."""
        parts: list[str] = []
        for message in self.messages:
            if message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, str):
                    parts.append(content)
                else:
                    parts.extend(str(b.get("text", "")) for b in content or [] if b.get("type") == "text")
        return "\n".join(parts)


def _blocks_of(message: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    content = message.get("content")
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == kind]


def _tool_result(block: Mapping[str, Any]) -> ToolResult:
    content = block.get("content")
    if isinstance(content, list):
        text = "\n".join(
            str(c.get("text", "")) for c in content if isinstance(c, dict) and c.get("type") == "text"
        )
    else:
        text = "" if content is None else str(content)
    return ToolResult(
        tool_use_id=str(block.get("tool_use_id")), is_error=bool(block.get("is_error")), text=text, raw=block
    )


def retry_while_failing(
    call: ToolUse, attempts: int, final_text: str = "Giving up."
) -> Callable[[MessagesRequest], Turn]:
    """A script that makes ``call`` and repeats it while its result is an error, ``attempts`` calls at most.

    It ends with ``final_text`` as soon as a call succeeds or after the last attempt. Stateless: it
    counts the earlier calls in the conversation, so it works for any number of sessions.
    """

    def decide(request: MessagesRequest) -> Turn:
        made = sum(1 for use in request.tool_uses() if use.name == call.name)
        results = request.tool_results()
        if made == 0:
            return call
        if made < attempts and results and all(r.is_error for r in results):
            return call
        return final_text

    return decide


class MockAnthropic:
    """A threaded HTTP server on 127.0.0.1 (free port) playing a :data:`Script`. Use as a context manager."""

    def __init__(
        self, script: Script = (), *, model: str | None = None, usage: Mapping[str, int] | None = None
    ) -> None:
        """``usage``: extra token counts every message reports in ``message_start`` (for instance
        ``{"cache_read_input_tokens": 1200, "cache_creation_input_tokens": 300}``), on top of the
        estimated ``input_tokens`` / ``output_tokens``."""
        self._lock = threading.Lock()
        self._extra_usage = dict(usage or {})
        self._ids = itertools.count(1)
        self._requests: list[RecordedRequest] = []
        self._problems: list[str] = []
        self._script: Script = ()
        self._cursor = 0
        self._usage: Callable[[MessagesRequest], Mapping[str, int] | None] | None = None
        self._reported: list[ReportedUsage] = []
        self._model = model
        self.set_script(script)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------------

    def start(self) -> MockAnthropic:
        """Start serving in a background thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="mock-anthropic", daemon=True
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> MockAnthropic:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """The value for ``ANTHROPIC_BASE_URL``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # script and records ----------------------------------------------------------------------------

    def set_script(self, script: Script) -> None:
        """Replace the script; a list script starts again from its first turn."""
        if isinstance(script, str | ToolUse | Reply):
            raise TypeError(
                "mock_anthropic: a script is a list of turns or a callable; wrap one turn in a list"
            )
        with self._lock:
            self._script = script
            self._cursor = 0

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def turn_requests(self) -> list[MessagesRequest]:
        """The streaming ``/v1/messages`` requests: one per scripted turn, in order."""
        return [r for r in self.requests if isinstance(r, MessagesRequest) and r.stream]

    @property
    def problems(self) -> list[str]:
        """Things a test most likely did not intend: unknown endpoints, script exhausted, script raised."""
        with self._lock:
            return list(self._problems)

    def mark(self) -> tuple[int, int]:
        """The current position; :meth:`requests_since` and :meth:`problems_since` give what came after."""
        with self._lock:
            return len(self._requests), len(self._problems)

    def requests_since(self, mark: tuple[int, int]) -> list[RecordedRequest]:
        """The requests received after :meth:`mark` returned ``mark``."""
        with self._lock:
            return list(self._requests[mark[0] :])

    def problems_since(self, mark: tuple[int, int]) -> list[str]:
        """The problems noted after :meth:`mark` returned ``mark``."""
        with self._lock:
            return list(self._problems[mark[1] :])

    # serving ---------------------------------------------------------------------------------------

    def set_usage(self, usage: Callable[[MessagesRequest], Mapping[str, int] | None] | None) -> None:
        """Decide the token counts reported for each message (streamed turns and side queries);
        a :class:`Reply` with its own ``usage`` wins. ``None`` (or a ``None`` answer): estimated."""
        self._usage = usage

    @property
    def reported_usage(self) -> list[ReportedUsage]:
        """The usage of every message the mock answered, in order."""
        with self._lock:
            return list(self._reported)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _problem(self, text: str) -> None:
        with self._lock:
            self._problems.append(text)

    def _next_turn(self, request: MessagesRequest) -> Reply | str:
        """The reply for a streaming request, or an error text for a 400 answer."""
        with self._lock:
            script = self._script
            position = self._cursor
            self._cursor += 1
        if callable(script):
            try:
                turn = script(request)
            except Exception:
                detail = traceback.format_exc(limit=5)
                self._problem(f"the script callable raised:\n{detail}")
                return f"mock_anthropic: the script callable raised: {detail.strip().splitlines()[-1]}"
            if turn is None:
                self._problem(f"the script callable returned None for turn {position + 1}")
                return Reply([SCRIPT_EXHAUSTED_TEXT])
        elif position < len(script):
            turn = script[position]
        else:
            self._problem(
                f"script exhausted: it has {len(script)} turn(s), turn {position + 1} was requested"
                " (answered with a placeholder end_turn text)"
            )
            return Reply([SCRIPT_EXHAUSTED_TEXT])
        try:
            return self._as_reply(turn)
        except TypeError as error:
            self._problem(str(error))
            return str(error)

    def _as_reply(self, turn: Turn) -> Reply:
        if isinstance(turn, Reply):
            blocks: Sequence[str | ToolUse] = turn.blocks
            stop_reason = turn.stop_reason
        elif isinstance(turn, str | ToolUse):
            blocks, stop_reason = [turn], None
        elif isinstance(turn, Sequence):
            blocks, stop_reason = list(turn), None
        else:
            raise TypeError(
                f"mock_anthropic: a turn must be str, ToolUse, Reply or a list of them, got {turn!r}"
            )
        resolved: list[str | ToolUse] = []
        for block in blocks:
            if isinstance(block, ToolUse):
                resolved.append(block if block.id else ToolUse(block.name, block.input, self._new_tool_id()))
            elif isinstance(block, str):
                resolved.append(block)
            else:
                raise TypeError(f"mock_anthropic: a block must be str or ToolUse, got {block!r}")
        if stop_reason is None:
            stop_reason = "tool_use" if any(isinstance(b, ToolUse) for b in resolved) else "end_turn"
        return Reply(resolved, stop_reason)

    def _new_tool_id(self) -> str:
        return f"toolu_e2e_{next(self._ids):04d}"

    def _usage_of(self, request: MessagesRequest, reply: Reply | None, output_tokens: int) -> dict[str, int]:
        """The usage to report for one message, recorded in :attr:`reported_usage`."""
        scripted = reply.usage if reply is not None and reply.usage is not None else None
        if scripted is None and self._usage is not None:
            scripted = self._usage(request)
        usage = {"input_tokens": _estimate_tokens(request.body), "output_tokens": output_tokens}
        usage.update(self._extra_usage)
        usage.update(scripted or {})
        model = self._model or str(request.body.get("model") or "claude-mock")
        with self._lock:
            self._reported.append(ReportedUsage(request.session_id, model, request.stream, dict(usage)))
        return usage

    def _message(self, request: MessagesRequest) -> dict[str, Any]:
        return {
            "id": f"msg_e2e_{next(self._ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": self._model or str(request.body.get("model") or "claude-mock"),
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": _estimate_tokens(request.body),
                "output_tokens": 1,
                **self._extra_usage,
            },
        }


@dataclass(frozen=True)
class ReportedUsage:
    """The token counts the mock reported for one message."""

    session_id: str | None
    model: str
    stream: bool
    usage: Mapping[str, int]


def _estimate_tokens(body: Any) -> int:
    return max(1, len(json.dumps(body.get("messages") or [])) // 4) if isinstance(body, dict) else 1


def _content_block(block: str | ToolUse) -> dict[str, Any]:
    if isinstance(block, ToolUse):
        return {"type": "tool_use", "id": block.id, "name": block.name, "input": dict(block.input)}
    return {"type": "text", "text": block}


def _sse_events(
    message: dict[str, Any], reply: Reply, output_tokens: int | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The SSE events of one streamed message, as the real API sends them."""
    yield "message_start", {"type": "message_start", "message": message}
    for index, block in enumerate(reply.blocks):
        if isinstance(block, ToolUse):
            start = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
            encoded = json.dumps(dict(block.input))
            # Two chunks, as the real API splits input JSON: the CLI must concatenate them.
            half = len(encoded) // 2
            deltas = [
                {"type": "input_json_delta", "partial_json": chunk}
                for chunk in (encoded[:half], encoded[half:])
            ]
        else:
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": block}]
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    if output_tokens is None:
        output_tokens = max(1, len(json.dumps([_content_block(b) for b in reply.blocks])) // 4)
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": reply.stop_reason, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}


def _handler_for(mock: MockAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "mock-anthropic"

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default per-request stderr line; requests are recorded instead."""

        def _read_body(self) -> Any:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw:
                return None
            try:
                return json.loads(raw)
            except ValueError:
                return raw.decode("utf-8", "replace")

        def _headers(self) -> dict[str, str]:
            return {k.lower(): v for k, v in self.headers.items()}

        def _send_json(self, status: int, payload: Any, *, head: bool = False) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("request-id", f"req_e2e_{next(mock._ids):04d}")
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def _send_error(self, status: int, kind: str, message: str) -> None:
            self._send_json(status, {"type": "error", "error": {"type": kind, "message": message}})

        def do_HEAD(self) -> None:
            mock._record(RecordedRequest("HEAD", self.path, self._headers(), None))
            self._send_json(200, {}, head=True)

        def do_GET(self) -> None:
            mock._record(RecordedRequest("GET", self.path, self._headers(), None))
            self._send_json(200, {})

        def do_POST(self) -> None:
            body = self._read_body()
            route = urlsplit(self.path).path
            if route == "/v1/messages/count_tokens":
                mock._record(RecordedRequest("POST", self.path, self._headers(), body))
                self._send_json(200, {"input_tokens": _estimate_tokens(body)})
                return
            if route != "/v1/messages" or not isinstance(body, dict):
                mock._record(RecordedRequest("POST", self.path, self._headers(), body))
                mock._problem(f"unexpected request: POST {self.path}")
                self._send_error(404, "not_found_error", f"mock_anthropic does not serve POST {self.path}")
                return
            request = MessagesRequest("POST", self.path, self._headers(), body)
            mock._record(request)
            if not request.stream:
                message = mock._message(request)
                message.update(content=[{"type": "text", "text": SIDE_QUERY_TEXT}], stop_reason="end_turn")
                message["usage"] = mock._usage_of(request, None, 1)
                self._send_json(200, message)
                return
            reply = mock._next_turn(request)
            if isinstance(reply, str):
                self._send_error(400, "invalid_request_error", reply)
                return
            output_tokens = max(1, len(json.dumps([_content_block(b) for b in reply.blocks])) // 4)
            usage = mock._usage_of(request, reply, output_tokens)
            message = mock._message(request)
            message["usage"] = {k: v for k, v in usage.items() if k != "output_tokens"} | {"output_tokens": 1}
            self._stream(message, reply, usage["output_tokens"])

        def _stream(self, message: dict[str, Any], reply: Reply, output_tokens: int) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            data = b"".join(
                f"event: {event}\ndata: {json.dumps(payload)}\n\n".encode()
                for event, payload in _sse_events(message, reply, output_tokens)
            )
            self.wfile.write(data)
            self.wfile.flush()
            self.close_connection = True

        def do_PUT(self) -> None:
            self._unknown("PUT")

        def do_DELETE(self) -> None:
            self._unknown("DELETE")

        def do_PATCH(self) -> None:
            self._unknown("PATCH")

        def _unknown(self, method: str) -> None:
            mock._record(RecordedRequest(method, self.path, self._headers(), self._read_body()))
            mock._problem(f"unexpected request: {method} {self.path}")
            self._send_error(404, "not_found_error", f"mock_anthropic does not serve {method} {self.path}")

    return Handler
