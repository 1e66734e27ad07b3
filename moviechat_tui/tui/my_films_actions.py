"""The keys that put a film in your lists, wherever a film shows: the film card, a reply's
films (the focused reply, its `f` list) and the My films screen all call these.

    w   add to the watchlist            l   log as watched today
    d   log as watched on a day…        r   rate (a dialog: 1–5, . for a half)

Each asks what it must (the day, the stars) in a small dialog, does the change through the
session (session/my_films.py, in a thread) and says what happened in a toast. They must
run in a worker (the dialogs are awaited) and return True when the lists changed, so the
screen that asked can show the new state. The keys are `[keys]` ids (settings/keys.py).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from moviechat_tui.core.i18n import _
from moviechat_tui.session.my_films import ListFilm

if TYPE_CHECKING:
    from moviechat_tui.films.my_lists import Outcome
    from moviechat_tui.session.my_films import MyFilms
    from moviechat_tui.tui.app import MovieChatApp


class MyFilmsActions:
    def __init__(self, app: MovieChatApp) -> None:
        self.app = app

    @property
    def lists(self) -> MyFilms:
        return self.app.controller.my_films

    def _say(self, text: str) -> None:
        self.app.notify(text, markup=False)

    async def run(self, action: str, ref: ListFilm) -> bool:
        """One of FILM_ACTIONS (tui/widgets/film_list_keys.py) on `ref`."""
        if action == "add_to_watchlist":
            return await self.add_to_watchlist(ref)
        if action == "log_watched":
            return await self.log_watched(ref)
        if action == "log_watched_on":
            return await self.log_watched(ref, ask_day=True)
        if action == "rate_film":
            return await self.rate(ref)
        raise ValueError(action)

    async def add_to_watchlist(self, ref: ListFilm) -> bool:
        outcome = await self.lists.add_to_watchlist(ref)
        if outcome is None:
            return False
        if _unchanged(outcome):
            self._say(_("{film} is already on your watchlist.").format(film=ref.label))
            return False
        self._say(_("Added {film} to your watchlist.").format(film=ref.label))
        return True

    async def log_watched(self, ref: ListFilm, *, ask_day: bool = False) -> bool:
        day: date | None = None
        if ask_day:
            from moviechat_tui.tui.screens.watched_on_dialog import WatchedOnDialog

            day = await self.app.push_screen_wait(WatchedOnDialog(ref.label))
            if day is None:
                return False
        outcome = await self.lists.log_watched(ref, day)
        if outcome is None:
            return False
        shown = day or date.today()
        if _unchanged(outcome):
            self._say(_("{film} is already in your diary on {day}.").format(
                film=ref.label, day=shown.isoformat()))
            return False
        if shown == date.today():
            self._say(_("Logged {film} as watched today.").format(film=ref.label))
        else:
            self._say(_("Logged {film} as watched on {day}.").format(film=ref.label,
                                                                      day=shown.isoformat()))
        return True

    async def rate(self, ref: ListFilm, current: float | None = None) -> bool:
        from moviechat_tui.tui.render.my_films_rows import rating_words
        from moviechat_tui.tui.screens.rating_dialog import RatingDialog

        if current is None:
            state = await self.lists.state_of(ref)
            current = state.rating if state is not None else None
        rating = await self.app.push_screen_wait(RatingDialog(ref.label, current))
        if rating is None:
            return False
        outcome = await self.lists.rate(ref, rating)
        if outcome is None:
            return False
        self._say(_("Rated {film} {stars}.").format(film=ref.label,
                                                    stars=rating_words(rating)))
        return not _unchanged(outcome)


def _unchanged(outcome: Outcome) -> bool:
    return outcome.value == "unchanged"
