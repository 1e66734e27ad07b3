"""The titles pass of an import: every title of every kept film, built in a scratch SQLite
file — in a child process beside the other passes when title.akas is big.

Why a pass of its own: the alternative titles are about a third of an import's work
(normalising ~50 million titles in every script), and they depend only on which films are
kept and their ranks, not on credits or people. On two cores the akas are read here while
the importer reads crew, principals and names; on a busy machine two processes also get a
bigger share of the CPU. A small file is read in the importer's own process (no process
start-up to pay), through the same function.

What it builds: for each kept film, its primary title (slot 0), its original title if it
normalises differently (slot 1), then its distinct alternative titles (slots 2–255,
deduplicated on their `normalize`d form, optionally only from some regions), as rows of a
`titles` table whose rowid is `rank << 8 | slot` (see schema.py), written in rowid order so
the importer copies them in one sequential pass.

title.akas is sorted by title like the films, so the two are read side by side: a film's
own titles are written when its first aka is reached (and seed the titles already seen),
without a query per film. An unsorted file still imports — a film met again is looked up —
only without deduplication against its primary and original titles.

The importer prepares the scratch file with a `films(tconst, rank, title, original_title,
year)` table. A child exits by itself if the importer dies (it checks its parent between
blocks), ignores ctrl+c (the importer stops it), and reports its result or its error
through a pipe; its leftovers are removed by the next import.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
from array import array
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from moviechat_tui.core.i18n import current_language, set_language
from moviechat_tui.core.records import Record
from moviechat_tui.films import schema
from moviechat_tui.films.datasets import (
    NULL,
    TITLE_AKAS,
    DatasetReader,
    MalformedRows,
    clean_text,
    id_number,
    not_a_number,
    wrong_columns,
)
from moviechat_tui.films.errors import DatasetError, ImportFailed
from moviechat_tui.films.normalize import normalize

BATCH = 20_000
CACHE_MB = 48
SCRATCH_FILMS = """CREATE TABLE scratch.films(
    tconst INTEGER PRIMARY KEY, rank INTEGER, title TEXT, original_title TEXT, year INTEGER)"""
"""What the importer gives the pass (`scratch` is the attached scratch file)."""


class TitlesResult(Record):
    rows: int
    """Rows of title.akas read."""
    akas: int
    """Alternative titles kept."""
    malformed: dict[str, int]
    examples: tuple[str, ...]


def build_titles(scratch: Path, akas: Path | None, regions: frozenset[str] | None, *,
                 on_block: Callable[[int], None] | None = None) -> TitlesResult:
    """Fill `titles` in `scratch` (see the module docstring). `on_block(bytes read)` is
    called between blocks of title.akas (progress, cancellation)."""
    conn = sqlite3.connect(scratch, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size={-CACHE_MB * 1024}",
                       "locking_mode=EXCLUSIVE", "temp_store=FILE"):
            conn.execute(f"PRAGMA {pragma}")
        return _Titles(conn, regions).run(akas, on_block)
    finally:
        conn.close()


class _Titles:
    def __init__(self, conn: sqlite3.Connection, regions: frozenset[str] | None) -> None:
        self.conn = conn
        self.regions = regions
        self.rows: list[tuple[object, ...]] = []
        self.malformed = MalformedRows()
        films = conn.execute("SELECT max(rank) FROM films").fetchone()[0] or 0
        self.next_slot = array("B", bytes(films + 1))  # per rank: alternative titles so far

    def own_titles(self, film: tuple[int, int, str, str | None, int | None]) -> set[str]:
        _tconst, rank, title, original, year = film
        norm = normalize(title)
        self.rows.append((rank << 8, title, norm, None, None, year))
        if original is not None:
            original_norm = normalize(original)
            if original_norm != norm:
                self.rows.append((rank << 8 | 1, original, original_norm, None, None, year))
                return {norm, original_norm}
        return {norm}

    def flush(self) -> None:
        if self.rows:
            self.conn.executemany("INSERT INTO staged VALUES (?,?,?,?,?,?)", self.rows)
            self.rows.clear()

    def run(self, akas: Path | None, on_block: Callable[[int], None] | None) -> TitlesResult:
        conn = self.conn
        conn.execute("CREATE TABLE staged(id INTEGER, title TEXT, norm TEXT, region TEXT, "
                     "language TEXT, year INTEGER)")
        films = conn.cursor().execute(
            "SELECT tconst, rank, title, original_title, year FROM films ORDER BY tconst")
        upcoming = films.fetchone()
        added = 0
        read = 0
        conn.execute("BEGIN")
        if akas is not None:
            regions = self.regions
            next_slot = self.next_slot
            bad = self.malformed.add
            rows = self.rows
            seen: set[str] = set()
            rank = 0
            year: int | None = None
            keep = False
            prev_key = b""
            passed = -1  # the last tconst whose own titles are written
            reader = DatasetReader(akas, TITLE_AKAS)
            for first, lines in reader.blocks():
                read += len(lines)
                if on_block is not None:
                    on_block(reader.position)
                for i, line in enumerate(lines):
                    key = line[:line.find(b"\t")]
                    if key != prev_key:
                        prev_key = key
                        try:
                            number = id_number(key)
                        except ValueError:
                            keep = False
                            bad(akas, first + i, not_a_number())
                            continue
                        while upcoming is not None and upcoming[0] < number:
                            self.own_titles(upcoming)
                            passed = upcoming[0]
                            upcoming = films.fetchone()
                        if upcoming is not None and upcoming[0] == number:
                            rank, year = upcoming[1], upcoming[4]
                            seen = self.own_titles(upcoming)
                            passed = number
                            upcoming = films.fetchone()
                            keep = True
                        elif number <= passed:  # out of order: a film met before?
                            row = conn.execute("SELECT rank, year FROM films WHERE tconst = ?",
                                               (number,)).fetchone()
                            keep = row is not None
                            if row is not None:
                                rank, year = row
                                seen = set()
                        else:
                            keep = False
                    if not keep:
                        continue
                    f = line.decode("utf-8", "replace").split("\t")
                    if len(f) != reader.column_count:
                        bad(akas, first + i, wrong_columns(len(f), reader.column_count))
                        continue
                    region = None if f[3] == NULL else f[3]
                    if regions is not None and region not in regions and f[7] != "1":
                        continue
                    title = clean_text(f[2])
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
                    self.flush()
        while upcoming is not None:
            self.own_titles(upcoming)
            upcoming = films.fetchone()
            if len(self.rows) >= BATCH:
                self.flush()
        self.flush()
        conn.execute(schema.TITLES_TABLE)
        conn.execute("INSERT INTO titles SELECT * FROM staged ORDER BY id")
        conn.execute("COMMIT")
        return TitlesResult(read, added, dict(self.malformed.counts),
                            tuple(self.malformed.examples))


# -- beside the importer, in a child process ------------------------------------------------

class TitlesWorker:
    """`build_titles` in a child process (spawned: safe from a threaded parent such as the
    TUI). `position` is how much of title.akas it has read, for progress."""

    def __init__(self, scratch: Path, akas: Path, regions: frozenset[str] | None) -> None:
        context = multiprocessing.get_context("spawn")
        self._position = context.Value("q", 0, lock=False)
        self._results, sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_child, name="moviechat-titles", daemon=True,
            args=(scratch, akas, regions, os.getpid(), current_language(), self._position,
                  sender))
        self.process.start()
        sender.close()
        self._message: tuple[Any, ...] | None = None

    @property
    def position(self) -> int:
        return int(self._position.value)

    def done(self) -> bool:
        """True once the child has sent its result (or died)."""
        if self._message is None and self._results.poll():
            try:
                self._message = self._results.recv()
            except EOFError:
                self._message = ("error", "the titles process ended without a word")
        return self._message is not None or not self.process.is_alive()

    def failed(self) -> bool:
        """True once the child has reported an error (or died without a result)."""
        return self.done() and (self._message is None or self._message[0] != "ok")

    def result(self, wait: Callable[[], None]) -> TitlesResult:
        """The child's result, calling `wait()` every 0.2 s until it comes (progress and
        cancellation); raises the child's error as the importer's."""
        while not self.done():
            self._results.poll(0.2)
            wait()
        self.process.join()
        message = self._message or ("error", f"the titles process ended with exit code "
                                             f"{self.process.exitcode}")
        kind, *details = message
        if kind == "ok":
            rows, akas, malformed, examples = details
            return TitlesResult(rows, akas, malformed, tuple(examples))
        if kind == "dataset":
            path, line, reason = details
            raise DatasetError(Path(path), line, reason)
        if kind == "sqlite":
            raise SqliteFailure(*details)
        if kind == "os":
            raise OSError(*details)
        raise ImportFailed(str(details[0]))

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(5)
        self._results.close()


class SqliteFailure(Exception):
    """A SQLite error in the child, carried over: `code` and `message`."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _child(scratch: Path, akas: Path, regions: frozenset[str] | None, parent: int,
           language: str, position: Any, results: Connection) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # ctrl+c: the importer stops us
    set_language(language)

    def on_block(read: int) -> None:
        position.value = read
        if os.getppid() != parent:  # the importer is gone (kill -9): so are we
            raise SystemExit(1)

    try:
        result = build_titles(scratch, akas, regions, on_block=on_block)
        results.send(("ok", result.rows, result.akas, result.malformed,
                      list(result.examples)))
    except DatasetError as err:
        results.send(("dataset", str(err.path), err.line, err.reason))
    except sqlite3.Error as err:
        results.send(("sqlite", getattr(err, "sqlite_errorcode", None), str(err)))
    except OSError as err:
        results.send(("os", err.errno, err.strerror or str(err)))
    except SystemExit:
        raise
    except BaseException as err:  # anything else: reported, never a traceback
        results.send(("error", repr(err)))
