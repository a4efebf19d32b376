"""The phase dependency graph: validation, topological order and waves.

Pure logic: plain values in, plain values out, no I/O. Phase ids are strings (``11`` in a
frontmatter becomes ``"11"``); ordering between ids is "natural" (``2 < 10 < 10a``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "GraphError",
    "GraphProblem",
    "PhaseGraph",
    "PhaseNode",
    "find_graph_problems",
    "natural_key",
]

_DIGITS = re.compile(r"(\d+)")


def natural_key(phase_id: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders ``"2" < "10" < "10a" < "setup"`` (numbers by value, then text)."""
    parts: list[tuple[int, int | str]] = []
    for chunk in _DIGITS.split(phase_id):
        if not chunk:
            continue
        parts.append((0, int(chunk)) if chunk.isdigit() else (1, chunk))
    return tuple(parts)


@dataclass(frozen=True)
class PhaseNode:
    """One phase as the graph sees it.

    ``wave`` is the wave the plan declares (GSD style, 1-based) or ``None``; ``source`` names the
    file the phase came from, for error messages.
    """

    id: str
    depends_on: tuple[str, ...] = ()
    parallel_group: str | None = None
    wave: int | None = None
    source: str = ""


@dataclass(frozen=True)
class GraphProblem:
    """One reason the graph cannot run. ``kind`` is a stable code, ``message`` names the fix."""

    kind: str
    phase: str
    message: str
    source: str = ""

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        return f"{where}{self.message}"


