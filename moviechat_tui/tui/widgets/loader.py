"""A line at either end of a long conversation: "N earlier messages — Enter to load"."""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widgets import Static

from moviechat_tui.core.i18n import _, ngettext


class Loader(Static, can_focus=True):
    BINDINGS = [Binding("enter,space", "activate", _("Load"), show=False)]

    class Activated(TextualMessage):
        def __init__(self, loader: Loader, direction: int) -> None:
            super().__init__()
            self.loader = loader
            self.direction = direction

    def __init__(self, direction: int, count: int) -> None:
        text = (ngettext("▲ {n} earlier message: Enter or click to load more",
                         "▲ {n} earlier messages: Enter or click to load more", count)
                if direction < 0 else
                ngettext("▼ {n} later message: Enter or click to load more",
                         "▼ {n} later messages: Enter or click to load more", count))
        super().__init__(Content(text.format(n=f"{count:,}")), classes="loader")
        self.direction = direction

    def action_activate(self) -> None:
        self.post_message(self.Activated(self, self.direction))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_activate()
