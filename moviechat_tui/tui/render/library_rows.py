"""How the library's rows fit the width they have: column widths, titles and search snippets
cut to a column (the match kept in view), and the line under the list that gives the
highlighted row in full.

Pure functions over strings and cell counts, no widgets. The library used fixed widths that
left a title 24 cells at 80 columns (a conversation and its "(branch)" looked the same) and
still cut "Three films like Parasit" at 120, and it showed the first cells of a snippet, which
at 80 columns never reached the match.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text

from moviechat_tui.core.conversation import ConversationSummary
from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.records import Record
from moviechat_tui.library.search import SearchHit

CELL_PADDING = 2
"""Cells DataTable adds to every column (one on each side)."""
SCROLLBAR = 2
"""Kept free for the table's vertical scrollbar, so a long list never scrolls sideways."""
TITLE_TARGET = 60
"""The title column grows to this (or the longest title) before the others may keep theirs."""
MIN_FLEX = 12
"""The flexible column (title or match) is never narrower than this."""
ELLIPSIS = "…"
_SUFFIX = re.compile(r"\s*\([^()]{1,20}\)$")
"""A short parenthesised ending, such as the "(branch)" a branch's title gets."""


class Column(Record):
    key: str
    label: str
    width: int


def fit_columns(total: int, flexible: Column, others: Sequence[Column],
                drop_order: Sequence[str], target: int) -> list[Column]:
    """`flexible` (first) takes the room `others` leave in `total` cells. Columns named in
    `drop_order` are left out, in that order, while the flexible one would get less than
    `target` (and at least MIN_FLEX). Each column's width is its content's; the result is in
    `flexible, *others` order."""
    kept = list(others)

    def room() -> int:
        return (total - SCROLLBAR - CELL_PADDING * (len(kept) + 1)
                - sum(column.width for column in kept))

    for key in drop_order:
        if room() >= target:
            break
        kept = [column for column in kept if column.key != key]
    return [Column(flexible.key, flexible.label, max(MIN_FLEX, room())), *kept]


def content_width(label: str, values: Sequence[str], cap: int) -> int:
    """Cells for a column: its heading and its widest value, at most `cap`."""
    return min(cap, max([cell_len(label), *(cell_len(value) for value in values)]))


def snippet_around(snippet: str, start: int, end: int, width: int) -> Text:
    """At most `width` cells of `snippet` with the match `[start, end)` in view — as much
    context on either side as fits, "…" where text was cut — and the match highlighted.
    Plain Text: the snippet is the user's or the model's words, never markup."""
    start = max(0, min(start, len(snippet)))
    end = max(start, min(end, len(snippet)))
    if cell_len(snippet) <= width:
        left, right = 0, len(snippet)
    else:
        left, right = start, end
        while right > left and cell_len(snippet[left:right]) > width - 2:
            right -= 1  # a match longer than the column: its beginning
        used = cell_len(snippet[left:right])
        turn_left = True
        while True:
            grow_left = left > 0 and used + cell_len(snippet[left - 1]) + 2 <= width
            grow_right = (right < len(snippet)
                          and used + cell_len(snippet[right]) + 2 <= width)
            if not (grow_left or grow_right):
                break
            if grow_left and (turn_left or not grow_right):
                left -= 1
                used += cell_len(snippet[left])
            else:
                used += cell_len(snippet[right])
                right += 1
            turn_left = not turn_left
    prefix = ELLIPSIS if left > 0 and not snippet[left:].startswith(ELLIPSIS) else ""
    suffix = ELLIPSIS if right < len(snippet) and not snippet[:right].endswith(ELLIPSIS) else ""
    text = Text(prefix + snippet[left:right] + suffix, no_wrap=True, overflow="ellipsis")
    offset = len(prefix) - left
    match_start, match_end = max(start, left) + offset, min(end, right) + offset
    if match_end > match_start:
        text.stylize("bold reverse", match_start, match_end)
    return text


def shorten(title: str, width: int) -> str:
    """`title` in at most `width` cells, cut with "…". A short parenthesised ending is kept
    — "Three films like Parasite by Bo… (branch)" — so a branch and its original still
    differ when both are cut."""
    if cell_len(title) <= width:
        return title
    suffix = _SUFFIX.search(title)
    tail = suffix.group(0) if suffix and cell_len(suffix.group(0)) + 4 <= width else ""
    head = title[:len(title) - len(tail)]
    room = width - cell_len(tail) - 1
    while head and cell_len(head) > room:
        head = head[:-1]
    return head.rstrip() + ELLIPSIS + tail


def when(moment: datetime) -> str:
    """A time as short as it can be: "20:05" today, "03-14 20:05" this year, else the date."""
    local = moment.astimezone()
    today = datetime.now().astimezone().date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%Y-%m-%d")


def summary_detail(summary: ConversationSummary, persona_name: str) -> Text:
    """The line under the list for a conversation: its whole title, then what the columns
    may have left out."""
    count = ngettext("{count} message", "{count} messages",
                     summary.message_count).format(count=summary.message_count)
    facts = [persona_name, summary.model, count, when(summary.updated)]
    line = Text(summary.title or _("(untitled)"), style="bold")
    return line.append(" · " + " · ".join(fact for fact in facts if fact))


def hit_detail(hit: SearchHit) -> Text:
    """The line under the search results: the conversation's whole title, who wrote the
    message, and the snippet at full length, the match highlighted."""
    line = Text(hit.title or _("(untitled)"), style="bold")
    speaker = _("You") if hit.role == "user" else _("Assistant")
    line.append(f" · {when(hit.updated)} · {speaker}\n")
    snippet = Text(hit.snippet)
    snippet.stylize("bold reverse", hit.match_start, hit.match_end)
    return line.append_text(snippet)
