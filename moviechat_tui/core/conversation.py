"""Conversation data: plain dataclasses with no I/O.

One list of `Message` objects is the whole history (the web page this app replaces kept two
parallel arrays that drifted apart). Everything the store writes and the backend sends is
derived from it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from moviechat_tui.core.records import Record
from moviechat_tui.core.tools import ToolRound

Role = Literal["user", "assistant", "system", "notice"]
"""`notice` marks app-generated lines (persona switches, errors) that are shown and saved
but never sent to the model."""

SCHEMA_VERSION = 3
"""The newest file layout this version reads (1: one file; 2: a main file plus sealed
segments; 3: either, with replies that hold tool calls — see docs/storage-format.md)."""

# finish_reason values beyond the ones servers send ("stop", "length", "content_filter", ...)
FINISH_STREAMING = "streaming"
"""The reply was still arriving when it was last saved; if the app died, it stays so."""
FINISH_CANCELLED = "cancelled"
FINISH_ERROR = "error"
FINISH_TRUNCATED = "truncated"
"""The connection closed without a finish_reason: the reply may be incomplete."""

def ending_label(reason: str | None) -> str:
    """Words for how a reply ended ("" for a normal end): under it on screen, and in an
    export."""
    from moviechat_tui.core.i18n import _

    return {
        FINISH_CANCELLED: _("stopped"),
        FINISH_ERROR: _("failed: incomplete"),
        FINISH_TRUNCATED: _("cut off: may be incomplete"),
        FINISH_STREAMING: _("interrupted: incomplete"),
        "length": _("hit the length limit"),
        "content_filter": _("stopped by the content filter"),
    }.get(reason or "", "")


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


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the app only makes UTC ones); others are converted,
    so sorting and writing never mix naive and aware values."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(init=False)
class Message:
    """One line of the history, plain data: `Message(**vars(m))` is a copy of `m`."""

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
    tool_rounds: tuple[ToolRound, ...] = ()
    """A reply's calls of tools, round by round, with what was sent back (core/tools.py)."""
    facts: tuple[str, ...] = ()
    """For a reply to a model that cannot call tools: the films and people whose catalogue
    facts went along with the question ("Parasite (2019)"), as the user was told."""

    def __init__(self, role: Role, content: str, created: datetime | None = None,
                 id: str | None = None, persona: str | None = None,
                 model: str | None = None, finish_reason: str | None = None,
                 group: str | None = None, hidden: bool = False,
                 prompt_tokens: int | None = None,
                 completion_tokens: int | None = None,
                 notice: NoticeKind | None = None,
                 tool_rounds: tuple[ToolRound, ...] = (),
                 facts: tuple[str, ...] = ()) -> None:
        # One update of the attribute dict, not an assignment per field: a message made
        # field by field gets a shared-key table that the store's copies of the open
        # messages at every save handle more slowly (measured: ~8% of a save).
        self.__dict__.update(
            role=role, content=content, created=now_utc() if created is None else created,
            id=new_id() if id is None else id, persona=persona, model=model,
            finish_reason=finish_reason, group=group, hidden=hidden,
            prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
            notice=notice, tool_rounds=tool_rounds, facts=facts)

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
    """The layout of the file it was read from (1: one file, 2: with sealed segments, 3: with
    tool calls; a save picks the layout itself). Above `SCHEMA_VERSION`: written by a newer
    app, read-only."""
    chosen_model: str | None = None
    """The model this conversation uses when it is not the endpoint's configured one (picked
    in the palette), and `chosen_model_endpoint` the endpoint it was chosen for
    (`Endpoint.identity`): reopening the conversation uses it again only there, since another
    server may not have a model of that name."""
    chosen_model_endpoint: str | None = None
    spoiler_shield: bool = False
    """The spoiler shield is on for this conversation (core/spoilers.py): the model is asked
    to mark plot-revealing passages and the UI keeps them closed. Files without the key (all
    older ones) are "off"."""

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
