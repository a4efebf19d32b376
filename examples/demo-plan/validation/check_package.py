"""Phase 6 is done when build/demo.tar holds the three release files."""

import sys
import tarfile
from pathlib import Path

archive = Path("build/demo.tar")
if not archive.is_file():
    sys.exit(f"missing {archive}")
with tarfile.open(archive) as tar:
    names = set(tar.getnames())
missing = {"build/compiler.out", "build/README.md", "build/config.ini"} - names
if missing:
    sys.exit(f"{archive} lacks {', '.join(sorted(missing))}")
print(f"ok: {archive} ({len(names)} files)")
