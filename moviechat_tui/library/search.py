"""The conversation library outside the chat: full-text search, Markdown export, and the
stable JSON shapes that `moviechat list/search --json` print.

Search asks the library index (`library_index`, a rebuildable SQLite cache of the files) for
the messages whose case-folded text contains the query, then cuts the snippets here.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviechat_tui.core.conversation import Conversation, ConversationSummary, Message
from moviechat_tui.core.i18n import _
from moviechat_tui.core.markdown import plain_text
from moviechat_tui.core.persona import Persona, find
from moviechat_tui.core.records import Record
from moviechat_tui.storage.files import write_atomically
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


def _readable_match(content: str, folded_query: str) -> tuple[str, int]:
    """The message as a reader sees it (Markdown markers removed, on one line) near the match
    and where the query is in it; the source text (on one line) when the match is in the
    markup itself — a link's address, a run of asterisks. (-1 if not found at all.)"""
    near = _around(content, folded_query)
    plain = plain_text(near) if _MARKUP.search(near) else " ".join(near.split())
    at = plain.casefold().find(folded_query)
    if at >= 0:
        return plain, at
    flat = " ".join(content.split())
    at = flat.casefold().find(folded_query)
    if at >= 0:
        return flat, at
    return content, content.casefold().find(folded_query)


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
        text, at = _readable_match(found.content, folded)
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


def write_export(path: Path, text: str) -> None:
    """Write an export the way the app writes conversations: private (0600, since it holds the
    whole conversation) and atomic (a failed write never leaves half a file over an earlier
    export). A path that is not a regular file (`/dev/stdout`, a pipe) is simply written to.
    Raises OSError."""
    try:
        special = not stat.S_ISREG(path.stat().st_mode)
    except FileNotFoundError:
        special = False
    if special:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return
    write_atomically(path, text.encode("utf-8"))


def summary_json(summary: ConversationSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "title": summary.title,
        "persona": summary.persona,
        "model": summary.model,
        "created": summary.created.isoformat(),
        "updated": summary.updated.isoformat(),
        "message_count": summary.message_count,
    }


def hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "conversation_id": hit.conversation_id,
        "title": hit.title,
        "updated": hit.updated.isoformat(),
        "message_id": hit.message_id,
        "role": hit.role,
        "snippet": hit.snippet,
        "match": [hit.match_start, hit.match_end],
    }


def _speaker(message: Message, personas: Iterable[Persona]) -> str:
    if message.role == "user":
        return _("You")
    persona = find(tuple(personas), message.persona or "")
    name = persona.display_name if persona else (message.persona or _("Assistant"))
    return f"{name} ({message.model})" if message.model else name


def export_markdown(conv: Conversation, personas: Iterable[Persona]) -> str:
    """The visible conversation as Markdown: who said what, with which persona and model."""
    personas = tuple(personas)
    untitled = _("Untitled conversation")
    lines = [f"# {conv.title or untitled}", "",
             _("Exported from moviechat · created {created} · updated {updated}").format(
                 created=conv.created.strftime("%Y-%m-%d %H:%M UTC"),
                 updated=conv.updated.strftime("%Y-%m-%d %H:%M UTC")), ""]
    for message in conv.messages:
        if message.hidden:
            continue
        if message.role == "notice":
            if message.notice == "persona":
                persona = find(personas, message.persona or "")
                name = persona.display_name if persona else message.content
                lines += ["---", "", "*" + _("Persona: {name}").format(name=name) + "*", ""]
            continue
        stamp = message.created.strftime("%Y-%m-%d %H:%M")
        lines += [f"## {_speaker(message, personas)} · {stamp}", "", message.content, ""]
    return "\n".join(lines).rstrip() + "\n"
