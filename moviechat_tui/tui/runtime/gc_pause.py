"""No full garbage collection while a reply streams, nor while the user types.

Python's full (generation 2) collection scans every object the process holds; with openai,
pydantic and Textual loaded that took 90–115 ms here, several times per streamed reply, and a
key pressed meanwhile waited for it (measured with a probe on the event loop: each of the
slowest stalls while streaming was one). While a reply streams only the young generations are
collected (cheap, and they catch most cycles). When it has ended, the held-back collection
runs as soon as the user has not pressed a key for a moment (`collect_when_idle`, which the
chat screen calls when a reply ends) — not at once: restoring the threshold the moment a
reply ended let the collector run right then, 30–50 ms while the user was often still
typing. It waits a few seconds at most, though: someone who keeps chatting without a pause
would otherwise hold back every full collection, and cyclic garbage grew by ~0.5 MB a turn.
After that, full collections run as usual until the next reply starts.

The first time, what the process holds then — openai, pydantic, Textual, Rich and pygments,
loaded by now — is also moved to the permanent generation (`gc.freeze()`, once), so later
full collections scan only what came after (measured: 107–186 ms before, a few ms after).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moviechat_tui.tui.runtime.keystrokes import Keystrokes

IDLE_BEFORE_COLLECTING = 1.0
"""Seconds without a key press before the full garbage collection held back while a reply
streamed runs (see `collect_when_idle`)..."""
LONGEST_COLLECTION_HOLD = 5.0
"""... but it waits at most this long after it was first held back, even if the user keeps
typing: memory would otherwise grow for as long as the user chats without a pause."""

SetTimer = Callable[[float, Callable[[], None]], object]
"""`set_timer(delay, callback)`: the app's, so a pending wait ends with the app."""

_HELD_THRESHOLD = 1_000_000
_holds = 0
_saved: tuple[int, int, int] | None = None
_held_since: float | None = None
"""`time.monotonic()` when the held-back collection first became due (None if none):
replies that follow one another keep it due, and cyclic garbage keeps growing."""
_frozen = False


def hold_full_collections() -> None:
    """A reply started streaming (calls nest: one release per hold)."""
    global _holds, _saved, _held_since
    if _holds == 0 and _saved is None:
        _held_since = time.monotonic()
        _saved = gc.get_threshold()
        young, middle, _old = _saved
        gc.set_threshold(young, middle, _HELD_THRESHOLD)
    _holds += 1


def release_full_collections() -> None:
    """A reply ended. Full collections stay off until `collect_held_garbage`."""
    global _holds
    _holds = max(0, _holds - 1)


def full_collections_held() -> bool:
    """True while a reply streams."""
    return _holds > 0


def collection_waiting() -> bool:
    """True once every reply has ended and the held-back full collection has not run yet."""
    return _holds == 0 and _saved is not None


def collect_held_garbage() -> bool:
    """Run the full collection held back while replies streamed (call at an idle moment),
    then let full collections run as usual. Returns whether there was one to run."""
    global _saved, _frozen, _held_since
    if not collection_waiting():
        return False
    assert _saved is not None
    gc.collect()
    if not _frozen:
        gc.freeze()
        _frozen = True
    gc.set_threshold(*_saved)
    _saved = None
    _held_since = None
    return True


def collect_when_idle(keystrokes: Keystrokes, set_timer: SetTimer) -> None:
    """A reply ended: run the full collection held back while it streamed once no key has
    been pressed for IDLE_BEFORE_COLLECTING seconds, where its stall (30–150 ms) is not felt,
    or LONGEST_COLLECTION_HOLD seconds after it was first held back. If another reply starts
    first, its end asks again."""
    if not collection_waiting():
        return
    quiet_for = keystrokes.seconds_since_key
    held_for = 0.0 if _held_since is None else time.monotonic() - _held_since
    if quiet_for < IDLE_BEFORE_COLLECTING and held_for < LONGEST_COLLECTION_HOLD:
        wait = min(IDLE_BEFORE_COLLECTING - quiet_for, LONGEST_COLLECTION_HOLD - held_for)
        set_timer(wait, partial(collect_when_idle, keystrokes, set_timer))
        return
    collect_held_garbage()
