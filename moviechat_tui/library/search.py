"""Full-text search over every saved conversation.

Search asks the library index (`library/index.py`, a rebuildable SQLite cache of the files)
for the messages whose case-folded text contains the query, then cuts the snippets here.
(Export is `library/export.py`; the JSON that `moviechat list/search --json` print is
`library/json_shapes.py`.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from moviechat_tui.core.i18n import _
from moviechat_tui.core.markdown import plain_text
from moviechat_tui.core.records import Record
from moviechat_tui.core.spoilers import has_markers, split_spoilers
from moviechat_tui.storage.store import ConversationStore

if TYPE_CHECKING:
    from moviechat_tui.library.index import LibraryIndex

SNIPPET_RADIUS = 40


class SearchHit(Record):
    conversation_id: str
    title: str
    updated: datetime
    message_id: str
    role: str
    snippet: str
    match_start: int
    """Where the match starts in `snippet` (for highlighting)."""
    match_end: int


def _snippet(text: str, start: int, end: int) -> tuple[str, int, int]:
    left = max(0, start - SNIPPET_RADIUS)
    right = min(len(text), end + SNIPPET_RADIUS)
    prefix = "…" if left else ""
    suffix = "…" if right < len(text) else ""
    flat = (prefix + text[left:right] + suffix).replace("\n", " ")
    offset = len(prefix) + (start - left)
    return flat, offset, offset + (end - start)


READ_AROUND = 400
"""Characters of the source read as Markdown on either side of a match (extended to the
blocks they fall in): a snippet shows 40, and parsing whole long replies made a search with
500 hits 6× slower."""


def _around(content: str, folded_query: str) -> str:
    """The blocks (split at blank lines) within READ_AROUND characters of the first match."""
    at = content.casefold().find(folded_query)
    if at < 0 or len(content) <= 2 * READ_AROUND:
        return content
    start = content.rfind("\n\n", 0, max(0, at - READ_AROUND))
    end = content.find("\n\n", at + len(folded_query) + READ_AROUND)
    return content[start + 1 if start >= 0 else 0:end if end >= 0 else len(content)]


_MARKUP = re.compile(r"[*_`#\[\]|~<&\\]|^ {0,3}>|^\s*[=-]{2,}\s*$", re.MULTILINE)
"""Characters that may make Markdown read differently from its source. Text without any
(most questions, much Korean prose) reads as written: no need to parse it (~0.2 ms each)."""


def _as_read(text: str) -> str:
    """`text` as a reader sees it, on one line: Markdown read only when it has markup."""
    return plain_text(text) if _MARKUP.search(text) else " ".join(text.split())


def _readable_match(content: str, folded_query: str) -> tuple[str, int]:
    """The message as a reader sees it (Markdown markers removed, on one line) near the match
    and where the query is in it; the source text (on one line) when the match is in the
    markup itself — a link's address, a run of asterisks. (-1 if not found at all.)"""
    near = _around(content, folded_query)
    plain = _as_read(near)
    at = plain.casefold().find(folded_query)
    if at >= 0:
        return plain, at
    flat = " ".join(content.split())
    at = flat.casefold().find(folded_query)
    if at >= 0:
        return flat, at
    return content, content.casefold().find(folded_query)


def _without_spoilers(content: str, folded_query: str) -> tuple[str, tuple[int, int] | None]:
    """A reply with each spoiler (core/spoilers.py) replaced by "[spoiler]", as a snippet may
    show it — a search result is no place to open one — and, when the query is found only
    inside one, where that spoiler's "[spoiler]" is (to highlight it instead)."""
    label = "[" + _("spoiler") + "]"
    out: list[str] = []
    within: tuple[int, int] | None = None
    found_outside = False
    for passage in split_spoilers(content, finished=True):
        if not passage.hidden:
            found_outside = found_outside or folded_query in passage.text.casefold()
            out.append(passage.text)
            continue
        at = sum(map(len, out))
        if within is None and folded_query in passage.text.casefold():
            within = (at, at + len(label))
        out.append(label)
    text = "".join(out)
    return text, None if found_outside or folded_query in text.casefold() else within


def _readable_spoiler(masked: str, label_at: tuple[int, int]) -> tuple[str, int]:
    """The masked reply as a reader sees it (as `_readable_match`) and where in it the
    "[spoiler]" at `label_at` of the source is, found by counting labels from the start;
    the source itself should the reading have changed how many there are."""
    label = masked[label_at[0]:label_at[1]]
    nth = masked.count(label, 0, label_at[0])
    plain = _as_read(masked)
    at = -1
    for _passed in range(nth + 1):
        at = plain.find(label, at + 1)
        if at < 0:
            return masked, label_at[0]
    return plain, at


def search_conversations(store: ConversationStore, query: str, limit: int = 500, *,
                         index: LibraryIndex | None = None,
                         on_backlog: Callable[[int], None] | None = None) -> list[SearchHit]:
    """Messages containing `query` (case-insensitive: `str.casefold`), newest conversation
    first, each message once (for its first match), at most `limit`. Snippets are plain text
    (see `_readable_match`), made here, in the caller's thread, for the hits only.

    Served by the library index (`index`, by default the one of `store`'s data directory),
    which first brings itself in step with the files: only conversations added or changed
    since the last search are read. `on_backlog(count)` is called (from this thread) before
    a search reads many of them, as the first one does.
    """
    from moviechat_tui.library.index import index_for

    query = query.strip()
    if not query:
        return []
    folded = query.casefold()
    hits: list[SearchHit] = []
    for found in (index or index_for(store)).find_messages(folded, limit, on_backlog):
        content = found.content
        if found.role == "assistant" and has_markers(content):
            content, hidden = _without_spoilers(content, folded)
            if hidden:  # the words are in a spoiler: the row shows where, not what
                text, at = _readable_spoiler(content, hidden)
                snippet, start, end = _snippet(text, at, at + hidden[1] - hidden[0])
                hits.append(SearchHit(found.conversation_id, found.title, found.updated,
                                      found.message_id, found.role, snippet, start, end))
                continue
        text, at = _readable_match(content, folded)
        if at < 0:
            continue
        snippet, start, end = _snippet(text, at, at + len(query))
        hits.append(SearchHit(found.conversation_id, found.title, found.updated,
                              found.message_id, found.role, snippet, start, end))
    return hits


def backlog_notice(count: int) -> str:
    """Said when a search first reads many conversations into the library index."""
    return _("Reading {count} conversations into the search index: only the first search "
             "takes this long.").format(count=f"{count:,}")
