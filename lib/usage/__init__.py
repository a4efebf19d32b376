"""Tokens and cost of Claude Code sessions, read from Claude Code's own transcripts.

Claude Code writes every assistant message, with the API's ``usage`` block, to the session's
transcript (``transcript_path`` in every hook payload). The Stop, SubagentStop and SessionEnd hooks
only note where that file is and how long it was (:mod:`lib.usage.marks`, a few microseconds, no
parsing); the reading side (``status``, ``metrics``, the dashboard) parses up to that length
(:mod:`lib.usage.transcript`) and prices the tokens (:mod:`lib.usage.prices`, overridable with
``[usage.prices]`` in ``.claude/hooks.toml``). :mod:`lib.usage.report` puts the pieces together.
"""

# No imports here: the usage_marks hook imports lib.usage.marks, and a hook process stays lean.
