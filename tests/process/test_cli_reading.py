"""The reading commands on what installed hooks wrote, as a user reads it in a terminal: the plain
(non-JSON) views, the filters, and ``--follow`` picking up what a hook writes while it runs."""

from __future__ import annotations

import json
import select
import signal
import time

import pytest
from hookkit import HookProject, payload_for

SESSION = "5921294c-55cd-4911-91ca-88811f0d9977"


@pytest.fixture
def session(hook_project: HookProject) -> HookProject:
    """One short session through the installed hooks: a start, a Bash call that works, one that fails, a stop."""
    for payload in (
        payload_for("SessionStart"),
        payload_for("PreToolUse", "Bash", tool_use_id="toolu_ok"),
        payload_for("PostToolUse", "Bash", tool_use_id="toolu_ok"),
        payload_for("PreToolUse", "Bash", tool_use_id="toolu_bad"),
        payload_for("PostToolUseFailure", "Bash", tool_use_id="toolu_bad"),
        payload_for("Stop"),
    ):
        assert hook_project.run(payload).code == 0
    return hook_project


def test_the_plain_views_show_what_happened(session: HookProject) -> None:
    events = session.lib_command("events")
    assert events.returncode == 0, events.stderr
    assert "tool.failure" in events.stdout and "Bash" in events.stdout
    only_bash = session.lib_command("events", "--tool", "Bash", "--json").stdout.splitlines()
    assert only_bash and all(json.loads(line)["payload"]["tool_name"] == "Bash" for line in only_bash)
    assert (
        session.lib_command("events", "--tool", "Read", "--json").stdout == ""
    )  # no Read call in this session
    logs = session.lib_command("logs", "--since", "10m")
    assert logs.returncode == 0 and "PostToolUseFailure" in logs.stdout
    last = session.lib_command("logs", "--last", "2", "--json").stdout.splitlines()
    assert len(last) == 2
    traces = session.lib_command("traces")
    assert traces.returncode == 0 and SESSION[:8] in traces.stdout


def test_the_consumers_of_the_bus_are_listed(session: HookProject) -> None:
    listed = session.lib_command("events", "--consumers")
    assert listed.returncode == 0, listed.stderr
    assert f"session-summary.{SESSION}" in listed.stdout  # the Stop summary reads the bus durably
    as_json = [
        json.loads(line)
        for line in session.lib_command("events", "--consumers", "--json").stdout.splitlines()
    ]
    assert any(c["name"] == f"session-summary.{SESSION}" for c in as_json)


def test_a_bad_since_names_the_forms_it_takes(session: HookProject) -> None:
    result = session.lib_command("logs", "--since", "yesterday-ish")
    assert result.returncode != 0
    assert "expected a duration like 10m, 2h, 3d or an ISO time" in result.stderr
    assert session.lib_command("events", "--since", "2020-01-01T00:00", "--json").stdout.strip()


def follow(project: HookProject, *args: str) -> str:
    """Start ``python -m lib ARGS`` (a --follow view), fire one failing Bash call through the hooks,
    and return the first line it prints (within 30 s); the follower is stopped as a user stops it."""
    follower = project.start_cli(*args)
    try:
        time.sleep(1.0)
        assert project.run(payload_for("PostToolUseFailure", "Bash", tool_use_id="toolu_live")).code == 0
        assert follower.stdout is not None
        ready, _, _ = select.select([follower.stdout], [], [], 30)  # never hang the suite
        assert ready, "nothing printed within 30 s"
        return follower.stdout.readline()
    finally:
        follower.terminate()  # what Ctrl-C and a closed terminal do (and lets coverage save its data)
        follower.wait(timeout=30)


def test_logs_follow_after_the_last_records_prints_new_ones(session: HookProject) -> None:
    line = follow(session, "logs", "--last", "0", "--follow", "--json")
    assert json.loads(line)["event"] == "PostToolUseFailure"


def test_traces_follow_prints_the_spans_and_keeps_following(session: HookProject) -> None:
    line = follow(session, "traces", "--follow")
    assert SESSION[:8] in line and "ms" in line  # a span line: time, trace, name, duration


