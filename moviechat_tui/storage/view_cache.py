"""The screen of the last conversation shown, kept so that reopening it renders no Markdown.

Opening a conversation draws its newest replies before the first frame. Rendering them means
importing the Markdown renderer (markdown-it, Rich Markdown, pygments: ~30 ms) and running it
(~10 ms for a screenful): most of what `moviechat --continue` spent beyond a fresh start. So
when the app quits, the UI hands the controller its rendered lines — an opaque blob it builds
and checks itself (`tui/view_snapshot.py`) — and the next start that opens the same
conversation gets them back.

One file for one conversation, `<data>/cache/views/<conversation id>.json` (0600, written
atomically); writing it removes any other. It is a cache: a file that is missing, damaged,
too big or from another version is ignored, and nothing is lost without it. Moving the
conversation to the trash removes it, so no text of a deleted conversation stays behind.
"""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

from moviechat_tui.storage.errors import StoreError
from moviechat_tui.storage.files import write_atomically

log = logging.getLogger(__name__)

MAX_BYTES = 4 * 1024 * 1024
"""A screenful of rendered lines is ~100 KB; anything much bigger is not ours."""
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,80}")


class ViewCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, conv_id: str) -> Path | None:
        return self.directory / f"{conv_id}.json" if _SAFE_ID.fullmatch(conv_id) else None

    def read(self, conv_id: str) -> bytes | None:
        """The blob kept for `conv_id`, or None."""
        path = self._path(conv_id)
        if path is None:
            return None
        try:
            with path.open("rb") as f:
                data = f.read(MAX_BYTES + 1)
        except OSError:
            return None
        return data if len(data) <= MAX_BYTES else None

    def write(self, conv_id: str, data: bytes) -> None:
        """Keep `data` for `conv_id` (and nothing for any other conversation)."""
        path = self._path(conv_id)
        if path is None or len(data) > MAX_BYTES:
            return
        try:
            self.directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # cache/
            self.directory.mkdir(exist_ok=True, mode=0o700)
            write_atomically(path, data)
        except (OSError, StoreError):
            log.warning("could not keep the view of %s", conv_id, exc_info=True)
            return
        for other in self.directory.glob("*.json"):
            if other != path:
                with contextlib.suppress(OSError):
                    other.unlink()

    def forget(self, conv_id: str) -> None:
        """Remove what is kept for `conv_id` (it was deleted)."""
        path = self._path(conv_id)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()
