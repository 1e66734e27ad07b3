"""Resume a saved conversation: a filterable list, newest first.

The list comes from file headers (the controller asks the store in a thread); nothing here
reads files or parses whole conversations.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Static

from moviechat_tui.i18n import _
from moviechat_tui.models import ConversationSummary
from moviechat_tui.personas import find


def _when(moment: datetime) -> str:
    local = moment.astimezone()
    today = datetime.now().astimezone().date()
    if local.date() == today:
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%b %d %H:%M")
    return local.strftime("%Y-%m-%d")


class ConversationsScreen(ModalScreen[str | None]):
    """Dismisses with the chosen conversation id, or None."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#filter"
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Close"), id="close"),
        Binding("down", "focus_table", _("List"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._summaries: list[ConversationSummary] = []
        self._show_model = True

    def compose(self) -> ComposeResult:
        with Vertical(id="conversations-dialog"):
            yield Static(Content(_("Conversations")), id="conversations-title")
            yield Input(placeholder=_("Filter by title, persona or model…"), id="filter")
            yield DataTable(id="conversation-table", cursor_type="row", zebra_stripes=True)
            yield Static(id="conversations-empty")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        # Fixed widths (the title takes the rest) so the layout does not jump while filtering;
        # a narrow terminal drops the model column rather than squeezing the title.
        available = min(140, self.app.size.width * 9 // 10) - 6
        self._show_model = available >= 90
        fixed = {"persona": 18, "updated": 12, "count": 5}
        if self._show_model:
            fixed["model"] = 16
        title_width = max(16, available - sum(fixed.values()) - 2 * (len(fixed) + 1))
        table.add_column(_("Title"), key="title", width=title_width)
        table.add_column(_("Persona"), key="persona", width=fixed["persona"])
        if self._show_model:
            table.add_column(_("Model"), key="model", width=fixed["model"])
        table.add_column(_("Updated"), key="updated", width=fixed["updated"])
        table.add_column(_("Msgs"), key="count", width=fixed["count"])
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        self._summaries = await self.app.controller.list_conversations()  # type: ignore[attr-defined]
        self._fill("")

    def _persona_name(self, persona_id: str) -> str:
        persona = find(self.app.controller.personas, persona_id)  # type: ignore[attr-defined]
        return persona.display_name if persona else persona_id

    def _fill(self, needle: str) -> None:
        table = self.query_one(DataTable)
        table.clear()
        needle = needle.casefold().strip()
        shown = 0
        for s in self._summaries:
            persona = self._persona_name(s.persona)
            haystack = f"{s.title} {persona} {s.model}".casefold()
            if needle and needle not in haystack:
                continue
            cells: list[Text | str] = [Text(s.title or _("(untitled)")), Text(persona)]
            if self._show_model:
                cells.append(Text(s.model))
            cells += [_when(s.updated), str(s.message_count)]
            table.add_row(*cells, key=s.id)
            shown += 1
        empty = self.query_one("#conversations-empty", Static)
        if not self._summaries:
            empty.update(Content(_("No saved conversations yet. Esc to go back and start one.")))
        elif not shown:
            empty.update(Content(_("Nothing matches this filter.")))
        empty.display = shown == 0

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#filter")
    def open_first(self) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
            self.dismiss(key.value)

    @on(DataTable.RowSelected)
    def open_row(self, event: DataTable.RowSelected) -> None:
        self.dismiss(event.row_key.value)

    def action_focus_table(self) -> None:
        self.query_one(DataTable).focus()
