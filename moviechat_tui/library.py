"""The conversation library outside the chat: full-text search, Markdown export, and the
stable JSON shapes that `moviechat list/search --json` print.

Search reads each file's bytes and only parses the files that can contain the text (a
case-insensitive byte scan for ASCII, exact for other scripts, confirmed after parsing), so a
search over thousands of conversations parses only the few that match.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moviechat_tui.i18n import _
from moviechat_tui.models import Conversation, ConversationSummary, Message
from moviechat_tui.personas import Persona, find
from moviechat_tui.store import ConversationStore, StoreError

SNIPPET_RADIUS = 40


@dataclass(frozen=True)
class SearchHit:
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


def _needle_bytes(query: str) -> bytes | None:
    """The bytes a file must contain for `query` to be in it (None: cannot prefilter)."""
    if any(ch in query for ch in '"\\') or any(ord(ch) < 0x20 for ch in query):
        return None  # escaped in TOML: parse every file
    if any(ord(ch) > 127 and ch.lower() != ch.upper() for ch in query):
        return None  # bytes.lower() folds ASCII only: "É" must still find "é"
    return query.encode("utf-8").lower()


def search_conversations(store: ConversationStore, query: str,
                         limit: int = 500) -> list[SearchHit]:
    """Messages containing `query` (case-insensitive), newest conversation first."""
    query = query.strip()
    if not query:
        return []
    folded = query.casefold()
    needle = _needle_bytes(query)
    hits: list[SearchHit] = []
    for summary in store.list_summaries():
        if needle is not None:
            try:
                raw = store.path_for(summary.id).read_bytes().lower()
            except OSError:
                continue
            if needle not in raw:
                continue
        try:
            conv = store.load(summary.id).conversation
        except StoreError:
            continue
        for message in conv.messages:
            if message.hidden or message.role == "notice":
                continue
            index = message.content.casefold().find(folded)
            if index < 0:
                continue
            snippet, start, end = _snippet(message.content, index, index + len(query))
            hits.append(SearchHit(conv.id, conv.title, conv.updated, message.id, message.role,
                                  snippet, start, end))
            if len(hits) >= limit:
                return hits
    return hits


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
            if message.finish_reason == "persona":
                persona = find(personas, message.persona or "")
                name = persona.display_name if persona else message.content
                lines += ["---", "", "*" + _("Persona: {name}").format(name=name) + "*", ""]
            continue
        stamp = message.created.strftime("%Y-%m-%d %H:%M")
        lines += [f"## {_speaker(message, personas)} · {stamp}", "", message.content, ""]
    return "\n".join(lines).rstrip() + "\n"
