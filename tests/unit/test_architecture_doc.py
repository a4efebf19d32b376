"""docs/architecture.md's module map names every module of lib/ and hooks/ (a new module gets a row)."""

from __future__ import annotations

import re

from hookkit import REPO


def test_the_module_map_lists_every_module() -> None:
    doc = (REPO / "docs" / "architecture.md").read_text()
    section = doc.split("## Module map", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`((?:lib|hooks)/[\w/]+\.py)`", section))
    modules = {str(p.relative_to(REPO)) for top in ("lib", "hooks") for p in (REPO / top).rglob("*.py")}
    missing = sorted(modules - listed)
    assert not missing, f"add a row per module to the module map of docs/architecture.md: {missing}"
    gone = sorted(listed - modules)
    assert not gone, f"the module map of docs/architecture.md names modules that do not exist: {gone}"
