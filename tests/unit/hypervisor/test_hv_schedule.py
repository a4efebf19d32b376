"""The schedule: which phases may start, given what passed, failed or was skipped."""

from __future__ import annotations

from lib.hypervisor.graph import PhaseGraph, PhaseNode
from lib.hypervisor.schedule import Schedule, SlotState


def graph(*nodes: PhaseNode) -> PhaseGraph:
    return PhaseGraph.build(nodes)


def diamond() -> PhaseGraph:
    return graph(
        PhaseNode("1"),
        PhaseNode("2", ("1",)),
        PhaseNode("3", ("1",)),
        PhaseNode("4", ("2", "3")),
        PhaseNode("5"),
    )


def group_after_two() -> PhaseGraph:
    """Parallel group g: ``a`` after phase 1, ``b`` after phase 2."""
    return graph(
        PhaseNode("1"),
        PhaseNode("2"),
        PhaseNode("a", ("1",), parallel_group="g"),
        PhaseNode("b", ("2",), parallel_group="g"),
    )


def test_phases_become_ready_when_their_dependencies_pass() -> None:
    s = Schedule(diamond(), ["1", "2", "3", "4", "5"])
    assert s.ready() == ["1", "5"]
    s.start("1")
    assert s.ready() == ["5"]
    s.pass_("1")
    assert s.ready() == ["5", "2", "3"]  # execution order: by wave, then id
    for p in ("2", "3", "5"):
        s.start(p)
        s.pass_(p)
    assert s.ready() == ["4"]
    s.start("4")
    s.pass_("4")
    assert s.finished()
    assert s.count(SlotState.PASSED) == 5


def test_a_failure_blocks_every_descendant_but_not_independent_phases() -> None:
    s = Schedule(diamond(), ["1", "2", "3", "4", "5"])
    s.start("1")
    s.pass_("1")
    s.start("2")
    assert s.fail("2") == ["4"]
    assert s.blocked_by == {"4": "2"}
    assert s.ready() == ["5", "3"]


def test_satisfied_phases_count_as_passed_without_running() -> None:
    s = Schedule(diamond(), ["4"], satisfied=["2", "3"])
    assert s.selected == ("4",)
    assert s.ready() == ["4"]


def test_unselected_unsatisfied_dependencies_block() -> None:
    s = Schedule(diamond(), ["2", "4"], satisfied=["3"])
    assert s.ready() == []  # 2 waits for 1, which is neither selected nor satisfied


def test_a_user_skip_can_satisfy_dependents_or_block_them() -> None:
    s = Schedule(diamond(), ["1", "2", "3", "4", "5"])
    assert s.skip("1", satisfies=True) == []
    assert s.ready() == ["5", "2", "3"]
    s2 = Schedule(diamond(), ["1", "2", "3", "4", "5"])
    assert s2.skip("1", satisfies=False) == ["2", "3", "4"]


def test_group_members_start_together_once_all_their_dependencies_passed() -> None:
    s = Schedule(group_after_two(), ["1", "2", "a", "b"])
    s.start("1")
    s.pass_("1")
    assert "a" not in s.ready()  # b still waits for 2
    s.start("2")
    s.pass_("2")
    assert s.ready() == ["a", "b"]


def test_a_blocked_group_member_does_not_hold_the_others_back() -> None:
    s = Schedule(group_after_two(), ["1", "2", "a", "b"])
    for p in ("1", "2"):
        s.start(p)
    s.pass_("1")
    s.fail("2")
    assert s.ready() == ["a"]


def test_a_declared_wave_waits_for_every_earlier_wave() -> None:
    g = graph(PhaseNode("1"), PhaseNode("2", ("1",)), PhaseNode("x", wave=3))
    s = Schedule(g, ["1", "2", "x"])
    assert s.ready() == ["1"]
    s.start("1")
    s.pass_("1")
    assert s.ready() == ["2"]
    s.start("2")
    s.fail("2")
    assert s.ready() == ["x"]  # earlier waves finished, even if not all passed


def test_abandon_skips_waiting_phases_and_requeue_returns_a_running_one() -> None:
    s = Schedule(diamond(), ["1", "2", "3", "4", "5"])
    s.start("1")
    assert s.abandon_waiting() == ["5", "2", "3", "4"]
    assert s.running() == ["1"]
    s.requeue("1")
    assert s.waiting() == ["1"]
