"""Plans: a folder of Markdown phase files with YAML frontmatter.

Each ``*.md`` file whose first line is ``---`` is one phase: the YAML block up to the next
``---`` line is its frontmatter (validated by :class:`PhaseFrontmatter`), the rest is the phase's
instructions. Files without frontmatter (a README) are not phases. Loading collects every
problem (naming the file and the field) before the graph is checked, so a user sees them all
at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from lib.hypervisor.graph import GraphError, GraphProblem, PhaseGraph, PhaseNode, natural_key

__all__ = [
    "ClaudeOptions",
    "CrossRef",
    "Phase",
    "PhaseFrontmatter",
    "Plan",
    "PlanError",
    "PlanInvalid",
    "load_plan",
    "phase_id_text",
]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def phase_id_text(value: object) -> str:
    """Normalise a phase id from YAML (``11``, ``"11"``, ``2.1``, ``"setup"``) to its text form."""
    if isinstance(value, bool) or value is None:
        raise ValueError("a phase id is a number or a name, not a boolean or null")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError("a phase id must not be empty")
        if any(c.isspace() for c in text) or "," in text:
            raise ValueError(f"phase id {text!r} must not contain spaces or commas")
        return text
    raise ValueError(f"a phase id is a number or a name, got {type(value).__name__}")


class CrossRef(BaseModel):
    """A link to another plan file (informational)."""

    model_config = ConfigDict(extra="allow")

    file: str
    relation: str = "relates_to"


PermissionMode = Literal["default", "acceptEdits", "plan", "bypassPermissions", "dontAsk", "auto"]


class ClaudeOptions(BaseModel):
    """Options of the ``claude`` executor; set per phase under ``claude:`` or on the command line."""

    model_config = ConfigDict(extra="forbid")

    binary: str | None = None
    model: str | None = None
    allowed_tools: list[str] | None = None
    disallowed_tools: list[str] | None = None
    permission_mode: PermissionMode | None = None
    max_turns: int | None = Field(default=None, ge=1)
    max_budget_usd: float | None = Field(default=None, gt=0)
    append_system_prompt: str | None = None
    extra_args: list[str] | None = None

    @field_validator("allowed_tools", "disallowed_tools", "extra_args", mode="before")
    @classmethod
    def _split_words(cls, value: object) -> object:
        if isinstance(value, str):
            return [w for w in value.replace(",", " ").split() if w]
        return value

    def merged_over(self, base: ClaudeOptions) -> ClaudeOptions:
        """These options with unset fields taken from ``base``."""
        data = base.model_dump()
        data.update({k: v for k, v in self.model_dump().items() if v is not None})
        return ClaudeOptions.model_validate(data)


class PhaseFrontmatter(BaseModel):
    """The YAML frontmatter of a phase file.

    Fields of the original plan format (``plan`` ... ``cross_refs``) plus GSD's ``wave`` and the
    executor settings (``executor``, ``command``, ``timeout``, ``max_attempts``, ``claude``,
    ``env``). Unknown fields are kept and reported as warnings (a typo such as ``depend_on``
    must not pass silently).
    """

    model_config = ConfigDict(extra="allow")

    plan: str | None = None
    version: str | None = None
    phase: str
    title: str | None = None
    effort: str | None = None
    estimated_tokens: int | None = Field(default=None, ge=0)
    context_budget: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    parallel_group: str | None = None
    wave: int | None = Field(default=None, ge=1)
    validation_script: str | None = None
    checkpoint: str | None = None
    recovery_plan: str | None = None
    agent_execution_spec: str | None = None
    status: str | None = None
    cross_refs: list[CrossRef] = Field(default_factory=list[CrossRef])
    executor: Literal["claude", "shell"] | None = None
    command: str | list[str] | None = None
    timeout: float | None = Field(default=None, gt=0)
    validation_timeout: float | None = Field(default=None, gt=0)
    max_attempts: int | None = Field(default=None, ge=1)
    budget_usd: float | None = Field(default=None, ge=0)
    """A cap on the whole run's cost, for the plan (the smallest any phase file gives wins)."""
    claude: ClaudeOptions | None = None
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("phase", mode="before")
    @classmethod
    def _phase_id(cls, value: object) -> str:
        return phase_id_text(value)

    @field_validator("depends_on", mode="before")
    @classmethod
    def _dependency_ids(cls, value: object) -> list[str]:
        if value is None:
            return []
        items = cast("Sequence[object]", value) if isinstance(value, list | tuple) else [value]
        return [phase_id_text(v) for v in items]

    @field_validator("version", "parallel_group", "effort", mode="before")
    @classmethod
    def _scalar_text(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is not None and (not value or (isinstance(value, str) and not value.strip())):
            raise ValueError("command must not be empty")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_text(cls, value: object) -> object:
        if isinstance(value, dict):
            table = cast("dict[object, object]", value)  # as YAML parsed it: keys of any type
            return {str(k): v if isinstance(v, str) else str(v) for k, v in table.items()}
        return value


KNOWN_FIELDS = frozenset(PhaseFrontmatter.model_fields)


@dataclass(frozen=True)
class PlanError:
    """One problem in a plan, tied to a file and (when known) a field."""

    path: str
    message: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}{what}{self.message}"


