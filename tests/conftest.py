"""Shared fixtures. Helpers live in the `tests.support` package."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from tests.support.loopback_server import LoopbackServer


def _undo_inherited_ignores() -> None:
    """Run under `nohup`, or as a background job of a script, this process starts with
    SIGHUP or SIGINT ignored, and every app a test starts inherits that: the tests of
    ctrl+c and of a closed terminal then fail although the app is right (it keeps a signal
    it was started ignoring ignored, as `nohup` asks). The tests are about the app as a
    terminal starts it, so they start it with the default dispositions."""
    if hasattr(signal, "SIGHUP") and signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


_undo_inherited_ignores()


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A started OpenAI-compatible server on 127.0.0.1 (see tests/support/loopback_server.py)."""
    with LoopbackServer() as server:
        yield server
