"""The conversation library: browse and filter by title, search every message's text, rename,
delete to the trash and restore.

The list comes from file headers and the search from the library controller (threads);
nothing here reads files. Dismisses with (conversation id, message id to scroll to) or None.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

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


def _when(moment: datetime) -> str:
    local = moment.astimezone()
    today = datetime.now().astimezone().date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%Y-%m-%d")


class ConversationsScreen(ModalScreen[Opened | None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#filter"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    filter_input = getters.query_one("#filter", Input)
    table = getters.query_one("#conversation-table", DataTable)
    empty_hint = getters.query_one("#conversations-empty", Static)
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Close"), id="close"),
        Binding("down", "focus_table", _("List"), show=False),
        # priority: the filter Input has focus and binds ctrl+d (delete right) itself.
        Binding("ctrl+f", "toggle_mode('text')", _("Search text"), id="search_text",
                priority=True),
        Binding("ctrl+t", "toggle_mode('trash')", _("Trash"), id="show_trash", priority=True),
        Binding("ctrl+r", "rename", _("Rename"), id="rename_conversation", priority=True),
        Binding("ctrl+d", "delete", _("Delete"), id="delete_conversation", priority=True),
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
            yield DataTable(id="conversation-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="conversations-empty")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._switch(Mode.TITLES)

    # ------------------------------------------------------------------ modes
    def action_toggle_mode(self, mode: str) -> None:
        self._switch(Mode.TITLES if self.mode == mode else Mode(mode))

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
        self._columns()
        self.load()

    def _columns(self) -> None:
        table = self.table
        table.clear(columns=True)
        # Fixed widths (the first column takes the rest) so the layout does not jump while
        # filtering; a narrow terminal drops the model column rather than squeezing titles.
        available = min(140, self.app.size.width * 9 // 10) - 6
        self._show_model = available >= 90
        if self.mode == Mode.TEXT:
            fixed = {"title": 24, "updated": 12}
            first = max(16, available - sum(fixed.values()) - 8)
            table.add_column(_("Match"), key="snippet", width=first)
            table.add_column(_("Conversation"), key="title", width=fixed["title"])
            table.add_column(_("Updated"), key="updated", width=fixed["updated"])
            return
        fixed = {"persona": 18, "updated": 12, "count": 5}
        if self._show_model and self.mode == Mode.TITLES:
            fixed["model"] = 16
        first = max(16, available - sum(fixed.values()) - 2 * (len(fixed) + 1))
        table.add_column(_("Title"), key="title", width=first)
        table.add_column(_("Persona"), key="persona", width=fixed["persona"])
        if "model" in fixed:
            table.add_column(_("Model"), key="model", width=fixed["model"])
        table.add_column(_("Deleted") if self.mode == Mode.TRASH else _("Updated"),
                         key="updated", width=fixed["updated"])
        table.add_column(_("Msgs"), key="count", width=fixed["count"])

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

    def _fill(self, needle: str) -> None:
        table = self.table
        table.clear()
        folded = needle.casefold().strip()
        if self.mode == Mode.TEXT:
            for hit in self._hits:
                snippet = Text(hit.snippet)
                snippet.stylize("bold reverse", hit.match_start, hit.match_end)
                table.add_row(snippet, Text(hit.title or _("(untitled)")), _when(hit.updated),
                              key=f"{hit.conversation_id}:{hit.message_id}")
        elif self.mode == Mode.TRASH:
            for entry in self._trash:
                s = entry.summary
                if folded and folded not in s.title.casefold():
                    continue
                table.add_row(Text(s.title or _("(untitled)")), Text(self._persona_name(s.persona)),
                              _when(datetime.fromtimestamp(entry.deleted_at).astimezone()),
                              str(s.message_count), key=str(entry.path))
        else:
            for s in self._summaries:
                persona = self._persona_name(s.persona)
                if folded and folded not in f"{s.title} {persona} {s.model}".casefold():
                    continue
                cells: list[Text | str] = [Text(s.title or _("(untitled)")), Text(persona)]
                if self._show_model:
                    cells.append(Text(s.model))
                cells += [_when(s.updated), str(s.message_count)]
                table.add_row(*cells, key=s.id)
        self._show_empty_hint(needle, table.row_count)

    def _show_empty_hint(self, needle: str, shown: int) -> None:
        empty = self.empty_hint
        if shown:
            empty.display = False
            return
        if self.mode == Mode.TEXT:
            text = (_("No message contains that text.") if needle.strip()
                    else _("Type to search every message in every conversation."))
        elif self.mode == Mode.TRASH:
            text = _("The trash is empty.")
        elif not self._summaries:
            text = _("No saved conversations yet. Esc to go back and start one.")
        else:
            text = _("Nothing matches this filter.")
        empty.update(Content(text))
        empty.display = True

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

    @on(Input.Submitted, "#filter")
    def open_first(self) -> None:
        self._activate(self._current_key())

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
        key = self._current_key()
        if self.mode != Mode.TITLES or key is None:
            self.notify(_("Rename and delete work in the title list (ctrl+f/ctrl+t go back)."),
                        markup=False)
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