class PlanInvalid(Exception):
    """The plan cannot run; ``errors`` lists every problem found, ``warnings`` the rest."""

    def __init__(self, errors: Sequence[PlanError], warnings: Sequence[PlanError] = ()) -> None:
        self.errors = list(errors)
        self.warnings = list(warnings)
        super().__init__("\n".join(str(e) for e in self.errors))


@dataclass(frozen=True)
class Phase:
    """A loaded phase: its frontmatter, instructions and where it came from."""

    meta: PhaseFrontmatter
    body: str
    path: Path
    digest: str

    @property
    def id(self) -> str:
        """The phase id as text."""
        return self.meta.phase

    @property
    def title(self) -> str:
        """The frontmatter title, else the first Markdown heading, else ``Phase <id>``."""
        if self.meta.title:
            return self.meta.title
        for line in self.body.splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
        return f"Phase {self.id}"

    def node(self) -> PhaseNode:
        """The phase as a graph node."""
        return PhaseNode(
            id=self.id,
            depends_on=tuple(self.meta.depends_on),
            parallel_group=self.meta.parallel_group,
            wave=self.meta.wave,
            source=self.path.name,
        )


@dataclass(frozen=True)
class Plan:
    """A validated plan: phases by id, the dependency graph, and non-fatal warnings."""

    directory: Path
    phases: dict[str, Phase]
    graph: PhaseGraph
    warnings: list[PlanError] = field(default_factory=list[PlanError])
    external: dict[str, tuple[str, ...]] = field(default_factory=dict[str, tuple[str, ...]])
    """Dependencies on phases outside the folder that count as done (``--assume-done``)."""

    @property
    def name(self) -> str:
        """The ``plan`` field shared by the phases, else the folder name."""
        for phase in self.phases.values():
            if phase.meta.plan:
                return phase.meta.plan
        return self.directory.name

    @property
    def budget_usd(self) -> float | None:
        """The run budget the plan declares (``budget_usd`` in any phase file; the smallest wins)."""
        budgets = [p.meta.budget_usd for p in self.phases.values() if p.meta.budget_usd is not None]
        return min(budgets) if budgets else None

    def ordered(self) -> list[Phase]:
        """Phases in execution order."""
        return [self.phases[i] for i in self.graph.order]


