"""Property-based fuzzing of the installed hook command, spawned as Claude Code spawns it.

For arbitrary commands (random unicode with lone surrogates, control characters, every quoting form,
deep nesting, huge sizes) on PreToolUse and PreSkillShellCommand: the process exits 0, prints exactly
one JSON object or nothing, answers within the time budget, and a dangerous core command embedded in
the generated text is never allowed. Bounded for CI (``HOOK_FUZZ_EXAMPLES``, default 25 per property:
about 40 s on 2 cores).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest
from hookkit import HookProject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

#: What the watchdog allows (lib.runtime.BUDGET_SECONDS) plus interpreter start-up and a loaded CI box.
BUDGET_S = 10.0 + 5.0
FUZZ = settings(
    max_examples=int(os.environ.get("HOOK_FUZZ_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)

DANGEROUS = [
    "rm -rf ~",
    "rm -rf /",
    "rm -rf .git",
    "cat .env",
    "git push --force origin main",
    "dd if=/dev/zero of=/dev/sda",
]
_surrogate = st.integers(0xD800, 0xDFFF).map(chr)
_noise_char = st.one_of(
    st.characters(), _surrogate, st.sampled_from(list("\x00\x07\x1b\r\n\t\u2028\u0085\ufeff"))
)
noise = st.lists(_noise_char, max_size=60).map("".join)
_META = frozenset("#'\"`\\<>(){}[]$;&|*?!~=^%")
# Text that keeps the core a command of its own: a separator before and after it.
_separators = st.sampled_from(["; ", " && ", "\n", " || true; ", " | cat; "])


def _quote(kind: str, text: str) -> str:
    """``text`` wrapped in a quoting or nesting form that still runs it."""
    forms = {
        "plain": text,
        "bash -c": f"bash -c '{text}'",
        "sh -c dq": f'sh -c "{text}"',
        "subshell": f"( {text} )",
        "group": f"{{ {text}; }}",
        "subst": f"echo $( {text} )",
        "backtick": f"echo `{text}`",
        "eval": f"eval '{text}'",
        "if": f"if true; then {text}; fi",
        "nested": f"bash -c \"sh -c '{text}'\"",
    }
    return forms[kind]


_kinds = st.sampled_from(
    ["plain", "bash -c", "sh -c dq", "subshell", "group", "subst", "backtick", "eval", "if", "nested"]
)


@st.composite
def embedded_danger(draw: st.DrawFn) -> str:
    """A dangerous core, quoted or nested, somewhere between two runs of noise, maybe huge."""
    core = draw(st.sampled_from(DANGEROUS))
    # Noise before the core must not comment it out, quote it or open a heredoc/substitution over it.
    head = "".join(c for c in draw(noise) if c not in _META)
    tail = draw(noise)
    size = draw(st.sampled_from([0, 0, 0, 1000, 50_000]))
    padding = "echo " + "pad " * (size // 4) + "; " if size else ""
    depth = draw(st.integers(0, 30))
    nested = "(" * depth + _quote(draw(_kinds), core) + ")" * depth
    return f"{padding}{head}{draw(_separators)}{nested}{draw(_separators)}# {tail}"


arbitrary = st.one_of(
    st.text(max_size=400),
    st.lists(
        st.one_of(_noise_char, st.sampled_from(["$(", "`", "'", '"', "<<EOF\n", "${", "(", "{", "\\"])),
        max_size=300,
    ).map("".join),
    st.integers(1, 40).map(lambda n: "$(" * n + "x" + ")" * n),
    st.sampled_from(["x" * 300_000, "a;" * 100_000, "${X}" * 60_000]),
)


def _payload(project: HookProject, event: str, command: str) -> bytes:
    payload: dict[str, Any] = {
        "session_id": "fuzz",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": str(project.path),
        "hook_event_name": event,
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    # ensure_ascii: a lone surrogate travels as its \\udXXX escape, as Claude Code's JSON.stringify sends it
    return json.dumps(payload, ensure_ascii=True).encode()


def _answer(project: HookProject, event: str, command: str) -> str | None:
    t0 = time.monotonic()
    result = project.run(_payload(project, event, command), event, timeout=60)
    elapsed = time.monotonic() - t0
    assert result.code == 0, result
    assert elapsed < BUDGET_S, (elapsed, command[:200])
    if not result.stdout:
        return None
    assert result.stdout.endswith("\n") and result.stdout.count("\n") == 1, result
    out = json.loads(result.stdout)
    assert isinstance(out, dict)
    decision = out["hookSpecificOutput"]["permissionDecision"]
    assert decision in ("ask", "deny"), out
    return str(decision)


@pytest.fixture
def project(hook_project: HookProject) -> HookProject:
    subdir = hook_project.path / ".git"
    subdir.mkdir()
    return hook_project


@pytest.mark.slow
@pytest.mark.parametrize("event", ["PreToolUse", "PreSkillShellCommand"])
def test_a_dangerous_core_is_never_allowed(project: HookProject, event: str) -> None:
    @FUZZ
    @given(command=embedded_danger())
    def check(command: str) -> None:
        assert _answer(project, event, command) in ("ask", "deny"), command[:300]

    check()


@pytest.mark.slow
def test_any_command_gets_one_answer_or_none_in_time(project: HookProject) -> None:
    @FUZZ
    @given(command=arbitrary)
    def check(command: str) -> None:
        _answer(project, "PreToolUse", command)

    check()
