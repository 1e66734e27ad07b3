"""Small modal dialogs: ask for a line of text, or confirm an action. One file because each
is a few lines and they share their look (dialogs.tcss)."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from moviechat_tui.core.i18n import _

_CSS = Path(__file__).with_name("dialogs.tcss")


class TextDialog(ModalScreen[str | None]):
    """Dismisses with the text entered (stripped), or None on Esc."""

    CSS_PATH = _CSS
    BINDINGS = [Binding("escape", "dismiss(None)", _("Cancel"), id="cancel_dialog")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content(self.title_text), classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="dialog-input")
            yield Static(Content(_("Enter to confirm, Esc to cancel")), classes="dialog-hint")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)


class ConfirmDialog(ModalScreen[bool]):
    CSS_PATH = _CSS
    BINDINGS = [
        Binding("escape,n", "dismiss(False)", _("No"), id="confirm_no"),
        Binding("y", "dismiss(True)", _("Yes"), id="confirm_yes"),
    ]

    def __init__(self, question: str, confirm_label: str) -> None:
        super().__init__()
        self.question = question
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content(self.question), classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.confirm_label, id="yes", variant="error")
                yield Button(_("Cancel"), id="no")

    @on(Button.Pressed)
    def choose(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
