"""F1: every key the app answers to, generated from the live bindings so it cannot drift.

The dialog takes the width the terminal has (up to a readable 120 columns) and each section is
a two-column grid whose descriptions wrap on words: a fixed 78-column table cut them mid-word
("(in the data folder's ex") even at 120 columns.
"""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from moviechat_tui.core.i18n import _
from moviechat_tui.tui.widgets.key_footer import KeyFooter

KEY_GAP = 2
"""Cells between the key column and the descriptions."""


_KEY_NAMES = {"pageup": "PageUp", "pagedown": "PageDown", "escape": "Esc"}
"""Key names as keyboards print them (Textual's are lower case, one word)."""


def pretty_key(key: str) -> str:
    """"ctrl+r / f5" → "Ctrl+R / F5", "pageup" → "PageUp"."""
    return " / ".join(
        "+".join(_KEY_NAMES.get(part, part.capitalize() if len(part) > 1 else part.upper())
                 for part in one.split("+"))
        for one in key.split(" / "))


def key_grid(rows: list[tuple[str, str]], key_width: int) -> Table:
    """Keys on the left (never wrapped, `key_width` wide so every section lines up), what they
    do on the right, wrapped on words to the space left. Text, not markup: descriptions hold
    persona names from the config file."""
    grid = Table.grid(padding=(0, KEY_GAP, 0, 0), expand=True)
    grid.add_column(no_wrap=True, min_width=key_width)
    grid.add_column(ratio=1, overflow="fold")
    for key, description in rows:
        grid.add_row(Text(pretty_key(key), style="bold"), Text(description))
    return grid


class HelpScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [
        Binding("escape,f1,q", "dismiss(None)", _("Close"), id="close_help"),
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        key_width = max((cell_len(pretty_key(key)) for _title, rows in self.sections
                         for key, _description in rows), default=0)
        with VerticalScroll(id="help-dialog"):
            yield Static(Content(_("moviechat — keys")), id="help-title")
            for title, rows in self.sections:
                yield Static(Content(title), classes="help-section")
                yield Static(key_grid(rows, key_width), classes="help-keys")
            yield Static(
                Content(_("Change keys in config.toml: [keys] for actions, `key` in a "
                          "[[personas]] entry for a persona (docs/keybindings.md). "
                          "Esc closes this screen.")),
                id="help-footnote",
            )
        yield KeyFooter()
