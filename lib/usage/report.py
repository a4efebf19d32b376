"""Per-session and per-model tokens and cost, from the transcript marks and the transcripts.

:func:`usage_report` is what ``status``, ``metrics`` and the dashboard call. A :class:`ReportCache`
keeps parsed transcripts between calls, so a long-running reader (the dashboard) parses each
transcript line once as the session grows.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from lib.usage.marks import MARKS_STORE
from lib.usage.prices import PRICES_SOURCE, PRICES_TAKEN, ModelPrice, cost_of, price_for, prices_with
from lib.usage.transcript import TokenCounts, TranscriptUsage, json_object, read_transcript

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lib.store import StateStore

__all__ = [
    "MARKS_STORE",
    "ReportCache",
    "SessionUsage",
    "UsageReport",
    "format_cost",
    "usage_lines",
    "usage_report",
]


def _cost(counts: TokenCounts, price: ModelPrice | None) -> float | None:
    if price is None:
        return None
    return cost_of(
        price,
        input_tokens=counts.input,
        output_tokens=counts.output,
        cache_write_5m_tokens=counts.cache_write_5m,
        cache_write_1h_tokens=counts.cache_write_1h,
        cache_read_tokens=counts.cache_read,
    )


@dataclass(slots=True)
class SessionUsage:
    """One session: its transcript's usage plus its subagents' (agent transcripts)."""

    session_id: str
    transcript_path: str | None
    by_model: dict[str, TokenCounts] = field(default_factory=dict[str, TokenCounts])
    agents: dict[str, dict[str, TokenCounts]] = field(default_factory=dict[str, dict[str, TokenCounts]])
    skipped_lines: int = 0
    missing: bool = False

    def totals(self) -> TokenCounts:
        """Every model's tokens, subagents included."""
        out = TokenCounts()
        for counts in self.by_model.values():
            out.add(counts)
        for models in self.agents.values():
            for counts in models.values():
                out.add(counts)
        return out

    def models(self) -> dict[str, TokenCounts]:
        """Tokens per model, subagents included."""
        out: dict[str, TokenCounts] = {}
        for source in (self.by_model, *self.agents.values()):
            for model, counts in source.items():
                out.setdefault(model, TokenCounts()).add(counts)
        return out

    def as_dict(self, table: Mapping[str, ModelPrice]) -> dict[str, object]:
        """Plain data with costs in US dollars (``cost_usd`` None when no model had a price)."""
        models: dict[str, object] = {}
        cost = 0.0
        priced = False
        unpriced: list[str] = []
        for model, counts in sorted(self.models().items()):
            model_cost = _cost(counts, price_for(model, table))
            if model_cost is None:
                unpriced.append(model)
            else:
                priced = True
                cost += model_cost
            models[model] = {**counts.as_dict(), "cost_usd": model_cost}
        return {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            **self.totals().as_dict(),
            "cost_usd": round(cost, 6) if priced else None,
            "unpriced_models": unpriced,
            "models": models,
            "subagents": len(self.agents),
            "skipped_lines": self.skipped_lines,
            "transcript_missing": self.missing,
        }


@dataclass(slots=True)
class UsageReport:
    """Every marked session's usage, and the price table used."""

    sessions: dict[str, SessionUsage]
    prices: dict[str, ModelPrice]

    def as_dict(self) -> dict[str, object]:
        """Plain data: per session, per model, and the grand total."""
        sessions = {sid: s.as_dict(self.prices) for sid, s in self.sessions.items()}
        total = TokenCounts()
        for s in self.sessions.values():
            total.add(s.totals())
        costs = [v["cost_usd"] for v in sessions.values() if isinstance(v["cost_usd"], float)]
        return {
            "sessions": sessions,
            "total": {**total.as_dict(), "cost_usd": round(sum(costs), 6) if costs else None},
            "prices_taken": PRICES_TAKEN,
            "prices_source": PRICES_SOURCE,
        }


