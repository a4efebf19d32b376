"""Task capture logic: TodoWrite lists, TaskCreate/TaskUpdate/TaskList/TaskGet, hook events."""

from __future__ import annotations

from lib.tasks import MAX_TASKS, apply_hook_event, capture, list_sessions, session_tasks

SID = "5921294c-55cd-4911-91ca-88811f0d9977"


def todos(*items: tuple[str, str]) -> dict[str, object]:
    return {"todos": [{"content": c, "status": s, "activeForm": c + "ing"} for c, s in items]}


def kinds(changes: list) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
    return [(c.kind, str(c.task["id"]), str(c.task["status"])) for c in changes]


class TestTodoWrite:
    def test_first_list_creates_every_item(self) -> None:
        state: dict[str, object] = {}
        changes = capture(
            state, SID, "TodoWrite", todos(("Parse", "in_progress"), ("Test", "pending")), {}, now=1.0
        )
        assert kinds(changes) == [("created", "todo-1", "in_progress"), ("created", "todo-2", "pending")]
        assert [t["subject"] for t in session_tasks(state, SID)] == ["Parse", "Test"]
        assert session_tasks(state, SID)[0]["active_form"] == "Parseing"

    def test_status_changes_are_updates_and_completion_is_reported(self) -> None:
        state: dict[str, object] = {}
        capture(state, SID, "TodoWrite", todos(("Parse", "in_progress"), ("Test", "pending")), {}, now=1.0)
        changes = capture(
            state, SID, "TodoWrite", todos(("Parse", "completed"), ("Test", "in_progress")), {}, now=2.0
        )
        assert kinds(changes) == [
            ("updated", "todo-1", "completed"),
            ("completed", "todo-1", "completed"),
            ("updated", "todo-2", "in_progress"),
        ]
        assert changes[0].previous_status == "in_progress" and changes[0].changed == ["status"]
        parse = session_tasks(state, SID)[0]
        assert parse["completed_at"] == 2.0 and parse["created_at"] == 1.0

    def test_unchanged_list_changes_nothing(self) -> None:
        state: dict[str, object] = {}
        capture(state, SID, "TodoWrite", todos(("Parse", "pending")), {}, now=1.0)
        assert capture(state, SID, "TodoWrite", todos(("Parse", "pending")), {}, now=2.0) == []

    def test_dropped_items_are_marked_deleted_and_hidden(self) -> None:
        state: dict[str, object] = {}
        capture(state, SID, "TodoWrite", todos(("A", "pending"), ("B", "pending")), {}, now=1.0)
        changes = capture(state, SID, "TodoWrite", todos(("A", "pending"), ("C", "pending")), {}, now=2.0)
        assert kinds(changes) == [("created", "todo-3", "pending"), ("updated", "todo-2", "deleted")]
        assert [t["subject"] for t in session_tasks(state, SID)] == ["A", "C"]
        assert len(session_tasks(state, SID, include_deleted=True)) == 3

    def test_an_item_created_done_is_created_and_completed(self) -> None:
        state: dict[str, object] = {}
        changes = capture(state, SID, "TodoWrite", todos(("Done already", "completed")), {}, now=1.0)
        assert [c.kind for c in changes] == ["created", "completed"]

    def test_malformed_input_is_ignored(self) -> None:
        state: dict[str, object] = {}
        assert capture(state, SID, "TodoWrite", {"todos": "nope"}, None, now=1.0) == []
        bad = {"todos": [None, 3, {"content": ""}, {"status": "pending"}, {"content": "ok", "status": 7}]}
        assert kinds(capture(state, SID, "TodoWrite", bad, None, now=1.0)) == [
            ("created", "todo-1", "pending")
        ]


