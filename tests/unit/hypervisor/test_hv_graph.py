"""The phase DAG: every structural error is reported, order and waves honour the dependencies."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.hypervisor.graph import GraphError, PhaseGraph, PhaseNode, find_graph_problems, natural_key


def node(pid: str, *deps: str, group: str | None = None, wave: int | None = None) -> PhaseNode:
    return PhaseNode(pid, tuple(deps), group, wave, source=f"{pid}.md")


def kinds(nodes: list[PhaseNode]) -> list[str]:
    return [p.kind for p in find_graph_problems(nodes)]


def test_natural_order_sorts_numbers_by_value() -> None:
    ids = ["10", "2", "1", "10a", "setup", "2.1", "2.10"]
    assert sorted(ids, key=natural_key) == ["1", "2", "2.1", "2.10", "10", "10a", "setup"]


def test_unknown_dependency_names_the_phase_the_file_and_the_missing_id() -> None:
    problems = find_graph_problems([node("11"), node("15", "11", "14")])
    assert len(problems) == 1
    problem = problems[0]
    assert problem.kind == "unknown_dependency"
    assert problem.source == "15.md"
    assert "phase 15 depends on phase 14, which is not in the plan" in problem.message


def test_self_dependency_and_duplicate_ids_are_errors() -> None:
    assert kinds([node("1", "1")]) == ["self_dependency"]
    problems = find_graph_problems([node("1"), PhaseNode("1", (), source="other.md")])
    assert [p.kind for p in problems] == ["duplicate"]
    assert "1.md" in problems[0].message and problems[0].source == "other.md"


def test_listing_a_dependency_twice_is_an_error() -> None:
    assert kinds([node("1"), node("2", "1", "1")]) == ["duplicate_dependency"]


def test_a_cycle_is_named_in_dependency_order() -> None:
    problems = find_graph_problems([node("1", "3"), node("2", "1"), node("3", "2"), node("4")])
    assert [p.kind for p in problems] == ["cycle"]
    # 1 depends on 3, 3 on 2, 2 on 1.
    assert "1 -> 3 -> 2 -> 1" in problems[0].message


def test_every_separate_cycle_is_reported() -> None:
    problems = find_graph_problems(
        [node("a", "b"), node("b", "a"), node("c", "d"), node("d", "c"), node("e", "a")]
    )
    assert sorted(p.message.split(":")[1].split("(")[0].strip() for p in problems) == [
        "a -> b -> a",
        "c -> d -> c",
    ]


def test_graph_build_raises_with_all_problems() -> None:
    with pytest.raises(GraphError) as caught:
        PhaseGraph.build([node("1", "9"), node("2", "2")])
    assert {p.kind for p in caught.value.problems} == {"unknown_dependency", "self_dependency"}


def test_members_of_a_parallel_group_must_not_depend_on_each_other() -> None:
    problems = find_graph_problems([node("1", group="g"), node("2", "1", group="g")])
    assert [p.kind for p in problems] == ["group_dependency"]
    # Linked through a phase outside the group is just as impossible.
    problems = find_graph_problems([node("1", group="g"), node("x", "1"), node("2", "x", group="g")])
    assert [p.kind for p in problems] == ["group_dependency"]


def test_a_declared_wave_must_come_after_its_dependencies_waves() -> None:
    problems = find_graph_problems([node("1", wave=2), node("2", "1", wave=1)])
    assert [p.kind for p in problems] == ["wave_order"]
    assert "declares wave 1 but depends on phase 1 in wave 2" in problems[0].message


def test_diamond_order_and_waves() -> None:
    graph = PhaseGraph.build([node("4", "2", "3"), node("3", "1"), node("2", "1"), node("1")])
    assert graph.order == ("1", "2", "3", "4")
    assert graph.waves == (("1",), ("2", "3"), ("4",))
    assert graph.descendants("1") == {"2", "3", "4"}
    assert graph.ancestors("4") == {"1", "2", "3"}


def test_a_parallel_group_shares_the_wave_of_its_latest_member() -> None:
    graph = PhaseGraph.build(
        [node("1"), node("2", "1"), node("3", group="g"), node("4", "2", group="g"), node("5", "3")]
    )
    assert graph.wave_of["3"] == graph.wave_of["4"] == 3
    assert graph.wave_of["5"] == 4
    assert graph.group_members("3") == ("3", "4")


def test_a_declared_wave_delays_a_phase() -> None:
    graph = PhaseGraph.build([node("1", wave=1), node("2", wave=3), node("3", "1")])
    assert graph.wave_of == {"1": 1, "2": 3, "3": 2}
    assert graph.order == ("1", "3", "2")


@st.composite
def dags(draw: st.DrawFn) -> list[PhaseNode]:
    count = draw(st.integers(min_value=1, max_value=25))
    nodes = []
    for i in range(count):
        deps = draw(st.sets(st.integers(min_value=0, max_value=i - 1), max_size=4)) if i else set()
        nodes.append(PhaseNode(str(i), tuple(str(d) for d in sorted(deps))))
    return draw(st.permutations(nodes))


@given(dags())
@settings(max_examples=150, deadline=None)
def test_order_and_waves_respect_every_dependency(nodes: list[PhaseNode]) -> None:
    graph = PhaseGraph.build(nodes)
    position = {p: i for i, p in enumerate(graph.order)}
    assert sorted(graph.order) == sorted(n.id for n in nodes)
    for n in nodes:
        for dep in n.depends_on:
            assert position[dep] < position[n.id]
            assert graph.wave_of[dep] < graph.wave_of[n.id]
    # Waves are as early as possible: a phase in wave w > 1 has a dependency in wave w - 1.
    for n in nodes:
        if graph.wave_of[n.id] > 1:
            assert any(graph.wave_of[d] == graph.wave_of[n.id] - 1 for d in n.depends_on)


@given(dags(), st.data())
@settings(max_examples=100, deadline=None)
def test_adding_a_back_edge_is_reported_as_a_cycle(nodes: list[PhaseNode], data: st.DataObject) -> None:
    graph = PhaseGraph.build(nodes)
    with_deps = [n for n in nodes if n.depends_on]
    if not with_deps:
        return
    child = data.draw(st.sampled_from(with_deps))
    ancestor = data.draw(st.sampled_from(sorted(graph.ancestors(child.id))))
    # ancestor now also depends on child: a cycle through both.
    changed = [PhaseNode(n.id, (*n.depends_on, child.id)) if n.id == ancestor else n for n in nodes]
    problems = find_graph_problems(changed)
    assert [p.kind for p in problems] == ["cycle"]
    cycle = problems[0].message.split(": ", 1)[1].split(" (")[0].split(" -> ")
    assert cycle[0] == cycle[-1]
    assert {ancestor, child.id} <= set(cycle)
    by_id = {n.id: n for n in changed}
    for a, b in itertools.pairwise(cycle):
        assert b in by_id[a].depends_on
