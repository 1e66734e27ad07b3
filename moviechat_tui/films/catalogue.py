"""`Catalogue`: the film catalogue file, opened lazily and read-only.

    catalogue = Catalogue(path)          # costs nothing: no file is touched yet
    catalogue.exists()                   # a stat, for "offer the import once"
    catalogue.search("parasite 2019")    # → [FilmSummary], best first
    catalogue.film("tt0000001")          # → FilmDetails | None (a film card)
    catalogue.search_people("bong")      # → [PersonSummary]
    catalogue.person("nm0000001")        # → PersonDetails | None
    catalogue.status()                   # → CatalogueStatus (for `films status`)

Opening: `sqlite3` is imported and the file opened on the first call, never at import time
(the app's first frame must not pay for it). The connection is read-only and `immutable`
— an import never writes a catalogue in place, it renames a new file over it — and each
call checks (one `stat`) whether the file was replaced, reopening if so; a running app sees
a `films update` made by another process at its next lookup.

Errors: `CatalogueMissing` when there is no file (the CLI's exit 2, with how to get one),
`CatalogueUnreadable` for a damaged file or one from another schema version. Calls are
thread-safe (one lock): the TUI runs them in a worker thread, the CLI directly.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviechat_tui.films import schema
from moviechat_tui.films.errors import CatalogueMissing, CatalogueUnreadable
from moviechat_tui.films.records import (
    AltTitle,
    CatalogueStatus,
    Credit,
    FilmDetails,
    FilmRef,
    FilmSummary,
    PersonCredit,
    PersonDetails,
    PersonSummary,
    characters_from_json,
    nconst_text,
    parse_imdb_id,
    tconst_text,
)

if TYPE_CHECKING:
    import sqlite3

CARD_CAST = 10
"""Cast members on a film card (title.principals lists about ten people a title)."""
KNOWN_FOR = 4
TITLED_TOP = 5
"""Films per title `titled` returns besides those of the years asked about."""

_FILM_COLUMNS = ("tconst, rank, kind, title, original_title, year, end_year, runtime, genres, "
                 "rating, votes")


class Catalogue:
    """A read-only view of the catalogue at `path` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int, int] | None = None
        self._lock = threading.Lock()

    # -- opening ----------------------------------------------------------------------------

    def exists(self) -> bool:
        return self.path.is_file()

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None
        self._identity = None

    def _connection(self) -> sqlite3.Connection:
        """The open connection, (re)opened if the file is new or was replaced. Call with the
        lock held."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._close()
            raise CatalogueMissing(self.path) from None
        except OSError as err:
            raise CatalogueUnreadable(self.path, err.strerror or str(err)) from err
        identity = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._conn is not None and identity == self._identity:
            return self._conn
        self._close()
        import sqlite3

        try:
            conn = sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro&immutable=1",
                                   uri=True, check_same_thread=False)
            version = conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.Error as err:
            raise CatalogueUnreadable(self.path, str(err)) from err
        if version is None or version[0] != str(schema.SCHEMA_VERSION):
            conn.close()
            raise CatalogueUnreadable(self.path, "made by another version of moviechat")
        self._conn = conn
        self._identity = identity
        return conn

    def _run(self, work: Any) -> Any:
        """Run `work(conn)` under the lock, mapping SQLite errors to CatalogueUnreadable."""
        import sqlite3

        with self._lock:
            conn = self._connection()
            try:
                return work(conn)
            except sqlite3.DatabaseError as err:
                raise CatalogueUnreadable(self.path, str(err)) from err

    # -- films ------------------------------------------------------------------------------

    def search(self, text: str, *, year: int | None = None,
               limit: int = 20) -> list[FilmSummary]:
        """Films whose titles (in any language) match `text`, best match first, then by
        votes. A year may be written in the text ("parasite 2019") or given as `year`."""
        from moviechat_tui.films.search import search_titles

        def work(conn: sqlite3.Connection) -> list[FilmSummary]:
            matches = search_titles(conn, text, year=year, limit=limit)
            summaries = _summaries(conn, "rank", [m.film for m in matches])
            matched = dict(conn.execute(
                f"SELECT id, title FROM titles WHERE id IN ({_marks(matches)}) "
                "AND (id & 255) > 1", [m.title_rowid for m in matches]).fetchall())
            out = []
            for m in matches:
                summary = summaries.get(m.film)
                if summary is not None:
                    alt = matched.get(m.title_rowid)
                    out.append(summary if alt is None else
                               _with_matched(summary, alt))
            return out

        result: list[FilmSummary] = self._run(work)
        return result

    def film(self, film_id: str) -> FilmDetails | None:
        """The card of the film with this IMDb id (`tt…`, or a pasted IMDb link); None if
        the catalogue does not have it."""
        number = parse_imdb_id(film_id, "tt")
        if number is None:
            return None

        def work(conn: sqlite3.Connection) -> FilmDetails | None:
            return _details(conn, number)

        result: FilmDetails | None = self._run(work)
        return result

    def films(self, film_ids: Iterable[str]) -> list[FilmSummary]:
        """Summaries of these films (IMDb ids), in the order given; unknown ids left out."""
        numbers = [n for n in (parse_imdb_id(i, "tt") for i in film_ids) if n is not None]

        def work(conn: sqlite3.Connection) -> list[FilmSummary]:
            summaries = _summaries(conn, "tconst", numbers)
            return [summaries[n] for n in numbers if n in summaries]

        result: list[FilmSummary] = self._run(work)
        return result

    def titled(self, norms: Iterable[str],
               with_years: Iterable[tuple[str, int]] = ()) -> dict[str, list[FilmRef]]:
        """For each normalised title, films that have exactly that title (in any
        language), most-voted first: the `TITLED_TOP` most-voted, plus those of the year
        paired with it in `with_years` — for recognising the films a reply mentions."""
        from moviechat_tui.films.search import titles_equal_to

        def work(conn: sqlite3.Connection) -> dict[str, list[FilmRef]]:
            pairs = titles_equal_to(conn, norms, with_years, TITLED_TOP)
            ranks = sorted({rank for _, rank in pairs})
            refs = {row[0]: FilmRef(tconst_text(row[1]), row[2], row[3], row[4], row[5])
                    for row in conn.execute(
                        "SELECT rank, tconst, title, year, kind, votes FROM films "
                        f"WHERE rank IN ({_marks(ranks)})", ranks)}
            by_title: dict[str, set[int]] = defaultdict(set)
            for norm, rank in pairs:
                if rank in refs:
                    by_title[norm].add(rank)
            return {norm: [refs[rank] for rank in sorted(found)]
                    for norm, found in by_title.items()}

        result: dict[str, list[FilmRef]] = self._run(work)
        return result

    def people_named(self, norms: Iterable[str]) -> set[str]:
        """Which of these normalised names are the exact name of someone credited (so a
        bold name in a reply is not taken for a film). One phrase query each on the
        people's full-text index, then an exact comparison."""
        from moviechat_tui.films.search import fts_query

        wanted = sorted({norm for norm in norms if norm})

        def work(conn: sqlite3.Connection) -> set[str]:
            found = set()
            for norm in wanted:
                phrase = fts_query(norm, prefix=False)
                for (name,) in conn.execute(
                        "SELECT norm FROM people_fts WHERE people_fts MATCH ? LIMIT 200",
                        (phrase,)):
                    if name == norm:
                        found.add(norm)
                        break
            return found

        result: set[str] = self._run(work) if wanted else set()
        return result

    # -- people -----------------------------------------------------------------------------

    def people_with_name(self, norm: str, *, limit: int = 3) -> list[PersonSummary]:
        """People whose normalised name is exactly `norm`, those credited on more-voted films
        first: one phrase query on the people's full-text index and a lookup per namesake
        (`search_people` ranks every partial match too, ~100 ms for a common first name)."""
        from moviechat_tui.films.search import fts_query

        if not norm:
            return []

        def work(conn: sqlite3.Connection) -> list[PersonSummary]:
            same = [person for person, name in conn.execute(
                "SELECT rowid, norm FROM people_fts WHERE people_fts MATCH ? LIMIT 200",
                (fts_query(norm, prefix=False),)) if name == norm]
            ranked = sorted((conn.execute(
                "SELECT min(f.rank) FROM credits c JOIN films f ON f.tconst = c.film "
                "WHERE c.person = ?", (person,)).fetchone()[0] or 1 << 40, person)
                for person in same[:20])
            return [_person_summary(conn, person) for _, person in ranked[:limit]]

        result: list[PersonSummary] = self._run(work)
        return result

    def search_people(self, text: str, *, limit: int = 10) -> list[PersonSummary]:
        """People whose names match `text` (exact, prefix, then all words), the ones
        credited on more-voted films first, each with the films they are known for."""
        from moviechat_tui.films.normalize import normalize
        from moviechat_tui.films.search import CANDIDATES, fts_query, tier_of

        norm = normalize(text)
        if not norm:
            return []

        def work(conn: sqlite3.Connection) -> list[PersonSummary]:
            rows = conn.execute(
                "SELECT rowid, norm FROM people_fts WHERE people_fts MATCH ? "
                "ORDER BY rowid LIMIT ?", (fts_query(norm), CANDIDATES * 3)).fetchall()
            ranked = []
            for person, person_norm in dict(rows).items():
                best = conn.execute(
                    "SELECT min(f.rank) FROM credits c JOIN films f ON f.tconst = c.film "
                    "WHERE c.person = ?", (person,)).fetchone()[0]
                ranked.append((tier_of(person_norm, norm), best or 1 << 40, person))
            ranked.sort()
            return [_person_summary(conn, person) for _, _, person in ranked[:limit]]

        result: list[PersonSummary] = self._run(work)
        return result

    def person(self, person_id: str) -> PersonDetails | None:
        """A person and every film of theirs in the catalogue, most-voted first."""
        number = parse_imdb_id(person_id, "nm")
        if number is None:
            return None

        def work(conn: sqlite3.Connection) -> PersonDetails | None:
            if conn.execute("SELECT 1 FROM people WHERE id = ?", (number,)).fetchone() is None:
                return None
            credits = []
            for role, job, characters, tconst, title, year, kind, votes in conn.execute(
                    "SELECT c.role, c.job, c.characters, f.tconst, f.title, f.year, "
                    "f.kind, f.votes FROM credits c JOIN films f ON f.tconst = c.film "
                    "WHERE c.person = ? ORDER BY f.rank, c.role, c.ord", (number,)):
                credits.append(PersonCredit(
                    FilmRef(tconst_text(tconst), title, year, kind, votes), _role(role, job),
                    job if role else None, characters_from_json(characters)))
            return PersonDetails(_person_summary(conn, number), tuple(credits))

        result: PersonDetails | None = self._run(work)
        return result

    # -- status -----------------------------------------------------------------------------

    def status(self) -> CatalogueStatus:
        def work(conn: sqlite3.Connection) -> CatalogueStatus:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            return CatalogueStatus(
                path=self.path, source=meta.get("source", ""),
                imported_at=meta.get("imported_at", ""),
                size_bytes=self.path.stat().st_size,
                counts=json.loads(meta.get("counts", "{}")),
                malformed=json.loads(meta.get("malformed", "{}")),
                files=tuple(json.loads(meta.get("files", "[]"))))

        result: CatalogueStatus = self._run(work)
        return result


