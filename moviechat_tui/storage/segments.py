"""Sealed segments of a long conversation, in memory: which of them a save may leave alone.

A conversation past `store_format.TAIL_LIMIT` messages keeps its older messages in immutable
segment files (`<id>.d/`) and only the newest ones in its main file (docs/storage-format.md,
"Long conversations"). A save must cost the same at message 5,000 as at message 10, so it
must not copy, compare or format the sealed history message by message. What makes that
possible:

- the store hands out the sealed history as `SealedMessage`s: messages in every way (equal
  to a `Message` with the same fields, `Message(**vars(m))` copies one), except that
  assigning any of their attributes leaves a new `changes_mark()`. This bookkeeping is the
  storage layer's: the domain `Message` stays plain data;
- the store remembers, per segment, the objects it handed to the caller and the mark at a
  moment they were known to equal the file. While the mark has not moved and the caller
  still holds the same objects, the segment is unchanged: one identity comparison per
  message, at C speed (measured: a turn at message 5,000 costs ~2x a turn at message 10,
  fsync included);
- anything else (the mark moved, other objects, plain `Message`s such as the caller's own
  messages that were sealed during this session) is compared field by field, and a
  segment whose objects are all `SealedMessage`s is free again from the next save;
- the main file is the only file read to learn whether another instance changed anything:
  segments are named by their digest, so a segment listed under a known name is known.

`SegmentFiles` reads, writes and removes the segment files; the rest is pure functions over
messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import itertools
import operator
import os
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path

from moviechat_tui.core import records
from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.records import Record
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage.errors import CorruptConversation, StoreError, StoreWriteError
from moviechat_tui.storage.files import quarantine, write_atomically
from moviechat_tui.storage.format import SEGMENT_SIZE, SegmentRef, sealed_count
from moviechat_tui.storage.repair import unique_ids

_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(Message)))
_ticks = itertools.count(1)
_last_change = [0]
UNTRACKED = -1
"""The mark of a segment whose handed objects cannot report changes: compare them."""


def changes_mark() -> int:
    """Changes with every assignment to a `SealedMessage` attribute (never back to an earlier
    value: each change leaves a new tick, so a change racing another is never missed)."""
    return _last_change[0]


class SealedMessage(Message):
    """A message of the sealed history as the store hands it out: it reports every change
    to `changes_mark()`, so a save can tell "nothing in the sealed history changed" without
    looking at it. Made by `hand_out`; compares equal to a `Message` with the same fields."""

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        _last_change[0] = next(_ticks)

    def __eq__(self, other: object) -> bool:
        # The dataclass `__eq__` wants the very same class; a plain Message with the same
        # fields is the same message. (A subclass's `__eq__` is tried first either way round.)
        if not isinstance(other, Message):
            return NotImplemented
        return bool(_FIELDS(self) == _FIELDS(other))


def _copy(message: Message, kind: type[Message]) -> Message:
    """A copy of `message` as a `kind`, its attributes copied in one C call (no
    `__setattr__`, no `__init__`: ~5x faster than `dataclasses.replace`)."""
    copy: Message = object.__new__(kind)
    copy.__dict__.update(message.__dict__)
    return copy


def hand_out(conv: Conversation, sealed: int) -> Conversation:
    """The caller's copy of `conv` (the store keeps its own objects as the merge base): the
    first `sealed` messages, the sealed history, as `SealedMessage`s."""
    messages = conv.messages
    return dataclasses.replace(
        conv, messages=[_copy(m, SealedMessage) for m in messages[:sealed]]
        + [_copy(m, Message) for m in messages[sealed:]])


def _tracked(messages: Sequence[Message]) -> bool:
    return all(type(m) is SealedMessage for m in messages)


class Sealed(Record):
    """One segment the main file lists, as this store last read or wrote it."""

    ref: SegmentRef
    messages: tuple[Message, ...]
    """As in the file (the store's own objects, never handed out)."""
    handed: tuple[Message, ...]
    """The caller's objects for these messages, equal to `messages` when recorded."""
    mark: int = UNTRACKED
    """`changes_mark()` at a moment when `handed` (all `SealedMessage`s) were known equal to
    `messages`: while it has not moved, they still are. `UNTRACKED`: compare them."""


class OnDisk(Record):
    """What the main file (with the segments it lists) holds."""

    digest: bytes
    """Of the main file's bytes: unchanged digest, unchanged conversation."""
    tail: Conversation
    """Header fields and the main file's own messages."""
    sealed: tuple[Sealed, ...]
    """The readable segments it lists, in order."""
    renamed: int = 0
    """How many messages share their id with a later one (a hand-edited file): they get new
    ids in `conversation()` (see `repair.py`); `tail` and `sealed` hold them as in the files,
    so the next save writes every file that holds one anew."""

    @property
    def refs(self) -> list[SegmentRef]:
        return [s.ref for s in self.sealed]

    def conversation(self) -> Conversation:
        """Every message, sealed ones first, each id once (the store's objects: copy before
        handing out)."""
        if not self.sealed and not self.renamed:
            return self.tail
        messages = list(chain.from_iterable(s.messages for s in self.sealed))
        messages += self.tail.messages
        if self.renamed:
            messages, _ = unique_ids(messages)
        return dataclasses.replace(self.tail, messages=messages)


def handed_as(handed: Sequence[Message], mark: int) -> int:
    """The mark to record for `handed`, known equal to the file as of `mark`."""
    return mark if _tracked(handed) else UNTRACKED


def unchanged_prefix(live: Sequence[Message], sealed: Sequence[Sealed],
                     mark: int) -> tuple[list[Sealed], int]:
    """The leading segments whose messages the caller still holds unchanged, and how many of
    the caller's messages they cover. `mark` is `changes_mark()` as the save began.

    The same objects, and no `SealedMessage` changed since the segment's mark: free (one
    identity check per message, at C speed). Otherwise the messages are compared, and
    equal ones are remembered as handed with `mark`, so the next save is free if they are
    all `SealedMessage`s.
    """
    kept: list[Sealed] = []
    covered = 0
    for segment in sealed:
        count = segment.ref.count
        chunk = live[covered:covered + count]
        if len(chunk) != count:
            break
        if segment.mark == mark and all(map(operator.is_, chunk, segment.handed)):
            kept.append(segment)
        elif list(chunk) == list(segment.messages):
            kept.append(records.replace(segment, handed=tuple(chunk),
                                        mark=handed_as(chunk, mark)))
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
        return Sealed(ref, messages, messages)

    def write(self, directory: Path, conv_id: str, planned: Sequence[Planned],
              chunks: store_format.ChunkCache | None, mark: int) -> list[Sealed]:
        """Write the planned segments that are new (atomically, before the main file that
        will list them); return all of them as the main file will list them. `chunks`: the
        formatted tables of the messages being sealed, so sealing formats nothing again.
        `mark`: `changes_mark()` as the save began (the planned messages were copied after)."""
        sealed: list[Sealed] = []
        for plan in planned:
            if plan.existing is not None and plan.handed is plan.existing.handed:
                sealed.append(plan.existing)  # kept as it was
                continue
            if plan.existing is not None:  # the file stays; the caller's objects are new
                sealed.append(records.replace(plan.existing, handed=plan.handed,
                                              mark=handed_as(plan.handed, mark)))
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
            sealed.append(Sealed(ref, plan.messages, plan.handed, handed_as(plan.handed, mark)))
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
