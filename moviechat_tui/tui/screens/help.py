"""F1: every key the app answers to, generated from the live bindings so it cannot drift."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from moviechat_tui.core.i18n import _
from moviechat_tui.tui.widgets.key_footer import KeyFooter


def pretty_key(key: str) -> str:
    """"ctrl+r / f5" → "Ctrl+R / F5"."""
    return " / ".join(
        "+".join(part.capitalize() if len(part) > 1 else part.upper()
                 for part in one.split("+"))
        for one in key.split(" / "))


class HelpScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [
        Binding("escape,f1,q", "dismiss(None)", _("Close"), id="close_help"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Static(Content(_("moviechat — keys")), id="help-title")
            for title, rows in self.sections:
                yield Static(Content(title), classes="help-section")
                table: DataTable[Text] = DataTable(
                    show_cursor=False, classes="help-table", show_header=False
                )
                table.add_columns(_("Key"), _("Action"))
                for key, description in rows:
                    table.add_row(Text(pretty_key(key), style="bold"), Text(description))
                yield table
            yield Static(
                Content(_("Change keys in config.toml: [keys] for actions, `key` in a "
                          "[[personas]] entry for a persona (docs/keybindings.md). "
                          "Esc closes this screen.")),
                id="help-footnote",
            )
        yield KeyFooter()
