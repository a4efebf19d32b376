"""Tokens used in a Claude Code transcript (``~/.claude/projects/<project>/<session>.jsonl``).

Every assistant message carries the Messages API's ``usage``; Claude Code writes one line per
content block, each repeating the message's id and usage, so a message is counted once, by id.
``cache_creation`` splits cache writes into 5-minute and 1-hour ones when present (older CLIs give
only ``cache_creation_input_tokens``, counted as 5-minute writes). Lines that do not parse are
skipped and counted. Reading resumes where a previous read stopped (:class:`TranscriptUsage` keeps
the position and the ids seen), so a caller that follows a growing transcript parses each line once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import cast

import orjson

from lib.jsonl import JsonlReader
from lib.plain_data import fields_dict

__all__ = ["TokenCounts", "TranscriptUsage", "json_object", "read_transcript"]


#: The keys of :meth:`TokenCounts.as_dict`, in order, and the field each one shows.
_COUNT_KEYS = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_write_5m_tokens": "cache_write_5m",
    "cache_write_1h_tokens": "cache_write_1h",
    "cache_read_tokens": "cache_read",
    "total_tokens": "total",
    "messages": "messages",
}


def json_object(value: object) -> dict[str, object]:
    """``value`` when it is a JSON object (a dict), else an empty one: what we read is not ours."""
    return cast("dict[str, object]", value) if isinstance(value, dict) else {}


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


@dataclass(slots=True)
class TokenCounts:
    """Tokens of one model (or a sum over models), and how many API messages they came from."""

    input: int = 0
    output: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0
    messages: int = 0

    def add(self, other: TokenCounts) -> None:
        """Add ``other`` into these counts."""
        self.input += other.input
        self.output += other.output
        self.cache_write_5m += other.cache_write_5m
        self.cache_write_1h += other.cache_write_1h
        self.cache_read += other.cache_read
        self.messages += other.messages

    @property
    def total(self) -> int:
        """Every token, of all kinds."""
        return self.input + self.output + self.cache_write_5m + self.cache_write_1h + self.cache_read

    @classmethod
    def from_usage(cls, usage: dict[str, object]) -> TokenCounts:
        """The counts in one API ``usage`` object."""
        written = _int(usage.get("cache_creation_input_tokens"))
        split = json_object(usage.get("cache_creation"))
        w5 = _int(split.get("ephemeral_5m_input_tokens"))
        w1 = _int(split.get("ephemeral_1h_input_tokens"))
        if w5 + w1 != written:  # no split given, or one that does not add up: all 5-minute writes
            w5, w1 = written, 0
        return cls(
            input=_int(usage.get("input_tokens")),
            output=_int(usage.get("output_tokens")),
            cache_write_5m=w5,
            cache_write_1h=w1,
            cache_read=_int(usage.get("cache_read_input_tokens")),
            messages=1,
        )

    def as_dict(self) -> dict[str, int]:
        """Plain data, for ``--json`` and the dashboard."""
        return cast("dict[str, int]", fields_dict(self, _COUNT_KEYS))  # every field is an int


@dataclass(slots=True)
class TranscriptUsage:
    """What a transcript used, per model, up to :attr:`position` (a byte offset)."""

    path: str
    by_model: dict[str, TokenCounts] = field(default_factory=dict[str, TokenCounts])
    position: int = 0
    skipped: int = 0
    missing: bool = False
    seen: set[str] = field(default_factory=set[str])

    def copy(self) -> TranscriptUsage:
        """An independent copy (to resume from without changing this one)."""
        return TranscriptUsage(
            self.path,
            {model: replace(counts) for model, counts in self.by_model.items()},
            self.position,
            self.skipped,
            self.missing,
            set(self.seen),
        )

    def ingest(self, record: dict[str, object]) -> None:
        """Count one transcript line (anything but an assistant message with usage is ignored)."""
        if record.get("type") != "assistant":
            return
        message = json_object(record.get("message"))
        usage = json_object(message.get("usage"))
        if not usage:
            return
        key = message.get("id") or record.get("requestId") or record.get("uuid")
        if isinstance(key, str):
            if key in self.seen:
                return
            self.seen.add(key)
        model = message.get("model")
        counts = TokenCounts.from_usage(usage)
        if not counts.total:  # Claude Code's own "<synthetic>" messages use nothing
            return
        self.by_model.setdefault(model if isinstance(model, str) and model else "unknown", TokenCounts()).add(
            counts
        )


def read_transcript(
    path: str, *, end: int | None = None, resume: TranscriptUsage | None = None
) -> TranscriptUsage:
    """The usage in ``path`` up to byte ``end`` (None: every complete line), continuing ``resume``
    (a result of an earlier call on the same file, left unchanged) when given. A file that is gone
    gives ``missing=True`` and what ``resume`` had."""
    usage = resume.copy() if resume is not None else TranscriptUsage(path)
    if end is not None and end <= usage.position:
        return usage
    try:
        reader = JsonlReader(path, start=usage.position, decoder=orjson.loads)
    except OSError:  # pragma: no cover - the constructor does no I/O today
        usage.missing = True
        return usage
    try:
        for entry in reader:
            if end is not None and entry.next_position > end:
                break
            usage.ingest(entry.record)
            usage.position = entry.next_position
        usage.skipped += reader.skipped
    except OSError:
        usage.missing = True
    finally:
        reader.close()
    usage.missing = usage.missing or (usage.position == 0 and not os.path.isfile(path))
    return usage
