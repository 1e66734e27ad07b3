"""My films out again, as a CSV Letterboxd's importer takes (letterboxd.com/import).

Letterboxd documents its import format on its "Importing data" page
(https://letterboxd.com/about/importing-data/): a CSV whose header names the columns it
knows — among them `imdbID`, `tmdbID`, `LetterboxdURI`, `Title`, `Year`, `Directors`,
`Rating` (0.5–5) or `Rating10` (1–10), `WatchedDate` (YYYY-MM-DD, which makes the row a diary
entry), `Rewatch`, `Tags` and `Review`. An `imdbID` (or tmdbID, or URI) matches the film
exactly; a title, with the year, is a best guess. So every entry with a catalogue id is
written with it.

Two files, because Letterboxd imports the watchlist separately from the films you watched:

- `films_csv`: one row per diary entry (`WatchedDate`, its rating, `Rewatch`, tags, its note
  as `Review`); a row without `WatchedDate` for a film seen on an unknown day; and a
  rating-only row for each rated film whose rating is not the one of its newest viewing.
- `watchlist_csv`: `imdbID`, `Title`, `Year`.

Both read back into moviechat (letterboxd.py reads the import format), adding nothing to
the lists they came from.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date

from moviechat_tui.films.my_lists import Entry, MyLists, title_key

FILMS_COLUMNS = ("imdbID", "Title", "Year", "WatchedDate", "Rating", "Rewatch", "Tags",
                 "Review")
WATCHLIST_COLUMNS = ("imdbID", "Title", "Year")


def _rating(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else str(value)


def _csv(columns: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def _film_key(entry: Entry) -> object:
    return entry.film_id or title_key(entry)


def films_rows(lists: MyLists) -> list[tuple[str, ...]]:
    """Diary rows first (in the diary's order), then the rating-only rows."""
    newest: dict[object, Entry] = {}
    for entry in lists.diary:
        if entry.watched is None:
            continue
        key = _film_key(entry)
        kept = newest.get(key)
        if kept is None or (kept.watched or date.min) <= entry.watched:
            newest[key] = entry
    rows: list[tuple[str, ...]] = [(entry.film_id or "", entry.title, str(entry.year or ""),
             entry.watched.isoformat() if entry.watched else "", _rating(entry.rating),
             ("true" if entry.rewatch else "false") if entry.watched else "",
             ", ".join(entry.tags), entry.note)
            for entry in lists.diary]
    for entry in lists.ratings:
        latest = newest.get(_film_key(entry))
        if latest is not None and latest.rating == entry.rating:
            continue  # its newest viewing's row says it
        rows.append((entry.film_id or "", entry.title, str(entry.year or ""), "",
                     _rating(entry.rating), "", ", ".join(entry.tags), entry.note))
    return rows


def films_csv(lists: MyLists) -> str:
    """The films you watched and rated, in Letterboxd's import format (CRLF, RFC 4180)."""
    return _csv(FILMS_COLUMNS, films_rows(lists))


def watchlist_csv(lists: MyLists) -> str:
    return _csv(WATCHLIST_COLUMNS, ((e.film_id or "", e.title, str(e.year or ""))
                                    for e in lists.watchlist))
