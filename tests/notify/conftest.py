"""Fixtures of the notification tests: a local webhook receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from receivers import HttpReceiver


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    """A running HTTP receiver recording what it gets."""
    with HttpReceiver() as server:
        yield server