# -- building records -------------------------------------------------------------------------

def _marks(items: Iterable[object]) -> str:
    return ",".join("?" * len(list(items)))


def _with_matched(summary: FilmSummary, title: str) -> FilmSummary:
    from moviechat_tui.core.records import replace

    return replace(summary, matched_title=title)


def _summaries(conn: sqlite3.Connection, key: str,
               values: list[int]) -> dict[int, FilmSummary]:
    """Summaries of the films whose `key` ("rank" or "tconst") is in `values`, by it."""
    if not values:
        return {}
    rows = conn.execute(f"SELECT {_FILM_COLUMNS} FROM films WHERE {key} IN ({_marks(values)})",
                        values).fetchall()
    tconsts = [row[0] for row in rows]
    directors: dict[int, list[str]] = defaultdict(list)
    for film, name in conn.execute(
            "SELECT c.film, p.name FROM credits c JOIN people p ON p.id = c.person "
            f"WHERE c.film IN ({_marks(tconsts)}) AND c.role = {schema.DIRECTOR} "
            "ORDER BY c.film, c.ord", tconsts):
        directors[film].append(name)
    by = 0 if key == "tconst" else 1
    return {row[by]: _summary(row, directors[row[0]]) for row in rows}


def _summary(row: tuple[Any, ...], directors: list[str]) -> FilmSummary:
    (tconst, _rank, kind, title, original, year, end_year, runtime, genres, rating,
     votes) = row
    return FilmSummary(
        id=tconst_text(tconst), title=title, original_title=original, year=year,
        end_year=end_year, kind=kind, runtime_minutes=runtime,
        genres=tuple(genres.split(",")) if genres else (), directors=tuple(directors),
        rating=rating, votes=votes)


