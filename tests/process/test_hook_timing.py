"""What a hook logs as its duration: our own work, not the time Claude Code takes to write stdin."""

from __future__ import annotations

from hookkit import HookProject, payload_for


def test_a_slow_stdin_is_logged_apart_from_the_hooks_own_duration(hook_project: HookProject) -> None:
    payload = payload_for("PostToolUse", "Bash")
    assert hook_project.run(payload_for("SessionStart")).code == 0  # warm the config cache
    proc = hook_project.popen(payload, stdin_delay=1.0)  # Claude Code is slow to write the payload
    assert proc.wait(timeout=60) == 0
    record = [r for r in hook_project.log_records() if r.get("event") == "PostToolUse"][-1]
    assert record["fields"]["stdin_ms"] >= 800, record  # the 1 s wait, less the process start
    assert record["duration_ms"] < 900, record  # the hook's work alone (milliseconds, even measured)
