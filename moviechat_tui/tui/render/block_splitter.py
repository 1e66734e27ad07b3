"""Cut Markdown into top-level blocks as it arrives, so each finished block is rendered once.

A block ends at a blank line outside a code fence, when the next non-blank line starts a new
block: a line at column 0 that does not continue a list. Indented lines (list continuations,
indented code) and list items after a list stay in the block before them, because joining
blocks never changes how Markdown renders them while cutting them could (a loose list would
restart its numbering). A block is only known to be finished when the line after it arrives,
so the block still arriving — `pending` — is shown as plain text until then.

The cut depends only on the text, never on how it was chunked: feeding a reply piece by piece
gives exactly the blocks of `split_blocks(reply)`, so a streamed reply ends identical to the
same reply opened from disk. Pure Python, no Textual: unit-tested on its own.
"""

from __future__ import annotations

import re

_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}(?=[^`]*$)|~{3,})")
_LIST_ITEM = re.compile(r"^(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_LIST_START = frozenset("-*+0123456789")
"""First characters a list item can start with."""


def _is_blank(line: str) -> bool:
    return not line.strip()


class BlockSplitter:
    """Feed text with `feed()`; each call returns the blocks that became finished."""

    def __init__(self) -> None:
        self._partial = ""
        """The end of the text after the last newline: a line not complete yet."""
        self._lines: list[str] = []
        """Complete lines of the block still arriving, newlines included."""
        self._fence: str | None = None
        """The fence that opened a code block not closed yet (e.g. "```")."""
        self._after_blank = False
        self._in_list = False

    @property
    def pending(self) -> str:
        """The text of the block still arriving (with any incomplete last line)."""
        return "".join(self._lines) + self._partial

    def feed(self, text: str) -> list[str]:
        if not text:
            return []
        finished: list[str] = []
        data = self._partial + text
        start = 0
        while True:
            end = data.find("\n", start)
            if end < 0:
                break
            self._line(data[start:end + 1], finished)
            start = end + 1
        self._partial = partial = data[start:]
        if self._after_blank and partial and partial[0] not in " \t\r" and not (
                self._in_list and partial[0] in _LIST_START):
            # The first character of the next line already says it starts a new block: the
            # block before is finished (what `_line` will decide once the line is complete).
            self._close(finished)
        return finished

    def finish(self) -> list[str]:
        """The end of the text: everything left is the last block."""
        finished: list[str] = []
        if self._partial:
            self._line(self._partial, finished)
            self._partial = ""
        self._close(finished)
        return finished

    def _line(self, line: str, finished: list[str]) -> None:
        bare = line.rstrip("\r\n")
        if self._fence is not None:
            self._lines.append(line)
            stripped = bare.strip()
            if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                self._fence = None
            return
        if _is_blank(bare):
            if self._lines:
                self._lines.append(line)
                self._after_blank = True
            return
        if self._after_blank:
            self._after_blank = False
            continues = bare[:1] in (" ", "\t") or (
                self._in_list and _LIST_ITEM.match(bare) is not None)
            if not continues:
                self._close(finished)
        if not self._lines:
            self._in_list = _LIST_ITEM.match(bare) is not None
        self._lines.append(line)
        opened = _FENCE_OPEN.match(bare)
        if opened:
            self._fence = opened.group("fence")

    def _close(self, finished: list[str]) -> None:
        lines = self._lines
        while lines and _is_blank(lines[-1]):
            lines.pop()
        if lines:
            block = "".join(lines)
            finished.append(block.removesuffix("\n").removesuffix("\r"))
        self._lines = []
        self._fence = None
        self._after_blank = False
        self._in_list = False


def split_blocks(text: str) -> list[str]:
    """All the blocks of a complete text (what streaming it would give)."""
    splitter = BlockSplitter()
    return [*splitter.feed(text), *splitter.finish()]