class GraphError(ValueError):
    """The plan's graph is invalid; ``problems`` lists every reason found."""

    def __init__(self, problems: Sequence[GraphProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def _find_cycles(ids: Sequence[str], edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Every strongly connected component with a cycle, each as one concrete cycle path.

    ``edges[a]`` lists the nodes ``a`` depends on. Iterative Tarjan, so deep plans don't hit the
    recursion limit. Each returned path starts and ends with the same id.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in ids:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, child_i = work.pop()
            if child_i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = edges.get(node, ())
            if child_i < len(children):
                work.append((node, child_i + 1))
                child = children[child_i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return [_cycle_path(sorted(c, key=natural_key), edges) for c in components]


def _cycle_path(component: list[str], edges: Mapping[str, Sequence[str]]) -> list[str]:
    """A concrete cycle inside one strongly connected component, starting at its smallest id."""
    members = set(component)
    start = component[0]
    # Breadth-first search from start back to start, staying inside the component.
    previous: dict[str, str] = {}
    frontier = [start]
    seen = {start}
    while frontier:
        next_frontier: list[str] = []
        for node in frontier:
            for child in edges.get(node, ()):
                if child == start:
                    path = [start]
                    walk = node
                    while walk != start:
                        path.append(walk)
                        walk = previous[walk]
                    path.append(start)
                    # path is start, node, ..., start walked backwards: reverse the middle.
                    return [start, *reversed(path[1:-1]), start]
                if child in members and child not in seen:
                    seen.add(child)
                    previous[child] = node
                    next_frontier.append(child)
        frontier = next_frontier
    return [start, start]  # unreachable for a real component; kept total for type checkers


def find_graph_problems(nodes: Sequence[PhaseNode]) -> list[GraphProblem]:
    """Every structural error in ``nodes``: duplicates, unknown or self dependencies, cycles,
    parallel groups whose members depend on each other, and declared waves that contradict the
    dependencies. An empty list means the graph can run.
    """
    problems: list[GraphProblem] = []
    by_id: dict[str, PhaseNode] = {}
    for node in nodes:
        if node.id in by_id:
            first = by_id[node.id]
            problems.append(
                GraphProblem(
                    "duplicate",
                    node.id,
                    f"duplicate phase id {node.id}: also defined in {first.source or 'another file'}; "
                    "give every phase a unique `phase` value",
                    node.source,
                )
            )
            continue
        by_id[node.id] = node
    for node in by_id.values():
        seen_deps: set[str] = set()
        for dep in node.depends_on:
            if dep == node.id:
                problems.append(
                    GraphProblem(
                        "self_dependency",
                        node.id,
                        f"phase {node.id} depends on itself: remove {dep} from `depends_on`",
                        node.source,
                    )
                )
            elif dep not in by_id:
                problems.append(
                    GraphProblem(
                        "unknown_dependency",
                        node.id,
                        f"phase {node.id} depends on phase {dep}, which is not in the plan: "
                        f"add the phase file for {dep} or remove it from `depends_on`",
                        node.source,
                    )
                )
            elif dep in seen_deps:
                problems.append(
                    GraphProblem(
                        "duplicate_dependency",
                        node.id,
                        f"phase {node.id} lists dependency {dep} twice in `depends_on`: list it once",
                        node.source,
                    )
                )
            seen_deps.add(dep)
    if problems:
        return problems  # cycles and waves are meaningless until ids and edges are sound

    ids = sorted(by_id, key=natural_key)
    edges = {i: tuple(dict.fromkeys(by_id[i].depends_on)) for i in ids}
    for cycle in _find_cycles(ids, edges):
        # edges point from a phase to what it depends on; print the cycle in "depends on" order.
        problems.append(
            GraphProblem(
                "cycle",
                cycle[0],
                "dependency cycle: "
                + " -> ".join(cycle)
                + " (each phase depends on the next): remove one of these `depends_on` entries",
                by_id[cycle[0]].source,
            )
        )
    if problems:
        return problems

    ancestors = _ancestors(ids, edges)
    return _group_problems(by_id, ids, edges, ancestors) or _wave_problems(by_id, ids, ancestors)


def _group_problems(
    by_id: Mapping[str, PhaseNode],
    ids: Sequence[str],
    edges: Mapping[str, Sequence[str]],
    ancestors: Mapping[str, set[str]],
) -> list[GraphProblem]:
    """Phases of one parallel group run together, so none may (transitively) depend on another."""
    problems: list[GraphProblem] = []
    groups: dict[str, list[str]] = {}
    for i in ids:
        group = by_id[i].parallel_group
        if group is not None:
            groups.setdefault(group, []).append(i)
    for group, members in groups.items():
        member_set = set(members)
        for member in members:
            inside = sorted(ancestors[member] & member_set, key=natural_key)
            if inside:
                problems.append(
                    GraphProblem(
                        "group_dependency",
                        member,
                        f"phase {member} is in parallel_group {group!r} but depends on phase "
                        f"{', '.join(inside)} of the same group; phases of a group run together: "
                        "move one of them to another group or drop the dependency",
                        by_id[member].source,
                    )
                )
    if problems:
        return problems
    # Contracting each group into one node must not create a cycle (A in g -> X -> B in g).
    node_of = {i: f"group:{by_id[i].parallel_group}" if by_id[i].parallel_group else i for i in ids}
    contracted: dict[str, list[str]] = {}
    for i in ids:
        deps = contracted.setdefault(node_of[i], [])
        for dep in edges[i]:
            if node_of[dep] != node_of[i] and node_of[dep] not in deps:
                deps.append(node_of[dep])
    for cycle in _find_cycles(sorted(contracted, key=natural_key), contracted):
        names = [c.removeprefix("group:") if c.startswith("group:") else c for c in cycle]
        group_name = next(c for c in cycle if c.startswith("group:")).removeprefix("group:")
        problems.append(
            GraphProblem(
                "group_cycle",
                group_name,
                f"parallel_group {group_name!r} cannot run together: its members are linked through "
                f"other phases ({' -> '.join(names)}); split the group",
                "",
            )
        )
    return problems


def _wave_problems(
    by_id: Mapping[str, PhaseNode], ids: Sequence[str], ancestors: Mapping[str, set[str]]
) -> list[GraphProblem]:
    """A declared wave must come after the declared waves of everything a phase depends on."""
    problems: list[GraphProblem] = []
    for i in ids:
        wave = by_id[i].wave
        if wave is None:
            continue
        for dep in sorted(ancestors[i], key=natural_key):
            dep_wave = by_id[dep].wave
            if dep_wave is not None and dep_wave >= wave:
                problems.append(
                    GraphProblem(
                        "wave_order",
                        i,
                        f"phase {i} declares wave {wave} but depends on phase {dep} in wave {dep_wave}: "
                        f"a phase's wave must be greater than its dependencies' waves",
                        by_id[i].source,
                    )
                )
                break
    return problems


def _ancestors(ids: Sequence[str], edges: Mapping[str, Sequence[str]]) -> dict[str, set[str]]:
    """For every node, the set of nodes it depends on directly or transitively (graph is acyclic)."""
    result: dict[str, set[str]] = {}
    for i in _kahn(ids, edges):
        acc: set[str] = set()
        for dep in edges[i]:
            acc.add(dep)
            acc |= result[dep]
        result[i] = acc
    return result


def _kahn(ids: Sequence[str], edges: Mapping[str, Sequence[str]]) -> list[str]:
    """Dependencies-first order of an acyclic graph, ties broken by the order of ``ids``."""
    import heapq

    position = {i: n for n, i in enumerate(ids)}
    pending = {i: len(set(edges[i])) for i in ids}
    dependents: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        for dep in set(edges[i]):
            dependents[dep].append(i)
    heap = [position[i] for i in ids if pending[i] == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        node = ids[heapq.heappop(heap)]
        order.append(node)
        for child in dependents[node]:
            pending[child] -= 1
            if pending[child] == 0:
                heapq.heappush(heap, position[child])
    return order


@dataclass(frozen=True)
class PhaseGraph:
    """A validated, acyclic phase graph with its execution order and waves.

    Build it with :meth:`build`, which raises :class:`GraphError` listing every problem.
    ``order`` runs every phase after its dependencies (by wave, then natural id order);
    ``waves`` groups phases that can run at the same time. A phase's wave is the larger of the
    wave it declares and one more than the waves of its dependencies; the members of a
    ``parallel_group`` share the wave of the group's latest member.
    """

    nodes: Mapping[str, PhaseNode]
    order: tuple[str, ...]
    wave_of: Mapping[str, int]
    dependents: Mapping[str, tuple[str, ...]] = field(default_factory=dict[str, tuple[str, ...]])

    @classmethod
    def build(cls, nodes: Iterable[PhaseNode]) -> PhaseGraph:
        """Validate ``nodes`` and compute order and waves; raises :class:`GraphError`."""
        node_list = list(nodes)
        problems = find_graph_problems(node_list)
        if problems:
            raise GraphError(problems)
        by_id = {n.id: n for n in node_list}
        ids = sorted(by_id, key=natural_key)
        edges = {i: tuple(by_id[i].depends_on) for i in ids}
        wave_of = _compute_waves(by_id, ids, edges)
        order = tuple(sorted(ids, key=lambda i: (wave_of[i], natural_key(i))))
        dependents: dict[str, list[str]] = {i: [] for i in ids}
        for i in ids:
            for dep in edges[i]:
                dependents[dep].append(i)
        return cls(
            nodes=by_id,
            order=order,
            wave_of=wave_of,
            dependents={k: tuple(v) for k, v in dependents.items()},
        )

    @property
    def waves(self) -> tuple[tuple[str, ...], ...]:
        """Phases grouped by wave, waves in order, phases inside a wave in natural id order."""
        grouped: dict[int, list[str]] = {}
        for i in self.order:
            grouped.setdefault(self.wave_of[i], []).append(i)
        return tuple(tuple(grouped[w]) for w in sorted(grouped))

    def dependencies(self, phase_id: str) -> tuple[str, ...]:
        """What ``phase_id`` depends on directly."""
        return self.nodes[phase_id].depends_on

    def group_members(self, phase_id: str) -> tuple[str, ...]:
        """Every phase sharing ``phase_id``'s parallel group (itself included), in order."""
        group = self.nodes[phase_id].parallel_group
        if group is None:
            return (phase_id,)
        return tuple(i for i in self.order if self.nodes[i].parallel_group == group)

    def descendants(self, phase_id: str) -> set[str]:
        """Every phase that depends on ``phase_id`` directly or transitively."""
        seen: set[str] = set()
        frontier = list(self.dependents[phase_id])
        while frontier:
            node = frontier.pop()
            if node not in seen:
                seen.add(node)
                frontier.extend(self.dependents[node])
        return seen

    def ancestors(self, phase_id: str) -> set[str]:
        """Every phase ``phase_id`` depends on directly or transitively."""
        seen: set[str] = set()
        frontier = list(self.nodes[phase_id].depends_on)
        while frontier:
            node = frontier.pop()
            if node not in seen:
                seen.add(node)
                frontier.extend(self.nodes[node].depends_on)
        return seen


def _compute_waves(
    by_id: Mapping[str, PhaseNode], ids: Sequence[str], edges: Mapping[str, Sequence[str]]
) -> dict[str, int]:
    """Wave numbers (1-based) honouring dependencies, declared waves and parallel groups."""
    group_of = {i: by_id[i].parallel_group for i in ids}
    members: dict[str, list[str]] = {}
    for i in ids:
        group = group_of[i]
        if group is not None:
            members.setdefault(group, []).append(i)
    # Work on the contracted graph (a group is one node) so a group lands in a single wave.
    unit_of = {i: f"group:{group_of[i]}" if group_of[i] is not None else i for i in ids}
    units = list(dict.fromkeys(unit_of[i] for i in ids))
    unit_members = {u: [i for i in ids if unit_of[i] == u] for u in units}
    unit_edges = {
        u: tuple(dict.fromkeys(unit_of[d] for m in unit_members[u] for d in edges[m] if unit_of[d] != u))
        for u in units
    }
    unit_wave: dict[str, int] = {}
    for u in _kahn(units, unit_edges):
        declared = max((by_id[m].wave or 1) for m in unit_members[u])
        after = max((unit_wave[d] + 1 for d in unit_edges[u]), default=1)
        unit_wave[u] = max(declared, after)
    return {i: unit_wave[unit_of[i]] for i in ids}
