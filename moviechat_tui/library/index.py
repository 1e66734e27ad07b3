"""A rebuildable cache of the conversation library in one SQLite file, so that listing and
full-text search do not read ten thousand TOML files every time.

The TOML files stay the source of truth; this file is a cache of them and nothing else:

- Per conversation it holds the summary read from the file's header and the file's freshness
  key (inode, size, mtime, ctime of `<id>.toml`, plus those of the `<id>.d/` directory of side
  files and of each file in it, when there is one). Per visible message (not hidden, not a
  notice) it holds the id, role, text and case-folded text, once a search has needed them.
- Every listing and search starts with one scan of the conversations directory (the store's,
  `storage/scan.py`, so the list and the index agree on which files are conversations) and
  compares keys: rows of removed files are dropped, changed and new files are re-read (only
  their header for a listing; their messages, through `ConversationStore.load`, when a search
  needs them), and unchanged files are not opened at all. So edits made by another instance, a
  sync tool or a text editor show up at the next listing, without a restart.
- A changed file loses its message rows at once, so the cache never keeps text the files no
  longer hold.
- Missing, unreadable, corrupt or from another schema version: the file is deleted and
  rebuilt. When it cannot be used at all (a read-only data directory, a file system without
  locking) the index lives in memory for the rest of the process. Either way the user sees the
  same results; only the first listing or search is slower. Errors go to the log only.
- Two instances share the file through SQLite's own locking (WAL, with a busy timeout);
  writes happen in short transactions and never while a conversation file is being read.

Search matches a case-folded query against `str.casefold()` of each message with `instr()`,
which is exactly the substring rule of a plain scan, for queries of any length and any script
(Korean two-letter words included). Scanning the text of 10,000 conversations this way takes
well under the 500 ms goal, so there is no FTS index to build or keep in step.

`sqlite3` is imported only when the index is first used, never on the start-up path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from moviechat_tui.core.conversation import ConversationSummary, Message
from moviechat_tui.core.data_layout import DataLayout
from moviechat_tui.core.records import Record
from moviechat_tui.core.text import sanitize
from moviechat_tui.storage.errors import (
    ConversationNotFound,
    CorruptConversation,
    StoreError,
)
from moviechat_tui.storage.format import EARLIEST, LATEST, usable_time
from moviechat_tui.storage.scan import ConversationFile
from moviechat_tui.storage.store import ConversationStore

if TYPE_CHECKING:
    import sqlite3

__all__ = ["SCHEMA_VERSION", "IndexedMessage", "LibraryIndex", "default_index_path", "index_for"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Bump when the tables change: a file with another version is deleted and rebuilt."""
BUSY_TIMEOUT_S = 5.0
"""How long to wait for another instance's write transaction before giving up on the file."""
_TEXT_BATCH = 200
"""Conversations whose text is written per transaction while a search fills the index: short
transactions let another instance (or a listing in another thread) write in between."""
BACKLOG_NOTICE = 1000
"""From this many conversations to read (about 1.5 s), a search says why it is slow."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")
_MessageRow = tuple[str, int, str, str, str, str]
_Row = TypeVar("_Row", tuple[str, str], tuple[str, str, int])
"""conv_id, position, message_id, role, content, casefolded content"""

_SCHEMA = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS conversations (
    id            TEXT PRIMARY KEY,
    file_key      TEXT NOT NULL,
    title         TEXT NOT NULL,
    persona       TEXT NOT NULL,
    model         TEXT NOT NULL,
    created       TEXT NOT NULL,
    updated       TEXT NOT NULL,
    updated_us    INTEGER NOT NULL,
    message_count INTEGER NOT NULL,
    text_key      TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    conv_id    TEXT NOT NULL,
    position   INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    role       TEXT NOT NULL,
    content    TEXT NOT NULL,
    folded     TEXT NOT NULL,
    PRIMARY KEY (conv_id, position)
);
PRAGMA user_version = {SCHEMA_VERSION};
COMMIT;
"""

_SEARCH = """
SELECT c.id, c.title, c.updated, c.updated_us, m.message_id, m.role, m.content
FROM conversations AS c JOIN messages AS m ON m.conv_id = c.id
WHERE c.text_key = c.file_key AND instr(m.folded, ?) > 0
ORDER BY c.updated_us DESC, c.id DESC, m.position
LIMIT ?
"""


