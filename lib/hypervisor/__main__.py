"""``python -m lib.hypervisor``: see :mod:`lib.hypervisor.cli`."""

from __future__ import annotations

import sys

from lib.hypervisor.cli import main

if __name__ == "__main__":
    sys.exit(main())
