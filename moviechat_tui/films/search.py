"""How a title query is matched and ranked: exact title > title prefix > all words, then
by votes — over every title of a film (primary, original, alternative), in any script.

The query is `normalize`d like the titles were at import. A year in it ("parasite 2019")
is read both ways — as a year (the other words are the title) and as a word of the title
("Blade Runner 2049") — and the better matches of the two win. A leading article counts
for nothing in the comparison ("godfather" is an exact match of "The Godfather").

Why it is fast at a million titles: titles of film *n* (its popularity rank) have rowids
`n << 8 | k`, and FTS5 returns matches in rowid order, so the first `candidates` matches
of the words are those of the most-voted films — which is all the WORDS tier needs. The
EXACT and PREFIX tiers, the only ones a less-voted film can win, are completed from the
`titles.norm` index when that read was cut short: exact titles entirely, titles starting
with the query up to `PREFIX_SCAN` rows (more than that only for a prefix so common that
no ranking of it means much). A common word ("love") therefore costs a few dozen rows and
a few index lookups, never a sort of twenty thousand matches.

A one-letter last word is matched as a whole word, not as a prefix: expanding "l" to every
word starting with it reads half the index (~100 ms); the next key narrows it anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from moviechat_tui.core.records import Record
from moviechat_tui.films.normalize import is_cjk_word, normalize, year_in

CANDIDATES = 60
"""At least this many rows are read from the full-text index per reading of a query
(3 × the limit when that is more)."""
PREFIX_SCAN = 500
"""Rows read from the `titles.norm` index to complete the prefix tier."""
EXACT_SCAN = 200
"""Most-voted films with exactly the query as a title read to complete the exact tier."""
YEAR_SCAN = 3000
"""With a year, matches of the words read (most-voted first) for the year filter: "love
2019" keeps the 2019 films among the 3,000 most-voted "love" titles (a few milliseconds),
and its exact and prefix matches of 2019 are completed from the index in any case."""

EXACT, PREFIX, WORDS = 0, 1, 2
"""Match tiers, best first."""

_ARTICLES = frozenset((
    "the", "a", "an", "le", "la", "les", "l", "un", "une", "el", "los", "las", "il", "lo",
    "gli", "i", "der", "die", "das", "den", "ein", "eine", "o", "os", "as", "de", "het", "een"))


class TitleQuery(Record):
    """One reading of a query: the normalised title words and a year to filter on."""

    norm: str
    year: int | None = None


class Match(Record):
    film: int
    """The film's popularity rank (`films.rank`)."""
    tier: int
    title_rowid: int
    """The title that matched (`titles.id`)."""


def interpretations(text: str, year: int | None = None) -> list[TitleQuery]:
    """The readings of `text`: as typed, and — when no `year` is given and one word looks
    like a year — without that word, filtered on it."""
    norm = normalize(text)
    if not norm:
        return []
    readings = [TitleQuery(norm, year)]
    words = norm.split()
    if year is None and len(words) > 1:
        for i in range(len(words) - 1, -1, -1):
            found = year_in(words[i])
            if found is not None:
                rest = " ".join(words[:i] + words[i + 1:])
                readings.append(TitleQuery(rest, found))
                break
    return readings


def strip_article(norm: str) -> str:
    first, _, rest = norm.partition(" ")
    return rest if rest and first in _ARTICLES else norm


def tier_of(title_norm: str, query_norm: str) -> int:
    """EXACT, PREFIX or WORDS for a title that contains all the words of the query."""
    best = WORDS
    for title, query in ((title_norm, query_norm),
                         (strip_article(title_norm), strip_article(query_norm))):
        if title == query:
            return EXACT
        if title.startswith(query):
            best = PREFIX
    return best


def fts_query(norm: str, *, prefix: bool = True) -> str:
    """An FTS5 query for all the words of `norm`, the last one as a prefix. Runs of CJK
    characters (one word each after `normalize`) become phrases, so they must stand
    together; words are quoted, so nothing in them is FTS syntax."""
    groups: list[list[str]] = []
    for word in norm.split():
        if groups and is_cjk_word(word) and is_cjk_word(groups[-1][-1]):
            groups[-1].append(word)
        else:
            groups.append([word])
    parts = [f'"{" ".join(group)}"' for group in groups]
    last = groups[-1][-1] if groups else ""
    if prefix and len(last) > 1 and not is_cjk_word(last):
        parts[-1] += "*"
    return " ".join(parts)