class TestTaskTools:
    def test_create_takes_the_id_from_the_response(self) -> None:
        state: dict[str, object] = {}
        changes = capture(
            state, SID, "TaskCreate", {"subject": "Add pagination", "description": "limit/offset"},
            {"task": {"id": "3", "subject": "Add pagination"}}, now=1.0, tool_use_id="toolu_1",
        )  # fmt: skip
        assert kinds(changes) == [("created", "3", "pending")]
        task = session_tasks(state, SID)[0]
        assert (task["subject"], task["description"], task["source"]) == (
            "Add pagination",
            "limit/offset",
            "TaskCreate",
        )

    def test_update_moves_status_and_merges_blockers(self) -> None:
        state: dict[str, object] = {}
        capture(state, SID, "TaskCreate", {"subject": "A"}, {"task": {"id": "1"}}, now=1.0)
        changes = capture(state, SID, "TaskUpdate", {"taskId": "1", "status": "in_progress", "addBlockedBy": ["2"]},
                          {"success": True, "taskId": "1"}, now=2.0)  # fmt: skip
        assert kinds(changes) == [("updated", "1", "in_progress")]
        assert set(changes[0].changed) == {"status", "blocked_by"}
        capture(
            state, SID, "TaskUpdate", {"taskId": "1", "addBlockedBy": ["2", "4"]}, {"success": True}, now=3.0
        )
        assert session_tasks(state, SID)[0]["blocked_by"] == ["2", "4"]
        done = capture(
            state, SID, "TaskUpdate", {"taskId": "1", "status": "completed"}, {"success": True}, now=4.0
        )
        assert [c.kind for c in done] == ["updated", "completed"]

    def test_refused_update_changes_nothing(self) -> None:
        state: dict[str, object] = {}
        capture(state, SID, "TaskCreate", {"subject": "A"}, {"task": {"id": "1"}}, now=1.0)
        assert capture(state, SID, "TaskUpdate", {"taskId": "1", "status": "completed"},
                       {"success": False, "error": "not found"}, now=2.0) == []  # fmt: skip

    def test_update_of_a_task_created_before_capture_creates_it(self) -> None:
        state: dict[str, object] = {}
        changes = capture(state, SID, "TaskUpdate", {"taskId": "9", "status": "in_progress", "subject": "Old"}, {},
                          now=1.0)  # fmt: skip
        assert kinds(changes) == [("created", "9", "in_progress")]

    def test_list_and_get_reconcile(self) -> None:
        state: dict[str, object] = {}
        capture(state, SID, "TaskCreate", {"subject": "A"}, {"task": {"id": "1"}}, now=1.0)
        listing = {"tasks": [{"id": "1", "subject": "A", "status": "completed", "blockedBy": []},
                             {"id": "2", "subject": "B", "status": "pending", "blockedBy": ["1"]}]}  # fmt: skip
        changes = capture(state, SID, "TaskList", {}, listing, now=2.0)
        assert kinds(changes) == [("updated", "1", "completed"), ("completed", "1", "completed"),
                                  ("created", "2", "pending")]  # fmt: skip
        got = capture(state, SID, "TaskGet", {"taskId": "2"}, {"task": {"id": "2", "subject": "B2", "status": "pending",
                                                                         "blocks": [], "blockedBy": []}}, now=3.0)  # fmt: skip
        assert [(c.kind, c.changed) for c in got] == [("updated", ["subject", "blocked_by", "blocks"])]

    def test_each_tool_call_is_applied_once(self) -> None:
        state: dict[str, object] = {}
        args = (state, SID, "TaskCreate", {"subject": "A"}, {"task": {"id": "1"}})
        assert len(capture(*args, now=1.0, tool_use_id="toolu_x")) == 1
        assert capture(*args, now=2.0, tool_use_id="toolu_x") == []

    def test_other_tools_and_missing_sessions_are_ignored(self) -> None:
        state: dict[str, object] = {}
        assert capture(state, SID, "Bash", {"command": "ls"}, {}, now=1.0) == []
        assert capture(state, "", "TodoWrite", todos(("A", "pending")), {}, now=1.0) == []
        assert state == {}


def test_hook_events() -> None:
    state: dict[str, object] = {}
    created = apply_hook_event(state, SID, "TaskCreated", {"task_id": "3", "task_subject": "S", "task_description": "D"},
                               now=1.0)  # fmt: skip
    assert kinds(created) == [("created", "3", "pending")]
    completed = apply_hook_event(state, SID, "TaskCompleted", {"task_id": "3", "task_subject": "S"}, now=2.0)
    assert [c.kind for c in completed] == ["updated", "completed"]
    assert apply_hook_event(state, SID, "Stop", {"task_id": "3"}, now=3.0) == []


def test_payloads_name_the_task() -> None:
    state: dict[str, object] = {}
    (change,) = capture(state, SID, "TaskCreate", {"subject": "A"}, {"task": {"id": "1"}}, now=1.0)
    assert change.topic == "task.created"
    assert change.payload() == {"session_id": SID, "task_id": "1", "subject": "A", "status": "pending",
                                "source": "TaskCreate"}  # fmt: skip


def test_sessions_are_listed_newest_first_and_bounded() -> None:
    state: dict[str, object] = {}
    for i in range(3):
        capture(state, f"s{i}", "TodoWrite", todos(("A", "pending")), {}, now=float(i))
    assert [sid for sid, _ in list_sessions(state)] == ["s2", "s1", "s0"]
    big = {"todos": [{"content": f"t{i}", "status": "pending"} for i in range(MAX_TASKS + 20)]}
    capture(state, "s9", "TodoWrite", big, {}, now=9.0)
    assert len(session_tasks(state, "s9")) == MAX_TASKS
