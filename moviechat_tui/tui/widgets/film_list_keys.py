"""The bindings of the keys that put a film in your lists — w, l, d, r — wherever a film
shows: the film card, a reply, a reply's list of films and My films. One definition, so the
key, the action and the label cannot drift apart between those places; each place chooses
which of them its footer shows and in what order. What the keys do is
tui/my_films_actions.py; the keys themselves are `[keys]` ids (settings/keys.py)."""

from __future__ import annotations

from textual.binding import Binding

from moviechat_tui.core.i18n import _
from moviechat_tui.settings.keys import DEFAULT_KEYS

FILM_ACTIONS = ("add_to_watchlist", "log_watched", "log_watched_on", "rate_film")
"""The binding ids (and action names) of these keys, in the order screens list them."""


def film_list_binding(action: str, *, show: bool = True) -> Binding:
    """The binding of one of FILM_ACTIONS; it runs the screen's `film(action)`."""
    labels = {"add_to_watchlist": _("Watchlist"), "log_watched": _("Watched"),
              "log_watched_on": _("Watched on…"), "rate_film": _("Rate")}
    return Binding(DEFAULT_KEYS[action], f"film({action!r})", labels[action], id=action,
                   show=show)
