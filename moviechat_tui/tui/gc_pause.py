"""No full garbage collection while a reply streams.

Python's full (generation 2) collection scans every object the process holds; with openai,
pydantic and Textual loaded that took 90–115 ms here, several times per streamed reply, and a
key pressed meanwhile waited for it (measured with a probe on the event loop: each of the
slowest stalls while streaming was one). While a reply streams only the young generations are
collected (cheap, and they catch most cycles); the full collection runs again, as usual, once
no reply is streaming. Objects just wait longer in the old generation.

When the first reply has ended, what the process holds then — openai, pydantic, Textual, Rich
and pygments, loaded by now — is moved to the permanent generation (`gc.freeze()`, once), so
later full collections scan only what came after (measured: 107–186 ms before, a few ms
after). The cost is that cyclic garbage present at that one moment is never collected: a
bounded amount, once.
"""

from __future__ import annotations

import gc

_HELD_THRESHOLD = 1_000_000
_holds = 0
_saved: tuple[int, int, int] | None = None
_frozen = False


def hold_full_collections() -> None:
    """A reply started streaming (calls nest: one release per hold)."""
    global _holds, _saved
    if _holds == 0:
        _saved = gc.get_threshold()
        young, middle, _old = _saved
        gc.set_threshold(young, middle, _HELD_THRESHOLD)
    _holds += 1


def release_full_collections() -> None:
    """A reply ended: full collections resume once no reply is streaming."""
    global _holds, _saved, _frozen
    if _holds == 0:
        return
    _holds -= 1
    if _holds == 0 and _saved is not None:
        if not _frozen:
            gc.freeze()
            _frozen = True
        gc.set_threshold(*_saved)
        _saved = None


def full_collections_held() -> bool:
    return _holds > 0
