"""The hook's lean Redis connection: ``hiredis``'s RESP parser and encoder over a plain socket.

A hook sends a handful of commands (``GET``, ``EVAL`` of the store's lock scripts, ``XADD`` and
``EXPIRE``), mostly pipelined in one round trip. ``redis`` (redis-py) costs about 80 ms to import
(it pulls in ``redis.asyncio``, ``ssl``, ``logging`` ...); this module costs about 0.5 ms: the C
extension ``hiredis`` parses and packs the protocol, and the socket is the C module ``_socket``
(``socket`` imports ``enum`` and ``selectors``). redis-py stays the client of the CLI and readers
(:mod:`lib.backends.redis_client`).

URLs: ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` (TLS, through :mod:`ssl`
imported on use; ``?ssl_cert_reqs=none`` and ``?ssl_ca_certs=PATH`` as in redis-py) and
``unix:///path/redis.sock[?db=N&password=P]``.

Every network problem raises :class:`ConnectionFailure` (an ``OSError``); the connection is then
closed, so a half-read reply never poisons the next command. A server error reply is returned as a
:class:`ServerError` value by :meth:`Connection.pipeline` and raised by :meth:`Connection.execute`.
Each reply is awaited at most ``timeout`` seconds in all (not per ``recv``), so a frozen server
costs one timeout.
"""

from __future__ import annotations

import _socket
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, TypeAlias

    Arg: TypeAlias = "str | bytes | int | float"

__all__ = ["Connection", "ConnectionFailure", "ServerError", "parse_url"]


class ConnectionFailure(OSError):
    """The server could not be reached, or stopped answering within the timeout."""


class ServerError(Exception):
    """An error reply of the server (``-ERR ...``, ``-NOSCRIPT ...``, ``-WRONGTYPE ...``)."""


def _unquote(text: str) -> str:
    if "%" not in text:
        return text
    from urllib.parse import unquote

    return unquote(text)


