"""The regex-free glob matcher used for protected-path patterns."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.guards.glob_match import Glob, _match, _tokenize, has_magic, literal_chars


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        ("*.pem", "server.pem", True),
        ("*.pem", "server.PEM", True),
        ("*.pem", "dir/server.pem", False),
        (".env.*", ".env.local", True),
        (".env.*", ".env", False),
        ("id_rsa", "ID_RSA", True),
        ("client_secret*.json", "client_secret_42.json", True),
        ("secring.*", "secring.gpg", True),
        ("file?.txt", "file1.txt", True),
        ("file?.txt", "file12.txt", False),
        ("[abc]x", "bx", True),
        ("[!abc]x", "bx", False),
        ("[^abc]x", "dx", True),
        ("[a-c]x", "cx", True),
        ("[]]x", "]x", True),
        ("[unclosed", "[unclosed", True),
        ("**/.git/**", "a/b/.git/hooks/pre-commit", True),
        ("**/.git/**", ".git/config", True),
        ("**/.git/**", "a/.gitx/config", False),
        (".config/gcloud/**", ".config/gcloud/a/b.json", True),
        (".claude/settings.json", ".claude/settings.json", True),
        ("/etc/claude-code/**", "/etc/claude-code/managed-settings.json", True),
        ("data/*", "data/a/b", False),
        ("data/**", "data/a/b", True),
        ("**", "", True),
        ("*", "", True),
        ("?", "", False),
    ],
)
def test_matches(pattern: str, text: str, expected: bool) -> None:
    assert Glob(pattern).match(text) is expected


def test_helpers() -> None:
    assert has_magic("*.pem") and has_magic("a?") and has_magic("[ab]") and not has_magic(".env")
    assert literal_chars(".env*") == ".env"
    assert literal_chars("*.{env,pem}") == ".envpem"
    assert literal_chars("[!.]*") == ""


name_tokens = st.sampled_from(["a", "b", ".", "-", "*", "?", "[ab]", "[!a]", "[a-c]", "x"])
names = st.text(alphabet="abx.-", max_size=8)


@settings(max_examples=500, deadline=None)
@given(st.lists(name_tokens, max_size=6).map("".join), names)
def test_agrees_with_fnmatch_on_file_names(pattern: str, name: str) -> None:
    assert Glob(pattern).match(name) == fnmatch.fnmatchcase(name.lower(), pattern.lower())


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.text(max_size=60))
def test_never_raises(pattern: str, text: str) -> None:
    assert Glob(pattern).match(text) in (True, False)


SHAPES = ["{}", "*{}", "{}*", "{}**", "**/{}", "**/{}**", "*{}*", "{}?", "**{}", "[ab]{}", "{}/*"]
pieces = st.text(alphabet="aAbB./-", max_size=4)


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(SHAPES), st.text(alphabet="ab./", min_size=1, max_size=4), pieces, pieces, st.data())
def test_string_method_shapes_agree_with_the_token_matcher(
    shape: str, lit: str, before: str, after: str, data: st.DataObject
) -> None:
    # exact, *lit, lit*, lit**, **/lit and **/lit** are matched with string methods, everything else
    # token by token: both must give the same answer, also on texts built around the literal
    pattern = shape.format(lit)
    text = data.draw(st.sampled_from([before + lit + after, before + lit, lit + after, lit.upper(), before]))
    assert Glob(pattern).match(text) == _match(_tokenize(pattern.lower()), 0, text.lower(), 0, {})


@pytest.mark.parametrize(
    "pattern", ["id_rsa", "*.pem", ".env.*", ".ssh/**", "**/.aws/credentials", "**/.git/**", "*", "**"]
)
def test_the_default_patterns_use_string_method_shapes(pattern: str) -> None:
    assert Glob(pattern).tokens == ()
