"""Conversation data: plain dataclasses with no I/O.

One list of `Message` objects is the whole history (the web page this app replaces kept two
parallel arrays that drifted apart). Everything the store writes and the backend sends is
derived from it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from moviechat_tui.core.records import Record

Role = Literal["user", "assistant", "system", "notice"]
"""`notice` marks app-generated lines (persona switches, errors) that are shown and saved
but never sent to the model."""

SCHEMA_VERSION = 2
"""The newest file layout this version reads (1: one file; 2: a main file plus sealed
segments, see docs/storage-format.md)."""

# finish_reason values beyond the ones servers send ("stop", "length", "content_filter", ...)
FINISH_STREAMING = "streaming"
"""The reply was still arriving when it was last saved; if the app died, it stays so."""
FINISH_CANCELLED = "cancelled"
FINISH_ERROR = "error"
FINISH_TRUNCATED = "truncated"
"""The connection closed without a finish_reason: the reply may be incomplete."""

NoticeKind = Literal["persona", "error", "info"]
"""What a `notice` line is: a persona switch (its content is the persona's name), an error
or warning, or neutral information. Kept in `Message.notice`, never in `finish_reason`,
which says how a reply ended. (Files store a notice's kind under `finish_reason`, as the
first versions did: docs/storage-format.md.)"""
NOTICE_PERSONA: NoticeKind = "persona"
NOTICE_ERROR: NoticeKind = "error"
NOTICE_INFO: NoticeKind = "info"


def now_utc() -> datetime:
    """Timestamps are always timezone-aware UTC, second precision is not enough for ordering."""
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


_revisions = itertools.count(1)


def revision_mark() -> int:
    """A number above the revision of every `Message` created or changed so far.

    Every message carries a `_revision` (not a dataclass field: not compared, not shown, not
    stored) that is renewed whenever one of its attributes is assigned. The store records a
    mark when it hands messages out; a message whose revision is still below it has not been
    touched since, so a save need not compare (or even look at) the sealed history of a long
    conversation message by message (docs/storage-format.md, "Long conversations")."""
    return next(_revisions)


_watched_changes = [0]


def watch(messages: Iterable[Message]) -> None:
    """Count every later change to these messages in `watched_changes` (the store watches
    the sealed history it hands out: while that count stays put, it need not look at them)."""
    for message in messages:
        message.__dict__["_watched"] = True


def watched_changes() -> int:
    """How many times a watched message has been changed (see `watch`)."""
    return _watched_changes[0]


@dataclass(init=False)
class Message:
    role: Role
    content: str
    created: datetime = field(default_factory=now_utc)
    id: str = field(default_factory=new_id)
    persona: str | None = None
    model: str | None = None
    finish_reason: str | None = None
    group: str | None = None
    """Versions of one reply (regenerated) share a group: the id of the first version."""
    hidden: bool = False
    """A version that is not the selected one (or an edited-away turn): kept, never sent."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    """Usage, when the server reported it."""
    notice: NoticeKind | None = None
    """For a `notice` line: what kind it is (None for other roles)."""

    def __init__(self, role: Role, content: str, created: datetime | None = None,
                 id: str | None = None, persona: str | None = None,
                 model: str | None = None, finish_reason: str | None = None,
                 group: str | None = None, hidden: bool = False,
                 prompt_tokens: int | None = None,
                 completion_tokens: int | None = None,
                 notice: NoticeKind | None = None) -> None:
        # Written straight into __dict__: `__setattr__` below is for changes after creation,
        # and going through it here would make parsing a long conversation ~5x slower.
        self.__dict__.update(
            role=role, content=content, created=now_utc() if created is None else created,
            id=new_id() if id is None else id, persona=persona, model=model,
            finish_reason=finish_reason, group=group, hidden=hidden,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            notice=notice, _revision=next(_revisions))

    def __setattr__(self, name: str, value: object) -> None:
        attributes = self.__dict__
        attributes[name] = value
        attributes["_revision"] = next(_revisions)
        if "_watched" in attributes:
            _watched_changes[0] += 1  # a lost race still changes the number: never missed

    @property
    def sent_to_model(self) -> bool:
        """Notices, hidden versions and failed empty replies are history for the user only."""
        if self.role == "notice" or self.hidden:
            return False
        return not (self.role == "assistant" and not self.content)


@dataclass
class Conversation:
    id: str = field(default_factory=new_id)
    title: str = ""
    created: datetime = field(default_factory=now_utc)
    updated: datetime = field(default_factory=now_utc)
    persona: str = "expert"
    model: str = ""
    messages: list[Message] = field(default_factory=list)
    schema_version: int = 1
    """The layout of the file it was read from (1: one file, 2: with sealed segments; a save
    picks the layout itself). Above `SCHEMA_VERSION`: written by a newer app, read-only."""
    chosen_model: str | None = None
    """The model this conversation uses when it is not the endpoint's configured one (picked
    in the palette), and `chosen_model_endpoint` the endpoint it was chosen for
    (`Endpoint.identity`): reopening the conversation uses it again only there, since another
    server may not have a model of that name."""
    chosen_model_endpoint: str | None = None

    def touch(self) -> None:
        self.updated = now_utc()

    @property
    def tokens_used(self) -> int | None:
        """Prompt + reply tokens of every reply the server reported usage for (None: none
        did, as with many local servers)."""
        counted = [(m.prompt_tokens or 0) + (m.completion_tokens or 0) for m in self.messages
                   if m.prompt_tokens is not None or m.completion_tokens is not None]
        return sum(counted) if counted else None


class ConversationSummary(Record):
    """What the conversation list needs, read from a file's header without parsing messages."""

    id: str
    title: str
    persona: str
    model: str
    created: datetime
    updated: datetime
    message_count: int


def default_title(text: str, limit: int = 60) -> str:
    """The first line of the first user message, cut on a word boundary."""
    line = " ".join(text.strip().split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    if len(cut) < limit // 2:
        cut = line[:limit]
    return cut.rstrip(" ,.;:") + "…"
