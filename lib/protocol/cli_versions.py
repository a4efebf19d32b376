"""Which Claude Code release first sent each hook event (for ``claude-hooks doctor``).

Sources: the protocol reference's "Added" column (changelog lines, or the first docs commit when the
changelog is silent) and the CLIs the end-to-end tests pin. :data:`NEWEST_CHECKED` is the newest CLI
whose event list this table was checked against: a newer CLI may send events we do not know yet.
"""

from __future__ import annotations

__all__ = ["NEWEST_CHECKED", "SINCE", "parse_version", "sent_by"]

#: The newest Claude Code release whose hook events were compared with :mod:`lib.protocol.events`.
NEWEST_CHECKED = "2.1.332"

#: Event -> the first Claude Code version that sends it; events older than the releases anyone
#: still runs (1.0.x) and those the changelog never dated are left out (treated as always sent).
SINCE: dict[str, str] = {
    "Setup": "2.1.10",
    "InstructionsLoaded": "2.1.69",
    "MessageDisplay": "2.1.152",
    "PermissionRequest": "2.0.45",
    "PermissionDenied": "2.1.89",
    "SubagentStart": "2.0.43",
    "TaskCreated": "2.1.84",
    "TaskCompleted": "2.1.33",
    "StopFailure": "2.1.78",
    "TeammateIdle": "2.1.33",
    "ConfigChange": "2.1.49",
    "CwdChanged": "2.1.83",
    "DirectoryAdded": "2.1.219",
    "FileChanged": "2.1.83",
    "WorktreeCreate": "2.1.50",
    "WorktreeRemove": "2.1.50",
    "PostCompact": "2.1.76",
    "Elicitation": "2.1.76",
    "ElicitationResult": "2.1.76",
    "PreSkillShellCommand": "2.1.332",
}


def parse_version(text: str) -> tuple[int, ...] | None:
    """``"2.1.332 (Claude Code)"`` -> ``(2, 1, 332)``; ``None`` when ``text`` holds no version."""
    head = text.strip().split(" ", 1)[0] if text.strip() else ""
    parts = head.split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def sent_by(event: str, cli_version: tuple[int, ...]) -> bool:
    """Whether Claude Code ``cli_version`` sends ``event`` (unknown events: assumed yes)."""
    since = SINCE.get(event)
    parsed = parse_version(since) if since else None
    return parsed is None or cli_version >= parsed
