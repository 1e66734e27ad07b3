"""Look up a film: results update as you type (in any language: Hangul, Japanese, Cyrillic …;
a year narrows them), each with its year, kind, director and rating; Enter opens the card.

The search runs in the app's FilmLookup (a worker thread), a moment after the last key
(`DEBOUNCE`), and a newer query cancels the one in flight — typing never waits for the
catalogue. No catalogue is not an error here: the screen says how to get one and stays
usable (Esc). Works with no model, no network and no API key.
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
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.text import one_line
from moviechat_tui.films.card import summary_line
from moviechat_tui.films.records import ATTRIBUTION, FilmSummary
from moviechat_tui.tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp

DEBOUNCE = 0.15
"""Seconds after the last key before the catalogue is asked."""


def result_prompt(film: FilmSummary) -> Content:
    """Two lines: the title (and the original or matched title), then year, kind, director
    and rating. Literal text: a title is never markup."""
    title = Content.styled(one_line(film.title, 120), "bold")
    other = film.matched_title or (film.original_title
                                   if film.original_title != film.title else None)
    if other:
        title += Content.styled(f"  {one_line(other, 120)}", "$foreground-muted")
    return Content.assemble(title, "\n", Content.styled(summary_line(film), "$foreground-muted"))


class FilmSearchScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#film-query"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    query_input = getters.query_one("#film-query", Input)
    results = getters.query_one("#film-results", OptionList)
    status = getters.query_one("#film-status", Static)
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Close"), id="close_film_search"),
        Binding("down", "focus_results", _("Results"), show=False),
    ]

    def __init__(self, query: str = "") -> None:
        super().__init__()
        self.initial_query = query
        self.films: list[FilmSummary] = []
        self.shown_query: str | None = None
        """The query whose results are on screen (None until the first are)."""
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="film-search-dialog"):
            yield Static(Content(_("Look up a film")), id="film-search-title")
            yield Input(value=self.initial_query, id="film-query",
                        placeholder=_("A title in any language; a year narrows it"))
            yield OptionList(id="film-results")
            yield Static(id="film-status")
            yield Static(Content(ATTRIBUTION), id="film-attribution")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.results.display = False
        self.search(self.initial_query)

    @on(Input.Changed, "#film-query")
    def query_changed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        value = event.value
        self._timer = self.set_timer(DEBOUNCE, lambda: self.search(value))

    @work(exclusive=True, group="film-search")
    async def search(self, query: str) -> None:
        from moviechat_tui.session.films import NoCatalogue, offer_text

        text = query.strip()
        if not text:
            available = await self.app.films.available()
            self._show(query, [], _("Type a title: Parasite, 기생충, parasite 2019 …")
                       if available else offer_text())
            return
        found = await self.app.films.search(text)
        if isinstance(found, NoCatalogue):
            self._show(query, [], found.message)
            return
        self._show(query, found, _("No film matches that title.") if not found else None)

    def _show(self, query: str, films: list[FilmSummary], status: str | None) -> None:
        if not self.query("#film-results"):  # the screen went while the catalogue answered
            return
        self.shown_query = query
        self.films = films
        options = self.results
        options.clear_options()
        options.add_options([Option(result_prompt(f), id=f.id) for f in films])
        options.display = bool(films)
        if films:
            options.highlighted = 0
        if status is not None:
            self._say(status)
        elif films:
            self._say(ngettext("{n} film · Enter opens the card",
                               "{n} films · Enter opens the card", len(films)).format(
                                   n=len(films)))

    def _say(self, text: str) -> None:
        self.status.update(Content(text))

    def _open(self, film_id: str | None) -> None:
        if film_id:
            self.app.open_film_card(film_id)

    @on(Input.Submitted, "#film-query")
    def open_highlighted(self) -> None:
        options = self.results
        if options.highlighted is not None and options.option_count:
            self._open(options.get_option_at_index(options.highlighted).id)

    @on(OptionList.OptionSelected, "#film-results")
    def open_selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option.id)

    def action_focus_results(self) -> None:
        if self.results.option_count:
            self.results.focus()
