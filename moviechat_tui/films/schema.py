"""The catalogue file: one SQLite database, written whole by an import and then only read.

Why these tables:

- `films` is keyed by IMDb's number (`tconst`: tt0111161 → 111161), the order the files
  come in, so the import appends. `films.rank` is the film's **popularity rank** (1 = most
  IMDb votes), and every title of the film of rank *n* has the rowid `n << 8 | k` in
  `titles` (k = 0 the primary title, 1 the original title, then the distinct alternative
  titles). FTS5 returns matches in rowid order, so the first rows a title search reads are
  those of the most-voted films: it stops after a few dozen rows instead of sorting every
  film called "Love" (see search.py).
- `titles.norm` is `normalize(title)`: indexed for exact and prefix lookups (mentions in a
  reply, the ranking), and the text the full-text index is built on (external content, so
  it is stored once). Prefix indexes for 2-, 3- and 4-letter prefixes keep search-as-you-type
  under a millisecond for common words ("lov…"); `columnsize=0` drops the per-row sizes only
  BM25 ranking would use (~80 MB at a million titles). `titles.year` repeats the film's
  year so that "love 2019" filters the matches as it reads them, in rowid order, instead
  of looking each film up by tconst (a random page read per match: 190 ms for a common
  word, measured).
- `credits` is clustered by film (`WITHOUT ROWID`, appended in the files' order): a film
  card is one range read, and no 150 MB index on film has to be built. It holds directors
  and writers (from title.crew, in IMDb's order) and the principal cast and crew (from
  title.principals, with the raw JSON of `characters`); `role` is a small number (ROLES)
  instead of a repeated word (~80 MB less at full size).
- `people` only has the people some kept film credits; `id` is the `nconst` number.
- `meta` holds what `films status` prints (source, time, counts, malformed rows).

Nothing is ever updated in place: an import builds a new file and renames it over the old
one, so readers can open it with `immutable=1` (no locking, no journal checks).
"""

from __future__ import annotations

SCHEMA_VERSION = 1
"""Stored in `meta`; a catalogue with another version is reported as unreadable (import
again), never misread."""

TITLE_SLOTS = 256
"""Titles kept per film (rowid = film << 8 | k); more distinct akas than this are dropped."""

ROLES: tuple[str, ...] = (
    "director", "writer", "actor", "actress", "self", "producer", "composer",
    "cinematographer", "editor", "production_designer", "casting_director",
    "archive_footage", "archive_sound")
"""title.principals categories; stored as index + 1 (0: another category, kept in `job`)."""
ROLE_CODE = {name: code for code, name in enumerate(ROLES, 1)}
DIRECTOR = ROLE_CODE["director"]
WRITER = ROLE_CODE["writer"]
CAST_ROLES = (ROLE_CODE["actor"], ROLE_CODE["actress"], ROLE_CODE["self"],
              ROLE_CODE["archive_footage"])

TITLES_TABLE = """CREATE TABLE titles(
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    norm TEXT NOT NULL,
    region TEXT,
    language TEXT,
    year INTEGER
)"""
"""Also created in the titles pass's scratch file (title_pass.py), with the same columns, so
the importer copies it with one `INSERT … SELECT *`."""

TABLES = TITLES_TABLE + """;
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE films(
    tconst INTEGER PRIMARY KEY,
    rank INTEGER,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    original_title TEXT,
    year INTEGER,
    end_year INTEGER,
    runtime INTEGER,
    genres TEXT,
    rating REAL,
    votes INTEGER,
    adult INTEGER NOT NULL
);
CREATE TABLE credits(
    film INTEGER NOT NULL,
    role INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    person INTEGER NOT NULL,
    job TEXT,
    characters TEXT,
    PRIMARY KEY (film, role, ord)
) WITHOUT ROWID;
CREATE TABLE people(
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    norm TEXT NOT NULL,
    birth INTEGER,
    death INTEGER
);
"""

FILMS_RANK_INDEX = "CREATE UNIQUE INDEX films_rank ON films(rank)"

INDEXES = (
    "CREATE INDEX titles_norm ON titles(norm, year)",
    "CREATE INDEX credits_person ON credits(person)",
)

_TOKENIZER = "unicode61 remove_diacritics 0"
FULL_TEXT = (
    f"CREATE VIRTUAL TABLE titles_fts USING fts5(norm, content='titles', content_rowid='id', "
    f"tokenize='{_TOKENIZER}', prefix='2 3 4', columnsize=0)",
    "INSERT INTO titles_fts(titles_fts, rank) VALUES('automerge', 0)",
    "INSERT INTO titles_fts(titles_fts) VALUES('rebuild')",
    "INSERT INTO titles_fts(titles_fts) VALUES('optimize')",
    f"CREATE VIRTUAL TABLE people_fts USING fts5(norm, content='people', content_rowid='id', "
    f"tokenize='{_TOKENIZER}', columnsize=0)",
    "INSERT INTO people_fts(people_fts, rank) VALUES('automerge', 0)",
    "INSERT INTO people_fts(people_fts) VALUES('rebuild')",
    "INSERT INTO people_fts(people_fts) VALUES('optimize')",
)
"""Built once all rows are in: `automerge` off while building, one merge at the end."""