class IndexedMessage(Record):
    """A visible message whose case-folded text contains the query."""

    conversation_id: str
    title: str
    updated: datetime
    message_id: str
    role: str
    content: str


class _SchemaMismatch(Exception):
    """The file was written by another version of this index."""


class _DamagedIndex(Exception):
    """A row this index would never write (a wrong type, a time the app cannot use, text
    with control characters): the file was damaged or changed by something else."""


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise _DamagedIndex(f"text expected, found {type(value).__name__}")
    return value


def _integer(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _DamagedIndex(f"integer expected, found {type(value).__name__}")
    return value


def _moment(value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(_text(value))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or usable_time(moment) is None:
        raise _DamagedIndex(f"unusable time {value!r}")
    return moment


def _check_clean(texts: Iterable[str]) -> None:
    """Text the index holds came sanitised from the files: anything `sanitize` would change
    was put there by something else. One pass over all of it at C speed (`isprintable`:
    ~1 ms for 10,000 titles or 500 replies); only text it doubts (an emoji joiner, a
    no-break space) is sanitised to be sure (~10 ms for 500 replies)."""
    joined = " ".join(texts)
    if (not joined.replace("\n", " ").replace("\t", " ").isprintable()
            and sanitize(joined) != joined):
        raise _DamagedIndex("control characters in the text")


_CREATED = attrgetter("created")
_UPDATED = attrgetter("updated")
_COUNT = attrgetter("message_count")
_SHOWN = attrgetter("title", "persona", "model")


def _check_summaries(summaries: list[ConversationSummary]) -> None:
    """What `_moment`, `_integer` and `_text` check row by row, for a whole listing at
    once at C speed (10,000 rows: ~3 ms instead of ~10)."""
    if not summaries:
        return
    try:
        times = [*map(_CREATED, summaries), *map(_UPDATED, summaries)]
        if min(times) < EARLIEST or max(times) >= LATEST:
            raise _DamagedIndex("a time the app cannot use")
        _check_clean(chain.from_iterable(map(_SHOWN, summaries)))
    except TypeError as err:  # a time without offset, a title that is not text
        raise _DamagedIndex(str(err)) from None
    if not set(map(type, map(_COUNT, summaries))) <= {int}:
        raise _DamagedIndex("a message count that is not an integer")


def default_index_path(conversations_dir: Path) -> Path:
    """`<data dir>/cache/library.sqlite3`, next to `conversations/` (core/data_layout.py)."""
    return DataLayout.of_conversations(conversations_dir).library_index


def _is_busy(err: BaseException) -> bool:
    """Another connection holds the lock (as opposed to a damaged or unusable file)."""
    import sqlite3

    return isinstance(err, sqlite3.OperationalError) and getattr(
        err, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _message_rows(conv_id: str, messages: list[Message]) -> list[_MessageRow]:
    """What the index keeps of a conversation's text: the visible messages, in order."""
    return [(conv_id, position, m.id, m.role, m.content, m.content.casefold())
            for position, m in enumerate(messages) if not m.hidden and m.role != "notice"]


def _rollback(con: sqlite3.Connection) -> None:
    import sqlite3

    with contextlib.suppress(sqlite3.Error):
        con.execute("ROLLBACK")


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


class LibraryIndex:
    """The cache for one `ConversationStore`. Thread-safe: every call opens its own
    connection (or, in memory, takes a lock), so the controller may call it from worker
    threads through `asyncio.to_thread`."""

    def __init__(self, store: ConversationStore, path: Path | None = None) -> None:
        self.store = store
        self.path = Path(path) if path is not None else default_index_path(
            store.conversations_dir)
        self._mutex = threading.Lock()  # guards `_problems` and the switch to memory
        self._problems: list[StoreError] = []
        self._memory: sqlite3.Connection | None = None
        self._memory_lock = threading.Lock()
        self._text_lock = threading.Lock()

    # --- public --------------------------------------------------------------------------

    def summaries(self) -> list[ConversationSummary]:
        """Every readable conversation, most recently updated first (as
        `ConversationStore.list_summaries`), reading only the headers of new or changed files."""
        if not self._has_conversations_dir():
            return []
        return self._with_index(self._summaries)

    def find_messages(self, folded_query: str, limit: int,
                      on_backlog: Callable[[int], None] | None = None) -> list[IndexedMessage]:
        """Visible messages whose `casefold()`ed text contains `folded_query`, newest
        conversation first and in conversation order, at most `limit`. Brings the text of new
        and changed conversations into the index first; when that is at least
        `BACKLOG_NOTICE` conversations (a first search), calls `on_backlog(count)` before
        reading them, so the caller can say why this search is slow."""
        try:
            folded_query.encode("utf-8")
        except UnicodeEncodeError:
            return []  # a lone surrogate (from a non-UTF-8 argv) is in no saved text
        if not folded_query or not self._has_conversations_dir():
            return []
        return self._with_index(lambda con: self._find(con, folded_query, limit, on_backlog))

    def backlog(self) -> int:
        """How many conversations a search would have to read before answering (new or
        changed since their text was indexed)."""
        if not self._has_conversations_dir():
            return 0

        def count(con: sqlite3.Connection) -> int:
            self._refresh(con)
            row = con.execute("SELECT count(*) FROM conversations "
                              "WHERE text_key IS NOT file_key").fetchone()
            return int(row[0])

        return self._with_index(count)

    def fill_text(self, should_stop: Callable[[], bool] = lambda: False) -> int:
        """Read the text of every conversation not indexed yet, **oldest first**, in short
        transactions; returns how many were indexed. This is the background indexer's job
        (`index_worker`): a search reads newest first, so the two meet in the middle instead
        of reading the same files. A conversation that cannot be read cleanly is skipped and
        left stale, so a search in the app reads it, reports it and (with a repairing store)
        quarantines it — the indexer must never be the only one to see a damaged file."""
        if not self._has_conversations_dir():
            return 0

        def fill(con: sqlite3.Connection) -> int:
            self._refresh(con)
            stale: list[tuple[str, str]] = con.execute(
                "SELECT id, file_key FROM conversations WHERE text_key IS NOT file_key "
                "ORDER BY updated_us ASC, id ASC").fetchall()
            indexed = 0
            for done in range(0, len(stale), _TEXT_BATCH):
                if should_stop():
                    break
                batch = []
                for conv_id, key in self._still_stale(con, stale[done:done + _TEXT_BATCH]):
                    rows = self._clean_text_rows(conv_id)
                    if rows is not None:
                        batch.append((conv_id, key, rows))
                self._write_text(con, batch)
                indexed += len(batch)
            return indexed

        return self._with_index(fill)

    @staticmethod
    def _still_stale(con: sqlite3.Connection, chunk: list[_Row]) -> list[_Row]:
        """The part of `chunk` whose text nobody has indexed since the list was taken: the
        background indexer and a search fill the index from opposite ends at the same time,
        and neither should read again what the other just read."""
        ids = [row[0] for row in chunk]
        marks = ",".join("?" * len(ids))  # at most _TEXT_BATCH parameters
        done = {conv_id for (conv_id,) in con.execute(
            "SELECT id FROM conversations WHERE text_key IS file_key AND id IN (" + marks + ")",
            ids)}
        return [row for row in chunk if row[0] not in done]

    def _clean_text_rows(self, conv_id: str) -> list[_MessageRow] | None:
        """`_text_rows` for the background indexer: None instead of reporting a problem."""
        try:
            conv = self.store.load(conv_id).conversation
        except Exception:  # damaged, vanished, too large: the app's own search will tell
            return None
        if self.store.take_problems():  # loaded, but something in it was not right
            return None
        return _message_rows(conv_id, conv.messages)

    def take_problems(self) -> list[StoreError]:
        """Unreadable files met since the last call (each reported once per listing that met
        it, as `ConversationStore.take_problems` does)."""
        with self._mutex:
            problems, self._problems = self._problems, []
        return problems

    def _has_conversations_dir(self) -> bool:
        """Nothing saved yet (or a mistyped --data-dir): no index file is created for it."""
        return os.path.lexists(self.store.conversations_dir)

    # --- connections ---------------------------------------------------------------------

    def _with_index(self, work: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run `work` against the file; if the file is damaged, from another schema or
        unusable, delete it and try once more, then fall back to memory."""
        import sqlite3

        if self._memory is None:
            for attempt in (1, 2):
                try:
                    with self._file_connection() as con:
                        return work(con)
                except (sqlite3.Error, _SchemaMismatch, _DamagedIndex, OSError) as err:
                    # OSError: the cache directory cannot be created or written.
                    busy = _is_busy(err)
                    if attempt == 2 or busy or isinstance(err, OSError):
                        log.warning("library index %s unusable (%s); keeping it in memory",
                                    self.path, err)
                        break
                    log.info("library index %s unreadable (%s); rebuilding it",
                             self.path, err)
                    self._discard_file()
            self._use_memory()
        with self._memory_lock:
            assert self._memory is not None
            return work(self._memory)

    @contextlib.contextmanager
    def _file_connection(self) -> Iterator[sqlite3.Connection]:
        import sqlite3

        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # created private: it holds message text
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                             0o600))
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            deadline = time.monotonic() + BUSY_TIMEOUT_S
            while True:
                try:
                    self._prepare(con)
                    break
                except sqlite3.OperationalError as err:
                    # Two instances creating the file at once: switching to WAL can fail
                    # with "database is locked" at once, without SQLite's busy wait.
                    if not _is_busy(err) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            yield con
        finally:
            con.close()

    @staticmethod
    def _prepare(con: sqlite3.Connection) -> None:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            if version != 0:
                raise _SchemaMismatch(f"schema version {version}, expected {SCHEMA_VERSION}")
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(_SCHEMA)
        con.execute("PRAGMA synchronous = NORMAL")

    def _discard_file(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}{suffix}")

    def _use_memory(self) -> None:
        import sqlite3

        with self._mutex:
            if self._memory is None:
                con = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
                con.executescript(_SCHEMA)
                self._memory = con

    # --- freshness -----------------------------------------------------------------------

    def _report(self, problem: StoreError) -> None:
        log.warning("%s", problem.message)
        with self._mutex:
            self._problems.append(problem)

    def _scan(self) -> dict[str, ConversationFile]:
        """Each conversation file's freshness key, from one directory scan (the store's:
        both see the same files)."""
        try:
            files = self.store.scan(with_segments=True)
        except OSError as err:
            self._report(CorruptConversation(self.store.conversations_dir, None,
                                             err.strerror or str(err)))
            return {}
        return {file.id: file for file in files}

    def _read_summary(self, conv_id: str, name: str) -> ConversationSummary | None:
        """The header's summary, read as the store reads it; an unusual layout gets a full
        load, which also quarantines a damaged file (reported here, not indexed)."""
        return self.store.read_summary(Path(name), conv_id, report=self._report)

    def _refresh(self, con: sqlite3.Connection) -> dict[str, ConversationFile]:
        """Bring the summaries in step with the directory; returns what the scan found."""
        on_disk = self._scan()
        known = dict(con.execute("SELECT id, file_key FROM conversations").fetchall())
        gone = [conv_id for conv_id in known if conv_id not in on_disk]
        changed = [(conv_id, found) for conv_id, found in on_disk.items()
                   if known.get(conv_id) != found.key]
        # Files are read before the write transaction, so another instance is never kept
        # waiting on our disk reads.
        fresh = [(conv_id, found.key, self._read_summary(conv_id, found.path))
                 for conv_id, found in changed]
        if not gone and not fresh:
            return on_disk
        con.execute("BEGIN IMMEDIATE")
        try:
            stale = [(conv_id,) for conv_id in gone] + [(c,) for c, _, _ in fresh]
            con.executemany("DELETE FROM messages WHERE conv_id = ?", stale)
            con.executemany("DELETE FROM conversations WHERE id = ?", stale)
            con.executemany(
                "INSERT INTO conversations (id, file_key, title, persona, model, created, "
                "updated, updated_us, message_count, text_key) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                [(conv_id, key, s.title, s.persona, s.model, s.created.isoformat(),
                  s.updated.isoformat(), _micros(s.updated), s.message_count)
                 for conv_id, key, s in fresh if s is not None])
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        return on_disk

    def _text_rows(self, conv_id: str) -> list[_MessageRow]:
        """The visible messages of one conversation, read through the store."""
        try:
            conv = self.store.load(conv_id).conversation
        except ConversationNotFound:
            return []  # removed since the scan: the next scan drops it
        except StoreError as err:
            self._report(err)  # indexed as holding no text, so not retried every search
            return []
        return _message_rows(conv_id, conv.messages)

    def _write_text(self, con: sqlite3.Connection,
                    batch: list[tuple[str, str, list[_MessageRow]]]) -> None:
        con.execute("BEGIN IMMEDIATE")
        try:
            for conv_id, key, rows in batch:
                current = con.execute("SELECT file_key FROM conversations WHERE id = ?",
                                      (conv_id,)).fetchone()
                if current is None or current[0] != key:
                    continue  # changed again meanwhile (another instance saw it): not ours
                con.execute("DELETE FROM messages WHERE conv_id = ?", (conv_id,))
                con.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)", rows)
                con.execute("UPDATE conversations SET text_key = ? WHERE id = ?", (key, conv_id))
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise

    # --- queries -------------------------------------------------------------------------

    def _summaries(self, con: sqlite3.Connection) -> list[ConversationSummary]:
        on_disk = self._refresh(con)
        try:
            summaries = [
                ConversationSummary(id=conv_id, title=title, persona=persona, model=model,
                                    created=datetime.fromisoformat(created),
                                    updated=datetime.fromisoformat(updated),
                                    message_count=count)
                for conv_id, title, persona, model, created, updated, count in con.execute(
                    "SELECT id, title, persona, model, created, updated, message_count "
                    "FROM conversations")
                if conv_id in on_disk
            ]
        except (TypeError, ValueError) as err:  # not text, not a time
            raise _DamagedIndex(str(err)) from None
        _check_summaries(summaries)
        summaries.sort(key=lambda s: (s.updated, s.id), reverse=True)
        return summaries

    def _find(self, con: sqlite3.Connection, folded_query: str, limit: int,
              on_backlog: Callable[[int], None] | None) -> list[IndexedMessage]:
        """Brings in the text of stale conversations, newest first, then queries. While the
        index is still filling, it stops as soon as `limit` matches lie in conversations
        newer than every one not yet read: the rest cannot come earlier in the results, so
        a common word is answered without reading the whole library first."""
        on_disk = self._refresh(con)
        # One reader of conversation text at a time in this process: searches typed while a
        # first one fills the index wait for it instead of reading the same files again.
        with self._text_lock:
            stale: list[tuple[str, str, int]] = [
                (conv_id, key, _integer(updated_us)) for conv_id, key, updated_us in con.execute(
                    "SELECT id, file_key, updated_us FROM conversations "
                    "WHERE text_key IS NOT file_key ORDER BY updated_us DESC, id DESC")]
            if on_backlog is not None and len(stale) >= BACKLOG_NOTICE:
                on_backlog(len(stale))
            started = time.perf_counter()
            check_at = _TEXT_BATCH
            for done in range(0, len(stale), _TEXT_BATCH):
                chunk = self._still_stale(con, stale[done:done + _TEXT_BATCH])
                self._write_text(con, [(conv_id, key, self._text_rows(conv_id))
                                       for conv_id, key, _ in chunk])
                left = stale[done + _TEXT_BATCH:]
                if left and done + _TEXT_BATCH >= check_at:
                    check_at *= 2
                    found = self._query(con, folded_query, limit, on_disk)
                    if len(found) == limit and found[-1][0] > (left[0][2], left[0][0]):
                        return [hit for _, hit in found]
            elapsed = time.perf_counter() - started
            if elapsed > 1:
                log.info("library index: read the text of %d conversations in %.1f s",
                         len(stale), elapsed)
        return [hit for _, hit in self._query(con, folded_query, limit, on_disk)]

    def _query(self, con: sqlite3.Connection, folded_query: str, limit: int,
               on_disk: dict[str, ConversationFile],
               ) -> list[tuple[tuple[int, str], IndexedMessage]]:
        """Matching messages with each one's conversation sort key (updated, id)."""
        found = [((_integer(updated_us), conv_id),
                  IndexedMessage(conv_id, _text(title), _moment(updated), _text(message_id),
                                 _text(role), _text(content)))
                 for conv_id, title, updated, updated_us, message_id, role, content
                 in con.execute(_SEARCH, (folded_query, limit))
                 if conv_id in on_disk]
        _check_clean(chain.from_iterable((hit.title, hit.message_id, hit.role, hit.content)
                                         for _, hit in found))
        return found


_indexes: weakref.WeakKeyDictionary[ConversationStore, LibraryIndex] = (
    weakref.WeakKeyDictionary())
_indexes_lock = threading.Lock()


def index_for(store: ConversationStore) -> LibraryIndex:
    """The index of `store`'s directory, one per store object (so its fallback to memory and
    its problems are shared by the app's listing and search)."""
    with _indexes_lock:
        index = _indexes.get(store)
        if index is None:
            index = _indexes[store] = LibraryIndex(store)
        return index
