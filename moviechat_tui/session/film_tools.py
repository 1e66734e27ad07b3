"""The film tools a model can call: `search_films`, `film_details`, `person_films`.

Backed by the catalogue on this machine (IMDb's datasets, films/). The descriptions are
written for the model — gpt-4o-mini-class models call a tool when its description says
*when* to use it, not only what it does — and the results are compact JSON with the
catalogue's own fields and IMDb ids (films/records.py), nulls and empty lists left out to
spare tokens. Lookups run in a thread: SQLite blocks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.text import one_line
from moviechat_tui.session.catalogue_access import CatalogueAccess
from moviechat_tui.session.tools import Tool, ToolError

if TYPE_CHECKING:
    from moviechat_tui.films.catalogue import Catalogue

SEARCH_RESULTS = 8
PERSON_FILMS = 25
CARD_AKAS = 12

KINDS: dict[str, frozenset[str]] = {
    "film": frozenset({"movie", "tvMovie"}),
    "series": frozenset({"tvSeries", "tvMiniSeries"}),
    "short": frozenset({"short"}),
}
ROLES: dict[str, frozenset[str]] = {
    "director": frozenset({"director"}),
    "writer": frozenset({"writer"}),
    "actor": frozenset({"actor", "actress", "self"}),
    "producer": frozenset({"producer"}),
    "composer": frozenset({"composer"}),
    "cinematographer": frozenset({"cinematographer"}),
    "editor": frozenset({"editor"}),
}


def compact(value: Any, *, prune: bool = True) -> str:
    """JSON without spaces and (`prune`) without nulls or empty lists, non-ASCII kept
    (titles in Hangul stay one token-ish character each instead of six-character escapes)."""
    return json.dumps(_pruned(value) if prune else value, ensure_ascii=False,
                      separators=(",", ":"))


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v not in (None, [], (), "")}
    if isinstance(value, list | tuple):
        return [_pruned(v) for v in value]
    return value


def _film(summary: Any) -> dict[str, Any]:
    from moviechat_tui.films.records import film_json

    data = film_json(summary)
    data.pop("url", None)
    if data.get("original_title") == data.get("title"):
        data.pop("original_title")
    return data


class _FilmTool:
    """What the three tools share: the catalogue, run in a thread, its errors in words."""

    read_only = True

    def __init__(self, access: CatalogueAccess) -> None:
        self._access = access

    async def _lookup(self, work: Callable[[Catalogue], str]) -> str:
        from moviechat_tui.films.errors import FilmsError

        catalogue = self._access.catalogue()
        try:
            return await asyncio.to_thread(work, catalogue)
        except FilmsError as exc:
            raise ToolError(exc.message) from None


class SearchFilms(_FilmTool):
    name = "search_films"
    description = (
        "Search the film catalogue on the user's machine (IMDb data) by title, in any "
        "language (e.g. 'Parasite', '기생충', 'Le fabuleux destin d'Amélie Poulain'). Returns "
        "the matching films and series, best match first, with IMDb id, year, kind, runtime, "
        "genres, directors, rating and votes. Use it whenever you are about to state a "
        "film's year, director or other facts, and to check that a film exists (and its "
        "exact title and year) before you recommend it. Call film_details with an id for "
        "writers and cast.")
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "query": {"type": "string", "minLength": 1, "maxLength": 200,
                      "description": "The title, or the first words of it. A year may "
                                     "follow ('parasite 2019')."},
            "year": {"type": "integer", "minimum": 1870, "maximum": 2100,
                     "description": "Only titles released in this year."},
            "kind": {"type": "string", "enum": ["film", "series", "short", "any"],
                     "description": "Only feature films, only series, only shorts; "
                                    "default any."},
        },
        "required": ["query"],
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any]) -> str:
        query = str(arguments["query"])
        year = arguments.get("year")
        kinds = KINDS.get(str(arguments.get("kind") or "any"))

        def work(catalogue: Catalogue) -> str:
            found = catalogue.search(query, year=int(year) if year is not None else None,
                                     limit=3 * SEARCH_RESULTS if kinds else SEARCH_RESULTS)
            films = [f for f in found if kinds is None or f.kind in kinds][:SEARCH_RESULTS]
            if not films:
                return compact({"results": [], "note": (
                    "No title in the catalogue matches. Try another spelling, the original "
                    "title, fewer words, or no year.")}, prune=False)
            return compact({"results": [_film(f) for f in films]})

        return await self._lookup(work)

    def describe(self, arguments: Mapping[str, Any], result: str | None,
                 failed: bool) -> str:
        asked = " ".join(str(part) for part in (arguments.get("query", ""),
                                                arguments.get("year")) if part)
        head = _("🔎 searched films: {query}").format(query=one_line(asked, 60))
        if result is None:
            return _("🔎 searching films: {query} …").format(query=one_line(asked, 60))
        if failed:
            return head + " → " + _("failed")
        count = len(_parsed(result).get("results") or [])
        return head + " → " + ngettext("{n} result", "{n} results", count).format(n=count)


class FilmDetails(_FilmTool):
    name = "film_details"
    description = (
        "The catalogue card of one film or series by its IMDb id (an id such as "
        "'tt0000001' from search_films or person_films): year, original title, runtime, "
        "genres, rating, directors, writers, the principal cast with the characters they "
        "play, key crew (composer, cinematographer, editor, producers) and alternative "
        "titles. Use it for questions about who made or starred in a film.")
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 3, "maxLength": 120,
                   "description": "The IMDb id, e.g. 'tt6751668'."},
        },
        "required": ["id"],
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any]) -> str:
        film_id = str(arguments["id"])

        def work(catalogue: Catalogue) -> str:
            from moviechat_tui.films.records import details_json

            details = catalogue.film(film_id)
            if details is None:
                raise ToolError(f"No film with the id {film_id!r} in the catalogue. Use an "
                                "id from search_films (like 'tt0000001').")
            data = details_json(details)
            for key in ("url", "attribution"):
                data.pop(key, None)
            if data.get("original_title") == data.get("title"):
                data.pop("original_title")
            data["cast"] = [{"name": c["name"], "characters": c["characters"]}
                            for c in data["cast"]]
            data["crew"] = [{"name": c["name"], "role": c["job"] or c["role"]}
                            for c in data["crew"]]
            data["akas"] = [" / ".join(part for part in (a["title"], a["region"]) if part)
                            for a in data["akas"][:CARD_AKAS]]
            return compact(data)

        return await self._lookup(work)

    def describe(self, arguments: Mapping[str, Any], result: str | None,
                 failed: bool) -> str:
        film_id = one_line(str(arguments.get("id", "")), 40)
        if result is None:
            return _("🎬 looking up film {id} …").format(id=film_id)
        if failed:
            return _("🎬 looked up film {id} → failed").format(id=film_id)
        data = _parsed(result)
        title = one_line(str(data.get("title") or film_id), 60)
        year = data.get("year")
        shown = f"{title} ({year})" if year else title
        return _("🎬 looked up a film: {title}").format(title=shown)


class PersonFilms(_FilmTool):
    name = "person_films"
    description = (
        "Find a person in the catalogue by name (director, actor, writer, composer …) and "
        "list the films and series they are credited on, most popular first, with their "
        "role and the characters they played. Use it for questions such as 'what else did "
        "this director make' or 'which films has this actor been in'. Other people with a "
        "similar name are listed too, so you can tell them apart.")
    parameters: dict[str, Any] = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 2, "maxLength": 120,
                     "description": "The person's name, e.g. 'Bong Joon Ho'."},
            "role": {"type": "string", "enum": [*ROLES, "any"],
                     "description": "Only credits in this role; default any."},
        },
        "required": ["name"],
        "additionalProperties": False,
    }

    async def run(self, arguments: dict[str, Any]) -> str:
        name = str(arguments["name"])
        roles = ROLES.get(str(arguments.get("role") or "any"))

        def work(catalogue: Catalogue) -> str:
            people = catalogue.search_people(name, limit=4)
            if not people:
                return compact({"person": None, "films": [], "note": (
                    "Nobody of that name is credited in the catalogue. Try the name as "
                    "IMDb writes it (given name first) or fewer words.")}, prune=False)
            details = catalogue.person(people[0].id)
            credits = details.credits if details is not None else ()
            films: dict[str, dict[str, Any]] = {}
            for credit in credits:
                if roles is not None and credit.role not in roles:
                    continue
                entry = films.get(credit.film.id)
                if entry is None:
                    if len(films) >= PERSON_FILMS:
                        continue
                    entry = films[credit.film.id] = {
                        "id": credit.film.id, "title": credit.film.title,
                        "year": credit.film.year, "kind": credit.film.kind, "roles": [],
                        "characters": []}
                role = credit.job if credit.role == "writer" and credit.job else credit.role
                if role not in entry["roles"]:
                    entry["roles"].append(role)
                entry["characters"] += [c for c in credit.characters
                                        if c not in entry["characters"]]
            person = people[0]
            return compact({
                "person": {"id": person.id, "name": person.name,
                           "birth_year": person.birth_year, "death_year": person.death_year},
                "films": list(films.values()),
                "credited_films": len({c.film.id for c in credits
                                       if roles is None or c.role in roles}),
                "others_with_similar_names": [
                    {"id": p.id, "name": p.name, "birth_year": p.birth_year,
                     "known_for": [f"{f.title} ({f.year})" for f in p.known_for[:2]]}
                    for p in people[1:]],
            })

        return await self._lookup(work)

    def describe(self, arguments: Mapping[str, Any], result: str | None,
                 failed: bool) -> str:
        name = one_line(str(arguments.get("name", "")), 60)
        role = arguments.get("role")
        if role and role != "any":
            name = f"{name} ({one_line(str(role), 20)})"
        if result is None:
            return _("👤 looking up the films of {name} …").format(name=name)
        if failed:
            return _("👤 looked up the films of {name} → failed").format(name=name)
        data = _parsed(result)
        count = data.get("credited_films")
        if not isinstance(count, int):
            count = len(data.get("films") or [])
        return _("👤 looked up the films of {name}").format(name=name) + " → " + ngettext(
            "{n} film", "{n} films", count).format(n=count)


def _parsed(result: str) -> dict[str, Any]:
    try:
        value = json.loads(result)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def film_tools(access: CatalogueAccess) -> tuple[Tool, ...]:
    """The three film tools over `access`'s catalogue."""
    return (SearchFilms(access), FilmDetails(access), PersonFilms(access))
