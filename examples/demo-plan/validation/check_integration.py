"""Phase 4 is done when build/compiler.out holds both the lexer and the parser output.

Like many integration checks, this one needs a warm cache: on a fresh workspace the first run
warms it and fails, the next run passes.
"""

import sys
from pathlib import Path

compiler = Path("build/compiler.out")
cache = Path("build/.integration-cache")
if not compiler.is_file():
    sys.exit(f"missing {compiler}")
text = compiler.read_text()
for needle in ("tokens:", "rules:"):
    if needle not in text:
        sys.exit(f"{compiler} lacks {needle!r}")
if not cache.exists():
    cache.write_text("warm\n")
    sys.exit("integration cache was cold (now warmed): result not trusted yet, run the check again")
print("ok: integration verified")
