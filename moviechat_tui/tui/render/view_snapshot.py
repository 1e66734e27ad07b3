"""A snapshot of the rendered replies on screen, to show them again without rendering.

`take` turns the lines of the replies mounted in the chat pane into JSON (each segment as
text and an index into a table of styles); `restore` turns it back into lines for the replies
of a conversation just opened, which `RenderedMarkdown` then shows instead of rendering —
only if the reply's text (a digest), the width and the theme are what they were. The
controller keeps the bytes on disk between runs (`view_cache`).

The file is the user's, but read as untrusted all the same: text with a control character,
a style that does not parse or carries a terminal hyperlink, or any other surprise makes the
whole snapshot ignored (the replies are then rendered as usual). A link is only ever the same
"ask before opening" click action the renderer makes.

A reply with spoilers (core/spoilers.py) is never kept, and never restored: its lines are
drawn again at the next start, every passage closed. So the file holds no spoiler's text —
neither one the user opened nor one drawn from a reply of an older version, before it hid
them — and a passage opened in one run can't come back open by accident in the next.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from rich.errors import StyleSyntaxError
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.records import Record
from moviechat_tui.core.spoilers import has_markers
from moviechat_tui.core.text import sanitize
from moviechat_tui.tui.render.links import link_href, link_style

VERSION = 2
"""Bump when rendering changes what a reply looks like (old snapshots are then ignored)."""


class Rendered(Record):
    """A reply's lines as they were last shown, at `width` in `theme`."""

    width: int
    theme: str
    lines: tuple[Strip, ...]


def digest(message: Message) -> str:
    return hashlib.blake2b(message.content.encode("utf-8", "surrogatepass"),
                           digest_size=16).hexdigest()


def take(conversation: Conversation, theme: str,
         replies: Iterable[tuple[Message, int, list[Strip]]]) -> bytes:
    """JSON for `replies`: (message, width, lines) of the rendered replies on screen."""
    styles: dict[Style, int] = {}
    table: list[list[str | None]] = []
    out: list[dict[str, Any]] = []
    for message, width, lines in replies:
        if has_markers(message.content):
            continue
        encoded = []
        for line in lines:
            segments = []
            for text, style, _control in line:
                style = style or Style.null()
                index = styles.get(style)
                if index is None:
                    index = styles[style] = len(table)
                    # str() leaves the meta (the link's click) out: kept as its href
                    table.append([str(style), link_href(style)])
                segments.append([text, index])
            encoded.append(segments)
        out.append({"id": message.id, "digest": digest(message), "width": width,
                    "lines": encoded})
    return json.dumps({"version": VERSION, "conversation": conversation.id, "theme": theme,
                       "styles": table, "replies": out},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def restore(data: bytes | None, conversation: Conversation, theme: str) -> dict[str, Rendered]:
    """The replies of `conversation` that `data` holds, by message id (empty if unusable)."""
    if not data:
        return {}
    try:
        return _restore(json.loads(data), conversation, theme)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, StyleSyntaxError,
            RecursionError):  # RecursionError: thousands of nested brackets
        return {}


def _restore(doc: Mapping[str, Any], conversation: Conversation,
             theme: str) -> dict[str, Rendered]:
    if (doc["version"] != VERSION or doc["conversation"] != conversation.id
            or doc["theme"] != theme):
        return {}
    styles = [_style(entry) for entry in doc["styles"]]
    by_id = {m.id: m for m in conversation.messages if m.role == "assistant"}
    restored: dict[str, Rendered] = {}
    for reply in doc["replies"]:
        message = by_id.get(reply["id"])
        if (message is None or reply["digest"] != digest(message)
                or has_markers(message.content)):
            continue
        width = reply["width"]
        if not isinstance(width, int) or width <= 0:
            raise ValueError("bad width")
        lines = []
        for segments in reply["lines"]:
            parts = []
            for text, index in segments:
                if not isinstance(text, str) or "\n" in text or sanitize(text) != text:
                    raise ValueError("control character in a snapshot")
                parts.append(Segment(text, styles[index]))
            lines.append(Strip(parts))
        restored[message.id] = Rendered(width, theme, tuple(lines))
    return restored


def _style(entry: list[str | None]) -> Style:
    definition, href = entry
    if not isinstance(definition, str):
        raise ValueError("bad style")
    style = Style.parse(definition)
    if style.link:
        raise ValueError("a hyperlink in a snapshot")
    return style + link_style(href) if isinstance(href, str) else style
