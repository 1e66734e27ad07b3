"""Get syntax highlighting ready off the event loop, before a code block is rendered.

Pygments compiles a lexer's rules the first time the lexer is used: ~40 ms for Python here,
during which the event loop — and the echo of a key the user pressed — waited. `prepare`
does that in a worker thread; the reply view renders a code block only once `ready` says its
languages are prepared. (Only this first-use cost goes to a thread: rendering blocks there
too was measured to cost a third more CPU per streamed reply, each block then reaching the
screen in a frame of its own.)
"""

from __future__ import annotations

import contextlib
import re
import threading

_FENCE = re.compile(r"^[ \t]{0,3}(?:`{3,}|~{3,})[ \t]*([^\s`{]*)", re.MULTILINE)
_prepared: set[str] = set()
_lock = threading.Lock()


def languages(block: str) -> set[str]:
    """The languages named by the code fences in `block` (a fence without one is plain)."""
    if "```" not in block and "~~~" not in block:
        return set()
    return {match.group(1).lower() for match in _FENCE.finditer(block)} - {""}


def ready(block: str) -> bool:
    """True if rendering `block` will not compile a lexer on the spot."""
    return languages(block) <= _prepared


def prepare(block: str) -> None:
    """Import the renderer and compile the lexers `block` needs (call in a worker thread)."""
    wanted = languages(block)
    try:
        from pygments.lexers import get_lexer_by_name
        from pygments.util import ClassNotFound

        from moviechat_tui.tui.render.renderers import load_renderer

        load_renderer()
        for language in wanted - _prepared:
            # An unknown language is rendered as plain text: nothing to prepare.
            with contextlib.suppress(ClassNotFound):
                get_lexer_by_name(language)  # compiles the lexer's rules, once per process
    finally:
        # Ready even if something failed: the render then does the work (or reports it).
        with _lock:
            _prepared.update(wanted)
