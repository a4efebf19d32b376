"""Phase 1 is done when build/config.ini names the project."""

import sys
from pathlib import Path

config = Path("build/config.ini")
if not config.is_file():
    sys.exit(f"missing {config}")
if "name=demo" not in config.read_text():
    sys.exit(f"{config} does not name the project")
print(f"ok: {config}")
