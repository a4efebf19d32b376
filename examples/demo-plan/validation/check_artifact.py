"""A build phase is done when its artifact ($ARTIFACT) exists and contains $EXPECT."""

import os
import sys
from pathlib import Path

artifact = Path(os.environ["ARTIFACT"])
expect = os.environ["EXPECT"]
if not artifact.is_file():
    sys.exit(f"missing {artifact}")
if expect not in artifact.read_text():
    sys.exit(f"{artifact} does not contain {expect!r}")
print(f"ok: {artifact}")
