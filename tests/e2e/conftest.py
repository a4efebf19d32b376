"""End-to-end fixtures: the real Claude Code CLI (pinned 2.1.328) against a local mock Messages API.

Install the CLI once with ``tests/e2e/install_cli.sh`` (``npm ci`` in ``tests/e2e``). Without it every
e2e test FAILS (never skips) with a message saying so. ``E2E_CLAUDE_BIN`` may name another executable
of the same version.

Fixtures
--------
``claude_bin``   path of the pinned ``claude`` executable (session scope).
``mock_api``     a running :class:`mock_anthropic.MockAnthropic` (``.base_url``, ``.requests``).
``claude_home``  the temporary HOME of this test's sessions (``tmp_path/home``).
``project``      an empty project directory (``tmp_path/project``, with ``.claude/``).
``run_claude``   a :class:`claude_session.ClaudeRunner`; call it as
                 ``run_claude(project_dir, prompt, script, allowed_tools=("Bash",), extra_args=(),
                 timeout=60, env=None, strict=True) -> ClaudeRun``.

A script is a list of turns or a callable ``(MessagesRequest) -> turn``; a turn is final text (``str``),
a tool call (``bash("cmd")``, ``tool_use("Read", file_path=...)``), a list of calls, or a ``Reply``
(see ``mock_anthropic``). ``retry_while_failing(bash("cmd"), attempts=N)`` repeats a call while it
fails. Consecutive ``run_claude`` calls in one test share the HOME and the mock (each call sets its own
script), so a test can run several sessions in one project.

``ClaudeRun``: ``returncode``, ``timed_out``, ``stdout``, ``stderr``, ``result`` (parsed result object),
``session_id``, ``subtype``, ``is_error``, ``permission_denials``, ``requests`` / ``turn_requests`` /
``last_request`` (what the mock received during this run), ``tool_results()``, ``tool_result_for(id)``,
``assert_success()``, ``describe()`` (for assertion messages). ``MessagesRequest`` (mock side):
``messages``, ``tool_results()`` (answers to the previous turn), ``all_tool_results()``, ``tool_uses()``,
``text()``, ``session_id``, ``headers``, ``body``.

Helpers in ``claude_session``: ``add_command_hook(project, event, command, matcher=...)`` adds a hook to
``.claude/settings.json``; ``HookCapture.install(project, events=[...])`` registers a shell hook that
records every payload and its environment (``.records()``, ``.payloads(event)``, ``.events()``);
``run_claude.env(extra)`` / ``claude_env(home=, base_url=)`` give the clean environment for spawning
``claude`` through another program (e.g. the hypervisor's claude executor) with ``claude_bin``. Every
test in this directory is marked ``e2e``. Example::

    from mock_anthropic import bash

    def test_x(run_claude, project):
        run = run_claude(project, "go", [bash("echo hi"), "done"])
        run.assert_success()
        assert run.tool_results()[0].text == "hi"
        assert run.session_id == run.last_request.session_id

Facts about Claude Code 2.1.328 headless (``-p``), measured with this harness and pinned by
``test_mock_and_cli.py``
-----------------------------------------------------------------------------------------------------
- Calls: only ``POST /v1/messages?beta=true`` with ``stream: true``, one per model turn, each carrying the
  whole conversation and the ``X-Claude-Code-Session-Id`` header. Without
  ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC`` it also sends ``HEAD /api/hello``. No count_tokens, no
  non-streaming side queries. A 400 answer is retried (6 requests in all, well under a second), then
  the session ends with exit 1, ``is_error: true``, ``terminal_reason: "api_error"`` and the error text in
  ``result``. A session takes about 0.5 s.
- Project hooks: ``PROJECT/.claude/settings.json`` and ``settings.local.json`` hooks run in ``-p`` mode
  without any trust prompt, but only when ``claude`` starts in that directory: started from a
  subdirectory (even inside the same git repository) the parent's ``.claude/settings.json`` is NOT read.
- Hook environment: the CLI's own environment (PATH, HOME, ...) plus ``CLAUDE_PROJECT_DIR`` (the
  directory claude started in), ``CLAUDE_CODE_SESSION_ID`` (= payload ``session_id`` = result
  ``session_id``), ``CLAUDECODE=1``, ``CLAUDE_CODE_ENTRYPOINT=sdk-cli``, ``CLAUDE_PID``, ``AI_AGENT``;
  ``CLAUDE_ENV_FILE`` only for SessionStart. The hook's cwd is the project directory. The payload's
  ``transcript_path`` is under ``$HOME/.claude/projects/``.
- Event order for a prompt with one Bash call: SessionStart(source startup), UserPromptSubmit,
  PreToolUse, PostToolUse (or PostToolUseFailure), PostToolBatch, Stop, SessionEnd(reason "other").
- SessionEnd fires in ``-p`` mode and the CLI waits for it before exiting (a 1 s hook finished before
  exit; a 4 s hook was killed after about 3 s), so what it writes is on disk when ``run_claude`` returns.
- A failing Bash call (``exit 3``) fires PostToolUseFailure (``error: "Exit code 3"``, ``is_interrupt``,
  ``duration_ms``) and no PostToolUse; the model gets ``tool_result`` ``is_error: true``, text
  ``"Exit code 3"``. It is not a permission denial.
- PreToolUse deny by JSON (``hookSpecificOutput.permissionDecision: "deny"``): the tool does not run, no
  PostToolUse/PostToolUseFailure; the next request has ``tool_result`` ``is_error: true`` with text
  ``"PreToolUse:Bash hook error: <permissionDecisionReason>"``; the result's ``permission_denials`` lists
  ``{"tool_name", "tool_use_id", "tool_input"}`` (no reason) and ``subtype`` stays ``success``. A hook
  deny wins over ``--allowedTools``.
- PreToolUse exit 2: same, with text ``"PreToolUse:Bash hook error: [<hook command>]: <stderr>"``.
- PreToolUse ``"ask"`` in ``-p`` mode: denied (there is nobody to ask), listed in ``permission_denials``,
  ``tool_result`` text is the bare reason, no PermissionRequest hook.
- Without ``--allowedTools``: read-only Bash (``echo``) still runs; a command that changes files
  (``touch``) is denied with ``is_error`` text "... needs approval ..." and fires PermissionRequest.
- A Bash call with empty output comes back as the text ``"(Bash completed with no output)"``.
- Claude Code starts Bash tool commands in their own process group, so killing the CLI's group does
  not stop them; ``run_claude`` also kills every process carrying its run's ``E2E_CLAUDE_RUN_ID``
  (hooks and tools inherit it), on timeout and after every run.
- Not pinned by a test (observed once): the HEAD probe and the SessionEnd waiting time above.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from claude_session import ClaudeNotInstalled, ClaudeRunner, find_claude_bin
from mock_anthropic import MockAnthropic

_E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/e2e as ``e2e`` so ``-m "not e2e"`` deselects them all."""
    for item in items:
        if _E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    """The pinned Claude Code CLI; fails the test (never skips) when it is not installed."""
    try:
        return find_claude_bin()
    except ClaudeNotInstalled as error:
        problem = str(error)
    pytest.fail(problem, pytrace=False)


@pytest.fixture
def mock_api() -> Iterator[MockAnthropic]:
    """A mock Messages API on 127.0.0.1, stopped after the test."""
    with MockAnthropic() as mock:
        yield mock


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    """The temporary HOME shared by this test's sessions."""
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory with a ``.claude/`` folder."""
    path = tmp_path / "project"
    (path / ".claude").mkdir(parents=True)
    return path


@pytest.fixture
def run_claude(claude_bin: Path, mock_api: MockAnthropic, claude_home: Path) -> ClaudeRunner:
    """Run ``claude -p`` sessions against ``mock_api``; see :class:`claude_session.ClaudeRunner`."""
    return ClaudeRunner(claude_bin, mock_api, claude_home)
