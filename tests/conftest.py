"""Shared fixtures."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# `loopback_server` is a plain module beside the tests; make it importable whatever the
# pytest import mode.
sys.path.insert(0, str(Path(__file__).parent))

from loopback_server import LoopbackServer


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A started OpenAI-compatible server on 127.0.0.1 (see tests/loopback_server.py)."""
    with LoopbackServer() as server:
        yield server
