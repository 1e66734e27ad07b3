"""The top bar: app name, conversation title, active persona, model, endpoint profile.

A custom bar rather than Textual's `Header` because the title and persona names are untrusted
text and must be rendered literally (Content), never as markup.

At 80 columns there is not room for everything (a local model's file name alone can take 30),
so the right-hand part is fitted to the room left (`fit_right`): what says where the words go
— the persona, the profile, "offline", the spoiler shield's mark — is kept whole, the model
name is shortened, and the token total goes first.

A mark says when your lists went along with the request just made ("♥ your lists": the taste
summary, or the model read them with the `my_films` tool): `show_lists_shared`, kept whole
like "offline".
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import Static

from moviechat_tui.core.i18n import _

APP_LABEL = "🎬 moviechat"
MIN_TITLE = 12
"""Cells the conversation title keeps before the right-hand part may take them."""
MIN_MODEL = 10
"""A model name is shortened down to this many cells (with "…"), never further."""


def shorten(text: str, cells: int) -> str:
    """`text` cut to at most `cells` terminal cells, ending in "…" if it was cut."""
    if cell_len(text) <= cells:
        return text
    out = ""
    for char in text:
        if cell_len(out + char) > cells - 1:
            break
        out += char
    return out + "…"


def shield_mark() -> str:
    """The header's mark while the conversation's spoiler shield is on. (A monkey, not a
    shield: 🛡 has no emoji presentation of its own, and terminals draw it one or two cells
    wide, which would shift the header.)"""
    return "🙈 " + _("shield")


def fit_right(*, persona: str, model: str, profile: str | None, tokens: str | None,
              extra: str, busy: bool, room: int, shield: str = "") -> str:
    """The header's right-hand part in at most `room` cells if it can be done: the token
    total is dropped first, then the model name shortened (to MIN_MODEL cells); the persona,
    the profile, `extra` ("offline") and `shield` (the spoiler shield's mark) are never cut
    here."""
    def build(model_text: str, with_tokens: bool) -> str:
        parts = [persona, model_text + (f" @ {profile}" if profile else "")]
        if with_tokens and tokens:
            parts.append(tokens)
        if extra:
            parts.append(extra)
        if shield:
            parts.append(shield)
        return ("● " if busy else "") + " · ".join(parts)

    full = build(model, True)
    if cell_len(full) <= room:
        return full
    without_tokens = build(model, False)
    if cell_len(without_tokens) <= room:
        return without_tokens
    fixed = cell_len(without_tokens) - cell_len(model)
    return build(shorten(model, max(MIN_MODEL, room - fixed)), False)


class ChatHeader(Horizontal):
    def __init__(self) -> None:
        super().__init__(id="chat-header")
        self._title = ""
        self._persona = ""
        self._model = ""
        self._profile: str | None = None
        self._busy = False
        self._extra = ""
        self._tokens: int | None = None
        self._shield = False
        self._lists_shared = False

    def compose(self) -> ComposeResult:
        yield Static(Content(APP_LABEL), id="header-app")
        yield Static(id="header-title")
        yield Static(id="header-persona")

    def on_mount(self) -> None:
        self._render_parts()

    def on_resize(self, event: events.Resize) -> None:
        self._render_parts()

    def set_state(self, *, title: str | None = None, persona: str | None = None,
                  model: str | None = None, busy: bool | None = None,
                  extra: str | None = None, tokens: int | None = -1,
                  profile: str | None = "", shield: bool | None = None) -> None:
        """Update the parts given; `tokens` -1 means unchanged, None hides the total;
        `profile` "" means unchanged, None: no profile (the top-level settings); `shield`:
        the conversation's spoiler shield is on."""
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
        if profile != "":
            self._profile = profile
        if shield is not None:
            self._shield = shield
        if self.is_mounted:
            self._render_parts()

    def show_lists_shared(self, shared: bool) -> None:
        """The "♥ your lists" mark: on while the last request carried your lists."""
        self._lists_shared = shared
        if self.is_mounted:
            self._render_parts()

    @property
    def lists_shared(self) -> bool:
        return self._lists_shared

    @property
    def right_text(self) -> str:
        """The right-hand part as shown at the header's current width."""
        width = self.size.width or self.app.size.width
        # The app label with its padding, the title's minimum, and the right part's padding.
        room = width - (cell_len(APP_LABEL) + 2) - MIN_TITLE - 2
        tokens = (None if self._tokens is None
                  else _("{n} tokens").format(n=f"{self._tokens:,}"))
        extra = " · ".join(part for part in (
            self._extra, _("♥ your lists") if self._lists_shared else "") if part)
        return fit_right(persona=self._persona, model=self._model, profile=self._profile,
                         tokens=tokens, extra=extra, busy=self._busy, room=room,
                         shield=shield_mark() if self._shield else "")

    def _render_parts(self) -> None:
        title = self._title or _("New conversation")
        self.query_one("#header-title", Static).update(Content(title))
        self.query_one("#header-persona", Static).update(Content(self.right_text))
