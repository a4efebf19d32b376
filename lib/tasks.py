"""Task capture: Claude's todo list and tasks, mirrored per session into ``.claude/state/tasks.json``.

Claude Code keeps work items through tools; their inputs and results arrive in the hook payloads:

- ``TodoWrite`` ``{"todos": [{"content", "status", "activeForm"}]}`` replaces the whole list each time
  (no ids: items are matched by their text; an item that disappears is marked ``deleted``);
- ``TaskCreate`` ``{"subject", "description", "activeForm"?, "metadata"?}`` answers
  ``{"task": {"id", "subject"}}``; ``TaskUpdate`` ``{"taskId", "status"? (pending, in_progress,
  completed, deleted), "subject"?, "description"?, "owner"?, "addBlocks"?, "addBlockedBy"?, ...}``;
  ``TaskList`` and ``TaskGet`` answer the current state, which is reconciled into the store;
- the ``TaskCreated`` / ``TaskCompleted`` hook events (``task_id``, ``task_subject``, ...).

The functions here are pure: they take the store's state (a dict), the tool input/response and the
time, change the state and return :class:`TaskChange` records, which the hook publishes as
``task.created`` / ``task.updated`` / ``task.completed``. Each tool call is applied once (its
``tool_use_id`` is remembered). The store keeps the 200 most recent sessions, 500 tasks each.
"""

from __future__ import annotations

from lib.plain_data import json_list, json_object, nested_object

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "STORE",
    "TOOLS",
    "TOPICS",
    "TaskChange",
    "apply_hook_event",
    "capture",
    "list_sessions",
    "session_tasks",
]

#: The state store (``.claude/state/tasks.json``).
STORE = "tasks"
#: Tools whose calls are captured.
TOOLS = ("TodoWrite", "TaskCreate", "TaskUpdate", "TaskList", "TaskGet")
#: Bus topics, by change kind.
TOPICS = {"created": "task.created", "updated": "task.updated", "completed": "task.completed"}
STATUSES = ("pending", "in_progress", "completed", "deleted")
MAX_SESSIONS = 200
MAX_TASKS = 500
_SEEN = 64


class TaskChange:
    """One change to one task: ``kind`` is ``created``, ``updated`` or ``completed``."""

    __slots__ = ("changed", "kind", "previous_status", "session_id", "task")

    def __init__(
        self,
        kind: str,
        session_id: str,
        task: dict[str, object],
        *,
        changed: list[str] | None = None,
        previous_status: str | None = None,
    ) -> None:
        self.kind = kind
        self.session_id = session_id
        self.task = dict(task)
        self.changed = changed or []
        self.previous_status = previous_status

    @property
    def topic(self) -> str:
        """The bus topic for this change."""
        return TOPICS[self.kind]

    def payload(self) -> dict[str, object]:
        """The bus event payload."""
        out: dict[str, object] = {
            "session_id": self.session_id,
            "task_id": self.task.get("id"),
            "subject": self.task.get("subject"),
            "status": self.task.get("status"),
            "source": self.task.get("source"),
        }
        if self.changed:
            out["changed"] = self.changed
        if self.previous_status is not None:
            out["previous_status"] = self.previous_status
        return out

    def __repr__(self) -> str:
        return f"TaskChange({self.kind!r}, {self.task.get('id')!r}, {self.task.get('status')!r})"


def _status(value: object, default: str = "pending") -> str:
    if isinstance(value, str) and value:
        return value if value in STATUSES else value[:40]
    return default


def _text(value: object, limit: int = 2000) -> str | None:
    """Text kept in the task store: cut to ``limit`` and without secrets (:mod:`lib.redaction`)."""
    if isinstance(value, str):
        from lib.redaction import redact_text

        return redact_text(value[: limit + 512])[:limit]
    return None


def _ids(value: object) -> list[str]:
    items = json_list(value)
    if items is None:
        return []
    return [str(v)[:80] for v in items if isinstance(v, (str, int)) and not isinstance(v, bool)][:100]


def _session(state: dict[str, object], session_id: str, now: float) -> dict[str, object]:
    sessions = nested_object(state, "sessions")
    entry: dict[str, object] | None = json_object(sessions.get(session_id))
    if entry is None:
        entry = {"first_seen": now, "tasks": {}, "seq": 0, "seen": []}
        sessions[session_id] = entry
        if len(sessions) > MAX_SESSIONS:
            oldest = sorted(sessions, key=lambda s: _num(sessions[s], "updated"))[
                : len(sessions) - MAX_SESSIONS
            ]
            for sid in oldest:
                if sid != session_id:
                    del sessions[sid]
    nested_object(entry, "tasks")  # a value that is not an object is replaced by {}
    entry["updated"] = now
    return entry


def _num(entry: object, key: str) -> float:
    fields = json_object(entry)
    value = fields.get(key) if fields is not None else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _tasks(session: dict[str, object]) -> dict[str, dict[str, object]]:
    return session["tasks"]  # type: ignore[return-value]


