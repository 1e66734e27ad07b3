"""The top bar: app name, conversation title, active persona and model.

A custom bar rather than Textual's `Header` because the title and persona names are untrusted
text and must be rendered literally (Content), never as markup.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from moviechat_tui.core.i18n import _


class ChatHeader(Horizontal):
    def __init__(self) -> None:
        super().__init__(id="chat-header")
        self._title = ""
        self._persona = ""
        self._model = ""
        self._busy = False
        self._extra = ""
        self._tokens: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content("🎬 moviechat"), id="header-app")
        yield Static(id="header-title")
        yield Static(id="header-persona")

    def on_mount(self) -> None:
        self._render_parts()

    def set_state(self, *, title: str | None = None, persona: str | None = None,
                  model: str | None = None, busy: bool | None = None,
                  extra: str | None = None, tokens: int | None = -1) -> None:
        """Update the parts given; `tokens` -1 means unchanged, None hides the total."""
        if title is not None:
            self._title = title
        if persona is not None:
            self._persona = persona
        if model is not None:
            self._model = model
        if busy is not None:
            self._busy = busy
        if extra is not None:
            self._extra = extra
        if tokens != -1:
            self._tokens = tokens
        if self.is_mounted:
            self._render_parts()

    def _render_parts(self) -> None:
        title = self._title or _("New conversation")
        self.query_one("#header-title", Static).update(Content(title))
        right = f"{'● ' if self._busy else ''}{self._persona} · {self._model}"
        if self._tokens is not None:
            right += " · " + _("{n} tokens").format(n=f"{self._tokens:,}")
        if self._extra:
            right += f" · {self._extra}"
        self.query_one("#header-persona", Static).update(Content(right))
