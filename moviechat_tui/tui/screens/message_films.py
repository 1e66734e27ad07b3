"""The films a message names (`f` on a focused message): every one, with its mark.

Each row says what the message wrote and what the catalogue says: recognised (with its
director), ✗ not in the catalogue, or ⚠ another year. Enter on a film opens its card; on a
title the catalogue does not know, the film search with that title, to see what it does
have. What the line under a reply had no room for is all here. `w`, `l`, `d`, `r` put the
highlighted film in your lists (tui/my_films_actions.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.text import one_line
from moviechat_tui.films.card import kind_label
from moviechat_tui.films.mentions import UNKNOWN, YEAR_DIFFERS, Mention
from moviechat_tui.films.records import ATTRIBUTION
from moviechat_tui.session.my_films import ListFilm
from moviechat_tui.tui.widgets.film_list_keys import FILM_ACTIONS, film_list_binding
from moviechat_tui.tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp


def mention_prompt(mention: Mention) -> Content:
    """Two lines: what the message wrote (with its mark), then what the catalogue says."""
    written = one_line(mention.text, 120) + (f" ({mention.year})" if mention.year else "")
    film = mention.film
    if mention.verdict == UNKNOWN or film is None:
        head = Content.styled("✗ " + written, "$text-error")
        said = _("Not in the catalogue: Enter searches for similar titles")
    elif mention.verdict == YEAR_DIFFERS:
        head = Content.styled("⚠ " + written, "$text-warning")
        said = _("The catalogue says {year}: {title}, {kind}").format(
            year=film.year or "?", title=one_line(film.title, 80), kind=kind_label(film.kind))
    else:
        head = Content.styled(written, "bold")
        said = _("{title} ({year}), {kind}").format(
            title=one_line(film.title, 80), year=film.year or "?", kind=kind_label(film.kind))
    if mention.others:
        said += " · " + ngettext("{n} other film of that title",
                                 "{n} other films of that title",
                                 len(mention.others)).format(n=len(mention.others))
    return Content.assemble(head, "\n", Content.styled("  " + said, "$foreground-muted"))


class MessageFilmsScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#message-film-list"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Close"), id="close_message_films"),
        *(film_list_binding(action) for action in FILM_ACTIONS),
    ]

    def __init__(self, mentions: list[Mention]) -> None:
        super().__init__()
        self.mentions = list(mentions)

    def compose(self) -> ComposeResult:
        with Vertical(id="message-films-dialog"):
            yield Static(Content(_("Films in this message")), id="message-films-title")
            yield OptionList(*[Option(mention_prompt(m), id=str(i))
                               for i, m in enumerate(self.mentions)],
                             id="message-film-list")
            yield Static(Content(_("Enter: the film's card · ✗ a title the catalogue does "
                                   "not have · ⚠ a year that differs")),
                         id="message-films-help")
            yield Static(id="message-films-mine")
            yield Static(Content(ATTRIBUTION), id="message-films-attribution")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.highlighted_changed()

    @property
    def highlighted(self) -> Mention | None:
        index = self.query_one(OptionList).highlighted
        return self.mentions[index] if index is not None else None

    @property
    def highlighted_film(self) -> ListFilm | None:
        """The highlighted mention's film, if the catalogue has it."""
        mention = self.highlighted
        if mention is None or mention.film is None or mention.verdict == UNKNOWN:
            return None
        return ListFilm(mention.film.title, mention.film.year, mention.film.id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """w, l, d, r (and their footer entries) on a film the catalogue has."""
        if action == "film":
            return self.highlighted_film is not None
        return True

    @on(OptionList.OptionHighlighted)
    def highlighted_changed(self) -> None:
        self.refresh_bindings()
        self.show_state()

    @work(exclusive=True, group="message-film-state")
    async def show_state(self) -> None:
        """The highlighted film's place in your lists, under the list."""
        from moviechat_tui.tui.render.my_films_rows import state_words

        film = self.highlighted_film
        line = self.query_one("#message-films-mine", Static)
        if film is None:
            line.update("")
            return
        state = await self.app.controller.my_films.state_of(film)
        if state is not None and film == self.highlighted_film:
            line.update(Content.styled(f"♥ {film.label}: {state_words(state)}",
                                       "$foreground-muted" if state.empty else "$accent"))

    @work(group="message-film-lists")
    async def action_film(self, action: str) -> None:
        film = self.highlighted_film
        if (film is not None
                and await self.app.my_films_actions.run(action, film)):
            self.show_state()

    @on(OptionList.OptionSelected)
    def open_mention(self, event: OptionList.OptionSelected) -> None:
        mention = self.mentions[int(event.option.id or 0)]
        if mention.film is not None and mention.verdict != UNKNOWN:
            self.app.open_film_card(mention.film.id)
        else:
            self.app.action_look_up_film(mention.text)
