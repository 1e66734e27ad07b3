"""The multi-line prompt: Enter sends, ctrl+j (or shift/alt+enter) inserts a newline.

Plain terminals and tmux cannot tell shift+enter from enter, so ctrl+j (a line feed, which
every terminal sends distinctly) is the documented newline key. The readline keys (ctrl+a,
ctrl+e, ctrl+k, ctrl+u, ctrl+w) are Textual's TextArea's own and keep their meaning here: no
app key takes them.

Nothing the app does loses a draft: an action that puts other text in the prompt (editing the
last question, an example question) keeps the draft it replaces (`fill`) and gives it back
on Esc or once the new text is sent (`give_back_draft`); the replacement is an ordinary edit,
so ctrl+z undoes it too. A mode that lasts (editing a question, a message chosen with the
keyboard) is written on the prompt's border for as long as it lasts (`show_mode`), where a
toast would cover the text being edited and then fade while the mode is still on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, getters
from textual.content import Content
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

    _stashed: str | None = None

    def fill(self, text: str) -> None:
        """Put `text` in the prompt, ready to change and send (the cursor at its end). A draft
        it replaces is kept for `give_back_draft`."""
        draft = self.text
        if draft.strip() and draft != text and self._stashed is None:
            self._stashed = draft
        self._replace_all(text)
        self.focus()

    @property
    def has_stashed_draft(self) -> bool:
        """A draft that `fill` replaced is waiting to be given back (Esc)."""
        return self._stashed is not None

    def give_back_draft(self) -> bool:
        """Put back the draft that `fill` replaced, if any (True if there was one)."""
        draft, self._stashed = self._stashed, None
        if draft is None:
            return False
        self._replace_all(draft)
        return True

    def _replace_all(self, text: str) -> None:
        # An edit (not `self.text = …`, which forgets the undo history): ctrl+z undoes it.
        self.history.checkpoint()
        self.replace(text, (0, 0), self.document.end)
        self.history.checkpoint()
        self.move_cursor(self.document.end)

    def show_mode(self, title: str = "", subtitle: str = "") -> None:
        """What the prompt's border says: the mode that is on ("" for none) and, below, how
        to leave it."""
        self.border_title = Content(title) if title else None
        self.border_subtitle = Content(subtitle) if subtitle else None

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
