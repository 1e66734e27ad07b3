"""The TOML layout of one list file (`watchlist.toml`, `diary.toml`, `ratings.toml`), and
nothing about files or locks (that is `my_store.py`).

    # moviechat-tui: your diary. …
    schema_version = 1
    count = 2

    [[diary]]
    title = "Parasite"
    year = 2019
    imdb = "tt6751668"
    date = 2024-03-02
    watched = 2024-03-01
    rating = 4.5
    rewatch = true
    tags = ["cinema", "with Min-ji"]
    note = "Saw it twice in a week."

A table per entry, one key per line, dates as TOML dates: a person can read the file and
edit it (docs/storage-format.md, "My films"). Absent keys mean "none" (TOML has no null).

Why the writer is ours and not tomli-w: the layout is fixed and flat, and tomli-w formats
strings a character at a time — 250 ms for a 10,000-entry diary, against a few dozen
milliseconds here (benchmarks/my_films.py). Strings are written as JSON writes them, which is
valid TOML for the sanitised text an entry holds (every control character but tab and
newline is gone, `\\n` and `\\t` are escapes both read the same way); a note of several lines
is written as a multi-line literal string, so it reads in the file as it was typed.

`count` is checked on reading: a file cut at a `[[…]]` boundary is still valid TOML, silently
missing entries (docs/storage-format.md), so a count that does not match is damage.
Everything read is untrusted: text is sanitised as it is parsed (`make_entry`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from moviechat_tui.core.errors import SchemaFileError
from moviechat_tui.films.my_lists import Entry, ListName, make_entry, valid_rating, valid_year

SCHEMA_VERSION = 1
"""The newest layout this version reads and the one it writes."""

_HEADERS: dict[str, str] = {
    "watchlist": "your watchlist: films you want to see",
    "diary": "your diary: films you watched, and when",
    "ratings": "your ratings: 0.5 to 5 in half steps",
}
_TCONST = re.compile(r"tt[0-9]{7,10}")
_NOT_LITERAL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]|'''")


class ListFormatError(SchemaFileError):
    """The bytes are not a list this version can read (see `SchemaFileError`)."""

    supported_version = SCHEMA_VERSION


# -- writing ------------------------------------------------------------------------------

def _string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _note(text: str) -> str:
    if "\n" in text and _NOT_LITERAL.search(text) is None:
        return f"note = '''\n{text}'''\n"
    return f"note = {_string(text)}\n"


def _table(name: str, entry: Entry) -> str:
    lines = [f"\n[[{name}]]\n", f"title = {_string(entry.title)}\n"]
    if entry.year is not None:
        lines.append(f"year = {entry.year}\n")
    if entry.film_id:
        lines.append(f'imdb = "{entry.film_id}"\n')
    lines.append(f"date = {entry.date.isoformat()}\n")
    if entry.watched is not None:
        lines.append(f"watched = {entry.watched.isoformat()}\n")
    if entry.rating is not None:
        lines.append(f"rating = {entry.rating!r}\n")
    if entry.rewatch:
        lines.append("rewatch = true\n")
    if entry.tags:
        lines.append("tags = [" + ", ".join(_string(t) for t in entry.tags) + "]\n")
    if entry.note:
        lines.append(_note(entry.note))
    return "".join(lines)


TableCache = dict[int, tuple[Entry, str]]
"""Formatted `[[…]]` tables by the id of the (immutable) entry they were made from."""


def serialise_list(name: ListName, entries: Iterable[Entry],
                   cache: TableCache | None = None) -> bytes:
    """The whole file, built in memory (a formatting error cannot leave half a file). With
    `cache` (kept by the caller between writes of the same list, updated here), the tables
    of entries written before are reused: a change formats only the entries it made."""
    items = list(entries)
    fresh: TableCache = {}
    tables = []
    for entry in items:
        hit = cache.get(id(entry)) if cache is not None else None
        table = hit[1] if hit is not None and hit[0] is entry else _table(name, entry)
        fresh[id(entry)] = (entry, table)
        tables.append(table)
    if cache is not None:
        cache.clear()
        cache.update(fresh)
    head = (f"# moviechat-tui: {_HEADERS[name]}.\n"
            "# Edit with care: see \"My films\" in docs/storage-format.md (keep `count` equal\n"
            "# to the number of entries, or the file is taken for damaged).\n"
            f"schema_version = {SCHEMA_VERSION}\n"
            f"count = {len(items)}\n")
    text = head + "".join(tables)
    return text.encode("utf-8", "replace")


# -- reading ------------------------------------------------------------------------------

def _parse_toml(data: bytes) -> dict[str, Any]:
    """The document: by `my_toml.read_fast` when the file is as this app writes it (~7x
    faster), else by tomllib, which also says what is wrong with a damaged file."""
    import tomllib

    from moviechat_tui.films.my_toml import read_fast

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ListFormatError(f"not UTF-8 text (byte {err.start})") from None
    fast = read_fast(text)
    if fast is not None:
        return fast
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ListFormatError(f"not valid TOML: {err}") from None
    except ValueError as err:
        raise ListFormatError(f"not usable TOML: {err}") from None
    except RecursionError:
        raise ListFormatError("not usable TOML: nested too deeply") from None


def _int(table: Mapping[str, Any], key: str, where: str) -> int:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ListFormatError(f"{where}: '{key}' should be a whole number")
    return value


def _date(table: Mapping[str, Any], key: str, where: str) -> date:
    value = table.get(key)
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise ListFormatError(f"{where}: '{key}' should be a date (2024-03-01)")
    return value


def _entry(table: Any, index: int) -> Entry:
    where = f"entry {index + 1}"
    if not isinstance(table, dict):
        raise ListFormatError(f"{where}: not a table")
    title = table.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ListFormatError(f"{where}: 'title' should be a text that is not empty")
    year = None
    if "year" in table:
        year = valid_year(table["year"])
        if year is None:
            raise ListFormatError(f"{where}: 'year' should be a year such as 1999")
    film_id = table.get("imdb")
    if film_id is not None and (not isinstance(film_id, str) or not _TCONST.fullmatch(film_id)):
        raise ListFormatError(f"{where}: 'imdb' should be an IMDb id such as \"tt0111161\"")
    rating = None
    if "rating" in table:
        rating = valid_rating(table["rating"])
        if rating is None:
            raise ListFormatError(f"{where}: 'rating' should be 0.5 to 5 in half steps")
    rewatch = table.get("rewatch", False)
    if not isinstance(rewatch, bool):
        raise ListFormatError(f"{where}: 'rewatch' should be true or false")
    tags = table.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ListFormatError(f"{where}: 'tags' should be a list of texts")
    note = table.get("note", "")
    if not isinstance(note, str):
        raise ListFormatError(f"{where}: 'note' should be a text")
    return make_entry(title, year, film_id, _date(table, "date", where),
                      watched=_date(table, "watched", where) if "watched" in table else None,
                      rating=rating, rewatch=rewatch, tags=tags, note=note)


def parse_list(data: bytes, name: ListName) -> tuple[Entry, ...]:
    """The entries of a list file, in the file's order. Raises `ListFormatError` for
    anything it cannot trust: bad TOML, a wrong type, a count that does not match."""
    doc = _parse_toml(data)
    version = doc.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ListFormatError("header: 'schema_version' should be a whole number from 1")
    if version > SCHEMA_VERSION:
        raise ListFormatError(f"written by a newer moviechat (format {version})", version)
    try:
        count = _int(doc, "count", "header")
        tables = doc.get(name, [])
        if not isinstance(tables, list):
            raise ListFormatError(f"'{name}' should be an array of tables ([[{name}]])")
        entries = tuple(_entry(table, i) for i, table in enumerate(tables))
        if len(entries) != count:
            raise ListFormatError(f"the header says {count} entries but the file has "
                                  f"{len(entries)}: it was probably cut short")
    except ListFormatError as err:
        err.schema_version = version
        raise
    return entries
