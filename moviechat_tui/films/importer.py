"""`films import`: IMDb dataset files → a new catalogue file, swapped in atomically.

    report = import_catalogue(folder, catalogue_path, source="https://datasets.imdbws.com/",
                              on_progress=print_progress, cancel=threading.Event())

Safety: the new catalogue is built in `<catalogue>.importing`, then closed, fsynced and
renamed over the catalogue with `os.replace`, and the directory fsynced. Until that rename
nothing the app reads has changed: ctrl+c (or `cancel.set()`), kill -9, a full disk, a
truncated `.gz` all leave the previous catalogue answering. A failure raises an
`ImportFailed` subclass whose one-line message says what went wrong and where (file and
line); leftovers of a killed import are removed by the next one. Only one import runs per
catalogue (`<catalogue>.lock`, flock; `ImportBusy`).

Memory is bounded whatever the size of the input: rows are streamed in ~1 MB blocks and
written in batches; what is held for the whole import is a bit per IMDb id (`IdSet`, a few
MB) and two sorted int arrays for the kept titles (`IdMap`, 8 bytes a film). SQLite's page
cache is capped (`CACHE_MB`), and so is the memory of its sorter. Measured with
`python -m benchmarks.films`: see docs/films.md.

Speed: the new file is written with `journal_mode=OFF, synchronous=OFF` (it is thrown away
if anything fails, so a journal buys nothing), rows go in with `executemany` in one
transaction per file, and every index and the full-text indexes are built once at the end.
The big files (principals, akas) are filtered on their first column — one int per run of
rows of the same title — before a row is decoded or split.

What is kept (`ImportOptions`): titles of the kinds in `kinds` (movie, tvMovie, tvSeries,
tvMiniSeries, short), except adult titles, and except shorts with fewer than
`short_min_votes` votes (only when title.ratings is there to count them); every distinct
title of each (`normalize`d; primary, original, then IMDb's order), optionally only
alternative titles from `aka_regions`; directors and writers; the principal cast and crew
with their characters; rating and votes; the names and years of the people credited.

The order matters: ratings first (the shorts threshold and the popularity rank need votes),
then basics (which titles are kept), then akas, crew and principals (filtered on the kept
titles; the last two mark the people credited), then name.basics (filtered on those people).
A missing file other than title.basics is skipped: its facts are simply absent.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record, field
from moviechat_tui.core.text import sanitize
from moviechat_tui.films import schema
from moviechat_tui.films.datasets import (
    NAME_BASICS,
    NULL,
    TITLE_AKAS,
    TITLE_BASICS,
    TITLE_CREW,
    TITLE_PRINCIPALS,
    TITLE_RATINGS,
    Dataset,
    DatasetReader,
    MalformedRows,
    locate,
    wrong_columns,
)
from moviechat_tui.films.errors import (
    ImportBusy,
    ImportFailed,
    ImportInterrupted,
    import_failed_writing,
)
from moviechat_tui.films.idsets import IdMap, IdSet
from moviechat_tui.films.normalize import normalize

DEFAULT_KINDS = frozenset({"movie", "tvMovie", "tvSeries", "tvMiniSeries", "short"})
DEFAULT_SHORT_MIN_VOTES = 100
"""About a million shorts are listed; those with fewer votes than this are rarely what a
conversation is about, and leaving them out keeps the catalogue a third smaller."""
BATCH = 20_000
"""Rows per `executemany`."""
CACHE_MB = 96
"""SQLite page cache of the import, in MB (part of the peak memory)."""
PROGRESS_EVERY_S = 0.2

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_VOTES_MAX = (1 << 25) - 1


class ImportOptions(Record):
    """What to keep. The defaults are documented in docs/films.md with the sizes they give."""

    kinds: frozenset[str] = DEFAULT_KINDS
    short_min_votes: int = DEFAULT_SHORT_MIN_VOTES
    include_adult: bool = False
    aka_regions: frozenset[str] | None = None
    """Keep only alternative titles from these regions (e.g. {"KR", "US"}), plus original
    titles; None keeps every region."""


class ImportProgress(Record):
    """Passed to `on_progress` a few times a second. `done`/`total` are bytes of the input
    files on disk (compressed), so a progress bar is proportional to the work; `phase` is the
    dataset being read (`title.akas`) or "indexes" for the final step, whose progress is
    `done == total` with `step`/`steps` counting its statements."""

    phase: str
    done: int
    total: int
    rows: int
    step: int = 0
    steps: int = 0


class ImportReport(Record):
    """What an import did: kept counts, rows read, malformed rows (count per file name and
    the first few `file:line: reason`), and which dataset files were not found."""

    catalogue: Path
    source: str
    imported_at: str
    counts: dict[str, int] = field(default_factory=dict)
    input_rows: int = 0
    malformed: dict[str, int] = field(default_factory=dict)
    malformed_examples: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    seconds: float = 0.0


def import_catalogue(folder: Path, catalogue: Path, *, source: str | None = None,
                     options: ImportOptions | None = None,
                     on_progress: Callable[[ImportProgress], None] | None = None,
                     cancel: threading.Event | None = None) -> ImportReport:
    """Build a catalogue from the dataset files in `folder` and put it at `catalogue`.

    `source` is recorded for `films status` (a URL, or by default the folder). Raises
    `ImportFailed` (or `DatasetError`, `ImportInterrupted`, `ImportBusy`); on any failure the
    previous catalogue is unchanged. Runs in the calling thread (the TUI: in a worker).
    """
    folder = Path(folder)
    catalogue = Path(catalogue)
    files = {ds: locate(folder, ds) for ds in (TITLE_RATINGS, TITLE_BASICS, TITLE_AKAS,
                                                TITLE_CREW, TITLE_PRINCIPALS, NAME_BASICS)}
    if files[TITLE_BASICS] is None:
        raise ImportFailed(_(
            "{folder} has no {file} (or .tsv): it is the one file an import needs."
        ).format(folder=folder, file=TITLE_BASICS.file_name))
    try:
        catalogue.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise import_failed_writing(catalogue, err) from err
    building = catalogue.with_name(catalogue.name + ".importing")
    with _import_lock(catalogue):
        _remove(building)
        build = _Build({ds: p for ds, p in files.items() if p is not None}, building,
                       options or ImportOptions(), on_progress, cancel)
        try:
            report = build.run(catalogue, source or str(folder))
            _swap(building, catalogue)
        except KeyboardInterrupt:
            raise ImportInterrupted() from None
        except sqlite3.Error as err:
            raise import_failed_writing(catalogue, _sqlite_reason(err)) from err
        except OSError as err:
            raise import_failed_writing(catalogue, err) from err
        finally:
            build.close()
            _remove(building)
    return report


@contextlib.contextmanager
def _import_lock(catalogue: Path) -> Iterator[None]:
    lock_path = catalogue.with_name(catalogue.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as err:
        raise import_failed_writing(lock_path, err) from err
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportBusy(catalogue) from None
        yield
    finally:
        os.close(fd)


def _remove(*paths: Path) -> None:
    for path in paths:
        for leftover in (path, path.with_name(path.name + "-journal"),
                         path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _swap(new: Path, catalogue: Path) -> None:
    """fsync the finished file, rename it over the catalogue, fsync the directory."""
    fd = os.open(new, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(new, catalogue)
    with contextlib.suppress(OSError):
        dir_fd = os.open(catalogue.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _sqlite_reason(err: sqlite3.Error) -> str:
    code = getattr(err, "sqlite_errorcode", None)
    if code == sqlite3.SQLITE_FULL or "full" in str(err):
        return _("the disk is full")
    if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
        return _("the disk refused a write ({error}: is it full?)").format(error=err)
    return str(err)


def _clean(text: str) -> str:
    return sanitize(text) if _UNSAFE.search(text) else text


def _optional_int(text: str) -> int | None:
    return None if text == NULL else int(text)


def _number(ident: bytes | str) -> int:
    """`tt0111161` / `nm0000001` → 111161 / 1 (ValueError for anything else)."""
    if len(ident) < 3 or ident[1:2] not in ("t", "m", b"t", b"m"):
        raise ValueError(ident)
    return int(ident[2:])


class _Build:
    """One import: the passes over the files, in order, into `building`."""

    def __init__(self, files: dict[Dataset, Path], building: Path, options: ImportOptions,
                 on_progress: Callable[[ImportProgress], None] | None,
                 cancel: threading.Event | None) -> None:
        self.files = files
        self.building = building
        self.options = options
        self.on_progress = on_progress
        self.cancel = cancel
        self.malformed = MalformedRows()
        self.counts: dict[str, int] = {}
        self.input_rows = 0
        self.total_bytes = sum(p.stat().st_size for p in files.values())
        self.done_bytes = 0
        self.last_progress = 0.0
        self.kept_titles = IdSet()
        self.people = IdSet()
        self.ranks = IdMap(())
        self.conn: sqlite3.Connection | None = None
        self._imported_at = ""

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()
            self.conn = None

    # -- the whole import -----------------------------------------------------------------

    def run(self, catalogue: Path, source: str) -> ImportReport:
        started = time.monotonic()
        conn = self.conn = sqlite3.connect(self.building, isolation_level=None,
                                           check_same_thread=False)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size={-CACHE_MB * 1024}",
                       "locking_mode=EXCLUSIVE", "temp_store=FILE", "threads=0"):
            conn.execute(f"PRAGMA {pragma}")
        conn.create_function("normalize", 1, normalize, deterministic=True)
        conn.executescript(schema.TABLES)

        ratings = self._read_ratings()
        self._read_basics(ratings)
        del ratings
        self._rank_films()
        self._read_titles()
        self._read_crew()
        self._read_principals()
        self._read_names()
        self._finish(source)
        imported_at = self._imported_at
        seconds = time.monotonic() - started
        return ImportReport(
            catalogue=catalogue, source=source, imported_at=imported_at,
            counts=dict(self.counts), input_rows=self.input_rows,
            malformed=dict(self.malformed.counts),
            malformed_examples=tuple(self.malformed.examples),
            missing=tuple(ds.name for ds in (TITLE_BASICS, TITLE_AKAS, TITLE_CREW,
                                             TITLE_PRINCIPALS, TITLE_RATINGS, NAME_BASICS)
                          if ds not in self.files),
            seconds=seconds)

    # -- plumbing -------------------------------------------------------------------------

    def _blocks(self, dataset: Dataset) -> Iterator[tuple[Path, int, int, list[bytes]]]:
        """(path, column count, first line number, lines) for each block of a file, with
        progress and cancellation between blocks."""
        path = self.files[dataset]
        reader = DatasetReader(path, dataset)
        for first, lines in reader.blocks():
            self.input_rows += len(lines)
            self._tick(dataset.name, self.done_bytes + reader.position)
            yield path, reader.column_count, first, lines
        self.done_bytes += reader.size
        self._tick(dataset.name, self.done_bytes, force=True)

    def _tick(self, phase: str, done: int, *, force: bool = False, step: int = 0,
              steps: int = 0) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise KeyboardInterrupt
        now = time.monotonic()
        if self.on_progress is not None and (force or now - self.last_progress
                                             >= PROGRESS_EVERY_S):
            self.last_progress = now
            self.on_progress(ImportProgress(phase, min(done, self.total_bytes),
                                            self.total_bytes, self.input_rows, step, steps))

    def _write(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        assert self.conn is not None
        if rows:
            self.conn.executemany(sql, rows)
            rows.clear()

    # -- the passes -----------------------------------------------------------------------

    def _read_ratings(self) -> IdMap | None:
        """tconst → votes << 7 | rating × 10, packed in one uint32 (IdMap)."""
        if TITLE_RATINGS not in self.files:
            return None
        pairs = array("Q")
        bad = self.malformed.add
        for path, columns, first, lines in self._blocks(TITLE_RATINGS):
            for i, line in enumerate(lines):
                parts = line.split(b"\t")
                if len(parts) != columns:
                    bad(path, first + i, wrong_columns(len(parts), columns))
                    continue
                try:
                    tconst = _number(parts[0])
                    rating = round(float(parts[1]) * 10)
                    votes = int(parts[2])
                except ValueError:
                    bad(path, first + i, _("not a number where one is expected"))
                    continue
                if not 0 <= rating <= 100 or votes < 0:
                    bad(path, first + i, _("not a number where one is expected"))
                    continue
                pairs.append(tconst << 32 | min(votes, _VOTES_MAX) << 7 | rating)
        self.counts["ratings"] = len(pairs)
        return IdMap((p >> 32, p & 0xFFFFFFFF) for p in pairs)

    def _read_basics(self, ratings: IdMap | None) -> None:
        assert self.conn is not None
        conn = self.conn
        sql = ("INSERT OR IGNORE INTO films(tconst, kind, title, original_title, year, "
               "end_year, runtime, genres, rating, votes, adult) VALUES (?,?,?,?,?,?,?,?,?,?,?)")
        kinds = self.options.kinds
        include_adult = self.options.include_adult
        short_min = self.options.short_min_votes if ratings is not None else 0
        get_rating = ratings.get if ratings is not None else (lambda key: None)
        kept = self.kept_titles
        bad = self.malformed.add
        rows: list[tuple[object, ...]] = []
        conn.execute("BEGIN")
        for path, columns, first, lines in self._blocks(TITLE_BASICS):
            for i, line in enumerate(lines):
                f = line.decode("utf-8", "replace").split("\t")
                if len(f) != columns:
                    bad(path, first + i, wrong_columns(len(f), columns))
                    continue
                kind = f[1]
                if kind not in kinds:
                    continue
                adult = f[4] == "1"
                if adult and not include_adult:
                    continue
                try:
                    tconst = _number(f[0])
                    year = _optional_int(f[5])
                    end_year = _optional_int(f[6])
                    runtime = _optional_int(f[7])
                except ValueError:
                    bad(path, first + i, _("not a number where one is expected"))
                    continue
                packed = get_rating(tconst)
                votes = packed >> 7 if packed is not None else None
                if kind == "short" and (votes or 0) < short_min:
                    continue
                title = _clean(f[2])
                original = _clean(f[3])
                rows.append((
                    tconst, kind, title,
                    None if original in (title, NULL) else original,
                    year, end_year, runtime, None if f[8] == NULL else f[8],
                    (packed & 0x7F) / 10 if packed is not None else None, votes, int(adult)))
                kept.add(tconst)
                if len(rows) >= BATCH:
                    self._write(sql, rows)
        self._write(sql, rows)
        conn.execute("COMMIT")

    def _rank_films(self) -> None:
        """films.rank = 1 for the most votes, 2, …: the order title searches read in."""
        assert self.conn is not None
        conn = self.conn
        self.ranks = IdMap(conn.execute(
            "SELECT tconst, row_number() OVER (ORDER BY coalesce(votes, 0) DESC, tconst) "
            "FROM films ORDER BY tconst"))
        self._tick("ranking", self.done_bytes, force=True)
        conn.execute("BEGIN")
        keys, values = self.ranks.keys, self.ranks.values
        for start in range(0, len(keys), BATCH):
            conn.executemany("UPDATE films SET rank = ? WHERE tconst = ?",
                             zip(values[start:start + BATCH], keys[start:start + BATCH],
                                 strict=True))
        conn.execute(schema.FILMS_RANK_INDEX)
        conn.execute("COMMIT")
        self.counts["films"] = len(self.ranks)
        for kind, count in conn.execute("SELECT kind, count(*) FROM films GROUP BY kind"):
            self.counts[f"films.{kind}"] = count

    def _read_titles(self) -> None:
        """Every title of every kept film: the primary and original titles (slots 0 and 1)
        and the distinct alternative titles of title.akas, deduplicated per film on their
        normalised form.

        title.akas is sorted by title like `films`, so the two are read side by side: the
        film's own titles are written when its first aka is reached (and seed the set of
        titles already seen), without a query per film. The rows are appended to a scratch
        table and copied into `titles` in rowid (popularity) order at the end: built in that
        order, the full-text index builds four times faster than from rows inserted in
        random order. An unsorted file still imports (each title then looked up), only
        without deduplication against the film's primary and original titles.
        """
        assert self.conn is not None
        conn = self.conn
        conn.execute("CREATE TABLE scratch_titles(id INTEGER, title TEXT, norm TEXT, "
                     "region TEXT, language TEXT, year INTEGER)")
        sql = "INSERT INTO scratch_titles VALUES (?,?,?,?,?,?)"
        rows: list[tuple[object, ...]] = []
        films = conn.cursor().execute(
            "SELECT tconst, rank, title, original_title, year FROM films ORDER BY tconst")
        upcoming = films.fetchone()

        def own_titles(film: tuple[int, int, str, str | None, int | None]) -> set[str]:
            _tconst, rank, title, original, year = film
            norm = normalize(title)
            rows.append((rank << 8, title, norm, None, None, year))
            if original is not None:
                original_norm = normalize(original)
                if original_norm != norm:
                    rows.append((rank << 8 | 1, original, original_norm, None, None, year))
                    return {norm, original_norm}
            return {norm}

        conn.execute("BEGIN")
        if TITLE_AKAS in self.files:
            regions = self.options.aka_regions
            next_slot = array("B", bytes(len(self.ranks) + 1))  # per rank: akas so far
            kept = self.kept_titles
            get_rank = self.ranks.get
            bad = self.malformed.add
            seen: set[str] = set()
            rank = 0
            year: int | None = None
            keep = False
            prev_key = b""
            added = 0
            for path, columns, first, lines in self._blocks(TITLE_AKAS):
                for i, line in enumerate(lines):
                    key = line[:line.find(b"\t")]
                    if key != prev_key:
                        prev_key = key
                        try:
                            number = _number(key)
                        except ValueError:
                            keep = False
                            bad(path, first + i, _("not a number where one is expected"))
                            continue
                        keep = number in kept
                        if not keep:
                            continue
                        while upcoming is not None and upcoming[0] < number:
                            own_titles(upcoming)
                            upcoming = films.fetchone()
                        if upcoming is not None and upcoming[0] == number:
                            rank, year = upcoming[1], upcoming[4]
                            seen = own_titles(upcoming)
                            upcoming = films.fetchone()
                        else:  # out of order: written already
                            rank = get_rank(number) or 0
                            year = self._year_of(number)
                            seen = set()
                            keep = rank > 0
                    if not keep:
                        continue
                    f = line.decode("utf-8", "replace").split("\t")
                    if len(f) != columns:
                        bad(path, first + i, wrong_columns(len(f), columns))
                        continue
                    region = None if f[3] == NULL else f[3]
                    if regions is not None and region not in regions and f[7] != "1":
                        continue
                    title = _clean(f[2])
                    norm = normalize(title)
                    if not norm or norm in seen:
                        continue
                    seen.add(norm)
                    slot = next_slot[rank] + 2
                    if slot >= schema.TITLE_SLOTS:
                        continue
                    next_slot[rank] = slot - 1
                    rows.append((rank << 8 | slot, title, norm, region,
                                 None if f[4] == NULL else f[4], year))
                    added += 1
                    if len(rows) >= BATCH:
                        self._write(sql, rows)
            self.counts["akas"] = added
        while upcoming is not None:
            own_titles(upcoming)
            upcoming = films.fetchone()
            if len(rows) >= BATCH:
                self._write(sql, rows)
        self._write(sql, rows)
        self._tick("titles", self.done_bytes, force=True)
        conn.execute("INSERT INTO titles SELECT * FROM scratch_titles ORDER BY id")
        conn.execute("DROP TABLE scratch_titles")
        conn.execute("COMMIT")

    def _year_of(self, tconst: int) -> int | None:
        assert self.conn is not None
        row = self.conn.execute("SELECT year FROM films WHERE tconst = ?", (tconst,)).fetchone()
        return None if row is None else row[0]

    def _read_crew(self) -> None:
        if TITLE_CREW not in self.files:
            return
        assert self.conn is not None
        conn = self.conn
        sql = "INSERT OR IGNORE INTO credits(film, role, ord, person) VALUES (?,?,?,?)"
        kept = self.kept_titles
        people = self.people
        bad = self.malformed.add
        rows: list[tuple[object, ...]] = []
        added = 0
        conn.execute("BEGIN")
        for path, columns, first, lines in self._blocks(TITLE_CREW):
            for i, line in enumerate(lines):
                f = line.decode("utf-8", "replace").split("\t")
                if len(f) != columns:
                    bad(path, first + i, wrong_columns(len(f), columns))
                    continue
                try:
                    film = _number(f[0])
                    if film not in kept:
                        continue
                    credits = [(role, _number(p))
                               for role, column in ((schema.DIRECTOR, f[1]),
                                                    (schema.WRITER, f[2]))
                               if column != NULL for p in column.split(",")]
                except ValueError:
                    bad(path, first + i, _("not a number where one is expected"))
                    continue
                for ordering, (role, person) in enumerate(credits, 1):
                    people.add(person)
                    rows.append((film, role, ordering, person))
                added += len(credits)
                if len(rows) >= BATCH:
                    self._write(sql, rows)
        self._write(sql, rows)
        conn.execute("COMMIT")
        self.counts["crew_credits"] = added

    def _read_principals(self) -> None:
        if TITLE_PRINCIPALS not in self.files:
            return
        assert self.conn is not None
        conn = self.conn
        sql = ("INSERT OR IGNORE INTO credits(film, role, ord, person, job, characters) "
               "VALUES (?,?,?,?,?,?)")
        skip_roles = ((schema.DIRECTOR, schema.WRITER) if TITLE_CREW in self.files else ())
        codes = schema.ROLE_CODE
        kept = self.kept_titles
        people = self.people
        bad = self.malformed.add
        rows: list[tuple[object, ...]] = []
        film = 0
        keep = False
        prev_key = b""
        added = 0
        conn.execute("BEGIN")
        for path, columns, first, lines in self._blocks(TITLE_PRINCIPALS):
            for i, line in enumerate(lines):
                key = line[:line.find(b"\t")]
                if key != prev_key:
                    prev_key = key
                    try:
                        film = _number(key)
                    except ValueError:
                        keep = False
                        bad(path, first + i, _("not a number where one is expected"))
                        continue
                    keep = film in kept
                if not keep:
                    continue
                f = line.decode("utf-8", "replace").split("\t")
                if len(f) != columns:
                    bad(path, first + i, wrong_columns(len(f), columns))
                    continue
                category = f[3]
                role = codes.get(category, 0)
                if role in skip_roles:
                    continue
                try:
                    ordering = int(f[1])
                    person = _number(f[2])
                except ValueError:
                    bad(path, first + i, _("not a number where one is expected"))
                    continue
                job = None if f[4] == NULL else _clean(f[4])
                if role == 0:
                    job = job or category
                characters = None if f[5] == NULL else _clean(f[5])
                people.add(person)
                rows.append((film, role, ordering, person, job, characters))
                added += 1
                if len(rows) >= BATCH:
                    self._write(sql, rows)
        self._write(sql, rows)
        conn.execute("COMMIT")
        self.counts["principal_credits"] = added

    def _read_names(self) -> None:
        if NAME_BASICS not in self.files:
            return
        assert self.conn is not None
        conn = self.conn
        sql = "INSERT OR IGNORE INTO people(id, name, norm, birth, death) VALUES (?,?,?,?,?)"
        people = self.people
        bad = self.malformed.add
        rows: list[tuple[object, ...]] = []
        conn.execute("BEGIN")
        for path, columns, first, lines in self._blocks(NAME_BASICS):
            for i, line in enumerate(lines):
                key = line[:line.find(b"\t")]
                try:
                    number = _number(key)
                except ValueError:
                    bad(path, first + i, _("not a number where one is expected"))
                    continue
                if number not in people:
                    continue
                f = line.decode("utf-8", "replace").split("\t")
                if len(f) != columns:
                    bad(path, first + i, wrong_columns(len(f), columns))
                    continue
                try:
                    birth = _optional_int(f[2])
                    death = _optional_int(f[3])
                except ValueError:
                    bad(path, first + i, _("not a number where one is expected"))
                    continue
                name = _clean(f[1])
                rows.append((number, name, normalize(name), birth, death))
                if len(rows) >= BATCH:
                    self._write(sql, rows)
        self._write(sql, rows)
        conn.execute("COMMIT")

    def _finish(self, source: str) -> None:
        assert self.conn is not None
        conn = self.conn
        # The full-text indexes first: FTS5 reads its content with `SELECT rowid, norm`,
        # which the covering index on titles(norm) would answer in norm order — rowids out
        # of order make FTS5 flush at every row (measured: 4× slower, 3× more segments).
        steps = (*schema.FULL_TEXT, *schema.INDEXES, "PRAGMA analysis_limit=1000", "ANALYZE")
        for step, statement in enumerate(steps):
            self._tick("indexes", self.total_bytes, force=True, step=step, steps=len(steps))
            conn.execute(statement)
        for table, key in (("titles", "titles"), ("people", "people"),
                           ("credits", "credits")):
            self.counts[key] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        self._imported_at = datetime.now(UTC).replace(microsecond=0).isoformat()
        meta = {
            "schema_version": str(schema.SCHEMA_VERSION),
            "source": source,
            "imported_at": self._imported_at,
            "counts": json.dumps(self.counts, sort_keys=True),
            "input_rows": str(self.input_rows),
            "malformed": json.dumps(self.malformed.counts, sort_keys=True),
            "malformed_examples": json.dumps(self.malformed.examples, ensure_ascii=False),
            "files": json.dumps(sorted(p.name for p in self.files.values())),
            "options": json.dumps({
                "kinds": sorted(self.options.kinds),
                "short_min_votes": self.options.short_min_votes,
                "include_adult": self.options.include_adult,
                "aka_regions": (sorted(self.options.aka_regions)
                                if self.options.aka_regions is not None else None)}),
        }
        conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", meta.items())
        self._tick("indexes", self.total_bytes, force=True, step=len(steps), steps=len(steps))
        conn.close()
        self.conn = None
