"""The least a Python hook can do: read Claude Code's JSON from stdin, answer nothing, exit 0.

Stdlib only. Registered as ``python bench/peers/stdin_json.py``; the floor for any hook that parses
its input with ``json``.
"""

import json
import sys

payload = json.load(sys.stdin)
if not isinstance(payload, dict):
    sys.exit(1)
