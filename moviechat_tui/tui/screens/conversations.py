"""The conversation library: browse and filter by title, search every message's text, rename,
delete to the trash and restore.

The list comes from file headers and the search from the library controller (threads);
nothing here reads files. Dismisses with (conversation id, message id to scroll to) or None.

Columns are sized to the table's width and their content each time rows are shown (see
render/library_rows): the title (or, in a search, the snippet centred on the match) takes
the room, the other columns keep their content's width and leave first when space is short.
The line under the table gives the highlighted row in full. The footer shows the keys that
work in the current view (`check_action`): Rename and Delete only in the title list, and
ctrl+f / ctrl+t named after where they lead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static

from moviechat_tui.core.conversation import ConversationSummary
from moviechat_tui.core.i18n import _
from moviechat_tui.core.persona import find
from moviechat_tui.library.search import SearchHit
from moviechat_tui.library.trash import TrashedConversation
from moviechat_tui.tui.render.library_rows import (
    TITLE_TARGET,
    Column,
    content_width,
    fit_columns,
    hit_detail,
    shorten,
    snippet_around,
    summary_detail,
    when,
)
from moviechat_tui.tui.screens.dialogs import ConfirmDialog, TextDialog
from moviechat_tui.tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from moviechat_tui.session.library_actions import LibraryController
    from moviechat_tui.tui.app import MovieChatApp

BUSY_HINT_AFTER = 0.25
"""Seconds a listing or search may take before the screen says it is still working."""

Opened = tuple[str, str | None]


class Mode(StrEnum):
    TITLES = "titles"
    TEXT = "text"
    TRASH = "trash"


class ConversationsScreen(ModalScreen[Opened | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#filter"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    filter_input = getters.query_one("#filter", Input)
    table = getters.query_one("#conversation-table", DataTable)
    empty_hint = getters.query_one("#conversations-empty", Static)
    detail = getters.query_one("#conversation-detail", Static)
    # Two bindings per mode key: the one `check_action` allows in the current view is the one
    # that runs and that the footer shows ("Search text" in the titles, "Titles" in a search).
    # priority: the filter Input has focus and binds enter and ctrl+d (delete right) itself.
    BINDINGS = [
        Binding("enter", "activate('open')", _("Open"), id="open_row", priority=True),
        Binding("enter", "activate('restore')", _("Restore"), id="restore_row",
                priority=True),
        Binding("down", "focus_table", _("List"), show=False),
        Binding("ctrl+f", "switch('text')", _("Search text"), id="search_text", priority=True),
        Binding("ctrl+f", "back_to_titles('text')", _("Titles"), id="titles_from_search",
                priority=True),
        Binding("ctrl+t", "switch('trash')", _("Trash"), id="show_trash", priority=True),
        Binding("ctrl+t", "back_to_titles('trash')", _("Titles"), id="titles_from_trash",
                priority=True),
        Binding("ctrl+r", "rename", _("Rename"), id="rename_conversation", priority=True),
        Binding("ctrl+d", "delete", _("Delete"), id="delete_conversation", priority=True),
        Binding("escape", "dismiss(None)", _("Close"), id="close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.mode = Mode.TITLES
        self._summaries: list[ConversationSummary] = []
        self._hits: list[SearchHit] = []
        self._trash: list[TrashedConversation] = []
        self._search_timer: Timer | None = None

    @property
    def library(self) -> LibraryController:
        return self.app.library

    def compose(self) -> ComposeResult:
        with Vertical(id="conversations-dialog"):
            yield Static(id="conversations-title")
            yield Input(id="filter")
            yield Static(id="conversations-empty")
            yield DataTable(id="conversation-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="conversation-detail")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._switch(Mode.TITLES)

    # ------------------------------------------------------------------ modes
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the keys that work in this view are live (and shown in the footer)."""
        if action == "switch":
            return self.mode != parameters[0]
        if action == "back_to_titles":
            return self.mode == parameters[0]
        if action in ("rename", "delete"):
            return self.mode == Mode.TITLES and bool(self.table.row_count)
        if action == "activate":
            wanted = "restore" if self.mode == Mode.TRASH else "open"
            return parameters[0] == wanted and bool(self.table.row_count)
        return True

    def action_switch(self, mode: str) -> None:
        self._switch(Mode(mode))

    def action_back_to_titles(self, _mode: str) -> None:
        self._switch(Mode.TITLES)

    def action_activate(self, _what: str) -> None:
        self._activate(self._current_key())

    def _switch(self, mode: Mode) -> None:
        self.mode = mode
        titles = {
            Mode.TITLES: _("Conversations — ctrl+f searches every message, ctrl+t the trash"),
            Mode.TEXT: _("Search the text of every message — ctrl+f back to titles"),
            Mode.TRASH: _("Trash (kept 30 days) — Enter restores, ctrl+t back"),
        }
        placeholders = {
            Mode.TITLES: _("Filter by title, persona or model…"),
            Mode.TEXT: _("Words to find in any message…"),
            Mode.TRASH: _("Filter the trash by title…"),
        }
        self.query_one("#conversations-title", Static).update(Content(titles[mode]))
        field = self.filter_input
        field.placeholder = placeholders[mode]
        field.value = ""
        field.focus()
        self.table.clear(columns=True)
        self.detail.display = False
        self.refresh_bindings()
        self.load()

    # ----------------------------------------------------------------- loading
    @work(exclusive=True, group="load")
    async def load(self) -> None:
        with self._busy_hint(_("Reading the conversation list…")):
            if self.mode == Mode.TITLES:
                self._summaries = await self.app.controller.list_conversations()
            elif self.mode == Mode.TRASH:
                self._trash = await self.library.trash_entries()
        self._fill(self.filter_input.value)

    @work(exclusive=True, group="search")
    async def search(self, query: str) -> None:
        with self._busy_hint(_("Searching every message…")):
            self._hits = await self.library.search(query) if query.strip() else []
        if self.mode == Mode.TEXT:
            self._fill(query)

    @contextlib.contextmanager
    def _busy_hint(self, text: str) -> Iterator[None]:
        """Say what is happening when it takes long enough to notice (a first listing
        rebuilds the index, a first search may read every conversation): an empty table or
        "No message contains that text." while results are still coming would be wrong."""

        def show() -> None:
            empty = self.empty_hint
            empty.update(Content(text))
            empty.display = True

        timer = self.set_timer(BUSY_HINT_AFTER, show)
        try:
            yield
        finally:
            timer.stop()

    def _persona_name(self, persona_id: str) -> str:
        persona = find(self.app.controller.personas, persona_id)
        return persona.display_name if persona else persona_id

    def _table_width(self) -> int:
        """Cells the table has (before it is laid out: what the dialog's CSS gives it)."""
        width = self.table.size.width
        if width:
            return width
        return min(140, self.app.size.width * 9 // 10) - 4

    def _fill(self, needle: str) -> None:
        """Show the rows of the current view that match `needle`, in columns sized for them."""
        table = self.table
        folded = needle.casefold().strip()
        rows: list[tuple[str, dict[str, Text | str]]] = []
        if self.mode == Mode.TEXT:
            for hit in self._hits:
                rows.append((f"{hit.conversation_id}:{hit.message_id}", {
                    "title": hit.title or _("(untitled)"), "updated": when(hit.updated)}))
        elif self.mode == Mode.TRASH:
            for entry in self._trash:
                s = entry.summary
                if folded and folded not in s.title.casefold():
                    continue
                rows.append((str(entry.path), {
                    "title": s.title or _("(untitled)"),
                    "persona": self._persona_name(s.persona),
                    "updated": when(datetime.fromtimestamp(entry.deleted_at).astimezone()),
                    "count": str(s.message_count)}))
        else:
            for s in self._summaries:
                persona = self._persona_name(s.persona)
                if folded and folded not in f"{s.title} {persona} {s.model}".casefold():
                    continue
                rows.append((s.id, {"title": s.title or _("(untitled)"), "persona": persona,
                                    "model": s.model, "updated": when(s.updated),
                                    "count": str(s.message_count)}))
        columns = self._columns_for([cells for _key, cells in rows])
        table.clear(columns=True)
        for column in columns:
            table.add_column(column.label, key=column.key, width=column.width)
        snippets = {f"{hit.conversation_id}:{hit.message_id}": hit for hit in self._hits}
        for key, cells in rows:
            shown: list[Text | str] = []
            for column in columns:
                if column.key == "snippet":
                    hit = snippets[key]
                    shown.append(snippet_around(hit.snippet, hit.match_start, hit.match_end,
                                                column.width))
                else:
                    shown.append(Text(shorten(str(cells[column.key]), column.width),
                                      no_wrap=True))
            table.add_row(*shown, key=key)
        table.display = bool(rows)
        self._show_empty_hint(needle, len(rows))
        self._show_detail()
        self.refresh_bindings()

    def _columns_for(self, rows: list[dict[str, Text | str]]) -> list[Column]:
        """The view's columns, fitted to the table's width (render/library_rows)."""

        def sized(key: str, label: str, cap: int) -> Column:
            return Column(key, label, content_width(label, [str(r[key]) for r in rows], cap))

        total = self._table_width()
        updated = sized("updated", _("Deleted") if self.mode == Mode.TRASH else _("Updated"),
                        16)
        if self.mode == Mode.TEXT:
            # The snippet first: the full title of the highlighted row is shown below.
            title = sized("title", _("Conversation"), max(12, (total - 40) // 2))
            return fit_columns(total, Column("snippet", _("Match"), 0), [title, updated],
                               drop_order=["updated"], target=total // 3)
        others = [sized("persona", _("Persona"), 20)]
        drop = ["model", "persona", "count"]
        if self.mode == Mode.TITLES:
            others.append(sized("model", _("Model"), 20))
        others += [updated, sized("count", _("Msgs"), 6)]
        longest = max((cell_len(str(r["title"])) for r in rows), default=0)
        return fit_columns(total, Column("title", _("Title"), 0), others, drop_order=drop,
                           target=min(TITLE_TARGET, max(longest, 16)))

    def _show_empty_hint(self, needle: str, shown: int) -> None:
        """Where the table would be, say why it is empty: nothing saved, nothing matches, an
        empty trash."""
        empty = self.empty_hint
        if shown:
            empty.display = False
            return
        if self.table.has_focus:
            self.filter_input.focus()
        if self.mode == Mode.TEXT:
            text = (_("No message contains that text.") if needle.strip()
                    else _("Type to search every message in every conversation."))
        elif self.mode == Mode.TRASH:
            text = _("The trash is empty: conversations you delete (ctrl+d in the title "
                     "list) are kept here for 30 days.")
        elif not self._summaries:
            text = _("No saved conversations yet. Esc to go back and start one.")
        else:
            text = _("Nothing matches this filter.")
        empty.update(Content(text))
        empty.display = True

    @on(DataTable.RowHighlighted)
    def _show_detail(self) -> None:
        """The highlighted row in full under the table: the whole title (a conversation and
        its "(branch)" differ at the end), and what columns left out for lack of room."""
        key = self._current_key()
        detail = self.detail
        text = self._detail_text(key) if key is not None else None
        detail.display = text is not None
        if text is not None:
            detail.update(text)

    def _detail_text(self, key: str) -> Text | None:
        if self.mode == Mode.TEXT:
            hit = next((h for h in self._hits if f"{h.conversation_id}:{h.message_id}" == key),
                       None)
            return hit_detail(hit) if hit is not None else None
        if self.mode == Mode.TRASH:
            entry = next((e for e in self._trash if str(e.path) == key), None)
            summary = entry.summary if entry is not None else None
        else:
            summary = next((s for s in self._summaries if s.id == key), None)
        if summary is None:
            return None
        return summary_detail(summary, self._persona_name(summary.persona))

    def on_resize(self) -> None:
        """Columns are fitted to the width: fit them again, keeping the highlighted row."""
        if not self.table.columns:
            return
        key = self._current_key()
        self._fill(self.filter_input.value)
        if key is not None and key in self.table.rows:
            self.table.move_cursor(row=self.table.get_row_index(key))

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        if self.mode == Mode.TEXT:
            if self._search_timer is not None:
                self._search_timer.stop()
            value = event.value
            self._search_timer = self.set_timer(0.2, lambda: self.search(value))
        else:
            self._fill(event.value)

    # ----------------------------------------------------------------- actions
    def _current_key(self) -> str | None:
        table = self.table
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value

    @on(DataTable.RowSelected)
    def open_row(self, event: DataTable.RowSelected) -> None:
        self._activate(event.row_key.value)

    def _activate(self, key: str | None) -> None:
        if key is None:
            return
        if self.mode == Mode.TEXT:
            conv_id, message_id = key.split(":", 1)
            self.dismiss((conv_id, message_id))
        elif self.mode == Mode.TRASH:
            self._restore(key)
        else:
            self.dismiss((key, None))

    @work(group="restore")
    async def _restore(self, path: str) -> None:
        entry = next((e for e in self._trash if str(e.path) == path), None)
        if entry is not None and await self.library.restore(entry):
            self.load()

    def _summary_for_action(self) -> ConversationSummary | None:
        """The highlighted conversation of the title list (the only view where rename and
        delete are live: see check_action)."""
        key = self._current_key()
        if self.mode != Mode.TITLES or key is None:
            return None
        return next((s for s in self._summaries if s.id == key), None)

    @work(group="rename")
    async def action_rename(self) -> None:
        summary = self._summary_for_action()
        if summary is None:
            return
        title = await self.app.push_screen_wait(
            TextDialog(_("Rename conversation"), summary.title))
        if title and await self.library.rename(summary.id, title):
            self.load()

    @work(group="delete")
    async def action_delete(self) -> None:
        summary = self._summary_for_action()
        if summary is None:
            return
        question = _("Move “{title}” to the trash? It can be restored for 30 days.").format(
            title=summary.title or _("(untitled)"))
        if await self.app.push_screen_wait(ConfirmDialog(question, _("Delete"))):
            await self.library.delete(summary.id)
            self.load()

    def action_focus_table(self) -> None:
        self.table.focus()
