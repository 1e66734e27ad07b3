"""Shared fixtures. Helpers live in the `tests.support` package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.loopback_server import LoopbackServer


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A started OpenAI-compatible server on 127.0.0.1 (see tests/support/loopback_server.py)."""
    with LoopbackServer() as server:
        yield server
