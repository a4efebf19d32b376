"""The dashboard page in a real headless Chromium, against a project filled by a recorded session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dashkit import DESTRUCTIVE, RECORDING, TRANSCRIPT_COST, DashboardProcess, FilledProject, start_dashboard

PROMPT = next(
    json.loads(line)["prompt"] for line in RECORDING.read_text().splitlines() if '"UserPromptSubmit"' in line
)


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready='1']")


def test_the_page_shows_sessions_a_denial_an_open_breaker_and_the_cost(
    page: Any, dashboard: DashboardProcess, filled_project: FilledProject, tmp_path: Path
) -> None:
    _open(page, dashboard.url)
    sid = filled_project.session_id

    # the session, ended, with its counts and the cost its transcript's usage adds up to
    row = page.locator(f"#sessions tr[data-session='{sid}']")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[0].splitlines()[0] == sid[:8] and cells[1] == "ended"
    assert cells[0].splitlines()[1] == f"“{PROMPT}”"  # the latest prompt under the id
    cost = f"${TRANSCRIPT_COST:.4f}"
    assert cells[9] == cost
    assert page.inner_text("#total-cost") == cost
    assert int(cells[7]) >= 2  # the destructive command and the call refused by the breaker... at least one
    assert "$" in page.inner_text("#plot-cost")

    # the denial: its command, who denied it and why
    denied = page.locator("#feed tr[data-call='toolu_deny_1']")
    texts = denied.locator("td").all_inner_texts()
    assert DESTRUCTIVE in texts[3]
    assert texts[4].startswith("denied") and "guards.bash" in texts[4]
    assert "rm-home" in texts[5]

    # the failing tool's breaker is open, with its streak and retry time
    breakers = page.locator("#breakers tbody tr")
    open_rows = [r for r in breakers.all() if r.locator("td").nth(1).inner_text() == "open"]
    assert open_rows, page.inner_text("#breakers")
    streak, retry = (
        open_rows[0].locator("td").nth(2).inner_text(),
        open_rows[0].locator("td").nth(3).inner_text(),
    )
    assert int(streak) >= 5 and retry.startswith("in ")

    # plots are drawn
    assert page.locator("#plot-calls svg rect.calls").count() >= 1
    assert page.locator("#plot-latency svg path.p95").count() == 1

    # a hook fired now appears without reloading
    filled_project.fire(filled_project.bash_pre("echo live-from-the-test", "toolu_live_1"))
    live = page.locator("#feed tr[data-call='toolu_live_1']")
    live.wait_for(timeout=10_000)
    assert "echo live-from-the-test" in live.inner_text()
    assert page.inner_text("#live") == "live"

    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_filters_trace_and_breaker_reset(
    page: Any, dashboard: DashboardProcess, filled_project: FilledProject
) -> None:
    _open(page, dashboard.url)
    page.select_option("#filter-decision", "denied")
    decisions = page.locator("#feed tbody tr").evaluate_all("rows => rows.map(r => r.dataset.decision)")
    assert decisions and set(decisions) == {"denied"}
    page.select_option("#filter-decision", "")
    page.select_option("#filter-tool", "Bash")
    assert page.locator("#feed tbody tr").count() >= 6

    # the trace of the session as a waterfall
    page.locator(f"#sessions tr[data-session='{filled_project.session_id}'] button").click()
    page.wait_for_selector("#trace .row")
    names = page.locator("#trace .name").all_inner_texts()
    assert names[0] == "session" and any(n.startswith("tool Bash") for n in names)
    assert "spans" in page.inner_text("#trace-total")

    # reset the open breaker: a confirmation first; Cancel changes nothing
    open_row = page.locator("#breakers tbody tr").filter(has_text="open").first
    name = open_row.get_attribute("data-breaker")
    open_row.locator("button").click()
    assert page.locator("#confirm").is_visible()
    assert name in page.inner_text("#confirm-text")
    page.locator("#confirm button[value='cancel']").click()
    assert filled_project.hooks.state("breakers")["breakers"][name]["state"] == "open"
    open_row.locator("button").click()
    page.locator("#confirm-ok").click()
    page.locator(f"#breakers tr[data-breaker='{name}']").wait_for(state="detached", timeout=10_000)
    assert name not in filled_project.hooks.state("breakers").get("breakers", {})

    # the reset is the same as the command line's: Claude's next call goes through again
    result = filled_project.hooks.run(
        filled_project.bash_pre("pytest tests/test_api.py", "toolu_after_reset")
    )
    assert result.decision != "deny", result.stdout


def test_an_empty_project_shows_a_hint(page: Any, tmp_path: Path) -> None:
    dash = start_dashboard(tmp_path / "no-such-project")
    try:
        _open(page, dash.url)
        assert "No project at" in page.inner_text("#hint")
        assert page.locator("#sessions-empty").is_visible()
        assert page.inner_text("#total-cost") == "-"
    finally:
        dash.proc.kill()
        dash.proc.wait()
    assert not (tmp_path / "no-such-project").exists()  # reading never creates anything
