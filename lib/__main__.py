"""``python -m lib``: inspect and manage the runtime's state, logs, traces and events."""

from lib.cli import main

raise SystemExit(main())
