"""Matcher semantics follow Claude Code's: exact names, lists, unanchored regex, match-all."""

from __future__ import annotations

import pytest

from lib.matcher import MatcherError, compile_matcher


@pytest.mark.parametrize("pattern", [None, "", "*", "  "])
def test_empty_and_star_match_everything(pattern: str | None) -> None:
    m = compile_matcher(pattern)
    assert m("Bash") and m("mcp__memory__write") and m("")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("Bash", "Bash", True),
        ("Bash", "bash", False),  # case-sensitive
        ("Bash", "BashOutput", False),  # exact, not a prefix
        ("Edit|Write", "Write", True),
        ("Edit|Write", "MultiEdit", False),
        ("Edit, Write", "Write", True),  # comma lists (2.1.191+)
        ("code-reviewer", "senior-code-reviewer", False),  # hyphen names are exact (2.1.195+)
        ("code-reviewer", "code-reviewer", True),
        ("Edit.*", "NotebookEdit", True),  # regex is unanchored
        ("^Edit$", "NotebookEdit", False),
        ("^Edit$", "Edit", True),
        ("mcp__memory__.*", "mcp__memory__create_entities", True),
        ("mcp__memory", "mcp__memory__create_entities", False),  # bare name is exact
        ("mcp__.*__write.*", "mcp__fs__write_file", True),
        ("Notebook.*|Edit", "NotebookEdit", True),
    ],
)
def test_claude_code_rules(pattern: str, value: str, expected: bool) -> None:
    assert compile_matcher(pattern)(value) is expected


def test_invalid_regex_names_the_pattern() -> None:
    with pytest.raises(MatcherError, match=r"matcher '\(Bash' is not a valid regular expression"):
        compile_matcher("(Bash")
