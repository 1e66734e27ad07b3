"""EntryList: one of your lists on screen, however long — only the rows in view are drawn.

A `DataTable` or `OptionList` builds something for every row it is given (a 10,000-entry
diary: hundreds of milliseconds, again at each key of the filter). This is a `ScrollView`
with the line API: `show(name, entries)` only swaps a list and sets the virtual height, and
`render_line` draws the few rows the screen asks for (render/my_films_rows.py words them).
A cursor row is highlighted; Up/Down/PageUp/PageDown/Home/End move it, a click puts it there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message as TextualMessage
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from moviechat_tui.core.i18n import _
from moviechat_tui.films.my_lists import Entry, ListName
from moviechat_tui.tui.render.my_films_rows import entry_row


class EntryList(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    EntryList {
        height: 1fr;
        overflow-x: hidden;
        & > .entry-list--cursor {
            color: $block-cursor-blurred-foreground;
            background: $block-cursor-blurred-background;
        }
        &:focus > .entry-list--cursor {
            color: $block-cursor-foreground;
            background: $block-cursor-background;
            text-style: $block-cursor-text-style;
        }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"entry-list--row", "entry-list--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", _("Up"), show=False),
        Binding("down", "move(1)", _("Down"), show=False),
        Binding("pageup", "page(-1)", _("Page up"), show=False),
        Binding("pagedown", "page(1)", _("Page down"), show=False),
        Binding("home", "to(0)", _("First"), show=False),
        Binding("end", "to(-1)", _("Last"), show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Moved(TextualMessage):
        """The cursor is on another entry (or the list changed under it)."""

        def __init__(self, entry_list: EntryList) -> None:
            super().__init__()
            self.entry_list = entry_list

    class AtTop(TextualMessage):
        """Up on the first row: the screen may move the focus above the list."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.name_of_list: ListName = "watchlist"
        self.entries: Sequence[Entry] = ()

    def show(self, name: ListName, entries: Sequence[Entry], *, keep: Entry | None = None
             ) -> None:
        """Show `entries` of list `name`; the cursor on `keep` if it is among them (an
        entry changed, the filter narrowed), else on the first row."""
        self.name_of_list = name
        self.entries = entries
        self.virtual_size = Size(self.scrollable_content_region.width, len(entries))
        index = 0
        if keep is not None:
            try:
                index = list(entries).index(keep)
            except ValueError:
                index = 0
        self.cursor = index
        self._scroll_to_cursor()
        self.refresh()

    @property
    def current(self) -> Entry | None:
        if 0 <= self.cursor < len(self.entries):
            return self.entries[self.cursor]
        return None

    def watch_cursor(self) -> None:
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.Moved(self))

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self.entries) - 1)) if self.entries else 0

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height
        top = round(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, len(self.entries))
        self._scroll_to_cursor()

    # -- drawing ------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = round(self.scroll_y) + y
        base = self.get_visual_style("entry-list--row")
        if not 0 <= index < len(self.entries):
            return Strip.blank(width, base.rich_style)
        style = (self.get_visual_style("entry-list--row", "entry-list--cursor")
                 if index == self.cursor else base)
        row = entry_row(self.name_of_list, self.entries[index], max(1, width - 2))
        segments = row.pad_left(1).render_segments(style)
        return Strip(segments).crop_extend(0, width, style.rich_style)

    # -- moving -------------------------------------------------------------------------------

    def action_move(self, step: int) -> None:
        if step < 0 and self.cursor == 0:
            self.post_message(self.AtTop())
            return
        self.cursor += step

    def action_page(self, step: int) -> None:
        self.cursor += step * max(1, self.scrollable_content_region.height - 1)

    def action_to(self, index: int) -> None:
        self.cursor = index if index >= 0 else len(self.entries) - 1

    def on_click(self, event: events.Click) -> None:
        row = round(self.scroll_y) + event.y
        if 0 <= row < len(self.entries):
            self.cursor = row
