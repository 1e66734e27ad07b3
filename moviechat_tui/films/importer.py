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
then basics (which titles are kept, ranked by votes), then the titles pass over title.akas
(title_pass.py: in a second process when the file is big) beside crew and principals
(filtered on the kept titles; they mark the people credited), then name.basics (filtered on
those people). A missing file other than title.basics is skipped: its facts are simply
absent.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import threading
import time
from array import array
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record, field
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
    clean_text,
    id_number,
    locate,
    not_a_number,
    optional_int,
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
from moviechat_tui.films.title_pass import (
    SCRATCH_FILMS,
    SqliteFailure,
    TitlesResult,
    TitlesWorker,
    build_titles,
)

DEFAULT_KINDS = frozenset({"movie", "tvMovie", "tvSeries", "tvMiniSeries", "short"})
DEFAULT_SHORT_MIN_VOTES = 100
"""About a million shorts are listed, most with a handful of votes or none; those below this
are rarely what a conversation is about, and would almost double the number of films."""
BATCH = 20_000
"""Rows per `executemany`."""
CACHE_MB = 96
"""SQLite page cache of the import, in MB (part of the peak memory)."""
PROGRESS_EVERY_S = 0.2
PARALLEL_FROM_BYTES = 8 << 20
"""A title.akas file this big is read in a child process beside the other passes
(title_pass.py); a smaller one in this process, where a child's start-up would cost more
than it saves."""

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
    """Passed to `on_progress` a few times a second (from the importing thread).

    `done`/`total` are bytes of the input files on disk (compressed) — title.akas included
    while its pass runs beside — so one progress bar is proportional to the work. `phase`
    is what this process is doing: a dataset's name while it reads it (`title.basics`, …),
    "ranking" (ordering the films by votes), "titles" (copying the titles in), then
    "indexes" for the last step, whose progress is `done == total` with `step`/`steps`
    counting its statements. `rows` is input rows read so far (title.akas counted when its
    pass ends)."""

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
    scratch = catalogue.with_name(catalogue.name + ".titles")
    with _import_lock(catalogue):
        _remove(building, scratch)
        build = _Build({ds: p for ds, p in files.items() if p is not None}, building,
                       scratch, options or ImportOptions(), on_progress, cancel)
        try:
            report = build.run(catalogue, source or str(folder))
            _swap(building, catalogue)
        except KeyboardInterrupt:
            raise ImportInterrupted() from None
        except sqlite3.Error as err:
            raise import_failed_writing(catalogue, _sqlite_reason(
                getattr(err, "sqlite_errorcode", None), str(err))) from err
        except SqliteFailure as err:
            raise import_failed_writing(catalogue, _sqlite_reason(err.code, err.message)
                                        ) from err
        except OSError as err:
            raise import_failed_writing(catalogue, err) from err
        finally:
            build.close()
            _remove(building, scratch)
    return report


def needs_import(folder: Path, catalogue: Path) -> bool:
    """True if `catalogue` is missing or older than a dataset file in `folder` — what
    `films update` asks after downloading, rather than only "did a file change": a
    download whose import then failed (a full disk) must be imported by the next run, which
    finds every file unchanged."""
    try:
        built = catalogue.stat().st_mtime
    except OSError:
        return True
    found = [path for ds in (TITLE_BASICS, TITLE_AKAS, TITLE_CREW, TITLE_PRINCIPALS,
                             TITLE_RATINGS, NAME_BASICS)
             if (path := locate(folder, ds)) is not None]
    return any(path.stat().st_mtime > built for path in found)


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


def _sqlite_reason(code: int | None, message: str) -> str:
    if code == sqlite3.SQLITE_FULL or "full" in message:
        return _("the disk is full")
    if code is not None and code & 0xFF == sqlite3.SQLITE_IOERR:
        return _("the disk refused a write ({error}: is it full?)").format(error=message)
    return message


