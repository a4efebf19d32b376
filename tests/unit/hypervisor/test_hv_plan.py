"""Plan loading: frontmatter validated by pydantic, errors name the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lib.hypervisor.plan import PlanInvalid, load_plan, split_frontmatter

REPO = Path(__file__).resolve().parents[3]
# A verbatim copy of the two real phase files in the project's reference material.
REFERENCE_PLAN = Path(__file__).resolve().parent / "reference-plan"
DEMO_PLAN = REPO / "examples" / "demo-plan"


def write(folder: Path, name: str, frontmatter: str, body: str = "# Phase\n\nDo it.\n") -> Path:
    path = folder / name
    path.write_text(f"---\n{frontmatter.strip()}\n---\n{body}")
    return path


def errors_of(folder: Path) -> list[str]:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(folder)
    return [str(e) for e in caught.value.errors]


@pytest.fixture
def reference_plan(tmp_path: Path) -> Path:
    """The two real phase files users wrote, in a scratch folder."""
    folder = tmp_path / "plan"
    shutil.copytree(REFERENCE_PLAN, folder)
    return folder


def test_the_reference_plan_reports_exactly_the_missing_phase_14(reference_plan: Path) -> None:
    with pytest.raises(PlanInvalid) as caught:
        load_plan(reference_plan)
    assert len(caught.value.errors) == 1
    error = caught.value.errors[0]
    assert error.path.endswith("05-phase-hypervisor-executable.md")
    assert error.field == "depends_on"
    assert "phase 15 depends on phase 14, which is not in the plan" in error.message
    assert caught.value.warnings == []


def test_the_reference_plan_fields_are_read_as_written(reference_plan: Path) -> None:
    path = reference_plan / "05-phase-hypervisor-executable.md"
    path.write_text(path.read_text().replace("depends_on: [11, 14]", "depends_on: [11]"))
    plan = load_plan(reference_plan)
    assert plan.name == "claude-code-kazuba-v2"
    assert plan.graph.order == ("11", "15")
    p15 = plan.phases["15"]
    assert p15.meta.depends_on == ["11"]
    assert p15.meta.version == "3.0"
    assert p15.meta.checkpoint == "checkpoints/phase_15.toon"
    assert p15.meta.validation_script == "validation/validate_phase_15.py"
    assert p15.meta.cross_refs[0].file == "01-phase-shared-infrastructure.md"
    assert p15.meta.cross_refs[0].relation == "depends_on"
    assert p15.meta.estimated_tokens == 15000
    assert p15.title == "Hypervisor Executable"
    assert "# Phase 15: Hypervisor Executable" in p15.body
    assert "---" not in p15.body.splitlines()[0]


def test_the_demo_plan_is_valid() -> None:
    plan = load_plan(DEMO_PLAN)
    assert len(plan.phases) >= 5
    assert plan.graph.waves == (("1",), ("2", "3", "5"), ("4",), ("6",))
    assert plan.warnings == []


def test_a_wrong_type_names_file_and_field(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "phase: 1\ntitle: A\nmax_attempts: many")
    write(tmp_path, "b.md", "phase: 2\ntitle: B\ndepends_on: [1]\nclaude: {max_turns: 0}")
    errors = errors_of(tmp_path)
    assert any("a.md: field 'max_attempts'" in e and "integer" in e for e in errors)
    assert any("b.md: field 'claude.max_turns'" in e for e in errors)


def test_a_missing_phase_id_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "title: A")
    assert any("a.md: field 'phase'" in e and "required" in e.lower() for e in errors_of(tmp_path))


@pytest.mark.parametrize("bad", ["true", "null", "''", "'two words'", "[1]"])
def test_phase_ids_must_be_numbers_or_single_words(tmp_path: Path, bad: str) -> None:
    write(tmp_path, "a.md", f"phase: {bad}\ntitle: A")
    assert any("field 'phase'" in e for e in errors_of(tmp_path))


def test_ids_and_dependencies_normalise_across_quoting(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "phase: 11\ntitle: A")
    write(tmp_path, "b.md", "phase: '12'\ntitle: B\ndepends_on: 11")
    write(tmp_path, "c.md", "phase: setup\ntitle: C\ndepends_on: ['11', 12]")
    plan = load_plan(tmp_path)
    assert plan.graph.order == ("11", "12", "setup")
    assert plan.phases["12"].meta.depends_on == ["11"]


def test_duplicate_ids_across_files_are_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "phase: 1\ntitle: A")
    write(tmp_path, "b.md", "phase: 1\ntitle: B")
    errors = errors_of(tmp_path)
    assert len(errors) == 1
    assert "b.md: field 'phase': duplicate phase id 1: also defined in a.md" in errors[0]


def test_a_cycle_is_reported_with_its_path(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "phase: 1\ntitle: A\ndepends_on: [2]")
    write(tmp_path, "b.md", "phase: 2\ntitle: B\ndepends_on: [1]")
    errors = errors_of(tmp_path)
    assert len(errors) == 1 and "dependency cycle: 1 -> 2 -> 1" in errors[0]


def test_invalid_yaml_reports_the_line(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nphase: 1\ntitle: [unclosed\n---\nbody\n")
    errors = errors_of(tmp_path)
    assert len(errors) == 1 and "a.md: invalid YAML" in errors[0]


def test_unclosed_frontmatter_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\nphase: 1\n")
    assert any("never closed" in e for e in errors_of(tmp_path))


def test_frontmatter_must_be_a_mapping(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("---\n- 1\n- 2\n---\n")
    assert any("must be a YAML mapping" in e for e in errors_of(tmp_path))


def test_files_without_frontmatter_are_not_phases(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# My plan\n\nNotes.\n")
    write(tmp_path, "a.md", "phase: 1\ntitle: A")
    assert list(load_plan(tmp_path).phases) == ["1"]


def test_an_empty_folder_is_an_invalid_plan(tmp_path: Path) -> None:
    assert any("no phase files" in e for e in errors_of(tmp_path))


def test_not_a_folder(tmp_path: Path) -> None:
    assert any("not a directory" in e for e in errors_of(tmp_path / "missing"))


def test_unknown_fields_are_warnings_naming_them(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "phase: 1\ntitle: A\ndepend_on: [2]")
    plan = load_plan(tmp_path)
    assert [(w.field, w.path.endswith("a.md")) for w in plan.warnings] == [("depend_on", True)]


def test_the_shell_executor_needs_a_command(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "phase: 1\ntitle: A\nexecutor: shell")
    assert any("field 'command'" in e for e in errors_of(tmp_path))


def test_title_falls_back_to_the_first_heading(tmp_path: Path) -> None:
    write(tmp_path, "a.md", "phase: 1", body="\n# Set things up\n\ntext\n")
    write(tmp_path, "b.md", "phase: 2", body="no heading\n")
    plan = load_plan(tmp_path)
    assert plan.phases["1"].title == "Set things up"
    assert plan.phases["2"].title == "Phase 2"


def test_the_digest_changes_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "a.md", "phase: 1\ntitle: A")
    before = load_plan(tmp_path).phases["1"].digest
    path.write_text(path.read_text() + "\nmore instructions\n")
    assert load_plan(tmp_path).phases["1"].digest != before


def test_split_frontmatter_handles_bom_and_crlf() -> None:
    assert split_frontmatter("\ufeff---\r\nphase: 1\r\n---\r\nbody") == ("phase: 1\r\n", "body")
    assert split_frontmatter("no frontmatter") is None
