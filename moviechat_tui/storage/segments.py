"""Sealed segments of a long conversation, in memory: which of them a save may leave alone.

A conversation past `store_format.TAIL_LIMIT` messages keeps its older messages in immutable
segment files (`<id>.d/`) and only the newest ones in its main file (docs/storage-format.md,
"Long conversations"). A save must cost the same at message 5,000 as at message 10, so it
must not copy, compare or format the sealed history message by message. What makes that
possible:

- the store remembers, per segment, the message objects it handed to the caller and a
  revision mark (`models.revision_mark`); a segment whose caller objects are the same objects,
  none changed since the mark, is unchanged: checked at C speed (`map`), no Python loop;
- handed sealed messages are also *watched* (`models.watch`): any change to one moves a
  global count, so while that count stands still even the revisions need not be read and
  the check is one identity comparison per message (measured: a turn at message 5,000 costs
  ~1.7x a turn at message 10, fsync included);
- the main file is the only file read to learn whether another instance changed anything:
  segments are named by their digest, so a segment listed under a known name is known.

`SegmentFiles` reads, writes and removes the segment files; the rest is pure functions over
messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import operator
import os
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path

from moviechat_tui.core import records
from moviechat_tui.core.conversation import Conversation, Message, watch
from moviechat_tui.core.records import Record
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage.errors import CorruptConversation, StoreError, StoreWriteError
from moviechat_tui.storage.files import quarantine, write_atomically
from moviechat_tui.storage.format import SEGMENT_SIZE, SegmentRef, sealed_count

_REVISION = operator.attrgetter("_revision")


class Sealed(Record):
    """One segment the main file lists, as this store last read or wrote it."""

    ref: SegmentRef
    messages: tuple[Message, ...]
    """As in the file (the store's own objects, never handed out)."""
    handed: tuple[Message, ...]
    """The caller's objects for these messages, equal to `messages` when recorded."""
    mark: int
    """None of `handed` had changed when this revision mark was taken."""
    generation: int = -1
    """`models.watched_changes()` at a moment when `handed` (watched) were known unchanged:
    while it has not moved, no watched message changed, and no revision need be read."""


class OnDisk(Record):
    """What the main file (with the segments it lists) holds."""

    digest: bytes
    """Of the main file's bytes: unchanged digest, unchanged conversation."""
    tail: Conversation
    """Header fields and the main file's own messages."""
    sealed: tuple[Sealed, ...]
    """The readable segments it lists, in order."""

    @property
    def refs(self) -> list[SegmentRef]:
        return [s.ref for s in self.sealed]

    def conversation(self) -> Conversation:
        """Every message, sealed ones first (the store's objects: copy before handing out)."""
        if not self.sealed:
            return self.tail
        messages = list(chain.from_iterable(s.messages for s in self.sealed))
        return dataclasses.replace(self.tail, messages=messages + self.tail.messages)


def untouched_since(messages: Sequence[Message], mark: int) -> bool:
    """True if no message in `messages` was created or changed after `mark` was taken."""
    if not messages:
        return True
    try:
        return bool(max(map(_REVISION, messages)) < mark)
    except AttributeError:  # made without __init__: cannot tell, so compare
        return False


def unchanged_prefix(live: Sequence[Message], sealed: Sequence[Sealed], mark: int,
                     generation: int) -> tuple[list[Sealed], int]:
    """The leading segments whose messages the caller still holds unchanged, and how many of
    the caller's messages they cover. `mark` and `generation` were taken as the save began.

    Same objects and no watched message changed since the segment's `generation`: free (one
    identity check per message, at C speed). Same objects, none changed since the segment's
    `mark` (their revisions say so): unchanged, and stamped with `generation` so the next save
    is free. Other objects (say, copies from another load) that are equal: unchanged too,
    and remembered (watched) as handed with `mark`.
    """
    kept: list[Sealed] = []
    covered = 0
    for segment in sealed:
        count = segment.ref.count
        chunk = live[covered:covered + count]
        if len(chunk) != count:
            break
        same = all(map(operator.is_, chunk, segment.handed))
        if same and segment.generation == generation:
            kept.append(segment)
        elif same and untouched_since(chunk, segment.mark):
            kept.append(records.replace(segment, generation=generation))
        elif list(chunk) == list(segment.messages):
            watch(chunk)
            kept.append(records.replace(segment, handed=tuple(chunk), mark=mark,
                                            generation=-1))
        else:
            break
        covered += count
    return kept, covered


class Planned(Record):
    """A segment of the conversation being written: kept as it is (`existing`) or new."""

    first: int
    messages: tuple[Message, ...]
    handed: tuple[Message, ...]
    existing: Sealed | None = None


def plan_segments(writes: Sequence[Message], gives: Sequence[Message],
                  on_disk: Sequence[Sealed]) -> tuple[list[Planned], int]:
    """Segments for a full (slow-path) save of `writes` (with the caller's `gives`).

    The disk's segments are kept where their messages are unchanged and rewritten in place
    (same boundaries, new file) where only the content of their messages changed (a hidden
    flag, an edit); from the first segment whose messages differ (one was inserted or
    removed), the rest is sealed anew (`seal_tail`). Returns the plan and how many
    messages it covers (the rest stays in the main file).
    """
    planned: list[Planned] = []
    covered = 0
    for segment in on_disk:
        count = segment.ref.count
        chunk = writes[covered:covered + count]
        if len(chunk) != count:
            break
        if list(chunk) == list(segment.messages):
            planned.append(Planned(covered, segment.messages,
                                   tuple(gives[covered:covered + count]), segment))
        elif [m.id for m in chunk] == [m.id for m in segment.messages]:
            planned.append(Planned(covered, tuple(chunk),
                                   tuple(gives[covered:covered + count])))
        else:
            break
        covered += count
    seal = sealed_count(len(writes) - covered)
    return planned + seal_tail(writes, gives, covered, seal), covered + seal


def seal_tail(writes: Sequence[Message], gives: Sequence[Message], start: int,
              seal: int, offset: int = 0) -> list[Planned]:
    """New segments for the first `seal` messages from `start` (a multiple of the segment
    size, see `store_format.sealed_count`); `offset` is the index of `writes[0]` in the whole
    conversation (segment files are named by the index of their first message)."""
    return [Planned(offset + first, tuple(writes[first:first + SEGMENT_SIZE]),
                    tuple(gives[first:first + SEGMENT_SIZE]))
            for first in range(start, start + seal, SEGMENT_SIZE)]



class SegmentTrouble(Exception):
    """A segment could not be read while not holding the lock: read again under it."""


class SegmentFiles:
    """The files in a conversation's `<id>.d/`: read and checked, written atomically, removed
    once no main file lists them. `read_file`, `is_ours` and `report` are the store's (size
    limit, links leading outside, problems for `take_problems`)."""

    def __init__(self, read_file: Callable[[Path], bytes | None],
                 is_ours: Callable[[Path], bool], report: Callable[[StoreError], None],
                 max_bytes: int, *, repair: bool = True) -> None:
        self._read_file = read_file
        self._repair = repair
        self._is_ours = is_ours
        self._report = report
        self._max_bytes = max_bytes

    def read(self, directory: Path, ref: SegmentRef, *, locked: bool) -> Sealed | None:
        """The segment, checked against `ref`. Not `locked`, trouble raises `SegmentTrouble`
        (another instance may be replacing it); `locked`, a damaged segment is quarantined,
        a missing one reported, and None returned so the rest can be read."""
        path = directory / ref.file
        data: bytes | None = None
        try:
            if not self._is_ours(directory):  # `<id>.d` planted as a link leading out
                raise store_format.FormatError("the segment directory is a link leading out")
            data = self._read_file(path)
            if data is None:
                raise store_format.FormatError("the file is missing")
            messages = tuple(store_format.parse_segment(data, ref))
        except (OSError, store_format.FormatError, CorruptConversation) as err:
            if not locked or not self._repair:
                raise SegmentTrouble from err
            if isinstance(err, store_format.FormatError):
                moved = quarantine(path) if data is not None else None
                self._report(CorruptConversation(path, moved, err.reason))
            elif isinstance(err, CorruptConversation):
                self._report(err)
            else:
                self._report(CorruptConversation(path, None, err.strerror or str(err)))
            return None
        return Sealed(ref, messages, messages, 0)

    def write(self, directory: Path, conv_id: str, planned: Sequence[Planned],
              chunks: store_format.ChunkCache | None, mark: int) -> list[Sealed]:
        """Write the planned segments that are new (atomically, before the main file that
        will list them); return all of them as the main file will list them. `chunks`: the
        formatted tables of the messages being sealed, so sealing formats nothing again."""
        sealed: list[Sealed] = []
        for plan in planned:
            if plan.existing is not None and plan.handed is plan.existing.handed:
                sealed.append(plan.existing)  # kept as it was
                continue
            watch(plan.handed)  # checked by revision at the next save, then by generation
            if plan.existing is not None:  # the file stays; the caller's objects are new
                sealed.append(records.replace(plan.existing, handed=plan.handed, mark=mark,
                                                  generation=-1))
                continue
            data = store_format.serialise_segment(conv_id, plan.first, plan.messages, chunks)
            if len(data) > self._max_bytes:
                raise StoreWriteError(directory, OSError(errno.EFBIG, os.strerror(errno.EFBIG)))
            digest = store_format.segment_digest(data)
            ref = SegmentRef(store_format.segment_name(plan.first, digest), len(plan.messages),
                             digest)
            try:
                directory.mkdir(mode=0o700, exist_ok=True)
                if directory.is_symlink():  # never write through a link
                    raise OSError(errno.ELOOP, "the segment directory is a symbolic link")
            except OSError as err:
                raise StoreWriteError(directory, err) from err
            write_atomically(directory / ref.file, data)
            sealed.append(Sealed(ref, plan.messages, plan.handed, mark, -1))
        return sealed

    def remove_unlisted(self, directory: Path, refs: Sequence[SegmentRef]) -> None:
        """After the main file stopped listing them (called under the lock): old versions of
        rewritten segments and leftovers of a crash. Quarantined files are never touched."""
        if directory.is_symlink():
            return
        listed = {ref.file for ref in refs}
        try:
            names = os.listdir(directory)
        except OSError:
            return
        for name in names:
            if store_format.SEGMENT_NAME.fullmatch(name) and name not in listed:
                with contextlib.suppress(OSError):
                    os.unlink(directory / name)
        if not refs:
            with contextlib.suppress(OSError):
                directory.rmdir()  # only if empty: a quarantined segment keeps it
