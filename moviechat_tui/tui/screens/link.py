"""Links in replies are never opened by a click alone: this dialog shows the full address
(model output can disguise a link's target) and opens it only when the user says so."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from moviechat_tui.core.i18n import _


class LinkScreen(ModalScreen[str | None]):
    """Dismisses with "open", "copy" or None."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    BINDINGS = [Binding("escape", "dismiss(None)", _("Cancel"), id="cancel_link")]

    def __init__(self, href: str) -> None:
        super().__init__()
        self.href = href

    def compose(self) -> ComposeResult:
        with Vertical(id="link-dialog"):
            yield Static(Content(_("Open this link in your browser?")), id="link-title")
            yield Static(Content(self.href), id="link-href")
            with Horizontal(id="link-buttons"):
                yield Button(_("Open"), id="open", variant="primary")
                yield Button(_("Copy"), id="copy")
                yield Button(_("Cancel"), id="cancel")

    @on(Button.Pressed)
    def choose(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "cancel" else event.button.id)