def _new_task(
    session: dict[str, object], task_id: str, *, source: str, now: float, fields: Mapping[str, object]
) -> dict[str, object] | None:
    tasks = _tasks(session)
    if len(tasks) >= MAX_TASKS:
        return None
    seq = int(_num(session, "seq")) + 1
    session["seq"] = seq
    task: dict[str, object] = {
        "id": task_id,
        "subject": "",
        "status": "pending",
        "source": source,
        "created_at": now,
        "updated_at": now,
        "order": seq,
    }
    task.update({k: v for k, v in fields.items() if v is not None})
    if task["status"] == "completed":
        task["completed_at"] = now
    tasks[task_id] = task
    return task


def _update(
    session_id: str, task: dict[str, object], fields: Mapping[str, object], now: float
) -> list[TaskChange]:
    """Apply ``fields`` to ``task``; the changes it makes (updated, plus completed on completion)."""
    changed = [k for k, v in fields.items() if v is not None and task.get(k) != v]
    if not changed:
        return []
    previous = str(task.get("status", "pending"))
    for k in changed:
        task[k] = fields[k]
    task["updated_at"] = now
    out = [TaskChange("updated", session_id, task, changed=changed, previous_status=previous)]
    if "status" in changed and task["status"] == "completed":
        task["completed_at"] = now
        out.append(TaskChange("completed", session_id, task, previous_status=previous))
    return out


def _created(session_id: str, task: dict[str, object]) -> list[TaskChange]:
    out = [TaskChange("created", session_id, task)]
    if task.get("status") == "completed":
        out.append(TaskChange("completed", session_id, task))
    return out


def _upsert(
    session: dict[str, object],
    session_id: str,
    task_id: str,
    fields: Mapping[str, object],
    *,
    source: str,
    now: float,
) -> list[TaskChange]:
    task = _tasks(session).get(task_id)
    if task is None:
        new = _new_task(session, task_id, source=source, now=now, fields=fields)
        return _created(session_id, new) if new is not None else []
    return _update(session_id, task, fields, now)


# -- per tool -------------------------------------------------------------------------------------


def _todowrite(
    session: dict[str, object], sid: str, tool_input: Mapping[str, object], now: float
) -> list[TaskChange]:
    todos = json_list(tool_input.get("todos"))
    if todos is None:
        return []
    tasks = _tasks(session)
    by_text = {
        str(t.get("subject")): t
        for t in sorted(tasks.values(), key=lambda t: _num(t, "order"))
        if t.get("source") == "TodoWrite" and t.get("status") != "deleted"
    }
    out: list[TaskChange] = []
    listed: set[str] = set()
    for todo in todos:
        item = json_object(todo)
        if item is None:
            continue
        content = _text(item.get("content"))
        if not content:
            continue
        fields = {
            "subject": content,
            "status": _status(item.get("status")),
            "active_form": _text(item.get("activeForm"), 200),
        }
        existing = by_text.get(content)
        if existing is None:
            seq = int(_num(session, "todo_seq")) + 1
            session["todo_seq"] = seq
            new = _new_task(session, f"todo-{seq}", source="TodoWrite", now=now, fields=fields)
            if new is not None:
                out.extend(_created(sid, new))
                listed.add(str(new["id"]))
        else:
            out.extend(_update(sid, existing, fields, now))
            listed.add(str(existing["id"]))
    for task in by_text.values():  # items dropped from the list: kept for history, marked deleted
        if str(task["id"]) not in listed:
            out.extend(_update(sid, task, {"status": "deleted"}, now))
    return out


def _task_create(
    session: dict[str, object], sid: str, tool_input: Mapping[str, object], response: object, tool_use_id: str | None,
    now: float,
) -> list[TaskChange]:  # fmt: skip
    task_id = None
    body = json_object(response)
    task = json_object(body.get("task")) if body is not None else None
    if task is not None and isinstance(task.get("id"), (str, int)):
        task_id = str(task["id"])
    if task_id is None:
        task_id = f"pending-{tool_use_id or int(now * 1000)}"
    fields = {
        "subject": _text(tool_input.get("subject")) or "",
        "description": _text(tool_input.get("description")),
        "active_form": _text(tool_input.get("activeForm"), 200),
    }
    return _upsert(session, sid, task_id, fields, source="TaskCreate", now=now)


def _task_update(
    session: dict[str, object], sid: str, tool_input: Mapping[str, object], response: object, now: float
) -> list[TaskChange]:
    task_id = tool_input.get("taskId")
    if not isinstance(task_id, (str, int)) or isinstance(task_id, bool):
        return []
    body = json_object(response)
    if body is not None and body.get("success") is False:
        return []  # the update was refused (unknown id, invalid transition): nothing changed
    task_id = str(task_id)
    fields: dict[str, object] = {
        "subject": _text(tool_input.get("subject")),
        "description": _text(tool_input.get("description")),
        "active_form": _text(tool_input.get("activeForm"), 200),
        "owner": _text(tool_input.get("owner"), 200),
    }
    if "status" in tool_input:
        fields["status"] = _status(tool_input.get("status"))
    existing = _tasks(session).get(task_id)
    for key, add in (("blocks", "addBlocks"), ("blocked_by", "addBlockedBy")):
        extra = _ids(tool_input.get(add))
        if extra:
            current = _ids(existing.get(key)) if existing else []
            fields[key] = current + [i for i in extra if i not in current]
    return _upsert(session, sid, task_id, fields, source="TaskUpdate", now=now)