def _role(code: int, job: str | None) -> str:
    if 0 < code <= len(schema.ROLES):
        return schema.ROLES[code - 1]
    return job or "other"


def _details(conn: sqlite3.Connection, tconst: int) -> FilmDetails | None:
    row = conn.execute(f"SELECT {_FILM_COLUMNS} FROM films WHERE tconst = ?",
                       (tconst,)).fetchone()
    if row is None:
        return None
    directors: list[str] = []
    writers: list[str] = []
    cast: list[Credit] = []
    crew: list[Credit] = []
    for role, person, name, job, characters in conn.execute(
            "SELECT c.role, c.person, p.name, c.job, c.characters FROM credits c "
            "JOIN people p ON p.id = c.person WHERE c.film = ? ORDER BY c.ord, c.role",
            (tconst,)):
        if role == schema.DIRECTOR:
            directors.append(name)
        elif role == schema.WRITER:
            writers.append(name)
        elif role in schema.CAST_ROLES:
            cast.append(Credit(nconst_text(person), name, _role(role, job), job,
                               characters_from_json(characters)))
        else:
            crew.append(Credit(nconst_text(person), name, _role(role, job),
                               job if role else None))
    summary = _summary(row, directors)
    rank = row[1]
    akas = tuple(AltTitle(title, region, language) for title, region, language in conn.execute(
        "SELECT title, region, language FROM titles WHERE id BETWEEN ? AND ? ORDER BY id",
        (rank << 8 | 2, rank << 8 | (schema.TITLE_SLOTS - 1))))
    return FilmDetails(summary, tuple(writers), tuple(cast[:CARD_CAST]), tuple(crew), akas)


def _person_summary(conn: sqlite3.Connection, person: int) -> PersonSummary:
    row = conn.execute("SELECT name, birth, death FROM people WHERE id = ?",
                       (person,)).fetchone()
    known = tuple(FilmRef(tconst_text(t), title, year, kind, votes)
                  for t, title, year, kind, votes, _rank in conn.execute(
                      "SELECT DISTINCT f.tconst, f.title, f.year, f.kind, f.votes, f.rank "
                      "FROM credits c JOIN films f ON f.tconst = c.film WHERE c.person = ? "
                      "ORDER BY f.rank LIMIT ?", (person, KNOWN_FOR)))
    name, birth, death = row if row is not None else ("", None, None)
    return PersonSummary(nconst_text(person), name, birth, death, known)
