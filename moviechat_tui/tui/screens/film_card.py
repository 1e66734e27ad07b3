"""A film card: every fact the catalogue has about one film, and IMDb's attribution line.

Title, original title, years, kind, runtime, genres, directors, writers, the top cast with
their characters, the other principal crew, rating and votes, alternative titles, the IMDb id
and link — the facts and their words are films/card.py's, the same as `moviechat films show`.
From here: `c` copies the IMDb link, `a` starts a question about the film in the chat (the
prompt's draft is kept), `o` offers to open the IMDb page, Esc goes back. The line under the
title says where the film is in your lists (on the watchlist, watched when, your rating), and
`w`, `l`, `d`, `r` put it there (tui/my_films_actions.py; the keys are `[keys]` ids).

The card is read by the app's FilmLookup in a worker thread; every title and name is shown
as literal text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual import getters, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from moviechat_tui.core.i18n import _
from moviechat_tui.films.card import card_facts, title_with_year
from moviechat_tui.films.records import ATTRIBUTION, FilmDetails
from moviechat_tui.session.my_films import ListFilm
from moviechat_tui.tui.widgets.film_list_keys import film_list_binding
from moviechat_tui.tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp


class FilmCardScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#film-facts"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    # In the order the footer shows them while they fit (80 columns: up to "c Copy link"):
    # asking and your lists first, the link after.
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Back"), id="close_film_card"),
        Binding("a", "ask", _("Ask about it"), id="ask_about_film"),
        film_list_binding("add_to_watchlist"),
        film_list_binding("log_watched"),
        film_list_binding("rate_film"),
        Binding("c", "copy_link", _("Copy link"), id="copy_film_link"),
        Binding("o", "open_page", _("IMDb page"), id="open_film_page"),
        film_list_binding("log_watched_on"),
    ]

    def __init__(self, film_id: str) -> None:
        super().__init__()
        self.film_id = film_id
        self.details: FilmDetails | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="film-card-dialog"):
            yield Static(Content(self.film_id), id="film-card-title")
            yield Static(id="film-card-mine")
            yield VerticalScroll(Static(Content(_("Reading the card…"))), id="film-facts")
            yield Static(Content(ATTRIBUTION), id="film-card-attribution")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The card's keys only once there is a card (and in the footer only then)."""
        if action in ("copy_link", "ask", "open_page", "film"):
            return self.details is not None
        return True

    @work(exclusive=True)
    async def load(self) -> None:
        from moviechat_tui.session.films import NoCatalogue

        details = await self.app.films.film(self.film_id)
        found = self.query("#film-facts")
        if not found:  # the card went (or the app is closing) while the catalogue answered
            return
        facts = found.only_one(VerticalScroll)
        await facts.remove_children()
        if isinstance(details, NoCatalogue):
            await facts.mount(Static(Content(details.message), classes="film-card-problem"))
            return
        if details is None:
            await facts.mount(Static(Content(_("The catalogue has no film {id}.").format(
                id=self.film_id)), classes="film-card-problem"))
            return
        self.details = details
        self.query_one("#film-card-title", Static).update(
            Content(title_with_year(details.film)))
        rows = card_facts(details)[1:]  # the title is the card's heading
        width = max(cell_len(label) for label, _values in rows) + 2
        await facts.mount_all(
            Horizontal(Static(Content(label), classes="fact-label").set_styles(
                f"width: {width};"),
                Static(Content("\n".join(values)), classes="fact-value"),
                classes="fact")
            for label, values in rows)
        self.refresh_bindings()
        await self.show_state()

    @property
    def ref(self) -> ListFilm | None:
        if self.details is None:
            return None
        film = self.details.film
        return ListFilm(film.title, film.year, film.id)

    async def show_state(self) -> None:
        """The film's place in your lists, under the title."""
        from moviechat_tui.tui.render.my_films_rows import state_words

        ref = self.ref
        if ref is None:
            return
        state = await self.app.controller.my_films.state_of(ref)
        if state is not None and self.is_attached:
            self.query_one("#film-card-mine", Static).update(
                Content.styled("♥ " + state_words(state),
                               "$foreground-muted" if state.empty else "$accent"))

    @work(group="film-card-lists")
    async def action_film(self, action: str) -> None:
        """w, l, d, r: the film into your lists, then the line under the title again."""
        ref = self.ref
        if ref is None:
            return
        if await self.app.my_films_actions.run(action, ref):
            await self.show_state()

    def action_copy_link(self) -> None:
        if self.details is None:
            return
        url = self.details.url
        self.app.copy_to_clipboard(url)
        self.notify(_("Copied the IMDb link: {url}").format(url=url), markup=False)

    def action_ask(self) -> None:
        if self.details is not None:
            self.app.ask_about_film(self.details.film)

    def action_open_page(self) -> None:
        if self.details is not None:
            self.app.open_link(self.details.url)
