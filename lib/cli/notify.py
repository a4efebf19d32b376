"""``python -m lib notify``: notifications (``[notify]`` in ``.claude/hooks.toml``).

python -m lib notify test [CHANNEL]     # send a test message (webhook, slack, ntfy, desktop)
python -m lib notify send [--follow]    # deliver what the bus holds (hooks start this themselves)
"""

from __future__ import annotations

import argparse
import sys
import time

from lib.cli._command import Command
from lib.cli._state import project_config

__all__ = ["COMMAND"]

CHANNELS = ("webhook", "slack", "ntfy", "desktop")


def _actions(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="notify_action", metavar="ACTION")
    test = actions.add_parser("test", help="send a test message and say what happened")
    test.add_argument("channel", nargs="?", choices=CHANNELS, help="only this channel")
    test.set_defaults(func=_test)
    send = actions.add_parser("send", help="deliver pending notifications from the event bus")
    send.add_argument("--follow", action="store_true", help="keep waiting for new events (until idle)")
    send.set_defaults(func=_send)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def _test(args: argparse.Namespace) -> int:
    from lib.config import config_section
    from lib.notify.channels import channels_from_config
    from lib.notify.rules import Notification
    from lib.notify.sender import Sender

    paths, config = project_config(args, "using the defaults")
    channels = [
        c for c in channels_from_config(config_section(config, "notify")) if args.channel in (None, c.name)
    ]
    if not channels:
        what = (
            f"the {args.channel} channel is not configured;" if args.channel else "no channel is configured;"
        )
        print(
            f'{what} add e.g. webhook_url = "http://127.0.0.1:9000/hook" under [notify] '
            f"in {paths.config_file}",
            file=sys.stderr,
        )
        return 2
    note = Notification(
        event="notify.test",
        session_id=None,
        project=paths.project_dir.rstrip("/").rsplit("/", 1)[-1],
        title="claude-hooks test notification",
        message="If you can read this, notifications from Claude Code hooks reach you here.",
        subject="test",
        event_id=0,
        ts=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    sender = Sender(paths, config, channels=channels)
    failed = 0
    try:
        for channel in channels:
            result = sender.send(note, channel)
            tries = f"{result.attempts} attempt{'s' if result.attempts != 1 else ''}"
            verdict = "sent" if result.ok else "FAILED"
            print(f"{channel.name}: {verdict} ({_printable(result.result)}; {tries})")
            failed += not result.ok
    finally:
        sender.logger.close()
    return 1 if failed else 0


def _send(args: argparse.Namespace) -> int:
    from lib.notify.sender import Sender

    paths, config = project_config(args, "using the defaults")
    sender = Sender(paths, config)
    if not sender.channels:
        print(
            f"no channel is configured: nothing to send (see [notify] in {paths.config_file})",
            file=sys.stderr,
        )
        return 2
    report = sender.run(follow=args.follow)
    if report.already_running:
        print("a notification sender is already running for this project; it delivers them")
        return 0
    ok = sum(1 for _, results in report.sent for r in results if r.ok)
    bad = sum(1 for _, results in report.sent for r in results if not r.ok)
    print(
        f"{len(report.sent)} notification(s): {ok} delivery(ies) sent, {bad} failed; {report.skipped} event(s) skipped"
    )
    return 1 if bad else 0


COMMAND = Command(
    help="test or run the notification sender",
    description="Notifications from [notify] in .claude/hooks.toml.",
    options=(_actions,),
)