def split_frontmatter(text: str) -> tuple[str, str] | None:
    """``(yaml_text, body)`` when ``text`` starts with a ``---`` frontmatter block, else ``None``.

    Raises ``ValueError`` when the block is opened but never closed.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\r\n").rstrip() != "---":
        return None
    for n in range(1, len(lines)):
        if lines[n].rstrip("\r\n").rstrip() in ("---", "..."):
            return "".join(lines[1:n]), "".join(lines[n + 1 :])
    raise ValueError("frontmatter opened with '---' on line 1 is never closed: add a closing '---' line")


def _field_name(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc) if loc else "(frontmatter)"


def load_phase(path: Path) -> tuple[Phase | None, list[PlanError], list[PlanError]]:
    """Parse one phase file: ``(phase or None, errors, warnings)``; ``None`` with no errors means
    the file has no frontmatter and is not a phase."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [PlanError(name, f"cannot read the file: {exc.strerror or exc}")], []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [PlanError(name, f"not UTF-8 text (byte {exc.start}): save the file as UTF-8")], []
    try:
        parts = split_frontmatter(text)
    except ValueError as exc:
        return None, [PlanError(name, str(exc))], []
    if parts is None:
        return None, [], []
    yaml_text, body = parts
    try:
        data = yaml.load(yaml_text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at frontmatter line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [PlanError(name, f"invalid YAML{where}: {problem}")], []
    if not isinstance(data, dict):
        return None, [PlanError(name, "the frontmatter must be a YAML mapping of `field: value` lines")], []
    try:
        meta = PhaseFrontmatter.model_validate(data)
    except ValidationError as exc:
        errors = [
            PlanError(name, _clean_pydantic_message(err["msg"]), _field_name(err["loc"]))
            for err in exc.errors()
        ]
        return None, errors, []
    warnings = [
        PlanError(name, "unknown field (ignored); check the spelling", str(key))
        for key in (meta.model_extra or {})
    ]
    if meta.executor == "shell" and meta.command is None:
        return None, [PlanError(name, "the shell executor needs a `command` to run", "command")], warnings
    digest = hashlib.sha256(raw).hexdigest()
    return Phase(meta=meta, body=body, path=path, digest=digest), [], warnings


def _clean_pydantic_message(message: str) -> str:
    return message.removeprefix("Value error, ")


def load_plan(directory: Path | str, *, external_done: Callable[[str], bool] | None = None) -> Plan:
    """Load and validate every phase file in ``directory``; raises :class:`PlanInvalid`.

    A dependency on a phase that is not in the folder is an error unless ``external_done(id)``
    says that phase was done elsewhere (``--assume-done``, or a done checkpoint of it).
    """
    root = Path(directory)
    if not root.is_dir():
        raise PlanInvalid([PlanError(str(root), "not a directory: pass the folder holding the phase files")])
    errors: list[PlanError] = []
    warnings: list[PlanError] = []
    phases: list[Phase] = []
    for path in sorted(root.glob("*.md")):
        if not path.is_file():
            continue
        phase, file_errors, file_warnings = load_phase(path)
        errors.extend(file_errors)
        warnings.extend(file_warnings)
        if phase is not None:
            phases.append(phase)
    if not phases and not errors:
        errors.append(
            PlanError(
                str(root), "no phase files: expected *.md files starting with a '---' frontmatter block"
            )
        )
    names = {p.meta.plan for p in phases if p.meta.plan}
    if len(names) > 1:
        warnings.append(
            PlanError(str(root), f"phases name different plans: {', '.join(sorted(names))}", "plan")
        )
    errors.extend(_shared_checkpoints(phases))
    ids = {p.id for p in phases}
    external: dict[str, tuple[str, ...]] = {}
    nodes: list[PhaseNode] = []
    for p in phases:
        node = p.node()
        outside = tuple(d for d in node.depends_on if d not in ids and external_done and external_done(d))
        if outside:
            external[p.id] = outside
            node = replace(node, depends_on=tuple(d for d in node.depends_on if d not in outside))
        nodes.append(node)
    graph: PhaseGraph | None = None
    try:
        graph = PhaseGraph.build(nodes)
    except GraphError as exc:
        errors.extend(_graph_error(root, phases, problem) for problem in exc.problems)
    if errors or graph is None:
        raise PlanInvalid(errors, warnings)
    by_id = {p.id: p for p in phases}
    return Plan(directory=root, phases=by_id, graph=graph, warnings=warnings, external=external)


def _shared_checkpoints(phases: Sequence[Phase]) -> list[PlanError]:
    """Two phases declaring one ``checkpoint`` path would overwrite each other's state."""
    first: dict[str, Phase] = {}
    errors: list[PlanError] = []
    for phase in phases:
        declared = phase.meta.checkpoint
        if not declared:
            continue
        key = str(Path(declared).expanduser())
        other = first.setdefault(key, phase)
        if other is not phase:
            errors.append(
                PlanError(
                    str(phase.path),
                    f"checkpoint path {declared!r} is also the checkpoint of phase {other.id} "
                    f"({other.path.name}); give each phase its own path or remove the field",
                    "checkpoint",
                )
            )
    return errors


def _graph_error(root: Path, phases: Sequence[Phase], problem: GraphProblem) -> PlanError:
    field_by_kind = {
        "duplicate": "phase",
        "self_dependency": "depends_on",
        "unknown_dependency": "depends_on",
        "duplicate_dependency": "depends_on",
        "cycle": "depends_on",
        "group_dependency": "parallel_group",
        "group_cycle": "parallel_group",
        "wave_order": "wave",
    }
    path = str(root / problem.source) if problem.source else str(root)
    message = problem.message
    if problem.kind == "unknown_dependency":
        message += (
            "; if that phase was done outside this folder, run with `--assume-done <id>` or give it "
            "a checkpoint saying `status: done` (<state dir>/checkpoints/phase_<id>.toon)"
        )
    return PlanError(path, message, field_by_kind.get(problem.kind))


def plan_summary(plan: Plan) -> dict[str, Any]:
    """A JSON-ready description of the plan (ids, titles, dependencies, waves)."""
    return {
        "plan": plan.name,
        "directory": str(plan.directory),
        "phases": [
            {
                "phase": p.id,
                "title": p.title,
                "depends_on": list(p.meta.depends_on),
                "wave": plan.graph.wave_of[p.id],
                "parallel_group": p.meta.parallel_group,
                "file": p.path.name,
            }
            for p in plan.ordered()
        ],
        "waves": [list(w) for w in plan.graph.waves],
    }


def sorted_ids(ids: Sequence[str]) -> list[str]:
    """Phase ids in natural order."""
    return sorted(ids, key=natural_key)
