"""Guard rules as data, what a rule found, and the verdict a guard returns.

A :class:`Rule` has an id, a title, one decision per level (``strict`` / ``standard`` /
``permissive`` -> ``deny`` / ``ask`` / ``allow``) and advice on what to do instead. Policies report
:class:`Finding` objects; :func:`decide` turns them into a :class:`Verdict` for a level, applying
per-rule overrides: the most severe decision wins and the reason names the rule, what was seen and
what to do instead (the text Claude reads on a deny, the user on an ask).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["DECISIONS", "LEVELS", "RANK", "Finding", "Rule", "Verdict", "check_level", "decide"]

LEVELS = ("strict", "standard", "permissive")
DECISIONS = ("allow", "ask", "deny")
RANK = {"allow": 0, "ask": 1, "deny": 2}
_MAX_SHOWN = 200


def check_level(level: str) -> str:
    """Return ``level`` if valid, else raise ``ValueError`` naming the allowed values."""
    if level not in LEVELS:
        raise ValueError(
            f"guard level {level!r} is not one of {', '.join(LEVELS)} (guards.level in .claude/hooks.toml)"
        )
    return level


class Rule:
    """One guard rule: ``levels`` is ``"deny/ask/allow"`` for strict/standard/permissive."""

    __slots__ = ("decisions", "id", "instead", "title")

    def __init__(self, rule_id: str, title: str, levels: str, instead: str) -> None:
        parts = levels.split("/")
        if len(parts) != 3 or parts[0] not in RANK or parts[1] not in RANK or parts[2] not in RANK:
            raise ValueError(
                f"rule {rule_id}: levels must be 'deny|ask|allow' x3 separated by '/', got {levels!r}"
            )
        self.id = rule_id
        self.title = title
        # built for ~50 rules in every guarded hook process: no generator, no zip
        self.decisions = {"strict": parts[0], "standard": parts[1], "permissive": parts[2]}
        self.instead = instead

    def decision(self, level: str) -> str:
        """This rule's decision at ``level``."""
        return self.decisions[level]

    def to_dict(self) -> dict[str, object]:
        """The rule as plain data (docs, ``python -m lib guards rules``)."""
        return {"id": self.id, "title": self.title, **self.decisions, "instead": self.instead}

    def __repr__(self) -> str:
        return f"Rule({self.id!r}, {'/'.join(self.decisions.values())})"


class Finding:
    """A rule matched: ``detail`` says what was seen, ``subject`` is the command or path concerned."""

    __slots__ = ("detail", "rule", "subject")

    def __init__(self, rule: Rule, detail: str, subject: str) -> None:
        self.rule = rule
        self.detail = detail
        self.subject = subject

    def to_dict(self) -> dict[str, object]:
        """The finding as plain data for logs."""
        return {"rule": self.rule.id, "detail": self.detail, "subject": _shorten(self.subject)}

    def __repr__(self) -> str:
        return f"Finding({self.rule.id!r}, {self.detail!r})"


class Verdict:
    """A guard's answer: ``decision`` (allow/ask/deny), the deciding ``rule_id`` and the ``reason``."""

    __slots__ = ("decision", "findings", "guard", "reason", "rule_id")

    def __init__(
        self, guard: str, decision: str, rule_id: str | None, reason: str, findings: list[tuple[Finding, str]]
    ) -> None:
        self.guard = guard
        self.decision = decision
        self.rule_id = rule_id
        self.reason = reason
        #: every finding with the decision it got at this level
        self.findings = findings

    @property
    def blocked(self) -> bool:
        """True when the call is denied or needs the user's approval."""
        return self.decision != "allow"

    def to_dict(self) -> dict[str, object]:
        """The verdict as plain data (log records, bus events)."""
        return {
            "guard": self.guard,
            "decision": self.decision,
            "rule": self.rule_id,
            "reason": self.reason,
            "findings": [{**f.to_dict(), "decision": d} for f, d in self.findings],
        }

    def __repr__(self) -> str:
        return f"Verdict({self.decision!r}, {self.rule_id!r})"


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def decide(
    guard: str,
    findings: Iterable[Finding],
    level: str,
    overrides: Mapping[str, str] | None = None,
) -> Verdict:
    """The verdict for ``findings`` at ``level``; ``overrides`` maps rule ids to a fixed decision."""
    scored: list[tuple[Finding, str]] = []
    seen: set[tuple[str, str]] = set()
    for f in findings:
        key = (f.rule.id, f.detail)
        if key in seen:
            continue
        seen.add(key)
        d = (overrides or {}).get(f.rule.id) or f.rule.decision(level)
        scored.append((f, d if d in RANK else f.rule.decision(level)))
    blocking = [(f, d) for f, d in scored if d != "allow"]
    if not blocking:
        return Verdict(guard, "allow", None, "", scored)
    top = max(RANK[d] for _, d in blocking)
    winners = [(f, d) for f, d in blocking if RANK[d] == top]
    first, decision = winners[0]
    rule = first.rule
    seen_as = f": `{_shorten(first.subject)}`" if first.subject and first.subject not in first.detail else ""
    reason = f"[{guard} guard] {rule.id}: {rule.title} ({first.detail}{seen_as})."
    others = sorted({f.rule.id for f, _ in winners[1:] if f.rule.id != rule.id})
    if others:
        reason += f" Also matched: {', '.join(others)}."
    reason += f" Instead: {rule.instead}"
    if decision == "deny":
        reason += " If it is really needed, ask the user to do it themselves."
    return Verdict(guard, decision, rule.id, reason, scored)
