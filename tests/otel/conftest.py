"""Fixtures of the OTLP tests: a local OTLP/HTTP receiver (decoded by :func:`receivers.spans_of`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from receivers import HttpReceiver


@pytest.fixture
def collector() -> Iterator[HttpReceiver]:
    """A running OTLP/HTTP receiver."""
    with HttpReceiver() as server:
        yield server
