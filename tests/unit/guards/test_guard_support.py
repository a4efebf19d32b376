"""The off switch, the [guards] settings reader, the git HEAD lookup and rules as data."""

from __future__ import annotations

from pathlib import Path

import pytest

from lib.cli.guards import parse_duration
from lib.guards import switch
from lib.guards.git_head import current_branch
from lib.guards.report import guards_off
from lib.guards.settings import GuardSettings
from lib.guards.verdict import LEVELS, Rule
from lib.paths import Paths
from lib.registry import HookEvent


class TestSwitch:
    def test_env_values(self) -> None:
        assert switch.env_off({"CLAUDE_HOOKS_GUARDS": "off"})
        assert switch.env_off({"CLAUDE_HOOKS_GUARDS": " OFF "})
        assert switch.env_off({"CLAUDE_HOOKS_GUARDS": "0"})
        assert not switch.env_off({"CLAUDE_HOOKS_GUARDS": "on"})
        assert not switch.env_off({})

    def test_off_until_expiry_then_on(self) -> None:
        state: dict[str, object] = {}
        switch.turn_off(state, "s1", now=100.0, until=160.0, note="debugging")
        assert switch.session_off(state, "s1", 159.0) == {"since": 100.0, "until": 160.0, "note": "debugging"}
        assert switch.session_off(state, "s1", 160.0) is None
        assert switch.session_off(state, "s2", 120.0) is None
        assert switch.prune(state, 200.0) == ["s1"]
        assert state == {"off": {}}

    def test_off_for_good_and_back_on(self) -> None:
        state: dict[str, object] = {}
        switch.turn_off(state, "s1", now=1.0)
        assert switch.session_off(state, "s1", 1e12) is not None
        assert switch.turn_on(state, "s1")
        assert not switch.turn_on(state, "s1")
        assert switch.session_off(state, "s1", 2.0) is None

    def test_a_session_is_required(self) -> None:
        with pytest.raises(ValueError, match="a session id is needed"):
            switch.turn_off({}, "", now=1.0)

    def test_corrupt_state_counts_as_on(self) -> None:
        assert switch.session_off({"off": "garbage"}, "s1", 1.0) is None
        assert switch.session_off({"off": {"s1": "garbage"}}, "s1", 1.0) is None


def test_the_switch_is_read_once_per_event(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(switch.ENV, raising=False)
    paths = Paths(str(tmp_path))
    data: dict[str, object] = {"session_id": "s1", "tool_name": "Bash"}
    first = HookEvent("PreToolUse", data, paths=paths)
    assert guards_off(first) is None
    with first.store(switch.STORE).transaction() as state:
        switch.turn_off(state, "s1", now=1.0)
    # the Bash and the file guard of one call get the same answer; the next call sees the switch
    assert guards_off(first) is None
    assert guards_off(HookEvent("PreToolUse", dict(data), paths=paths)) == (
        "switched off for this session with `python -m lib guards off`"
    )


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400), ("45", 45),
                                               ("1.5h", 5400), ("10 min", 600)])  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "-5m", "0", "3w"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="use a positive duration"):
        parse_duration(text)


class TestSettings:
    def test_defaults(self) -> None:
        s = GuardSettings(None)
        assert (s.level, s.bash, s.files, s.protected_branches, s.rules) == (
            "standard",
            True,
            True,
            ["main", "master"],
            {},
        )

    def test_values_and_policies(self) -> None:
        s = GuardSettings({"level": "strict", "bash": False, "allowlist": ["make test"], "protected_branches": ["prod"],
                           "rules": {"git-reset-hard": "allow"}, "writable_dirs": ["~/.cache"]})  # fmt: skip
        assert not s.bash
        policy = s.bash_policy()
        assert policy.level == "strict" and policy.protected_branches == ("prod",)
        assert policy.evaluate("git reset --hard", cwd="/p", project_dir="/p").decision == "allow"
        assert s.file_policy().writable_dirs == ["~/.cache"]

    def test_wrong_types_fall_back(self) -> None:
        s = GuardSettings({"level": 3, "allowlist": "rm -rf x", "rules": ["x"], "protected_branches": None})
        assert (s.level, s.allowlist, s.rules, s.protected_branches) == (
            "standard",
            [],
            {},
            ["main", "master"],
        )

    def test_bad_level_is_reported_by_the_policy(self) -> None:
        with pytest.raises(ValueError, match="guard level 'loose'"):
            GuardSettings({"level": "loose"}).bash_policy()


class TestGitHead:
    def test_branch_of_a_repository(self, tmp_path: Path) -> None:
        git = tmp_path / "repo" / ".git"
        git.mkdir(parents=True)
        (git / "HEAD").write_text("ref: refs/heads/feature/login\n")
        (tmp_path / "repo" / "src" / "deep").mkdir(parents=True)
        assert current_branch(str(tmp_path / "repo" / "src" / "deep")) == "feature/login"

    def test_detached_and_missing(self, tmp_path: Path) -> None:
        git = tmp_path / "repo" / ".git"
        git.mkdir(parents=True)
        (git / "HEAD").write_text("1f0e2d3c4b5a69788796a5b4c3d2e1f0a9b8c7d6\n")
        assert current_branch(str(tmp_path / "repo")) is None
        (tmp_path / "plain").mkdir()
        assert current_branch(str(tmp_path / "plain")) in (None, current_branch(str(tmp_path)))

    def test_worktree_gitfile(self, tmp_path: Path) -> None:
        real = tmp_path / "main" / ".git" / "worktrees" / "wt"
        real.mkdir(parents=True)
        (real / "HEAD").write_text("ref: refs/heads/main\n")
        wt = tmp_path / "wt"
        wt.mkdir()
        (wt / ".git").write_text(f"gitdir: {real}\n")
        assert current_branch(str(wt)) == "main"


class TestRule:
    def test_one_decision_per_level(self) -> None:
        rule = Rule("x", "does x", "deny/ask/allow", "do y")
        assert tuple(rule.decisions) == LEVELS
        assert [rule.decision(level) for level in LEVELS] == ["deny", "ask", "allow"]
        assert rule.to_dict() == {
            "id": "x", "title": "does x", "strict": "deny", "standard": "ask", "permissive": "allow",
            "instead": "do y",
        }  # fmt: skip

    @pytest.mark.parametrize(
        "levels", ["deny/ask", "deny/ask/allow/allow", "deny/maybe/allow", "", "deny//allow"]
    )
    def test_bad_levels_are_refused(self, levels: str) -> None:
        with pytest.raises(ValueError, match="levels must be"):
            Rule("x", "does x", levels, "do y")
