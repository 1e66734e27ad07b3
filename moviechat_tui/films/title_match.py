"""Which catalogue film a title and a year written elsewhere (a Letterboxd row) mean.

Letterboxd exports know a film only by its title and year (its URIs are its own, and in the
diary they name the diary entry, not the film), so an import must match on those. The rule:

1. Candidates are the films that have **exactly this title** once normalised
   (films/normalize.py: case, accents, punctuation) — as their title, original title or any
   alternative title, in any script (the catalogue's `titles` table holds them all).
2. With a year: the candidates of that year; if none, of the year before or after (release
   years differ by one between sources for festival films and year-end releases). Among
   several, a feature film before a TV film, a short or a series, then the most votes.
   Nothing in those years: unmatched ("the catalogue has it only in other years"), never a
   film of another decade that happens to share the title.
3. Without a year: the one film of that title; several: unmatched ("several films have this
   title"), rather than a guess.
4. No candidate at all: the same again with a leading "The" added or removed.

The catalogue is asked in batches (`Catalogue.titled`: a couple of indexed lookups a title,
its SQL parameter lists kept short), the ±1 years and the articles only for the rows the
first pass left, so 13,000 rows against a million films take about a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING

from moviechat_tui.core.records import Record
from moviechat_tui.films.normalize import normalize

if TYPE_CHECKING:
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.records import FilmRef

BATCH = 400
"""Titles per catalogue call (each brings up to ~6 films: the IN list of one SQL statement)."""
KIND_ORDER = {"movie": 0, "tvMovie": 1, "short": 2, "tvMiniSeries": 3, "tvSeries": 4}


class Miss(Enum):
    NOT_FOUND = "not_found"
    OTHER_YEARS = "other_years"
    AMBIGUOUS = "ambiguous"


class TitleMatch(Record):
    """The film a (title, year) means, or why none: `miss`, with the years the catalogue
    has the title in (for OTHER_YEARS)."""

    film: FilmRef | None
    miss: Miss | None = None
    other_years: tuple[int, ...] = ()


def _best(films: Sequence[FilmRef]) -> FilmRef:
    return min(films, key=lambda f: (KIND_ORDER.get(f.kind, 9), -(f.votes or 0), f.id))


def pick(films: Sequence[FilmRef], year: int | None, *, near: bool = True) -> TitleMatch:
    """The rule above, on the candidates of one title."""
    unique = list({f.id: f for f in films}.values())
    if not unique:
        return TitleMatch(None, Miss.NOT_FOUND)
    if year is None:
        if len(unique) == 1:
            return TitleMatch(unique[0])
        return TitleMatch(None, Miss.AMBIGUOUS,
                          tuple(sorted({f.year for f in unique if f.year})))
    exact = [f for f in unique if f.year == year]
    if exact:
        return TitleMatch(_best(exact))
    close = [f for f in unique if f.year is not None and abs(f.year - year) == 1]
    if near and close:
        return TitleMatch(_best(close))
    return TitleMatch(None, Miss.OTHER_YEARS, tuple(sorted({f.year for f in unique if f.year})))


def _article_variants(norm: str) -> list[str]:
    first, _, rest = norm.partition(" ")
    if first == "the" and rest:
        return [rest]
    return [f"the {norm}"]


def match_titles(catalogue: Catalogue, wanted: Sequence[tuple[str, int | None]]
                 ) -> list[TitleMatch]:
    """One `TitleMatch` per (title, year) of `wanted`, in order. Raises what the catalogue
    raises (CatalogueMissing, CatalogueUnreadable)."""
    norms = [normalize(title) for title, _ in wanted]
    results: list[TitleMatch | None] = [None] * len(wanted)
    # Pass 1: the exact title, in the year given (and the most-voted of the title).
    found = _lookup(catalogue, [(n, y) for n, (_, y) in zip(norms, wanted, strict=True)])
    later: list[int] = []
    for i, (norm, (_, year)) in enumerate(zip(norms, wanted, strict=True)):
        if not norm:
            results[i] = TitleMatch(None, Miss.NOT_FOUND)
            continue
        match = pick(found.get(norm, []), year, near=False)
        if match.film is None and match.miss is not Miss.AMBIGUOUS:
            later.append(i)
        results[i] = match
    # Pass 2: the years around the one given, and the title with or without "The".
    pairs: list[tuple[str, int | None]] = []
    for i in later:
        year = wanted[i][1]
        for norm in (norms[i], *_article_variants(norms[i])):
            pairs += [(norm, y) for y in ((year - 1, year + 1) if year else ())]
            pairs.append((norm, None))
    more = _lookup(catalogue, pairs)
    for i in later:
        year = wanted[i][1]
        combined = found.get(norms[i], []) + more.get(norms[i], [])
        match = pick(combined, year)
        if match.film is None:
            variants = [f for n in _article_variants(norms[i]) for f in more.get(n, [])]
            if variants:
                alternative = pick(variants, year)
                if alternative.film is not None or not combined:
                    match = alternative
        results[i] = match
    return [r if r is not None else TitleMatch(None, Miss.NOT_FOUND) for r in results]


def _lookup(catalogue: Catalogue, pairs: Sequence[tuple[str, int | None]]
            ) -> dict[str, list[FilmRef]]:
    """Films by normalised title: the most-voted of each title, plus those of each year."""
    out: dict[str, list[FilmRef]] = {}
    for start in range(0, len(pairs), BATCH):
        chunk = [(n, y) for n, y in pairs[start:start + BATCH] if n]
        if not chunk:
            continue
        norms = {n for n, _ in chunk}
        with_years = {(n, y) for n, y in chunk if y is not None}
        for norm, films in catalogue.titled(norms, with_years).items():
            out.setdefault(norm, []).extend(films)
    return out
