"""The multi-line prompt: Enter sends, ctrl+j (or shift/alt+enter) inserts a newline.

Plain terminals and tmux cannot tell shift+enter from enter, so ctrl+j (a line feed, which
every terminal sends distinctly) is the documented newline key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, getters
from textual.message import Message as TextualMessage
from textual.widgets import TextArea

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp


class PromptInput(TextArea):
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)

    class Submitted(TextualMessage):
        def __init__(self, input: PromptInput, text: str) -> None:
            super().__init__()
            self.input = input
            self.text = text

    class HistoryRequested(TextualMessage):
        """Up on an empty prompt: the chat screen moves focus to the messages."""

        def __init__(self, input: PromptInput) -> None:
            super().__init__()
            self.input = input

    NEWLINE_KEYS = frozenset({"ctrl+j", "shift+enter", "alt+enter", "ctrl+enter"})

    def __init__(self, *, id: str | None = None, placeholder: str = "") -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            compact=True,
            placeholder=placeholder,
            highlight_cursor_line=False,
        )

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.prevent_default()
            event.stop()
            if self.text.strip():
                self.post_message(self.Submitted(self, self.text))
            return
        if event.key in self.NEWLINE_KEYS:
            event.prevent_default()
            event.stop()
            self.insert("\n")
            return
        if event.key == "up" and not self.text:
            event.prevent_default()
            event.stop()
            self.post_message(self.HistoryRequested(self))
            return
        await super()._on_key(event)

    def _on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._edited()

    def _on_text_area_selection_changed(self, event: TextArea.SelectionChanged) -> None:
        self._edited()

    def _edited(self) -> None:
        """A key changed the text or moved the cursor (typed letters, and also backspace or
        the arrows, which are bindings applied after the key's own handler): once that is
        painted, say so (see Keystrokes.after_next_echo)."""
        keystrokes = self.app.keystrokes
        if keystrokes.waiting_for_echo:
            self.call_after_refresh(keystrokes.key_echoed)