def search_titles(conn: sqlite3.Connection, text: str, *, year: int | None = None,
                  limit: int = 20) -> list[Match]:
    """The best `limit` films for `text`, best first (one `Match` per film)."""
    best: dict[int, Match] = {}
    for reading in interpretations(text, year):
        for match in _matches(conn, reading, limit):
            known = best.get(match.film)
            if known is None or match.tier < known.tier:
                best[match.film] = match
    return sorted(best.values(), key=lambda m: (m.tier, m.film))[:limit]


def _matches(conn: sqlite3.Connection, reading: TitleQuery, limit: int) -> Iterable[Match]:
    norm = reading.norm
    if not norm:
        return []
    candidates = max(CANDIDATES, 3 * limit)
    if reading.year is None:
        rows = conn.execute(
            "SELECT rowid, norm FROM titles_fts WHERE titles_fts MATCH ? "
            "ORDER BY rowid LIMIT ?", (fts_query(norm), candidates)).fetchall()
        truncated = len(rows) >= candidates
    else:
        rows = conn.execute(
            "SELECT t.id, t.norm FROM (SELECT rowid FROM titles_fts WHERE titles_fts MATCH ? "
            "ORDER BY rowid LIMIT ?) AS m JOIN titles t ON t.id = m.rowid WHERE t.year = ? "
            "ORDER BY t.id LIMIT ?",
            (fts_query(norm), YEAR_SCAN, reading.year, candidates)).fetchall()
        truncated = True  # cheap to complete, and the scan may have stopped short
    found: dict[int, Match] = {}
    for rowid, title_norm in rows:
        _keep(found, Match(rowid >> 8, tier_of(title_norm, norm), rowid))
    if truncated and sum(m.tier < WORDS for m in found.values()) < limit:
        for rowid, title_norm in _exact_and_prefix(conn, norm, reading.year):
            _keep(found, Match(rowid >> 8, tier_of(title_norm, norm), rowid))
    return found.values()


def _keep(found: dict[int, Match], match: Match) -> None:
    known = found.get(match.film)
    if known is None or match.tier < known.tier:
        found[match.film] = match


def _exact_and_prefix(conn: sqlite3.Connection, norm: str,
                      year: int | None) -> list[tuple[int, str]]:
    """Titles equal to `norm` (with or without a leading article), and titles starting
    with it, from the `titles.norm` index — the less-voted films the full-text read did
    not reach."""
    bare = strip_article(norm)
    starts = [bare, *(f"{article} {bare}" for article in ("the", "a", "an"))]
    year_filter = "" if year is None else f" AND year = {int(year)}"
    rows: list[tuple[int, str]] = conn.execute(
        f"SELECT id, norm FROM titles WHERE norm IN ({','.join('?' * len(starts))})"
        f"{year_filter} ORDER BY id LIMIT ?", [*starts, EXACT_SCAN]).fetchall()
    for start in (norm, f"the {bare}") if norm == bare else (norm, bare):
        rows += conn.execute(
            f"SELECT id, norm FROM titles WHERE norm > ? AND norm < ?{year_filter} LIMIT ?",
            (start, start + "\U0010ffff", PREFIX_SCAN)).fetchall()
    return rows


def titles_equal_to(conn: sqlite3.Connection, norms: Iterable[str],
                    with_years: Iterable[tuple[str, int]], top: int) -> list[tuple[str, int]]:
    """(norm, film rank) for titles whose normalised form is one of `norms` (exact matches,
    for recognising mentions): per title the `top` most-voted films, plus the films of
    each (title, year) in `with_years`. Bounded whatever the title: "Love" names hundreds
    of films, and a window over all of them cost ~20 ms; `LIMIT` keeps a small heap."""
    out: list[tuple[str, int]] = []
    for norm in sorted(set(norms)):
        out += [(norm, rowid >> 8) for (rowid,) in conn.execute(
            "SELECT id FROM titles WHERE norm = ? ORDER BY id LIMIT ?", (norm, top))]
    for norm, year in sorted(set(with_years)):
        out += [(norm, rowid >> 8) for (rowid,) in conn.execute(
            "SELECT id FROM titles WHERE norm = ? AND year = ? ORDER BY id LIMIT ?",
            (norm, year, top))]
    return out
