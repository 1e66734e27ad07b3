"""A reply's blocks as the screen shows them: Markdown blocks, and closed spoilers.

The reply's text goes through the spoiler shield's splitter (core/spoilers.py
`split_spoilers`) before anything else sees it: what it shows is cut into Markdown blocks by
`BlockSplitter`, and each hidden passage becomes a `Spoiler` — a block of its own, drawn
closed until the user opens it. The text of a hidden passage is never handed to the block
splitter, so it can be neither in a rendered block nor in the plain tail of the block still
arriving (`pending`), and a possible start of a tag at the end of the text (`<`, `<spo`) is
held back by the splitter until the next chunk says what it is. Tags are never shown.

`ReplyBlocks.feed` takes the whole reply so far, every time (the spoiler splitter's rules
need it), and returns the blocks that became finished; like `BlockSplitter`, the blocks do
not depend on how the text was chunked. The one case where a new piece changes what came
before — an empty passage, `<spoiler></spoiler>`, which the splitter lists while it is open
and drops once it closes — makes `feed` return None: the caller starts over.

Pure Python, no Textual.
"""

from __future__ import annotations

from moviechat_tui.core.records import Record
from moviechat_tui.core.spoilers import Passage, split_spoilers, without_markers
from moviechat_tui.tui.render.block_splitter import BlockSplitter


class Spoiler(Record):
    """A hidden passage's place among a reply's blocks: the `number`th of the reply (from
    0, in order), shown closed until opened."""

    number: int


Block = str | Spoiler
"""A Markdown block, or a hidden passage."""


class ReplyBlocks:
    """Feed the whole reply so far with `feed()`; each call returns the blocks that became
    finished. `pending` is the shown text of the block still arriving."""

    def __init__(self) -> None:
        self._splitter = BlockSplitter()
        self._passages: list[Passage] = []
        """The passages as of the last feed."""
        self._hidden = 0
        """Hidden passages turned into `Spoiler` blocks so far."""

    @property
    def pending(self) -> str:
        return self._splitter.pending

    def feed(self, text: str, *, finished: bool = False) -> list[Block] | None:
        """The blocks finished by `text` (the reply so far; `finished`: the whole reply), or
        None if `text` does not continue what was fed before."""
        passages = split_spoilers(text, finished=finished)
        before = self._passages
        count = len(before)
        if count:
            if len(passages) < count or passages[:count - 1] != before[:count - 1]:
                return None
            last, now = before[-1], passages[count - 1]
            if last.hidden != now.hidden or not now.text.startswith(last.text):
                return None
        out: list[Block] = []
        for index in range(max(0, count - 1), len(passages)):
            passage = passages[index]
            if passage.hidden:
                if index >= count:
                    out += self._splitter.finish()
                    self._splitter = BlockSplitter()
                    out.append(Spoiler(self._hidden))
                    self._hidden += 1
            else:
                known = len(before[index].text) if index < count else 0
                # After a passage, the space that followed its closing tag would start the
                # next block (and show in the tail as an indent): it is left out.
                start = (len(passage.text) - len(passage.text.lstrip(" \t")) if index
                         else 0)
                out += self._splitter.feed(passage.text[max(known, start):])
        self._passages = passages
        return out

    def finish(self, text: str) -> list[Block] | None:
        """The last blocks, `text` being the whole reply (None: not a continuation)."""
        out = self.feed(text, finished=True)
        if out is None:
            return None
        return [*out, *self._splitter.finish()]


def reply_blocks(text: str) -> list[Block]:
    """All the blocks of a whole reply (what streaming it gives)."""
    blocks = ReplyBlocks().finish(text)
    assert blocks is not None  # a fresh splitter continues anything
    return blocks


def hidden_passages(text: str, *, finished: bool = True) -> list[Passage]:
    """The hidden passages of a reply, in the order their `Spoiler` blocks are numbered."""
    return [p for p in split_spoilers(text, finished=finished) if p.hidden]


def opened_text(passage: Passage) -> str:
    """What an opened passage shows: its text, without any tag inside it."""
    return without_markers(passage.text).strip("\n")