def _task_snapshot(
    session: dict[str, object], sid: str, items: Iterable[object], now: float
) -> list[TaskChange]:
    """TaskList / TaskGet results: the authoritative state of the tasks they show."""
    out: list[TaskChange] = []
    for shown in items:
        item = json_object(shown)
        if item is None or not isinstance(item.get("id"), (str, int)):
            continue
        fields: dict[str, object] = {
            "subject": _text(item.get("subject")),
            "description": _text(item.get("description")),
            "status": _status(item.get("status")) if "status" in item else None,
            "owner": _text(item.get("owner"), 200),
        }
        if "blockedBy" in item:
            fields["blocked_by"] = _ids(item.get("blockedBy"))
        if "blocks" in item:
            fields["blocks"] = _ids(item.get("blocks"))
        out.extend(_upsert(session, sid, str(item["id"]), fields, source="TaskList", now=now))
    return out


def _already_applied(session: dict[str, object], tool_use_id: str | None) -> bool:
    if not tool_use_id:
        return False
    seen: list[object] | None = json_list(session.get("seen"))
    if seen is None:
        seen = session["seen"] = []
    if tool_use_id in seen:
        return True
    seen.append(tool_use_id)
    del seen[:-_SEEN]
    return False


def capture(
    state: dict[str, object],
    session_id: str,
    tool_name: str,
    tool_input: Mapping[str, object],
    tool_response: object,
    *,
    now: float,
    tool_use_id: str | None = None,
) -> list[TaskChange]:
    """Apply one successful task-tool call to ``state``; returns the changes (empty if none)."""
    if tool_name not in TOOLS or not session_id:
        return []
    session = _session(state, session_id, now)
    if _already_applied(session, tool_use_id):
        return []
    if tool_name == "TodoWrite":
        return _todowrite(session, session_id, tool_input, now)
    if tool_name == "TaskCreate":
        return _task_create(session, session_id, tool_input, tool_response, tool_use_id, now)
    if tool_name == "TaskUpdate":
        return _task_update(session, session_id, tool_input, tool_response, now)
    response = json_object(tool_response)
    if response is None:
        return []
    tasks = json_list(response.get("tasks"))
    if tool_name == "TaskList" and tasks is not None:
        return _task_snapshot(session, session_id, tasks, now)
    task = json_object(response.get("task"))
    if tool_name == "TaskGet" and task is not None:
        return _task_snapshot(session, session_id, [task], now)
    return []


def apply_hook_event(
    state: dict[str, object], session_id: str, event_name: str, payload: Mapping[str, object], *, now: float
) -> list[TaskChange]:
    """Apply a ``TaskCreated`` or ``TaskCompleted`` hook event (``task_id``, ``task_subject``, ...)."""
    task_id = payload.get("task_id")
    if (
        event_name not in ("TaskCreated", "TaskCompleted")
        or not isinstance(task_id, (str, int))
        or not session_id
    ):
        return []
    session = _session(state, session_id, now)
    fields: dict[str, object] = {
        "subject": _text(payload.get("task_subject")),
        "description": _text(payload.get("task_description")),
        "owner": _text(payload.get("teammate_name"), 200),
    }
    if event_name == "TaskCompleted":
        fields["status"] = "completed"
    return _upsert(session, session_id, str(task_id), fields, source=event_name, now=now)


# -- reading --------------------------------------------------------------------------------------


def session_tasks(
    state: Mapping[str, object], session_id: str, *, include_deleted: bool = False
) -> list[dict[str, object]]:
    """The tasks of one session in creation order."""
    sessions = json_object(state.get("sessions"))
    entry = json_object(sessions.get(session_id)) if sessions is not None else None
    tasks = json_object(entry.get("tasks")) if entry is not None else None
    if tasks is None:
        return []
    objects = (json_object(t) for t in tasks.values())
    out = [t for t in objects if t is not None and (include_deleted or t.get("status") != "deleted")]
    return sorted(out, key=lambda t: _num(t, "order"))


def list_sessions(state: Mapping[str, object]) -> list[tuple[str, dict[str, object]]]:
    """(session id, entry) pairs, most recently updated first."""
    sessions = json_object(state.get("sessions"))
    if sessions is None:
        return []
    items: list[tuple[str, dict[str, object]]] = []
    for sid, value in sessions.items():
        entry = json_object(value)
        if entry is not None:
            items.append((sid, entry))
    return sorted(items, key=lambda kv: -_num(kv[1], "updated"))
