"""How a reply's Markdown is read: one markdown-it parser for everything that reads it.

The reply view renders with it (Rich's Markdown over these tokens) and "copy code block N"
counts fenced code blocks with it, so block N is the one the screen shows as the N-th — also
a code block inside a list item, which a pattern for fences at the start of a line missed.
The library's search shows its snippets as `plain_text` (the words without the markers), read
by the same rules.

markdown-it is imported when the parser is first needed (not at start-up: an empty chat's
first frame has no Markdown to read).
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


def _new_parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough (what Rich's Markdown enables)."""
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """The parser replies are rendered with. One parser, built once: building one costs as
    much as parsing a short block (~0.3 ms), and parsing does not change it. Use it from one
    thread (the UI's)."""
    return _new_parser()


_per_thread = threading.local()


def thread_parser() -> MarkdownIt:
    """A parser of this thread's own, for work done off the UI thread (search snippets,
    exports)."""
    found: MarkdownIt | None = getattr(_per_thread, "parser", None)
    if found is None:
        found = _per_thread.parser = _new_parser()
    return found


def plain_text(markdown: str) -> str:
    """The text of `markdown` as a reader sees it, on one line: no emphasis or heading marks,
    link text without its address, an image's alt text, code as written, list items with
    their numbers, blocks and table cells separated by single spaces. For search snippets:
    "started:  1. *Paths" reads "started: 1. Paths of Glory". Safe to call from any thread."""
    words: list[str] = []
    number: list[int] = []
    """The next item number of each open ordered list (0 in a bullet list)."""
    for token in thread_parser().parse(markdown):
        if token.type == "ordered_list_open":
            number.append(int(token.attrs.get("start", 1) or 1))
        elif token.type == "bullet_list_open":
            number.append(0)
        elif token.type in ("ordered_list_close", "bullet_list_close") and number:
            number.pop()
        elif token.type == "list_item_open" and number:
            if number[-1]:
                words.append(f"{number[-1]}{token.markup}")
                number[-1] += 1
            else:
                words.append(token.markup)
        elif token.type == "inline":
            words.append(_inline_text(token.children or []))
        elif token.type in ("fence", "code_block", "html_block"):
            words.append(token.content)
    return " ".join(" ".join(words).split())


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "image":
            parts.append(_inline_text(child.children or []))
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)
