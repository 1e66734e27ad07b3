"""Conversations on disk: one TOML file per conversation, written so that nothing is lost.

What can go wrong, and what this module does about it:

- The app dies (or the disk fills up) mid-save: files are written to a temporary file in the
  same directory, fsynced and renamed over the old one, so a reader sees the old file or the
  new one, never half of each (`StoreWriteError`; the old file is untouched).
- Two running instances save the same conversation: an exclusive `flock` on `<id>.lock`
  serialises read-merge-write, and the merge keeps the other instance's messages (measured
  without a lock: 286 of 600 updates lost).
- A file is damaged, truncated or not UTF-8, or holds a value the app cannot use (a time
  no time zone can show): it is renamed to `<id>.toml.corrupt` (never deleted or
  overwritten) before anything is written under its name (`CorruptConversation`).
- Two messages of a hand-edited file share an id: the earlier gets a new one (`repair.py`)
  and the user is told (`RepairedMessageIds`), so the merge by id cannot drop either.
- A newer moviechat-tui wrote the file: it is readable but never rewritten, since this version
  would drop whatever the newer one added (`ReadOnlyConversation`).
- Ten thousand conversations: listing reads only each file's header and caches it by stat.
- A 5,000-message conversation: its older messages are sealed into immutable segment files
  (`<id>.d/`, see `segments.py`), so a save rewrites only the main file with the newest
  messages (measured: 52 ms per turn at message 5,000 before, ~2x a 10-message save now)
  and opening reads only that file first (`load_tail`).
- A huge file (over `MAX_FILE_BYTES`), a FIFO, or a symlink leading out of the directory: not
  read, not moved, not written through; reported with a message naming the file
  (`ConversationTooLarge`, `LinkOutsideDataDir`, `CorruptConversation`).
- Text in a file is untrusted: `format.py` sanitises every shown field as it parses.

The API is synchronous and thread-safe; the controller calls it through `asyncio.to_thread`.
Format details live in `format.py`, the merge rule in `merge.py`, which files are
conversations in `scan.py`, file primitives in `files.py`, error types in `errors.py`.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path

from moviechat_tui.core import records
from moviechat_tui.core.conversation import (
    SCHEMA_VERSION,
    Conversation,
    ConversationSummary,
    Message,
    as_utc,
)
from moviechat_tui.core.records import Record
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage.errors import (
    AmbiguousConversationId,
    ConversationNotFound,
    ConversationTooLarge,
    CorruptConversation,
    InvalidConversationId,
    LinkOutsideDataDir,
    ReadOnlyConversation,
    RepairedMessageIds,
    StoreError,
    StoreWriteError,
)
from moviechat_tui.storage.files import exclusive_lock, quarantine, write_atomically
from moviechat_tui.storage.format import FormatError
from moviechat_tui.storage.merge import Unedited, merge, private_copy
from moviechat_tui.storage.repair import DuplicateIds, duplicate_count, unique_ids
from moviechat_tui.storage.scan import (
    CONVERSATION_SUFFIX,
    SEGMENTS_SUFFIX,
    VALID_ID,
    ConversationFile,
    scan,
)
from moviechat_tui.storage.segments import (
    OnDisk,
    Planned,
    Sealed,
    SegmentFiles,
    SegmentTrouble,
    changes_mark,
    hand_out,
    plan_segments,
    seal_tail,
    unchanged_prefix,
)

__all__ = [
    "MAX_FILE_BYTES",
    "AmbiguousConversationId",
    "ConversationNotFound",
    "ConversationStore",
    "ConversationTooLarge",
    "CorruptConversation",
    "InvalidConversationId",
    "LinkOutsideDataDir",
    "LoadedConversation",
    "ReadOnlyConversation",
    "StoreError",
    "StoreWriteError",
]

log = logging.getLogger(__name__)

_SYNCED_LIMIT = 16
"""How many conversations keep a merge base in memory (see `ConversationStore.save`)."""
MAX_FILE_BYTES = 64 * 1024 * 1024
"""Largest conversation file the store reads or writes. Parsing costs ~55 ms per 700 KiB, so
64 MiB (about 90,000 messages) is already several seconds; a bigger file is refused with a
message instead of stalling the app and holding it all in memory. The app never writes a file
it would refuse to read back."""


class LoadedConversation(Record):
    """What `load` and `load_tail` return. A file from a newer app version loads with
    `read_only=True` and a `notice` to show; saving such a conversation raises
    `ReadOnlyConversation`. Returning a flag instead of raising lets the user still read the
    history. `complete` is False when `load_tail` returned only the newest messages of a
    long conversation; `message_count` is the total either way."""

    conversation: Conversation
    read_only: bool = False
    notice: str | None = None
    complete: bool = True
    message_count: int = -1


class _Synced(Record):
    """What this store last read or wrote for one conversation.

    `disk` describes the files, so `save` can skip re-parsing what nobody else has touched
    (the main file's digest decides; segments are named by content). `base` is, per message
    id, the versions the caller may hold without having changed them (the one it had, and the
    one `save` handed back when another instance had changed it): the three-way merge compares
    against them to tell "the caller changed this" from "another instance changed this".
    `chunks` are the formatted tables of the main file's messages.
    """

    disk: OnDisk
    base: dict[str, Unedited]
    chunks: store_format.ChunkCache | None = None
    sealed_ids: frozenset[str] = frozenset()


def _digest(data: bytes) -> bytes:
    import hashlib  # first used by a save: not on the way to an empty chat's first frame

    return hashlib.blake2b(data, digest_size=16).digest()


class ConversationStore:
    """All conversation files in one directory (created with mode 0700 on first write)."""

    def __init__(self, conversations_dir: Path, *, repair: bool = True) -> None:
        """`repair=False` is for readers that must leave damaged files alone for the app to
        find and report (the background indexer): nothing is quarantined, and a damaged file
        or segment raises instead of loading the readable rest."""
        self.conversations_dir = Path(conversations_dir)
        self.repair = repair
        self._mutex = threading.Lock()  # guards problems and merge bases
        self._problems: list[StoreError] = []
        self._summaries: dict[str, tuple[str, ConversationSummary]] = {}
        self._synced: OrderedDict[str, _Synced] = OrderedDict()
        self._segments = SegmentFiles(self._read, self._is_ours, self._report, MAX_FILE_BYTES,
                                      repair=repair)

    # --- paths -------------------------------------------------------------------------------

    def path_for(self, conv_id: str) -> Path:
        """The file for `conv_id`; raises `InvalidConversationId` for ids like `../x`."""
        if not isinstance(conv_id, str) or not VALID_ID.fullmatch(conv_id):
            raise InvalidConversationId(str(conv_id))
        return self.conversations_dir / f"{conv_id}{CONVERSATION_SUFFIX}"

    def segments_dir(self, conv_id: str) -> Path:
        """`<id>.d/`: the sealed segments of a long conversation (may not exist)."""
        return self.path_for(conv_id).with_suffix(SEGMENTS_SUFFIX)

    def _is_ours(self, path: Path) -> bool:
        """False for a symlink that leads outside the directory: a planted `x.toml -> ~/.ssh/..`
        must not be read, shown or moved."""
        if not path.is_symlink():
            return True
        try:
            return path.resolve().is_relative_to(self.conversations_dir.resolve())
        except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13)
            return False

    def _lock_path(self, conv_id: str) -> Path:
        """A separate file: the data file is replaced on every save, so a lock on it would be
        held on an unlinked inode."""
        return self.conversations_dir / f"{conv_id}.lock"

    def resolve_id(self, given: str) -> str:
        """The id of the one conversation whose id is `given` or starts with it, as git
        resolves a short commit hash: `806f` for `806f3c…`. An exact id wins even when it
        also starts longer ones.

        Raises `ConversationNotFound` (none), `AmbiguousConversationId` (several: its
        message lists their ids and titles) and `InvalidConversationId`."""
        path = self.path_for(given)
        if os.path.lexists(path):  # exact (a FIFO, a link, ...): `load` says what is wrong
            return given
        try:
            matches = sorted(file for file in self.scan() if file.id.startswith(given))
        except OSError:
            matches = []
        if not matches:
            raise ConversationNotFound(given, path)
        if len(matches) == 1:
            return matches[0].id
        titles = []
        for file in matches:
            summary = self.read_summary(Path(file.path), file.id)
            titles.append((file.id, summary.title if summary is not None else ""))
        raise AmbiguousConversationId(given, titles)

    def exists(self, conv_id: str) -> bool:
        path = self.path_for(conv_id)
        return path.is_file() and self._is_ours(path)

    # --- problems ----------------------------------------------------------------------------

    def take_problems(self) -> list[StoreError]:
        """Problems met by `list_summaries`, `load` and `save` that were handled rather than
        raised (files quarantined, headers unreadable, segments missing). Returns and forgets
        them, so the UI shows each once."""
        with self._mutex:
            problems, self._problems = self._problems, []
        return problems

    def _report(self, problem: StoreError) -> None:
        log.warning("%s", problem.message)
        with self._mutex:
            self._problems.append(problem)

    # --- loading -----------------------------------------------------------------------------

    def _read(self, path: Path) -> bytes | None:
        """The file's bytes, or None if it does not exist (or is a symlink leading outside).

        Raises `ConversationTooLarge` above `MAX_FILE_BYTES` and `CorruptConversation` for
        something that is not a regular file (a FIFO would block the read forever).
        """
        try:
            if not self._is_ours(path):
                return None
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise CorruptConversation(path, None, "not a regular file")
            if st.st_size > MAX_FILE_BYTES:
                raise ConversationTooLarge(path, st.st_size, MAX_FILE_BYTES)
            data = f.read(MAX_FILE_BYTES + 1)  # it may have grown since the fstat
        if len(data) > MAX_FILE_BYTES:
            raise ConversationTooLarge(path, len(data), MAX_FILE_BYTES)
        return data

    def _read_main(self, conv_id: str) -> tuple[Path, bytes]:
        path = self.path_for(conv_id)
        if path.is_symlink() and not self._is_ours(path):
            raise LinkOutsideDataDir(conv_id, path)
        try:
            data = self._read(path)
        except OSError as err:
            raise CorruptConversation(path, None, err.strerror or str(err)) from err
        if data is None:
            raise ConversationNotFound(conv_id, path)
        return path, data

    def _disk_view(self, conv_id: str, data: bytes, *, locked: bool) -> OnDisk:
        """Parse the main file (raises `FormatError`) and the segments it lists, reusing what
        this store already knows: an unchanged main file is not parsed, a segment listed under
        a known name is not read. Not `locked`, an unreadable segment raises `SegmentTrouble`
        (another instance may be replacing it: read again under the lock); `locked`, it is
        quarantined (or reported missing) and left out, so the rest can be read."""
        digest = _digest(data)
        synced = self._synced.get(conv_id)
        if synced is not None and synced.disk.digest == digest:
            return synced.disk
        tail, refs = store_format.parse_main(data, conv_id)
        known = {s.ref: s for s in synced.disk.sealed} if synced else {}
        sealed: list[Sealed] = []
        for ref in refs:
            segment = known.get(ref) or self._segments.read(
                self.segments_dir(conv_id), ref, locked=locked)
            if segment is not None:
                sealed.append(segment)
        disk = OnDisk(digest, tail, tuple(sealed))
        renamed = duplicate_count(disk.conversation().messages)
        if renamed:
            disk = records.replace(disk, renamed=renamed)
            try:
                disk.conversation()
            except DuplicateIds as err:
                raise FormatError(str(err), tail.schema_version) from None
            self._report(RepairedMessageIds(self.path_for(conv_id), renamed))
        return disk

    def _view_under_lock(self, path: Path, conv_id: str) -> tuple[OnDisk, bytes]:
        """Read again with the writers held off: what is still bad now is really damaged."""
        with exclusive_lock(self._lock_path(conv_id), path):
            data = self._read(path)
            if data is None:
                raise ConversationNotFound(conv_id, path)
            try:
                return self._disk_view(conv_id, data, locked=True), data
            except FormatError as err:
                if err.newer_schema:
                    raise ReadOnlyConversation(
                        path, err.schema_version or 0, SCHEMA_VERSION
                    ) from err
                moved = quarantine(path) if self.repair else None
                raise CorruptConversation(path, moved, err.reason) from err

    def load(self, conv_id: str) -> LoadedConversation:
        """Parse the whole conversation (the main file and every segment it lists).

        Raises `ConversationNotFound`; `CorruptConversation` after moving a damaged main file
        aside (or without moving it when it is unreadable for another reason, e.g.
        permissions, or is too large, or is a link leading outside: see its subclasses);
        `ReadOnlyConversation` only when a newer-version file cannot be parsed at all. A
        damaged segment is moved aside and reported through `take_problems`; the rest loads.
        """
        path, data = self._read_main(conv_id)
        try:
            disk = self._disk_view(conv_id, data, locked=False)
        except FormatError as err:
            if err.newer_schema:
                raise ReadOnlyConversation(path, err.schema_version or 0, SCHEMA_VERSION) from err
            try:
                disk, data = self._view_under_lock(path, conv_id)
            except StoreWriteError:  # no lock in a read-only directory: report, move nothing
                raise CorruptConversation(path, None, err.reason) from err
        except SegmentTrouble:
            try:
                disk, data = self._view_under_lock(path, conv_id)
            except StoreWriteError as err:
                raise CorruptConversation(path, None, err.message) from err
        conv = disk.conversation()
        handed = hand_out(conv, len(conv.messages) - len(disk.tail.messages))
        mark = changes_mark()  # nobody holds the copies yet: they are unchanged as of now
        sealed, first = [], 0
        for segment in disk.sealed:
            count = segment.ref.count
            sealed.append(records.replace(
                segment, handed=tuple(handed.messages[first:first + count]), mark=mark))
            first += count
        disk = records.replace(disk, sealed=tuple(sealed))
        # The caller now holds the file's versions; formatted tables stay valid (by equality).
        synced = self._synced.get(conv_id)
        self._remember(conv_id, disk, {m.id: (m,) for m in conv.messages},
                       synced.chunks if synced is not None else None)
        if conv.schema_version > SCHEMA_VERSION:
            notice = ReadOnlyConversation(path, conv.schema_version, SCHEMA_VERSION).message
            return LoadedConversation(handed, True, notice, message_count=len(conv.messages))
        return LoadedConversation(handed, message_count=len(conv.messages))

    def load_tail(self, conv_id: str, count: int) -> LoadedConversation:
        """The header and at least the newest `count` messages, without reading the sealed
        segments that are not needed for them: a 5,000-message conversation opens as fast as
        a short one. `complete` says whether that is all of it; `message_count` is the total.

        Anything unusual (a single-file conversation, a damaged or newer file, a segment that
        cannot be read) goes through `load`, with its errors and its reports.
        """
        _path, data = self._read_main(conv_id)
        try:
            tail, refs = store_format.parse_main(data, conv_id)
        except FormatError:
            return self.load(conv_id)
        if not refs or tail.schema_version > SCHEMA_VERSION:
            return self.load(conv_id)
        older: list[Message] = []
        need = count - len(tail.messages)
        index = len(refs)
        try:
            while need > 0 and index > 0:
                index -= 1
                segment = self._segments.read(
                    self.segments_dir(conv_id), refs[index], locked=False)
                assert segment is not None  # not locked: trouble raises
                older[:0] = segment.messages
                need -= refs[index].count
        except SegmentTrouble:
            return self.load(conv_id)
        total = len(tail.messages) + sum(ref.count for ref in refs)
        try:  # renamed as `load` will rename them (see repair.py)
            messages, _renamed = unique_ids(older + tail.messages)
        except DuplicateIds:
            return self.load(conv_id)
        shown = dataclasses.replace(tail, messages=messages)
        return LoadedConversation(hand_out(shown, len(older)), complete=index == 0,
                                  message_count=total)

    # --- saving ------------------------------------------------------------------------------

    def save(self, conv: Conversation, *, removed: Iterable[str] = ()) -> Conversation:
        """Merge `conv` with the files on disk and write the result atomically.

        Merge rule, per message id (order: `created`, then id):
        - only in `conv`: written; only on disk: kept (another instance added it), unless its
          id is in `removed` (the caller deleted it on purpose; nothing else deletes).
        - in both: `conv`'s version, except when `conv` still holds a version this store
          last read, wrote or handed back, unedited, and the disk has a different one: then
          another instance changed it (say, finished a reply we loaded half-streamed) and the
          disk one is kept.
        - title, persona, model, created: `conv`'s; `updated`: the later of the two.

        A long conversation is written as a main file and sealed segments (see
        docs/storage-format.md): segments first, then the main file that lists them, then
        segments no longer listed are deleted, so a crash at any point leaves a complete
        conversation. When the caller has not touched the sealed messages and no other
        instance has changed the segments (the usual case), only the main file's messages are
        merged and written: the cost does not grow with the length of the conversation.

        `conv` is not modified, and may keep changing while this runs in a thread: its fields
        are copied first. Returns a new `Conversation` with the merged messages, in which the
        messages taken from `conv` are the caller's own objects (so anything bound to them stays
        valid) and messages from disk are new objects; adopt its `messages` to show what
        another instance added.

        Raises `ReadOnlyConversation` (newer format; nothing written), `StoreWriteError` (the
        previous file is unchanged; also when the result would exceed `MAX_FILE_BYTES`),
        `CorruptConversation` for a file on disk it may not read (too large, not a regular
        file; left as it is) and `InvalidConversationId`. A damaged file on disk is
        quarantined, reported through `take_problems`, and replaced by `conv`.
        """
        path = self.path_for(conv.id)
        if conv.schema_version > SCHEMA_VERSION:
            raise ReadOnlyConversation(path, conv.schema_version, SCHEMA_VERSION)
        mark = changes_mark()  # before anything is copied: later changes count as changes
        live = list(conv.messages)
        header = dataclasses.replace(
            conv, created=as_utc(conv.created), updated=as_utc(conv.updated), messages=[]
        )
        drop = frozenset(removed)
        try:
            self.conversations_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise StoreWriteError(path, err) from err
        with exclusive_lock(self._lock_path(conv.id), path):
            disk = self._read_for_merge(path, conv.id)
            synced = self._synced.get(conv.id)
            base = synced.base if synced else {}
            kept, covered = unchanged_prefix(live, synced.disk.sealed, mark) if (
                synced and disk) else ([], 0)
            fast = (disk is not None and [s.ref for s in kept] == disk.refs
                    and not (synced and drop & synced.sealed_ids) and not disk.renamed)
            if fast:
                assert disk is not None
                rest = live[covered:]
                merged = merge(rest, [private_copy(m) for m in rest], disk.tail, base, drop)
                new_base = dict(base)
            else:
                merged = merge(live, [private_copy(m) for m in live],
                               disk.conversation() if disk else None, base, drop)
                new_base = {}
            writes: list[Message] = []
            gives: list[Message] = []
            for write, give, unedited in merged:
                writes.append(write)
                gives.append(give)
                new_base[write.id] = unedited
            for gone in drop:
                new_base.pop(gone, None)
            if fast:  # `writes` are only the main file's messages: seal from them
                planned, start = [], 0
                for segment in kept:
                    planned.append(Planned(start, segment.messages, segment.handed, segment))
                    start += segment.ref.count
                seal = store_format.sealed_count(len(writes))
                planned += seal_tail(writes, gives, 0, seal, offset=covered)
                open_messages = writes[seal:]
                returned = live[:covered] + gives
            else:
                planned, sealed_count = plan_segments(
                    writes, gives, disk.sealed if disk else ())
                open_messages = writes[sealed_count:]
                returned = gives
            sealed = self._segments.write(self.segments_dir(conv.id), conv.id, planned,
                                          synced.chunks if synced else None, mark)
            tail = dataclasses.replace(
                header,
                updated=max(header.updated, disk.tail.updated) if disk else header.updated,
                messages=open_messages,
                # Tool calls make it version 3 for good: an older app must not rewrite it
                # (it would drop them), wherever they are, sealed segments included.
                schema_version=store_format.layout_version(bool(sealed), any(
                    m.tool_rounds for m in writes) or (disk is not None and (
                        disk.tail.schema_version >= store_format.TOOLS_VERSION))),
            )
            refs = [s.ref for s in sealed]
            data, chunks = store_format.serialise(tail, synced.chunks if synced else None, refs)
            if len(data) > MAX_FILE_BYTES:  # never write what `load` would refuse to read
                raise StoreWriteError(path, OSError(errno.EFBIG, os.strerror(errno.EFBIG)))
            write_atomically(path, data)
            if disk is None or refs != disk.refs:
                self._segments.remove_unlisted(self.segments_dir(conv.id), refs)
            self._remember(conv.id, OnDisk(_digest(data), tail, tuple(sealed)), new_base, chunks)
        return dataclasses.replace(tail, messages=returned)

    def _read_for_merge(self, path: Path, conv_id: str) -> OnDisk | None:
        """What is on disk now (called under the lock). Refuses to write over what it could
        not read; moves a damaged file aside first."""
        try:
            data = self._read(path)
        except OSError as err:
            raise StoreWriteError(path, err) from err
        if data is None:
            return None
        try:
            disk = self._disk_view(conv_id, data, locked=True)
        except FormatError as err:
            if err.newer_schema:
                raise ReadOnlyConversation(path, err.schema_version or 0, SCHEMA_VERSION) from err
            quarantined = quarantine(path)
            if quarantined is None:
                raise StoreWriteError(path, OSError(0, err.reason)) from err
            self._report(CorruptConversation(path, quarantined, err.reason))
            return None
        if disk.tail.schema_version > SCHEMA_VERSION:
            raise ReadOnlyConversation(path, disk.tail.schema_version, SCHEMA_VERSION)
        return disk

    def _remember(
        self,
        conv_id: str,
        disk: OnDisk,
        base: dict[str, Unedited],
        chunks: store_format.ChunkCache | None = None,
    ) -> None:
        previous = self._synced.get(conv_id)
        if previous is not None and previous.disk.refs == disk.refs:
            sealed_ids = previous.sealed_ids
        else:
            sealed_ids = frozenset(m.id for s in disk.sealed for m in s.messages)
        with self._mutex:
            self._synced[conv_id] = _Synced(disk, base, chunks, sealed_ids)
            self._synced.move_to_end(conv_id)
            while len(self._synced) > _SYNCED_LIMIT:
                self._synced.popitem(last=False)

    # --- listing -----------------------------------------------------------------------------

    def scan(self, *, with_segments: bool = False) -> list[ConversationFile]:
        """The conversation files in the directory (see `scan.scan`): links leading out of it
        are left out. Raises `OSError` when the directory cannot be read."""
        return scan(self.conversations_dir, self._is_ours, with_segments=with_segments)

    def list_summaries(self) -> list[ConversationSummary]:
        """Every readable conversation, most recently updated first.

        Reads only each file's header (up to its first `[[messages]]` line) and remembers it by
        (inode, size, mtime, ctime), so a second listing reads only files changed since.
        Unreadable files never stop the listing: they are quarantined where that is right, and
        reported through `take_problems`.
        """
        try:
            files = self.scan()
        except OSError as err:
            self._report(CorruptConversation(self.conversations_dir, None,
                                             err.strerror or str(err)))
            return []
        found: dict[str, tuple[str, ConversationSummary]] = {}
        for file in files:
            cached = self._summaries.get(file.id)
            summary = (cached[1] if cached and cached[0] == file.key
                       else self.read_summary(Path(file.path), file.id))
            if summary is not None:
                found[file.id] = (file.key, summary)
        self._summaries = found
        summaries = [s for _, s in found.values()]
        summaries.sort(key=lambda s: (s.updated, s.id), reverse=True)
        return summaries

    def read_summary(self, path: Path, conv_id: str,
                     report: Callable[[StoreError], None] | None = None,
                     ) -> ConversationSummary | None:
        """The summary from the file's header (None if it vanished or cannot be read; problems
        go to `report`, by default this store's `take_problems`). Also used by the library
        index, so both read a header the same way."""
        report = report or self._report
        try:
            return store_format.parse_summary(store_format.read_header(path), conv_id)
        except FileNotFoundError:
            return None  # removed between the directory scan and this read
        except OSError as err:
            report(CorruptConversation(path, None, err.strerror or str(err)))
            return None
        except FormatError:
            pass
        # An unusual (hand-edited) layout may still be a fine file: let the full parse decide,
        # which also quarantines it if it is really damaged.
        try:
            conv = self.load(conv_id).conversation
        except ConversationNotFound:
            return None
        except StoreError as err:
            report(err)
            return None
        return ConversationSummary(
            id=conv.id,
            title=conv.title,
            persona=conv.persona,
            model=conv.model,
            created=conv.created,
            updated=conv.updated,
            message_count=len(conv.messages),
        )

    def latest(self) -> ConversationSummary | None:
        """The most recently updated conversation, to resume at start-up."""
        summaries = self.list_summaries()
        return summaries[0] if summaries else None