class _Build:
    """One import: the passes over the files, in order, into `building`."""

    def __init__(self, files: dict[Dataset, Path], building: Path, scratch: Path,
                 options: ImportOptions,
                 on_progress: Callable[[ImportProgress], None] | None,
                 cancel: threading.Event | None) -> None:
        self.files = files
        self.building = building
        self.scratch = scratch
        self.worker: TitlesWorker | None = None
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
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
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
        conn.executescript(schema.TABLES)

        ratings = self._read_ratings()
        self._read_basics(ratings)
        del ratings
        self._rank_films()
        self._start_titles()
        self._read_crew()
        self._read_principals()
        self._read_names()
        self._finish_titles()
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

    @property
    def _beside(self) -> int:
        """Bytes of title.akas the titles process has read so far."""
        return self.worker.position if self.worker is not None else 0

    def _tick(self, phase: str, done: int, *, force: bool = False, step: int = 0,
              steps: int = 0) -> None:
        if self.cancel is not None and self.cancel.is_set():
            raise KeyboardInterrupt
        now = time.monotonic()
        if force or now - self.last_progress >= PROGRESS_EVERY_S:
            self.last_progress = now
            if self.worker is not None and self.worker.failed():
                self.worker.result(lambda: None)  # raises the titles process's error now
        if self.on_progress is not None and now == self.last_progress:
            self.on_progress(ImportProgress(phase, min(done + self._beside, self.total_bytes),
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
                    tconst = id_number(parts[0])
                    rating = round(float(parts[1]) * 10)
                    votes = int(parts[2])
                except ValueError:
                    bad(path, first + i, not_a_number())
                    continue
                if not 0 <= rating <= 100 or votes < 0:
                    bad(path, first + i, not_a_number())
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
                    tconst = id_number(f[0])
                    year = optional_int(f[5])
                    end_year = optional_int(f[6])
                    runtime = optional_int(f[7])
                except ValueError:
                    bad(path, first + i, not_a_number())
                    continue
                packed = get_rating(tconst)
                votes = packed >> 7 if packed is not None else None
                if kind == "short" and (votes or 0) < short_min:
                    continue
                title = clean_text(f[2])
                original = clean_text(f[3])
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

    def _start_titles(self) -> None:
        """Hand the kept films to the titles pass (title_pass.py) in a scratch file, and
        start it: in a child process beside the next passes when title.akas is big, else
        right here."""
        assert self.conn is not None
        conn = self.conn
        conn.execute("ATTACH DATABASE ? AS scratch", (str(self.scratch),))
        conn.execute("PRAGMA scratch.journal_mode=OFF")
        conn.execute("PRAGMA scratch.synchronous=OFF")
        conn.execute(SCRATCH_FILMS)
        conn.execute("INSERT INTO scratch.films SELECT tconst, rank, title, original_title, "
                     "year FROM films ORDER BY tconst")
        conn.execute("DETACH DATABASE scratch")
        akas = self.files.get(TITLE_AKAS)
        regions = self.options.aka_regions
        if akas is not None and akas.stat().st_size >= PARALLEL_FROM_BYTES:
            self.worker = TitlesWorker(self.scratch, akas, regions)
            return
        result = build_titles(self.scratch, akas, regions, on_block=lambda read: self._tick(
            TITLE_AKAS.name, self.done_bytes + read))
        self._titles_done(result)

    def _titles_done(self, result: TitlesResult) -> None:
        akas = self.files.get(TITLE_AKAS)
        if akas is not None:
            self.counts["akas"] = result.akas
            self.done_bytes += akas.stat().st_size
            self.input_rows += result.rows
        for name, count in result.malformed.items():
            self.malformed.counts[name] = self.malformed.counts.get(name, 0) + count
        for example in result.examples:
            if len(self.malformed.examples) < MalformedRows.EXAMPLES:
                self.malformed.examples.append(example)

    def _finish_titles(self) -> None:
        """Wait for the titles pass if it runs beside, then copy its titles (already in
        rowid order) into the catalogue."""
        assert self.conn is not None
        if self.worker is not None:
            result = self.worker.result(lambda: self._tick(TITLE_AKAS.name, self.done_bytes))
            self.worker.stop()
            self.worker = None
            self._titles_done(result)
        self._tick("titles", self.done_bytes, force=True)
        conn = self.conn
        conn.execute("ATTACH DATABASE ? AS scratch", (str(self.scratch),))
        conn.execute("BEGIN")
        conn.execute("INSERT INTO titles SELECT * FROM scratch.titles")
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE scratch")
        _remove(self.scratch)

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
                    film = id_number(f[0])
                    if film not in kept:
                        continue
                    credits = [(role, id_number(p))
                               for role, column in ((schema.DIRECTOR, f[1]),
                                                    (schema.WRITER, f[2]))
                               if column != NULL for p in column.split(",")]
                except ValueError:
                    bad(path, first + i, not_a_number())
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
                        film = id_number(key)
                    except ValueError:
                        keep = False
                        bad(path, first + i, not_a_number())
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
                    person = id_number(f[2])
                except ValueError:
                    bad(path, first + i, not_a_number())
                    continue
                job = None if f[4] == NULL else clean_text(f[4])
                if role == 0:
                    job = job or category
                characters = None if f[5] == NULL else clean_text(f[5])
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
                    number = id_number(key)
                except ValueError:
                    bad(path, first + i, not_a_number())
                    continue
                if number not in people:
                    continue
                f = line.decode("utf-8", "replace").split("\t")
                if len(f) != columns:
                    bad(path, first + i, wrong_columns(len(f), columns))
                    continue
                try:
                    birth = optional_int(f[2])
                    death = optional_int(f[3])
                except ValueError:
                    bad(path, first + i, not_a_number())
                    continue
                name = clean_text(f[1])
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