def parse_url(url: str) -> dict[str, Any]:
    """The parts of a Redis URL: ``scheme``, ``host``, ``port``, ``path`` (unix), ``db``,
    ``username``, ``password`` and the ``query`` options. Raises ``ValueError`` naming the problem."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"{url!r} is not a redis://, rediss:// or unix:// URL")
    rest, _, query_text = rest.partition("?")
    query: dict[str, str] = {}
    for item in query_text.split("&") if query_text else ():
        key, _, value = item.partition("=")
        query[key] = _unquote(value)
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        hostpart = rest
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username, password = (_unquote(user) or None, _unquote(secret)) if colon else (None, _unquote(user))
    parts: dict[str, Any] = {
        "scheme": scheme,
        "username": username or query.get("username") or None,
        "password": password if password is not None else query.get("password"),
        "query": query,
        "host": None,
        "port": None,
        "path": None,
    }
    db_text = query.get("db", "0")
    if scheme == "unix":
        parts["path"] = hostpart
        if not hostpart:
            raise ValueError(f"{url!r} names no socket path")
    else:
        hostport, _, path = hostpart.partition("/")
        if path:
            db_text = path
        if hostport.startswith("["):  # [ipv6]:port
            host, _, port_text = hostport[1:].partition("]")
            port_text = port_text.lstrip(":")
        else:
            host, _, port_text = hostport.partition(":")
        parts["host"] = host or "localhost"
        if not port_text:
            parts["port"] = 6379
        elif port_text.isdigit() and 0 < int(port_text) < 65536:
            parts["port"] = int(port_text)
        else:
            raise ValueError(f"{url!r}: port {port_text!r} is not a number from 1 to 65535")
    if not db_text.isdigit():
        raise ValueError(f"{url!r}: database {db_text!r} is not a number")
    parts["db"] = int(db_text)
    return parts


class Connection:
    """One connection to one server, opened on the first command. Not thread-safe (a hook is one
    thread); ``timeout`` bounds the connect and each reply."""

    __slots__ = ("_reader", "_sock", "options", "timeout", "url")

    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout
        self.options = parse_url(url)
        self._sock: Any = None
        self._reader: Any = None

    # -- connecting -------------------------------------------------------------------------------

    def _open_socket(self, deadline: float) -> Any:
        opts = self.options
        if opts["scheme"] == "unix":
            sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(opts["path"])
            except BaseException:
                sock.close()
                raise
            return sock
        last: OSError | None = None
        host: str = opts["host"]
        # an ASCII host name as bytes: a str would be encoded with the 'idna' codec, whose import
        # pulls in re, stringprep and unicodedata (several ms of every hook)
        name: str | bytes = host.encode("ascii") if host.isascii() else host
        for family, kind, proto, _, address in _socket.getaddrinfo(
            name, opts["port"], 0, _socket.SOCK_STREAM
        ):
            sock = _socket.socket(family, kind, proto)
            try:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                sock.connect(address)
                sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            if opts["scheme"] == "rediss":
                return self._wrap_tls(sock)
            return sock
        raise last or OSError(f"cannot resolve {opts['host']}")

    def _wrap_tls(self, raw: Any) -> Any:
        import socket
        import ssl

        query = self.options["query"]
        context = ssl.create_default_context(cafile=query.get("ssl_ca_certs") or None)
        if query.get("ssl_cert_reqs", "required").lower() in ("none", "cert_none"):
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        sock = socket.socket(fileno=raw.detach())
        sock.settimeout(self.timeout)
        return context.wrap_socket(sock, server_hostname=self.options["host"])

    def _connect(self) -> None:
        import hiredis

        deadline = time.monotonic() + self.timeout
        try:
            self._sock = self._open_socket(deadline)
        except OSError as exc:
            raise ConnectionFailure(f"cannot connect: {_describe(exc)}") from None
        self._reader = hiredis.Reader()
        opts = self.options
        hello: list[tuple[Arg, ...]] = []
        if opts["password"] is not None:
            hello.append(
                ("AUTH", opts["username"], opts["password"])
                if opts["username"]
                else ("AUTH", opts["password"])
            )
        if opts["db"]:
            hello.append(("SELECT", opts["db"]))
        if hello:
            for reply in self._roundtrip(hello):
                if isinstance(reply, ServerError):
                    self.close()
                    raise ConnectionFailure(f"connection set-up refused: {reply}")

    def close(self) -> None:
        """Close the socket (the next command connects again)."""
        sock, self._sock, self._reader = self._sock, None, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    # -- commands ---------------------------------------------------------------------------------

    def _roundtrip(self, commands: Sequence[Sequence[Arg]]) -> list[object]:
        import hiredis

        sock, reader = self._sock, self._reader
        deadline = time.monotonic() + self.timeout
        try:
            # hiredis's stub declares no return type for pack_command (it returns bytes)
            pack: Any = hiredis.pack_command  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
            sock.sendall(b"".join(pack(tuple(c)) for c in commands))
            replies: list[object] = []
            while len(replies) < len(commands):
                reply = reader.gets()
                if reply is False:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError("timed out")
                    sock.settimeout(remaining)
                    data = sock.recv(65536)
                    if not data:
                        raise ConnectionResetError("connection closed by the server")
                    reader.feed(data)
                    continue
                replies.append(ServerError(str(reply)) if isinstance(reply, hiredis.ReplyError) else reply)
        except (OSError, hiredis.ProtocolError) as exc:
            self.close()
            raise ConnectionFailure(_describe(exc)) from None
        return replies

    def pipeline(self, commands: Sequence[Sequence[Arg]]) -> list[object]:
        """Send ``commands`` in one write and return their replies in order (error replies as
        :class:`ServerError` values)."""
        if self._sock is None:
            self._connect()
        return self._roundtrip(commands)

    def execute(self, *args: Arg) -> Any:
        """One command's reply; an error reply raises :class:`ServerError`."""
        (reply,) = self.pipeline((args,))
        if isinstance(reply, ServerError):
            raise reply
        return reply


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError) or type(exc).__name__ == "timeout":
        return "TimeoutError: no answer within the timeout"
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
