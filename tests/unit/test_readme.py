"""The README's configuration reference is the one generated from the pydantic models."""

from __future__ import annotations

import re

from hookkit import REPO

from lib.cli.config import reference

START = "<!-- config-reference:start"
END = "<!-- config-reference:end -->"


def readme_reference() -> str:
    text = (REPO / "README.md").read_text()
    block = text[text.index(START) : text.index(END)]
    return block.split("-->", 1)[1].strip()


def test_readme_config_reference_is_current() -> None:
    assert readme_reference() == reference(), (
        "run: PYTHONPATH=tests python tests/unit/test_readme.py  (rewrites the README block)"
    )


def test_every_config_section_is_documented() -> None:
    from lib.config_models import HooksConfig

    documented = set(re.findall(r"^`\[(\w+)\]`", readme_reference(), re.M))
    assert documented == set(HooksConfig.model_fields)


if __name__ == "__main__":
    path = REPO / "README.md"
    text = path.read_text()
    head, rest = text.split(START, 1)
    comment, _ = rest.split("-->", 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}{comment}-->\n{reference()}\n{END}{tail}")
    print(f"rewrote the config reference in {path}")
