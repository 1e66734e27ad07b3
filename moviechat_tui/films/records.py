"""The values the catalogue returns, and the JSON shapes `moviechat films … --json` prints.

Plain `Record`s (frozen, cheap to define) holding text that is already sanitised at import:
a title or a name from the datasets can be shown as it is — but, like any text that came
from outside, never parsed as markup.

IMDb ids are given as IMDb writes them (`tt0111161`, `nm0000001`): they are what a user
can paste into a browser, and `film_url` makes the link. The JSON shapes keep numbers as
JSON numbers and absent facts as `null`; lists are always lists (possibly empty).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from moviechat_tui.core.records import Record, field

ATTRIBUTION = "Information courtesy of IMDb (https://www.imdb.com). Used with permission."
"""The wording IMDb asks for wherever its data is shown (help.imdb.com, "Can I use IMDb
data in my software?"). Not translated: it is IMDb's sentence."""
TERMS = ("IMDb's datasets are for personal and non-commercial use; moviechat downloads them "
         "onto your own machine when you ask, and neither bundles nor redistributes them.")


def tconst_text(number: int) -> str:
    """111161 → 'tt0111161' (at least seven digits, as IMDb writes them)."""
    return f"tt{number:07d}"


def nconst_text(number: int) -> str:
    return f"nm{number:07d}"


def parse_imdb_id(text: str, prefix: str) -> int | None:
    """'tt0111161' (or a pasted IMDb link to it) → 111161; None if it is not such an id."""
    text = text.strip().rstrip("/")
    if "/" in text:
        text = text.rsplit("/", 1)[-1]
    if len(text) > 2 and text[:2].lower() == prefix and text[2:].isdigit() and text[2:].isascii():
        return int(text[2:])
    return None


def film_url(film_id: str) -> str:
    return f"https://www.imdb.com/title/{film_id}/"


def person_url(person_id: str) -> str:
    return f"https://www.imdb.com/name/{person_id}/"


class FilmSummary(Record):
    """One film as a search lists it. `matched_title` is the alternative title the query
    matched when it was neither the title nor the original title (e.g. '기생충')."""

    id: str
    title: str
    original_title: str | None
    year: int | None
    end_year: int | None
    kind: str
    runtime_minutes: int | None
    genres: tuple[str, ...]
    directors: tuple[str, ...]
    rating: float | None
    votes: int | None
    matched_title: str | None = None

    @property
    def url(self) -> str:
        return film_url(self.id)


class Credit(Record):
    """A person on a film: `role` is IMDb's category (actor, director, composer, …), `job`
    IMDb's detail when it gives one ('novel', 'director of photography'), `characters` the
    parts played, from the raw JSON of title.principals."""

    person_id: str
    name: str
    role: str
    job: str | None = None
    characters: tuple[str, ...] = ()


class AltTitle(Record):
    title: str
    region: str | None
    language: str | None


class FilmDetails(Record):
    """A film card: the summary plus writers, the principal cast (with characters), the
    other principal crew, and every alternative title kept."""

    film: FilmSummary
    writers: tuple[str, ...] = ()
    cast: tuple[Credit, ...] = ()
    crew: tuple[Credit, ...] = ()
    akas: tuple[AltTitle, ...] = ()

    @property
    def url(self) -> str:
        return self.film.url


class FilmRef(Record):
    """A film named in passing (a person's films, a mention in a reply)."""

    id: str
    title: str
    year: int | None
    kind: str
    votes: int | None = None


class PersonSummary(Record):
    id: str
    name: str
    birth_year: int | None
    death_year: int | None
    known_for: tuple[FilmRef, ...] = ()

    @property
    def url(self) -> str:
        return person_url(self.id)


class PersonCredit(Record):
    film: FilmRef
    role: str
    job: str | None = None
    characters: tuple[str, ...] = ()


class PersonDetails(Record):
    person: PersonSummary
    credits: tuple[PersonCredit, ...] = ()
    """Most-voted films first."""


class CatalogueStatus(Record):
    path: Path
    source: str
    imported_at: str
    size_bytes: int
    counts: dict[str, int] = field(default_factory=dict)
    malformed: dict[str, int] = field(default_factory=dict)
    files: tuple[str, ...] = ()


def characters_from_json(raw: str | None) -> tuple[str, ...]:
    """title.principals' `characters` (`["Brooke","Herself"]`) as a tuple; text that is not
    such a list is kept as one character rather than lost."""
    if not raw:
        return ()
    try:
        value = json.loads(raw)
    except ValueError:
        return (raw,)
    if isinstance(value, list):
        return tuple(str(item) for item in value if isinstance(item, str | int | float))
    return (str(value),)


# -- the JSON shapes --------------------------------------------------------------------------

def film_json(film: FilmSummary) -> dict[str, Any]:
    """One search result: `moviechat films search --json` prints a list of these."""
    return {
        "id": film.id,
        "title": film.title,
        "original_title": film.original_title or film.title,
        "year": film.year,
        "end_year": film.end_year,
        "kind": film.kind,
        "runtime_minutes": film.runtime_minutes,
        "genres": list(film.genres),
        "directors": list(film.directors),
        "rating": film.rating,
        "votes": film.votes,
        "url": film.url,
        "matched_title": film.matched_title,
    }


def details_json(details: FilmDetails) -> dict[str, Any]:
    """`moviechat films show ID --json`: the search fields plus writers, cast, crew, akas."""
    data = film_json(details.film)
    data.pop("matched_title", None)
    data["writers"] = list(details.writers)
    data["cast"] = [{"id": c.person_id, "name": c.name, "characters": list(c.characters)}
                    for c in details.cast]
    data["crew"] = [{"id": c.person_id, "name": c.name, "role": c.role, "job": c.job}
                    for c in details.crew]
    data["akas"] = [{"title": a.title, "region": a.region, "language": a.language}
                    for a in details.akas]
    data["attribution"] = ATTRIBUTION
    return data


def person_json(person: PersonSummary) -> dict[str, Any]:
    return {
        "id": person.id,
        "name": person.name,
        "birth_year": person.birth_year,
        "death_year": person.death_year,
        "url": person.url,
        "known_for": [film_ref_json(f) for f in person.known_for],
    }


def film_ref_json(film: FilmRef) -> dict[str, Any]:
    return {"id": film.id, "title": film.title, "year": film.year, "kind": film.kind,
            "votes": film.votes}


def status_json(status: CatalogueStatus) -> dict[str, Any]:
    """`moviechat films status --json`."""
    return {
        "path": str(status.path),
        "source": status.source,
        "imported_at": status.imported_at,
        "size_bytes": status.size_bytes,
        "counts": dict(status.counts),
        "malformed_rows": dict(status.malformed),
        "files": list(status.files),
        "attribution": ATTRIBUTION,
    }
