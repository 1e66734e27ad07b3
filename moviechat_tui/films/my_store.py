"""My films on disk: one TOML file per list, kept with the same guarantees as conversations.

    <data dir>/my-films/watchlist.toml
    <data dir>/my-films/diary.toml
    <data dir>/my-films/ratings.toml
    <data dir>/my-films/my-films.lock     (empty; locked while a change is written)

Why a file per list: adding a film to the watchlist rewrites the watchlist, not a 10,000-entry
diary (measured in benchmarks/my_films.py); a damaged file costs one list, not three; and each
file reads as one list. The price is that an import writing three lists is not atomic as a
whole: a crash between two of them leaves some lists imported — and running the import again
completes it, since an import adds nothing that is already there (my_lists.py).

What can go wrong, and what happens (the conversation store's rules, storage/files.py):

- The app dies mid-write: each file is written to a temporary file, fsynced and renamed over
  the old one (`write_atomically`), so a list is the old one or the new one, never half.
- Two moviechat instances change lists at once: every change is a transaction under an
  exclusive `flock` on `my-films.lock` that reads the file as it is now, applies the change
  to it and writes it back (`change`). A change is an operation ("add this film"), not a
  snapshot, so the other instance's entries are never written over: nothing is lost.
- A file is damaged (not TOML, wrong types, cut short): it is renamed to
  `<name>.toml.corrupt` (never deleted or overwritten), reported once (`take_problems`),
  and the list starts empty; the next change writes a new file beside the moved one.
- A file written by a newer moviechat: read as empty, reported, and never written (this
  version would drop what the newer one added).
- Not a regular file, or larger than `MAX_FILE_BYTES`: reported, left alone, not written.

Reading takes no lock (files are only ever replaced whole) and is cached by the file's
identity (inode, size, times), so an unchanged list is parsed once per process. The last
removal is kept in memory so it can be undone (`undo_removal`).
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import TypeVar

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.core.text import one_line
from moviechat_tui.films.my_format import (
    ListFormatError,
    TableCache,
    parse_list,
    serialise_list,
)
from moviechat_tui.films.my_lists import (
    LIST_NAMES,
    Entry,
    ListEditor,
    ListName,
    MyLists,
    Outcome,
    make_entry,
)
from moviechat_tui.storage.errors import StoreWriteError
from moviechat_tui.storage.files import exclusive_lock, quarantine, write_atomically

log = logging.getLogger(__name__)

T = TypeVar("T")

FOLDER_NAME = "my-films"
LOCK_NAME = "my-films.lock"
MAX_FILE_BYTES = 64 * 1024 * 1024
"""A list larger than this is not read (a 10,000-entry diary is about 1.5 MB)."""


class MyFilmsError(UserFacingError):
    """A list could not be read or written; `message` says which file and what to do."""


class DamagedList(MyFilmsError):
    def __init__(self, path: Path, moved_to: Path | None, reason: str) -> None:
        reason = one_line(reason, 160)
        if moved_to is not None:
            message = _(
                "The list file {path} is damaged ({reason}). It was moved to {dest} so nothing "
                "is lost; you can repair it by hand and rename it back."
            ).format(path=path, reason=reason, dest=moved_to.name)
        else:
            message = _("The list file {path} could not be read ({reason}).").format(
                path=path, reason=reason)
        super().__init__(message)
        self.path = path
        self.moved_to = moved_to


class NewerList(MyFilmsError):
    def __init__(self, path: Path, version: int) -> None:
        super().__init__(_(
            "{path} was written by a newer version of moviechat-tui (format {version}). It "
            "is left as it is and not changed; update moviechat-tui to use this list."
        ).format(path=path, version=version))
        self.path = path


class ListWriteError(MyFilmsError):
    """Writing failed (disk full, permissions); the previous file is unchanged."""


class Removal(Record):
    """What `remove` took out of a list: enough to put it back."""

    list: ListName
    entries: tuple[Entry, ...]


class _Seen(Record):
    identity: tuple[int, int, int, int]
    entries: tuple[Entry, ...]


class _Unwritable(Record):
    """A list that must not be written: its reason, raised when a change touches it."""

    error: MyFilmsError


class MyFilmsStore:
    """The three lists in `folder` (created with mode 0700 on the first change)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._mutex = threading.Lock()
        self._seen: dict[ListName, _Seen] = {}
        self._problems: list[MyFilmsError] = []
        self._reported: set[tuple[str, tuple[int, int, int, int]]] = set()
        self._last_removal: Removal | None = None
        self._tables: dict[ListName, TableCache] = {}

    @classmethod
    def under(cls, data_dir: Path) -> MyFilmsStore:
        return cls(Path(data_dir) / FOLDER_NAME)

    def path_of(self, name: ListName) -> Path:
        return self.folder / f"{name}.toml"

    # -- problems ---------------------------------------------------------------------------

    def take_problems(self) -> list[MyFilmsError]:
        """Problems met while reading (files moved aside, newer or unreadable files): each
        returned once, for the UI or the CLI to show."""
        with self._mutex:
            problems, self._problems = self._problems, []
        return problems

    def _report(self, problem: MyFilmsError, key: tuple[str, tuple[int, int, int, int]]
                ) -> None:
        with self._mutex:
            if key in self._reported:
                return
            self._reported.add(key)
            self._problems.append(problem)
        log.warning("%s", problem.message)

    # -- reading ----------------------------------------------------------------------------

    def load(self) -> MyLists:
        """All three lists as they are on disk now (cached per file while it is unchanged)."""
        return MyLists(**{name: self._entries(name, locked=False) for name in LIST_NAMES})

    def load_list(self, name: ListName) -> tuple[Entry, ...]:
        return self._entries(name, locked=False)

    def _entries(self, name: ListName, *, locked: bool) -> tuple[Entry, ...]:
        result = self._read(name, locked=locked)
        return () if isinstance(result, _Unwritable) else result

    def _read(self, name: ListName, *, locked: bool) -> tuple[Entry, ...] | _Unwritable:
        """The list's entries; or, for a file that must be left alone, why. A damaged file
        is moved aside only with the lock held (`locked`): without it, the damage is
        confirmed under the lock first, so a file another instance has just replaced is
        never moved."""
        path = self.path_of(name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            with self._mutex:
                self._seen.pop(name, None)
            return ()
        except OSError as err:
            return self._unreadable(path, err.strerror or str(err), (0, 0, 0, 0))
        try:
            st = os.fstat(fd)
            identity = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            with self._mutex:
                seen = self._seen.get(name)
            if seen is not None and seen.identity == identity:
                return seen.entries
            if not stat.S_ISREG(st.st_mode):
                return self._unreadable(path, "it is not a regular file", identity)
            if st.st_size > MAX_FILE_BYTES:
                return self._unreadable(path, f"it is larger than {MAX_FILE_BYTES // 2**20} MB",
                                        identity)
            with os.fdopen(fd, "rb", closefd=False) as f:
                data = f.read()
        except OSError as err:
            return self._unreadable(path, err.strerror or str(err), (0, 0, 0, 0))
        finally:
            os.close(fd)
        try:
            entries = parse_list(data, name)
        except ListFormatError as err:
            if err.newer_schema:
                problem = NewerList(path, err.schema_version or 0)
                self._report(problem, (str(path), identity))
                return _Unwritable(problem)
            if not locked:
                try:
                    with exclusive_lock(self.folder / LOCK_NAME, path):
                        return self._read(name, locked=True)
                except StoreWriteError:  # no lock to be had (a read-only folder): say so,
                    return self._unreadable(path, err.reason, identity)  # move nothing
            moved = quarantine(path)
            damaged = DamagedList(path, moved, err.reason)
            self._report(damaged, (str(path), identity))
            if moved is None:
                return _Unwritable(damaged)
            with self._mutex:
                self._seen.pop(name, None)
            return ()
        with self._mutex:
            self._seen[name] = _Seen(identity, entries)
        return entries

    def _unreadable(self, path: Path, reason: str, identity: tuple[int, int, int, int]
                    ) -> _Unwritable:
        problem = DamagedList(path, None, reason)
        self._report(problem, (str(path), identity))
        return _Unwritable(problem)

    # -- changing ---------------------------------------------------------------------------

    def change(self, names: Iterable[ListName],
               apply: Callable[[dict[ListName, ListEditor]], T]) -> T:
        """Run `apply` on editors of the named lists as they are on disk now, under the lock,
        and write back each list it changed. Raises `MyFilmsError` (nothing written) when a
        list cannot be read safely or written."""
        wanted = list(dict.fromkeys(names))
        lock = self.folder / LOCK_NAME
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise ListWriteError(StoreWriteError(self.folder, err).message) from err
        try:
            with exclusive_lock(lock, self.folder):
                editors: dict[ListName, ListEditor] = {}
                for name in wanted:
                    current = self._read(name, locked=True)
                    if isinstance(current, _Unwritable):
                        raise current.error
                    editors[name] = ListEditor(name, current)
                result = apply(editors)
                for name, editor in editors.items():
                    if editor.changed:
                        self._write(name, editor.entries())
        except StoreWriteError as err:
            raise ListWriteError(err.message) from err
        return result

    def _write(self, name: ListName, entries: tuple[Entry, ...]) -> None:
        path = self.path_of(name)
        with self._mutex:
            tables = self._tables.setdefault(name, {})
        data = serialise_list(name, entries, tables)
        if len(data) > MAX_FILE_BYTES:
            raise StoreWriteError(path, OSError(errno.EFBIG, os.strerror(errno.EFBIG)))
        write_atomically(path, data)
        try:
            st = os.stat(path)
        except OSError:
            return
        with self._mutex:
            self._seen[name] = _Seen((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns),
                                     entries)

    # -- what the UI and the CLI call ---------------------------------------------------------

    def add_to_watchlist(self, title: str, year: int | None, film_id: str | None, *,
                         on: date | None = None, tags: Iterable[str] = (),
                         note: str = "") -> Outcome:
        entry = make_entry(title, year, film_id, on or date.today(), tags=tags, note=note)
        return self.change(["watchlist"], lambda lists: lists["watchlist"].put(entry))

    def log_watched(self, title: str, year: int | None, film_id: str | None, *,
                    watched: date | None = None, rating: float | None = None,
                    rewatch: bool | None = None, tags: Iterable[str] = (), note: str = "",
                    remove_from_watchlist: bool = True) -> Outcome:
        """Log a viewing in the diary (today unless `watched` says otherwise). As on
        Letterboxd, a rating given here is also the film's rating, and the film leaves the
        watchlist. `rewatch` None: a rewatch if the diary already has the film."""
        today = date.today()
        day = watched or today
        probe = make_entry(title, year, film_id, today, watched=day, rating=rating,
                           tags=tags, note=note)
        if rating is not None and probe.rating is None:
            raise ValueError(f"not a rating: {rating!r} (0.5 to 5 in half steps)")

        def apply(lists: dict[ListName, ListEditor]) -> Outcome:
            diary = lists["diary"]
            again = rewatch
            if again is None:
                again = any((e := diary.get(i)) is not None and e.watched not in (None, day)
                            for i in diary.of_film(probe))
            outcome = diary.put(make_entry(title, year, film_id, today, watched=day,
                                           rating=rating, rewatch=again, tags=tags, note=note))
            if probe.rating is not None:
                lists["ratings"].put(make_entry(title, year, film_id, today, rating=rating))
            if remove_from_watchlist:
                lists["watchlist"].remove(probe)
            return outcome

        return self.change(["diary", "ratings", "watchlist"], apply)

    def rate(self, title: str, year: int | None, film_id: str | None, rating: float, *,
             on: date | None = None) -> Outcome:
        entry = make_entry(title, year, film_id, on or date.today(), rating=rating)
        if entry.rating is None:
            raise ValueError(f"not a rating: {rating!r} (0.5 to 5 in half steps)")
        return self.change(["ratings"], lambda lists: lists["ratings"].put(entry))

    def remove(self, name: ListName, entries: Iterable[Entry]) -> Removal:
        """Remove these entries (matched by identity, so an entry changed meanwhile by another
        instance is still found); the removal can be undone with `undo_removal`."""
        wanted = list(entries)

        def apply(lists: dict[ListName, ListEditor]) -> Removal:
            gone = [old for entry in wanted if (old := lists[name].remove(entry)) is not None]
            return Removal(name, tuple(gone))

        removal = self.change([name], apply)
        with self._mutex:
            self._last_removal = removal if removal.entries else self._last_removal
        return removal

    @property
    def last_removal(self) -> Removal | None:
        return self._last_removal

    def undo_removal(self) -> Removal | None:
        """Put back what the last `remove` took out (merged, never duplicated, if the same
        film was added again since). Returns what was put back, None if there was nothing."""
        with self._mutex:
            removal, self._last_removal = self._last_removal, None
        if removal is None:
            return None

        def apply(lists: dict[ListName, ListEditor]) -> None:
            for entry in removal.entries:
                lists[removal.list].put(entry)

        try:
            self.change([removal.list], apply)
        except MyFilmsError:
            with self._mutex:
                self._last_removal = removal
            raise
        return removal
