"""``python -m lib dashboard``: a local web page of sessions, tool calls, denials, breakers, traces, cost.

    python -m lib dashboard [--host 127.0.0.1] [--port 8765] [--open]

The page follows the project's logs live. Bound to loopback (the default) it needs nothing else;
bound to any other address it prints a token once, and every request must carry it.
"""

from __future__ import annotations

import argparse
import errno

from lib.cli._command import Command

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.dashboard.server import Dashboard, DashboardServer

__all__ = ["COMMAND", "serve"]


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0: any free port)")
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")


def serve(args: argparse.Namespace) -> tuple[DashboardServer, Dashboard]:
    """Build the dashboard and its bound server (not yet serving): ``(server, dashboard)``.

    Raises ``SystemExit`` with a one-line message when the address cannot be bound."""
    import secrets

    from lib.cli._observe import log_paths
    from lib.dashboard.server import Dashboard, DashboardServer, is_loopback
    from lib.dashboard.sources import ProjectSource

    paths = log_paths(args)
    token = None if is_loopback(args.host) else secrets.token_urlsafe(24)
    dashboard = Dashboard(ProjectSource(args, paths))
    try:
        server = DashboardServer((args.host, args.port), dashboard, token=token)
    except OSError as exc:
        dashboard.source.close()
        if exc.errno == errno.EADDRINUSE:
            raise SystemExit(
                f"dashboard: port {args.port} on {args.host} is in use (another dashboard?); "
                "choose another with --port N, or --port 0 for any free port"
            ) from None
        raise SystemExit(
            f"dashboard: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    return server, dashboard


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM)."""
    import signal

    server, dashboard = serve(args)
    dashboard.start()
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        url = server.url
        print(f"Dashboard of {dashboard.source.paths.project_dir}")
        if server.token is not None:
            print(f"  {url}?token={server.token}")
            print("  (bound beyond this machine: every request needs this token; it is shown only now)")
        else:
            print(f"  {url}")
        print("Ctrl-C stops it.", flush=True)
        if args.open:
            import webbrowser

            webbrowser.open(url + (f"?token={server.token}" if server.token else ""))
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        dashboard.stop()
    return 0


COMMAND = Command(
    help="a live web page of sessions, tool calls, denials, breakers, traces and cost",
    description="Serve a local web dashboard of the project's hooks (logs followed live).",
    options=(_options,),
)
