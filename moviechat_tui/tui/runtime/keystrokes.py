"""When the user last pressed a key, and work waiting for the next key's echo.

Work that can wait — rendering finished reply blocks, warming up the backend, a held-back
garbage collection — waits while the user types (`seconds_since_key`). Work that costs a
repaint and can't wait long (a streaming reply's refresh) goes right after the next key's
echo has been painted (`after_next_echo`), in the gap between two keys, where it delays
neither. The app reports key presses (`pressed`); the prompt reports that it painted a key
(`key_echoed`). No Textual here: one instance per app.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Keystrokes:
    def __init__(self) -> None:
        self._last_key_at = -1e9
        self._after_echo: list[Callable[[], None]] = []

    def pressed(self) -> None:
        """A key was pressed (any key, anywhere in the app)."""
        self._last_key_at = time.monotonic()

    @property
    def seconds_since_key(self) -> float:
        """How long ago the last key was pressed."""
        return time.monotonic() - self._last_key_at

    def after_next_echo(self, callback: Callable[[], None]) -> None:
        """Call `callback` right after the prompt has painted the next key typed into it."""
        self._after_echo.append(callback)

    def forget_echo_wait(self, callback: Callable[[], None]) -> None:
        """Drop `callback` from after_next_echo (its widget finished or went away)."""
        self._after_echo = [waiting for waiting in self._after_echo if waiting != callback]

    @property
    def waiting_for_echo(self) -> bool:
        return bool(self._after_echo)

    def key_echoed(self) -> None:
        """The prompt painted a key (PromptInput calls this after the repaint)."""
        waiting, self._after_echo = self._after_echo, []
        for callback in waiting:
            callback()
