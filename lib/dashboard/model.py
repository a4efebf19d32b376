"""What the dashboard shows, built from log records as they arrive (pure: no I/O, no clock).

:class:`DashboardModel` ingests the runtime records of ``hooks.jsonl`` (one per hook process: event,
session, tool, decision, reason, handlers, timings) and the events of the bus, and keeps

- the recent tool calls (a Pre record joined with its Post / PostToolUseFailure by ``tool_use_id``),
- per-session counts (prompts, tool calls, failures, denials, breaker openings) with subagents
  (``agent_id`` on a record) nested under their session,
- per-minute buckets of calls, denials and hook latencies for the plots.

Each ingested record that changes a tool call bumps :attr:`DashboardModel.seq` and queues the call's
row in :attr:`DashboardModel.changes`, which the server streams to the page.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, cast

from lib.cli._observe import percentile
from lib.usage.transcript import json_object

__all__ = ["DashboardModel", "SessionStats", "summarize_input"]

FEED_SIZE = 1000
"""Tool calls kept for the live feed (the newest)."""
CHANGES_SIZE = 5000
"""Changed rows kept for streaming; a client further behind reloads the snapshot."""
PROMPTS_KEPT = 5
PREVIEW_CHARS = 160

_DECISIONS = {"allow": "allowed", "deny": "denied", "ask": "asked", "defer": "deferred"}


def _clip(text: object, limit: int = PREVIEW_CHARS) -> str:
    value = text if isinstance(text, str) else "" if text is None else str(text)
    value = " ".join(value[: limit * 2].split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def summarize_input(tool_input: object) -> str:
    """One line for a tool call: the command, the path, the pattern or the URL it works on."""
    data = json_object(tool_input)
    for key in ("command", "file_path", "notebook_path", "path", "pattern", "url", "query", "prompt"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return _clip(value)
    return _clip(", ".join(f"{k}={v}" for k, v in list(data.items())[:3]))


def _minute(ts: object) -> str | None:
    return ts[:16] if isinstance(ts, str) and len(ts) >= 16 else None


def _bump(counter: str, *targets: object) -> None:
    """Add one to ``counter`` of each target that is not None."""
    for target in targets:
        if target is not None:
            setattr(target, counter, getattr(target, counter) + 1)


def _num(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(slots=True)
class AgentStats:
    """A subagent's activity inside its parent session."""

    agent_id: str
    agent_type: str | None = None
    tool_calls: int = 0
    failures: int = 0
    denials: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain data."""
        return asdict(self)


@dataclass(slots=True)
class SessionStats:
    """One Claude Code session as the logs tell it."""

    session_id: str
    first_ts: str = ""
    last_ts: str = ""
    model: str | None = None
    source: str | None = None
    ended: bool = False
    end_reason: str | None = None
    prompts: int = 0
    recent_prompts: deque[str] = field(default_factory=lambda: deque(maxlen=PROMPTS_KEPT))
    tool_calls: int = 0
    tools: dict[str, int] = field(default_factory=dict[str, int])
    failures: int = 0
    denials: int = 0
    asks: int = 0
    breaker_openings: int = 0
    agents: dict[str, AgentStats] = field(default_factory=dict[str, AgentStats])

    def agent(self, agent_id: str, agent_type: object = None) -> AgentStats:
        """The subagent ``agent_id`` of this session (created on first sight)."""
        stats = self.agents.get(agent_id)
        if stats is None:
            stats = self.agents[agent_id] = AgentStats(agent_id)
        if isinstance(agent_type, str) and agent_type:
            stats.agent_type = agent_type
        return stats

    def as_dict(self) -> dict[str, Any]:
        """Plain data: the fields in order, with the prompts as a list, the tools most used first and
        the subagents as a list."""
        return {
            **asdict(self),
            "recent_prompts": list(self.recent_prompts),
            "tools": dict(sorted(self.tools.items(), key=lambda kv: (-kv[1], kv[0]))),
            "agents": [a.as_dict() for a in self.agents.values()],
        }


@dataclass(slots=True)
class Bucket:
    """One minute of activity."""

    calls: int = 0
    denials: int = 0
    failures: int = 0
    latencies: list[float] = field(default_factory=list[float])


class DashboardModel:
    """The dashboard's state, fed record by record (see the module docstring)."""

    def __init__(self) -> None:
        self.calls: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.sessions: dict[str, SessionStats] = {}
        self.buckets: dict[str, Bucket] = {}
        self.changes: deque[tuple[int, dict[str, Any]]] = deque(maxlen=CHANGES_SIZE)
        self.seq = 0
        self.records = 0
        self.events = 0
        self.skipped: dict[str, int] = {}
        self._anonymous = 0

    # -- ingesting ------------------------------------------------------------------------------

    def _session(self, sid: str, ts: str) -> SessionStats:
        stats = self.sessions.get(sid)
        if stats is None:
            stats = self.sessions[sid] = SessionStats(sid, first_ts=ts)
        if ts and ts > stats.last_ts:
            stats.last_ts = ts
        return stats

    def _bucket(self, ts: object) -> Bucket | None:
        minute = _minute(ts)
        if minute is None:
            return None
        bucket = self.buckets.get(minute)
        if bucket is None:
            bucket = self.buckets[minute] = Bucket()
        return bucket

    def _changed(self, row: dict[str, Any]) -> None:
        self.seq += 1
        row["seq"] = self.seq
        self.changes.append((self.seq, row))

    def _call(self, use_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        row = self.calls.get(use_id)
        if row is None:
            row = self.calls[use_id] = {
                "id": use_id,
                "ts": record.get("ts"),
                "session_id": record.get("session_id"),
                "agent_id": None,
                "tool": record.get("tool") or "?",
                "input": "",
                "decision": "allowed",
                "by": [],
                "reason": None,
                "result": None,
                "error": None,
                "duration_ms": None,
                "hook_ms": None,
            }
            while len(self.calls) > FEED_SIZE:
                self.calls.popitem(last=False)
        return row

    def ingest_log(self, record: Mapping[str, Any]) -> None:
        """One record of ``hooks.jsonl`` (records of handlers, not of the runtime, are ignored)."""
        if not record or record.get("hook", "runtime") != "runtime":
            return
        event = record.get("event")
        if not isinstance(event, str):
            return
        self.records += 1
        ts = record.get("ts")
        ts = ts if isinstance(ts, str) else ""
        fields = json_object(record.get("fields"))
        bucket = self._bucket(ts)
        duration = _num(record.get("duration_ms"))
        if bucket is not None and duration is not None:
            bucket.latencies.append(duration)
        sid = record.get("session_id")
        session = self._session(sid, ts) if isinstance(sid, str) and sid else None
        agent_id = fields.get("agent_id")
        agent = (
            session.agent(agent_id, fields.get("agent_type"))
            if session is not None and isinstance(agent_id, str) and agent_id
            else None
        )
        if session is not None:
            if event == "SessionStart":
                session.ended = False
                model, source = fields.get("model"), fields.get("source")
                session.model = model if isinstance(model, str) else session.model
                session.source = source if isinstance(source, str) else None
            elif event == "SessionEnd":
                session.ended = True
                reason = fields.get("end_reason")
                session.end_reason = reason if isinstance(reason, str) else None
            elif event == "UserPromptSubmit":
                session.prompts += 1
                session.recent_prompts.append(_clip(fields.get("prompt")))
            elif event == "SubagentStart" and agent is None and isinstance(agent_id, str):
                session.agent(agent_id, fields.get("agent_type"))
        if event not in ("PreToolUse", "PostToolUse", "PostToolUseFailure"):
            return
        use_id = record.get("tool_use_id")
        if not isinstance(use_id, str) or not use_id:
            self._anonymous += 1
            use_id = f"#anon{self._anonymous}"
        known = use_id in self.calls
        row = self._call(use_id, record)
        if agent_id and isinstance(agent_id, str):
            row["agent_id"] = agent_id
        tool = record.get("tool")
        if isinstance(tool, str) and tool:
            row["tool"] = tool
        if not row["input"]:
            row["input"] = summarize_input(fields.get("tool_input"))
        if event == "PreToolUse":
            row["ts"] = ts or row["ts"]
            row["hook_ms"] = duration
            decision = fields.get("decision")
            label = _DECISIONS.get(decision, "allowed") if isinstance(decision, str) else "allowed"
            row["decision"] = label
            if label != "allowed":
                row["reason"] = _clip(fields.get("reason"), 500)
                handlers = fields.get("handlers")
                row["by"] = [
                    str(h.get("name"))
                    for h in map(
                        json_object, cast("list[object]", handlers) if isinstance(handlers, list) else ()
                    )
                    if h.get("decision") == decision
                ]
            if not known:
                _bump("calls", bucket)
                _bump("tool_calls", session, agent)
                if session is not None:
                    session.tools[row["tool"]] = session.tools.get(row["tool"], 0) + 1
            if label == "denied":
                _bump("denials", bucket, session, agent)
            elif label == "asked":
                _bump("asks", session)
        else:
            failed = event == "PostToolUseFailure"
            interrupted = failed and fields.get("is_interrupt") is True
            row["result"] = "interrupted" if interrupted else "failed" if failed else "ok"
            row["duration_ms"] = _num(fields.get("tool_duration_ms"))
            if failed:
                row["error"] = _clip(fields.get("error"), 300)
                if not interrupted:
                    _bump("failures", bucket, session, agent)
        self.calls.move_to_end(use_id)
        self._changed(row)

    def ingest_event(self, record: Mapping[str, Any]) -> None:
        """One event of the bus (breaker openings, per session; an empty record only counts)."""
        self.events += 1
        if record and record.get("topic") == "breaker.opened":
            sid = record.get("session_id")
            if isinstance(sid, str) and sid:
                ts = record.get("ts")
                self._session(sid, ts if isinstance(ts, str) else "").breaker_openings += 1

    def count_skipped(self, source: str, n: int) -> None:
        """Note ``n`` more torn or corrupt lines in ``source``."""
        if n:
            self.skipped[source] = self.skipped.get(source, 0) + n

    # -- reading --------------------------------------------------------------------------------

    def changes_since(self, seq: int) -> list[dict[str, Any]] | None:
        """The rows changed after ``seq`` (latest version of each), or None if some were dropped."""
        if seq >= self.seq:
            return []
        if not self.changes or self.changes[0][0] > seq + 1:
            return None
        latest: dict[str, dict[str, Any]] = {}
        for n, row in self.changes:
            if n > seq:
                latest[row["id"]] = row
        return [dict(row) for row in latest.values()]

    def feed(self) -> list[dict[str, Any]]:
        """The recent tool calls, newest last."""
        return [dict(row) for row in self.calls.values()]

    def timeline(self, max_points: int = 120) -> dict[str, Any]:
        """Calls, denials, failures and hook latency p50/p95 over time, in at most ``max_points``
        buckets of whole minutes."""
        minutes = sorted(self.buckets)
        if not minutes:
            return {"bucket_minutes": 1, "points": []}
        step = max(1, -(-len(minutes) // max_points))
        points: list[dict[str, Any]] = []
        for start in range(0, len(minutes), step):
            group = minutes[start : start + step]
            merged = Bucket()
            for minute in group:
                b = self.buckets[minute]
                merged.calls += b.calls
                merged.denials += b.denials
                merged.failures += b.failures
                merged.latencies.extend(b.latencies)
            points.append(
                {
                    "t": group[0],
                    "calls": merged.calls,
                    "denials": merged.denials,
                    "failures": merged.failures,
                    "hooks": len(merged.latencies),
                    "p50_ms": round(percentile(merged.latencies, 50), 3),
                    "p95_ms": round(percentile(merged.latencies, 95), 3),
                }
            )
        return {"bucket_minutes": step, "points": points}

    def session_rows(self) -> list[dict[str, Any]]:
        """Every session seen in the logs, most recent first."""
        rows = [s.as_dict() for s in self.sessions.values()]
        rows.sort(key=lambda r: str(r["last_ts"]), reverse=True)
        return rows

    def ingest_many(self, source: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Ingest records of ``source`` (``hooks`` or ``events``)."""
        ingest = self.ingest_log if source == "hooks" else self.ingest_event
        for record in records:
            ingest(record)
