"""My films: the user's own lists — a watchlist, a diary and ratings — as plain values.

No I/O here (the files are `my_format.py` and `my_store.py`); this module holds what an entry
is and the one rule every change goes through, so the store, the Letterboxd import and the
UI cannot disagree on it:

- **An entry names a film** by the catalogue's id (`film_id`, an IMDb tconst) when it was
  matched, and always keeps the title and year as well, so it can be shown, exported and
  matched later without a catalogue.
- **Two entries are the same film** when both have an id and the ids are equal, or when
  either has none and the normalised titles (films/normalize.py) and years are equal. Two
  different films sharing a title and a year (two "Coco" of 2017) stay apart once matched.
- **Identity of an entry** (what "already there" means, which is what makes a second import
  of the same export add nothing): the film, for the watchlist and the ratings (one entry a
  film); the film and the day watched, for the diary (so a rewatch on another day is a new
  entry). A diary entry without a day ("seen, date unknown", as Letterboxd's watched.csv
  says) is kept only for a film with no other diary entry, and a dated entry replaces it.
- **Putting an entry that is already there merges** instead of duplicating: the id is
  filled in when the new one has it, tags are united, a note or a rating is kept when the
  new one has none. For a rating, the newer of the two wins (an explicit rating made on the
  same day as the one kept wins too, so a ratings file overrides a diary's older rating).

`ListEditor` applies these rules to one list with indexes (13,000 imported rows against a
10,000-entry diary are dictionary lookups, not a scan per row); `EntryFilter` is the
filter-as-you-type over one list, with the text each entry is matched on computed once.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Iterable, Sequence
from datetime import date
from enum import Enum
from typing import Any, Literal, get_args

from moviechat_tui.core.records import Record, replace
from moviechat_tui.core.text import one_line, sanitize
from moviechat_tui.films.normalize import normalize

ListName = Literal["watchlist", "diary", "ratings"]
LIST_NAMES: tuple[ListName, ...] = get_args(ListName)

SortKey = Literal["date", "title", "year", "rating"]
SORT_KEYS: tuple[SortKey, ...] = get_args(SortKey)

RATINGS: tuple[float, ...] = tuple(n / 2 for n in range(1, 11))
"""0.5 to 5 in half steps, as Letterboxd rates."""
NOTE_LIMIT = 20_000
"""Characters kept of a note (a Letterboxd review can be long; a note is not a document)."""
TAG_LIMIT = 100
"""Characters kept of one tag."""
TITLE_LIMIT = 300


def valid_rating(value: object) -> float | None:
    """`value` as one of `RATINGS`, or None if it is not one (text, 0, 4.3, 11, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or number * 2 != int(number * 2):
        return None
    return number if 0.5 <= number <= 5 else None


def valid_year(value: object) -> int | None:
    """A film's year as a number (1850–2200), or None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1850 <= value <= 2200 else None


class Entry(Record):
    """One line of a list. Which fields mean something depends on the list:

    - watchlist: `date` is when it was added;
    - diary: `watched` is the day watched (None: seen, date unknown), `date` when it was
      logged, `rating` the rating given with that viewing, `rewatch`;
    - ratings: `rating` is the film's rating, `date` when it was rated.

    Tags and a note are optional everywhere. Text is sanitised where entries are made
    (`make_entry`, the file parser), never later.
    """

    title: str
    year: int | None
    film_id: str | None
    date: dt.date
    watched: dt.date | None = None
    rating: float | None = None
    rewatch: bool = False
    tags: tuple[str, ...] = ()
    note: str = ""

    @property
    def label(self) -> str:
        """"Parasite (2019)", for lists and messages."""
        return f"{self.title} ({self.year})" if self.year else self.title


def make_entry(title: str, year: int | None, film_id: str | None, on: date, *,
               watched: date | None = None, rating: float | None = None,
               rewatch: bool = False, tags: Iterable[str] = (), note: str = "") -> Entry:
    """An entry from untrusted values (a CSV row, a list file, a key press on a card): text
    sanitised and cut to size, tags cleaned and deduplicated, a rating that is not a half
    step dropped. Cheap for the usual case (every entry of a 10,000-entry file goes through
    here on loading): text without any control or format character skips the sanitiser."""
    return Entry(_line(title, TITLE_LIMIT), valid_year(year), film_id or None, on, watched,
                 valid_rating(rating) if rating is not None else None, bool(rewatch),
                 clean_tags(tags) if tags else (),
                 (note if note.isprintable() else sanitize(note)).strip()[:NOTE_LIMIT]
                 if note else "")


def _line(text: str, limit: int) -> str:
    """`one_line`, skipping its sanitising pass for text that has nothing to remove."""
    if not text.isprintable():
        return one_line(text, limit)
    flat = text if "  " not in text and text == text.strip() else " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def clean_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags on one line each, without blanks or repeats (ignoring case), in the order first
    given."""
    kept: dict[str, str] = {}
    for tag in tags:
        cleaned = _line(tag, TAG_LIMIT)
        if cleaned and cleaned.casefold() not in kept:
            kept[cleaned.casefold()] = cleaned
    return tuple(kept.values())


class MyLists(Record):
    """All three lists, each in its canonical order (`canonical_order`)."""

    watchlist: tuple[Entry, ...] = ()
    diary: tuple[Entry, ...] = ()
    ratings: tuple[Entry, ...] = ()

    def of(self, name: ListName) -> tuple[Entry, ...]:
        entries: tuple[Entry, ...] = getattr(self, name)
        return entries

    def with_list(self, name: ListName, entries: Sequence[Entry]) -> MyLists:
        return replace(self, **{name: tuple(entries)})

    @property
    def total(self) -> int:
        return len(self.watchlist) + len(self.diary) + len(self.ratings)


# -- identity -----------------------------------------------------------------------------

_normalized = functools.lru_cache(maxsize=1 << 16)(normalize)
"""Titles normalised once per process: every change builds the indexes of the lists it
touches again (18,000 titles: ~50 ms without this, ~5 ms with it)."""


def title_key(entry: Entry) -> tuple[str, int | None]:
    return _normalized(entry.title), entry.year


def same_film(a: Entry, b: Entry) -> bool:
    if a.film_id and b.film_id:
        return a.film_id == b.film_id
    return title_key(a) == title_key(b)


def canonical_order(name: ListName, entries: Iterable[Entry]) -> tuple[Entry, ...]:
    """The order a list is kept and written in: by day (the diary by the day watched, an
    unknown day first), then title. Stable, so a file changes only where an entry did."""
    if name == "diary":
        return tuple(sorted(entries, key=lambda e: (e.watched or date.min, e.date, e.title,
                                                    e.year or 0)))
    return tuple(sorted(entries, key=lambda e: (e.date, e.title, e.year or 0)))


class Outcome(Enum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class ListEditor:
    """A working copy of one list with indexes by film, applying the rules of the module
    docstring. `entries()` gives the result in canonical order."""

    def __init__(self, name: ListName, entries: Iterable[Entry]) -> None:
        self.name = name
        self._slots: list[Entry | None] = []
        self._by_id: dict[str, list[int]] = {}
        self._by_title: dict[tuple[str, int | None], list[int]] = {}
        self.changed = False
        for entry in entries:
            self._append(entry)

    def _append(self, entry: Entry) -> None:
        index = len(self._slots)
        self._slots.append(entry)
        if entry.film_id:
            self._by_id.setdefault(entry.film_id, []).append(index)
        self._by_title.setdefault(title_key(entry), []).append(index)

    def _set(self, index: int, entry: Entry) -> None:
        old = self._slots[index]
        assert old is not None
        if old.film_id != entry.film_id and entry.film_id:
            self._by_id.setdefault(entry.film_id, []).append(index)
        self._slots[index] = entry
        self.changed = True

    def entries(self) -> tuple[Entry, ...]:
        return canonical_order(self.name, (e for e in self._slots if e is not None))

    def __len__(self) -> int:
        return sum(e is not None for e in self._slots)

    def of_film(self, entry: Entry) -> list[int]:
        """Indexes of the live entries that are the same film as `entry`."""
        found: set[int] = set()
        if entry.film_id:
            found.update(self._by_id.get(entry.film_id, ()))
        for index in self._by_title.get(title_key(entry), ()):
            other = self._slots[index]
            if other is not None and (not entry.film_id or not other.film_id
                                      or other.film_id == entry.film_id):
                found.add(index)
        return sorted(i for i in found if (e := self._slots[i]) is not None
                      and same_film(e, entry))

    def find(self, entry: Entry) -> int | None:
        """The index of the entry that has `entry`'s identity, or None."""
        for index in self.of_film(entry):
            other = self._slots[index]
            assert other is not None
            if self.name != "diary" or other.watched == entry.watched:
                return index
        return None

    def get(self, index: int) -> Entry | None:
        return self._slots[index]

    def put(self, entry: Entry, *, rating_fills_only: bool = False) -> Outcome:
        """Add `entry`, or merge it into the entry already there (see the module docstring).
        With `rating_fills_only` (a rating taken from a diary row), a ratings entry is added
        for a film without one, and an existing rating is never changed."""
        if self.name == "diary":
            return self._put_diary(entry)
        index = self.find(entry)
        if index is None:
            self._append(entry)
            self.changed = True
            return Outcome.ADDED
        old = self._slots[index]
        assert old is not None
        merged = _merged(old, entry)
        if self.name == "ratings" and not rating_fills_only and entry.date >= old.date \
                and (entry.rating != old.rating or entry.date > old.date):
            merged = replace(merged, rating=entry.rating, date=entry.date)
        if self.name == "watchlist" and entry.date < old.date:
            merged = replace(merged, date=entry.date)
        if merged == old:
            return Outcome.UNCHANGED
        self._set(index, merged)
        return Outcome.UPDATED

    def _put_diary(self, entry: Entry) -> Outcome:
        same = self.of_film(entry)
        if entry.watched is None:
            if not same:
                self._append(entry)
                self.changed = True
                return Outcome.ADDED
            undated = [i for i in same if (e := self._slots[i]) is not None and e.watched is None]
            if undated:  # the same "seen" again: merge ids, tags, note
                old = self._slots[undated[0]]
                assert old is not None
                merged = _merged(old, entry)
                if merged != old:
                    self._set(undated[0], merged)
                    return Outcome.UPDATED
            return Outcome.UNCHANGED
        for index in same:
            old = self._slots[index]
            assert old is not None
            if old.watched == entry.watched:
                merged = _merged(old, entry)
                if entry.rewatch and not old.rewatch:
                    merged = replace(merged, rewatch=True)
                if merged == old:
                    return Outcome.UNCHANGED
                self._set(index, merged)
                return Outcome.UPDATED
        for index in same:
            old = self._slots[index]
            assert old is not None
            if old.watched is None:  # a dated viewing replaces "seen, date unknown"
                merged = _merged(entry, old)
                self._set(index, merged)
                return Outcome.UPDATED
        self._append(entry)
        self.changed = True
        return Outcome.ADDED

    def remove(self, entry: Entry) -> Entry | None:
        """Remove the entry with `entry`'s identity; returns what was removed (or None)."""
        index = self.find(entry)
        if index is None:
            return None
        old = self._slots[index]
        self._slots[index] = None
        self.changed = True
        return old


def _merged(kept: Entry, new: Entry) -> Entry:
    """`kept`, with what `new` adds: the id if `kept` has none, the tags `kept` lacks, a note
    and a rating if `kept` has none, and the year of a matched film `kept` lacks (a
    Letterboxd row with an empty Year). Otherwise the title and year stay (they are the
    identity of an entry without an id)."""
    changes: dict[str, Any] = {}
    if new.film_id and not kept.film_id:
        changes["film_id"] = new.film_id
    if new.year is not None and kept.year is None and (kept.film_id or new.film_id):
        changes["year"] = new.year
    tags = clean_tags((*kept.tags, *new.tags))
    if tags != kept.tags:
        changes["tags"] = tags
    if new.note and not kept.note:
        changes["note"] = new.note
    if new.rating is not None and kept.rating is None:
        changes["rating"] = new.rating
    return replace(kept, **changes) if changes else kept


# -- filtering and sorting (the My films screen) ------------------------------------------

class EntryFilter:
    """Filter-as-you-type over one list: every word typed must start a word of the entry's
    title, tags or year (accents, case and punctuation ignored, as in the catalogue's
    search). The text matched is normalised once, here, not at each key."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = tuple(entries)
        self._words = [
            " " + normalize(" ".join((e.title, str(e.year or ""), *e.tags))) + " "
            for e in self.entries]

    def matching(self, query: str) -> list[Entry]:
        words = normalize(query).split()
        if not words:
            return list(self.entries)
        needles = [" " + w for w in words]
        return [entry for entry, text in zip(self.entries, self._words, strict=True)
                if all(n in text for n in needles)]


def sort_entries(name: ListName, entries: Iterable[Entry], by: SortKey = "date", *,
                 descending: bool | None = None) -> list[Entry]:
    """Entries sorted for showing. By default dates and ratings come newest/highest first,
    titles and years in ascending order. Entries without a year or rating go last."""
    if descending is None:
        descending = by in ("date", "rating")
    items = list(entries)
    if by == "title":
        items.sort(key=lambda e: (_normalized(e.title), e.year or 0), reverse=descending)
        return items
    if by == "year":
        known = [e for e in items if e.year is not None]
        known.sort(key=lambda e: (e.year or 0, _normalized(e.title)), reverse=descending)
        return known + [e for e in items if e.year is None]
    if by == "rating":
        rated = [e for e in items if e.rating is not None]
        rated.sort(key=lambda e: (e.rating or 0, e.watched or e.date), reverse=descending)
        return rated + [e for e in items if e.rating is None]
    if name == "diary":
        items.sort(key=lambda e: (e.watched or date.min, e.date), reverse=descending)
    else:
        items.sort(key=lambda e: e.date, reverse=descending)
    return items


# -- the JSON shape (`moviechat films mine --json`, the my_films tool) ---------------------

def entry_json(name: ListName, entry: Entry) -> dict[str, Any]:
    """One entry as docs/scripting.md describes it. Every key is always there (null or an
    empty list when it does not apply), so a script can rely on them."""
    return {
        "list": name,
        "title": entry.title,
        "year": entry.year,
        "id": entry.film_id,
        "date": entry.date.isoformat(),
        "watched_date": entry.watched.isoformat() if entry.watched else None,
        "rating": entry.rating,
        "rewatch": entry.rewatch,
        "tags": list(entry.tags),
        "note": entry.note or None,
    }
