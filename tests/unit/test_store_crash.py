"""A writer killed with SIGKILL at any moment leaves the old or the new state, never a bad file."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lib.store import JsonStore

WRITER = """
import sys
from lib.store import open_store
s = open_store(sys.argv[1], "state")
i = 0
while True:
    i += 1
    with s.transaction() as state:
        state["i"] = i
        state["blob"] = "x" * (i % 5000)
"""


@pytest.mark.slow
def test_kill_during_write_never_leaves_a_bad_file(tmp_path: Path) -> None:
    rng = random.Random(1234)
    path = tmp_path / "state.json"
    seen = 0
    for _ in range(25):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)])
        time.sleep(rng.uniform(0.05, 0.3))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if path.exists():
            state = json.loads(path.read_bytes())  # raises if torn
            assert state["blob"] == "x" * (state["i"] % 5000)
            seen = max(seen, state["i"])
            assert JsonStore(str(path)).read() == state
    assert seen > 0
    assert not list(tmp_path.glob("*.corrupt-*"))
