"""``python -m lib otel``: push spans to an OpenTelemetry collector (``[otel]`` in ``.claude/hooks.toml``).

python -m lib otel ship [--follow]    # ship what traces.jsonl holds (hooks start this themselves)
python -m lib otel status             # where spans go and how far the shipper got
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import urlsplit

from lib.cli._command import Command
from lib.cli._state import project_config

__all__ = ["COMMAND"]


def _actions(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="otel_action", metavar="ACTION")
    ship = actions.add_parser("ship", help="ship the spans not shipped yet")
    ship.add_argument("--follow", action="store_true", help="keep shipping new spans (until idle)")
    ship.set_defaults(func=_ship)
    status = actions.add_parser("status", help="the endpoint and the shipper's progress")
    status.set_defaults(func=_status)


def _shipper(args: argparse.Namespace) -> object:
    from lib.otel.shipper import Shipper

    paths, config = project_config(args, "using the defaults")
    try:
        return Shipper(paths, config)
    except ValueError as exc:  # no endpoint, or a ${VAR} that is not set
        print(f"error: {exc}", file=sys.stderr)
        return None


def _where(url: str) -> str:
    """The endpoint without credentials or query (they may be secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _ship(args: argparse.Namespace) -> int:
    from lib.otel.shipper import Shipper

    shipper = _shipper(args)
    if not isinstance(shipper, Shipper):
        return 2
    report = shipper.run(follow=args.follow)
    if report.already_running:
        print("a shipper is already running for this project; it ships the spans")
        return 0
    where = _where(shipper.settings.traces_url)
    print(f"shipped {report.spans} span(s) in {report.requests} request(s) to {where}")
    if report.dropped:
        print(f"{report.dropped} span(s) refused by the collector and dropped", file=sys.stderr)
    if report.failures:
        print(f"not shipped yet: {report.last_error} (run again, or let the hooks retry)", file=sys.stderr)
        return 1
    return 1 if report.dropped else 0


def _status(args: argparse.Namespace) -> int:
    from lib.otel.shipper import Shipper

    shipper = _shipper(args)
    if not isinstance(shipper, Shipper):
        return 2
    status = shipper.status()
    print(f"endpoint: {_where(shipper.settings.traces_url)} ({shipper.settings.protocol})")
    print(f"service.name: {shipper.settings.resource.get('service.name')}")
    print(f"spans shipped: {status['shipped']}; spans open (waiting for their end): {status['open_spans']}")
    shipper.logger.close()
    return 0


COMMAND = Command(
    help="ship spans to an OpenTelemetry collector (OTLP/HTTP)",
    description="Push .claude/logs/traces.jsonl to the OTLP/HTTP endpoint of [otel] in .claude/hooks.toml.",
    options=(_actions,),
)