def test_ctrl_c_ends_a_follower_quietly_with_130(session: HookProject) -> None:
    follower = session.start_cli("events", "--follow")
    time.sleep(1.5)
    follower.send_signal(signal.SIGINT)
    out, err = follower.communicate(timeout=30)
    assert follower.returncode == 130
    assert "Traceback" not in err
    assert "tool.failure" in out  # what was there when it started


def test_without_a_command_the_help_is_shown(session: HookProject) -> None:
    result = session.lib_command()
    assert result.returncode == 2
    assert "usage: python -m lib" in result.stdout and "COMMAND" in result.stdout


def todo_write(session_id: str, *todos: tuple[str, str]) -> dict[str, object]:
    items = [{"content": c, "status": s, "activeForm": c} for c, s in todos]
    return payload_for(
        "PostToolUse",
        "Bash",
        session_id=session_id,
        tool_name="TodoWrite",
        tool_input={"todos": items},
        tool_response={},
    )


def test_tasks_of_several_sessions_filtered_by_session_and_status(hook_project: HookProject) -> None:
    assert (
        hook_project.run(todo_write("aaaa1111", ("write tests", "completed"), ("ship", "pending"))).code == 0
    )
    time.sleep(0.05)
    assert hook_project.run(todo_write("bbbb2222", ("review", "in_progress"))).code == 0
    both = hook_project.lib_command("tasks")
    assert both.returncode == 0, both.stderr
    assert "Session aaaa1111" in both.stdout and "Session bbbb2222" in both.stdout
    assert "\n\nSession " in both.stdout  # a blank line between sessions
    latest = hook_project.lib_command("tasks", "--session", "latest").stdout
    assert "Session bbbb2222" in latest and "aaaa1111" not in latest
    done = hook_project.lib_command("tasks", "--status", "completed").stdout
    assert "write tests" in done and "ship" not in done and "review" not in done
    unknown = hook_project.lib_command("tasks", "--session", "zzzz")
    assert unknown.returncode == 1
    assert "tasks: --session 'zzzz' matches no session with captured tasks" in unknown.stderr


def test_status_shows_an_open_breaker_and_a_silent_session_as_stale(hook_project: HookProject) -> None:
    hook_project.write_config("[breaker]\nmax_failures = 1\ncooldown_seconds = 600\n")
    assert hook_project.run(payload_for("SessionStart")).code == 0
    assert hook_project.run(payload_for("PostToolUseFailure", "Bash", tool_use_id="toolu_x")).code == 0
    shown = hook_project.lib_command("status", "--stale", "0")
    assert shown.returncode == 0, shown.stderr
    assert ": open  failures=1  retry in " in shown.stdout and "  Bash:" in shown.stdout
    assert f"{SESSION}  stale " in shown.stdout and "s ago" in shown.stdout


def test_guards_off_and_on_by_session_prefix_or_latest(hook_project: HookProject) -> None:
    empty = hook_project.lib_command("guards", "off", "--session", "latest")
    assert empty.returncode == 1 and "no session seen yet in this project" in empty.stderr
    for sid in ("abc1", "abc2"):
        assert hook_project.run(payload_for("SessionStart", session_id=sid)).code == 0
        time.sleep(0.05)
    several = hook_project.lib_command("guards", "off", "--session", "abc")
    assert several.returncode == 1 and "matches several sessions: abc1, abc2" in several.stderr
    bad = hook_project.lib_command("guards", "off", "--session", "abc1", "--for", "soon")
    assert bad.returncode == 2 and bad.stderr.startswith("guards off: ")
    off = hook_project.lib_command("guards", "off", "--session", "latest", "--for", "10m", "--note", "demo")
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "guards off for session abc2 for 10m"
    listed = hook_project.lib_command("guards").stdout
    assert "guards OFF for session abc2 for 10 more min (demo)" in listed
    on = hook_project.lib_command("guards", "on", "--session", "abc2")
    assert on.returncode == 0, on.stderr
    assert "guards are on for every session" in hook_project.lib_command("guards").stdout
