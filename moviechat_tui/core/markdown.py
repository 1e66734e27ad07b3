"""How a reply's Markdown is read: one markdown-it parser for everything that reads it.

The reply view renders with it (Rich's Markdown over these tokens) and "copy code block N"
counts fenced code blocks with it, so block N is the one the screen shows as the N-th — also
a code block inside a list item, which a pattern for fences at the start of a line missed.

markdown-it is imported when the parser is first needed (not at start-up: an empty chat's
first frame has no Markdown to read).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


@lru_cache(maxsize=1)
def parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough (what Rich's Markdown enables). One parser,
    built once: building one costs as much as parsing a short block (~0.3 ms), and parsing
    does not change it. Use it from one thread."""
    from markdown_it import MarkdownIt

    return MarkdownIt().enable("strikethrough").enable("table")
