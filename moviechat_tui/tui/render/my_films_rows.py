"""My films in words and cells: stars for a rating, one row of a list fitted to a width, the
line about a highlighted entry, and a film's place in your lists as the card says it.

    2024-03-09  ★★★★½  Parasite (2019)  ↻ #cinema            (a diary row)

Titles, tags and notes come from files and imports: they become literal `Content`, never
markup. No widgets here (widgets/entry_list.py draws the rows).
"""

from __future__ import annotations

from datetime import date

from rich.cells import cell_len, set_cell_size
from textual.content import Content

from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.text import one_line
from moviechat_tui.films.my_lists import Entry, ListName, SortKey
from moviechat_tui.session.my_films import FilmState

DATE_CELLS = 10
STAR_CELLS = 5
GAP = "  "


def stars(rating: float | None) -> str:
    """★★★★½ for 4.5; "" for no rating."""
    if rating is None:
        return ""
    whole = int(rating)
    return "★" * whole + ("½" if rating - whole >= 0.5 else "")


def rating_words(rating: float) -> str:
    """"★★★★½ (4.5)": the stars and the number, for toasts and the card."""
    return f"{stars(rating)} ({rating:g})"


def list_title(name: ListName) -> str:
    return {"watchlist": _("Watchlist"), "diary": _("Diary"), "ratings": _("Ratings")}[name]


def sort_words(by: SortKey) -> str:
    return {"date": _("by date, newest first"), "title": _("by title"),
            "year": _("by year, oldest first"),
            "rating": _("by rating, highest first")}[by]


def _day(name: ListName, entry: Entry) -> str:
    if name == "diary":
        if entry.watched is None:
            # Cells, not characters: "날짜 없음" is 5 characters and 9 cells.
            return set_cell_size(_("no date"), DATE_CELLS)
        return entry.watched.isoformat()
    return entry.date.isoformat()


def entry_row(name: ListName, entry: Entry, width: int) -> Content:
    """One row: the day (added, watched or rated), the stars (not on the watchlist), the
    title and year, then a rewatch mark and the tags, cut to `width` cells."""
    muted = "$foreground-muted"
    parts: list[Content] = [Content.styled(_day(name, entry), muted), Content(GAP)]
    if name != "watchlist":
        shown = stars(entry.rating)
        parts += [Content.styled(shown + " " * (STAR_CELLS - cell_len(shown)), "$accent"),
                  Content(GAP)]
    parts.append(Content(entry.label))
    extra: list[str] = []
    if entry.rewatch:
        extra.append("↻")
    extra += [f"#{tag}" for tag in entry.tags]
    if extra:
        parts.append(Content.styled(GAP + " ".join(extra), muted))
    row = Content.assemble(*parts)
    if row.cell_length > width:
        row = row.truncate(max(1, width), ellipsis=True)
    return row


def entry_detail(name: ListName, entry: Entry) -> str:
    """Everything about the highlighted entry on one line (the row may be cut): title, id
    (or "not in the catalogue"), the days, rating, rewatch, tags, the start of the note."""
    parts = [entry.label]
    parts.append(entry.film_id or _("not matched to the catalogue: Enter searches for it"))
    if name == "diary":
        parts.append(_("watched {day}").format(day=entry.watched.isoformat())
                     if entry.watched else _("seen, day unknown"))
    elif name == "watchlist":
        parts.append(_("added {day}").format(day=entry.date.isoformat()))
    else:
        parts.append(_("rated {day}").format(day=entry.date.isoformat()))
    if entry.rating is not None:
        parts.append(rating_words(entry.rating))
    if entry.rewatch:
        parts.append(_("rewatch"))
    if entry.tags:
        parts.append(" ".join(f"#{tag}" for tag in entry.tags))
    if entry.note:
        parts.append("“" + one_line(entry.note, 80) + "”")
    return " · ".join(parts)


def state_words(state: FilmState) -> str:
    """The card's line: "On your watchlist · Watched 2 times, last on 2024-03-09 · Rated
    ★★★★½ (4.5)", or that the film is in none of your lists."""
    parts: list[str] = []
    if state.on_watchlist:
        parts.append(_("On your watchlist"))
    if state.viewings == 1 and state.last_watched is not None:
        # Two sentences, not one plural: Korean has one plural form, "1번 봤음" reads oddly.
        parts.append(_("Watched on {day}").format(day=_day_words(state.last_watched)))
    elif state.viewings and state.last_watched is not None:
        parts.append(ngettext("Watched {n} time, last on {day}",
                              "Watched {n} times, last on {day}",
                              state.viewings).format(n=state.viewings,
                                                     day=_day_words(state.last_watched)))
    elif state.seen:
        parts.append(_("Seen (day unknown)"))
    if state.rating is not None:
        parts.append(_("Rated {stars}").format(stars=rating_words(state.rating)))
    if not parts:
        return _("Not in your lists yet")
    return " · ".join(parts)


def _day_words(day: date) -> str:
    return _("today") if day == date.today() else day.isoformat()
