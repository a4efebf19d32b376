"""The circuit breaker, split by concern; import the public API from :mod:`lib.circuit_breaker`.

- :mod:`lib.breaker.machine`: the pure state machine (plain data in, plain data out, no I/O, no clock).
- :mod:`lib.breaker.storage`: where breaker records live (in memory, the locked JSON store).
- :mod:`lib.breaker.api`: :class:`~lib.breaker.api.CircuitBreaker`, decorators, registry, listeners.
- :mod:`lib.breaker.config`: the pydantic models (``CircuitBreakerConfig``, the ``[breaker]`` section).
- :mod:`lib.breaker.keys`: what a tool call's breaker is keyed by (``Bash:pytest``), its scope
  (``session`` or ``shared``), and whether a failure says the program itself is broken.
- :mod:`lib.breaker.tools`: breakers keyed by Claude Code tool calls, as the hooks use them
  (streaks broken by progress, per-session and shared records).
- :mod:`lib.breaker.messages`: what Claude and the user are told (denial reasons, opening notices).
"""
