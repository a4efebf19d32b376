"""With ``[notify]`` and ``[otel]`` configured (receivers that never answer), the installed hook
command still imports nothing heavy: no OpenTelemetry/protobuf, no HTTP client, no ``json``/``re``
without the guards. The sender and shipper do that work in their own processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hookkit import NO_COVERAGE, HookProject, payload_for
from receivers import stop_workers

pytestmark = pytest.mark.slow

CONFIG = """
[notify]
webhook_url = "http://10.255.255.1:9/hook"
events = ["breaker.opened", "tool.denied", "permission.waiting", "session.stop"]
stop_after_seconds = 0

[otel]
endpoint = "http://10.255.255.1:4318"
"""
HEAVY = ("opentelemetry", "google.protobuf", "urllib.request", "http.client", "subprocess", "json", "re",
         "pydantic", "lib.notify.sender", "lib.otel.shipper", "socket", "ssl")  # fmt: skip


@pytest.fixture
def configured(hook_project: HookProject) -> Iterator[HookProject]:
    hook_project.write_config(CONFIG)
    yield hook_project
    stop_workers(hook_project.path / ".claude" / "state")


def _imported(project: HookProject, payload: dict[str, object]) -> set[str]:
    assert project.run(payload_for("SessionStart")).code == 0  # validates and caches the config
    result = project.run(payload, env={"PYTHONPROFILEIMPORTTIME": "1", **NO_COVERAGE})
    assert result.code == 0, result.stderr
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "lib.runtime" in modules
    return modules


@pytest.mark.parametrize("event", ["Stop", "PostToolUse"])
def test_hooks_with_notify_and_otel_configured_import_nothing_heavy(
    configured: HookProject, event: str
) -> None:
    payload = payload_for(event, "Bash" if event == "PostToolUse" else None)
    modules = _imported(configured, payload)
    assert not {m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY}
    assert "lib.detached" in modules  # the shipper was checked for
    assert not {m for m in modules if m.startswith(("lib.notify", "lib.otel"))}
