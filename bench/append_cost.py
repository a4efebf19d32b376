"""What one hook's file work costs in process: a fresh JSONL writer (open, one 2-record append,
close), a lock-free state read and a state transaction, in CPU microseconds.

    python -S bench/append_cost.py [SOURCE_ROOT]    # default: this checkout

Give another checkout's root (e.g. ``git archive main | tar -x -C /tmp/main``) to compare.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    from lib.jsonl import JsonlWriter
    from lib.store import open_store

    directory = tempfile.mkdtemp()
    try:
        record = {"ts": "2026-01-01T00:00:00Z", "event": "PreToolUse", "message": "x" * 200}
        rounds = 3000
        started = time.process_time()
        for _ in range(rounds):
            writer = JsonlWriter(os.path.join(directory, "logs", "hooks.jsonl"))  # as a hook process does
            writer.append_many([record, record])
            writer.close()
        append = (time.process_time() - started) / rounds * 1e6
        store = open_store(os.path.join(directory, "state"), "breakers", durable=False)
        started = time.process_time()
        for _ in range(rounds):
            store.read()
        read = (time.process_time() - started) / rounds * 1e6
        started = time.process_time()
        for i in range(1000):
            with store.transaction() as state:
                state["n"] = i
        transaction = (time.process_time() - started) / 1000 * 1e6
    finally:
        shutil.rmtree(directory)
    print(
        f"{root}: open+append+close {append:.1f} us, state read {read:.1f} us, transaction {transaction:.1f} us"
    )


if __name__ == "__main__":
    main()