class ReportCache:
    """Parsed transcripts by path, resumed as they grow (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parsed: dict[str, TranscriptUsage] = {}

    def read(self, path: str, end: int | None) -> TranscriptUsage:
        """The usage of ``path`` up to ``end``, parsing only what was not parsed before."""
        with self._lock:
            previous = self._parsed.get(path)
        if previous is not None and end is not None and previous.position > end:
            previous = None  # the file was replaced by a shorter one
        usage = read_transcript(path, end=end, resume=previous)
        with self._lock:
            self._parsed[path] = usage
        return usage


def _mark(entry: object) -> tuple[str, int | None] | None:
    data = json_object(entry)
    path, offset = data.get("transcript_path"), data.get("offset")
    if not isinstance(path, str):
        return None
    return path, offset if isinstance(offset, int) and not isinstance(offset, bool) else None


def usage_report(
    marks: Mapping[str, object] | StateStore,
    config: Mapping[str, object] | None = None,
    *,
    cache: ReportCache | None = None,
    live: bool = False,
) -> UsageReport:
    """The usage of every session in the marks (the ``transcripts`` store, or its content), priced
    with the table and the config's ``[usage.prices]``. Transcripts are read up to the length noted at
    the session's last Stop/SessionEnd; with ``live``, to their current end."""
    data = marks if isinstance(marks, Mapping) else marks.read()
    usage_cfg = json_object((config or {}).get("usage"))
    table = prices_with(json_object(usage_cfg.get("prices")))
    cache = cache or ReportCache()
    sessions: dict[str, SessionUsage] = {}
    if usage_cfg.get("enabled", True) is False:
        return UsageReport(sessions, table)
    for sid, entry in json_object(data.get("sessions")).items():
        mark = _mark(entry)
        if mark is None:
            continue
        main = cache.read(mark[0], None if live else mark[1])
        session = SessionUsage(
            str(sid), mark[0], dict(main.by_model), skipped_lines=main.skipped, missing=main.missing
        )
        for agent_id, agent_entry in json_object(json_object(entry).get("agents")).items():
            agent_mark = _mark(agent_entry)
            if agent_mark is None:
                continue
            sub = cache.read(agent_mark[0], None if live else agent_mark[1])
            session.agents[str(agent_id)] = dict(sub.by_model)
            session.skipped_lines += sub.skipped
        sessions[str(sid)] = session
    return UsageReport(sessions, table)


def _model_label(model: object) -> str:
    """A model id for a terminal (a transcript is not ours: controls shown as escapes)."""
    from lib.cli._terminal import escape

    return escape(model)[:60]


def format_cost(cost: object) -> str:
    """``$0.0226``, or ``-`` when unknown."""
    if not isinstance(cost, (int, float)):
        return "-"
    return f"${cost:.4f}" if cost < 1 else f"${cost:,.2f}"


def usage_lines(report: Mapping[str, object], session: str | None = None) -> list[str]:
    """The text lines ``status`` and ``metrics`` print for :meth:`UsageReport.as_dict`'s data (only the
    sessions whose id starts with ``session``, when given)."""
    sessions = {
        sid: json_object(s)
        for sid, s in json_object(report.get("sessions")).items()
        if json_object(s) and (session is None or sid.startswith(session))
    }
    head = f"Tokens and cost (prices of {report.get('prices_taken')})"
    if not sessions:
        return [f"{head}: no transcript recorded yet (noted at each Stop)"]
    total = TokenCounts()
    costs: list[float] = []
    lines: list[str] = []
    for sid, s in sorted(sessions.items()):
        total.add(
            TokenCounts(
                _num(s.get("input_tokens")),
                _num(s.get("output_tokens")),
                _num(s.get("cache_write_5m_tokens")),
                _num(s.get("cache_write_1h_tokens")),
                _num(s.get("cache_read_tokens")),
                _num(s.get("messages")),
            )
        )
        cost = s.get("cost_usd")
        if isinstance(cost, float):
            costs.append(cost)
        names = ", ".join(_model_label(m) for m in json_object(s.get("models")))
        note = " (transcript missing)" if s.get("transcript_missing") else ""
        unpriced = s.get("unpriced_models")
        if isinstance(unpriced, list) and unpriced:
            note += f" (no price for {', '.join(_model_label(m) for m in cast('list[object]', unpriced))})"
        lines.append(f"  {sid[:8]}  {_tokens(s)}  {format_cost(cost)}  {names}{note}")
    summary = TokenCounts.as_dict(total)
    lines.insert(
        0,
        f"{head}: {len(sessions)} session{'s' if len(sessions) != 1 else ''}, {_tokens(summary)}, "
        f"{format_cost(sum(costs) if costs else None)}",
    )
    return lines


def _num(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _tokens(data: Mapping[str, object]) -> str:
    written = _num(data.get("cache_write_5m_tokens")) + _num(data.get("cache_write_1h_tokens"))
    return (
        f"{_num(data.get('input_tokens')):,} in, {_num(data.get('output_tokens')):,} out, "
        f"{written:,} cache write, {_num(data.get('cache_read_tokens')):,} cache read"
    )
