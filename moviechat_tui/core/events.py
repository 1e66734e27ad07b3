"""Events the controller emits for the UI (frozen value records; the UI never calls back
into the store or backend, it only reacts to these and calls controller methods).

They are `Record`s rather than frozen dataclasses only because those are slow to define
(records.py): this module is imported on every start-up."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.persona import Persona
from moviechat_tui.core.records import Record
from moviechat_tui.core.tools import ToolCall

if TYPE_CHECKING:
    import asyncio


class Severity(StrEnum):
    INFORMATION = "information"
    WARNING = "warning"
    ERROR = "error"


class ConversationOpened(Record):
    """A different conversation is now current (new, resumed, or reloaded after a merge)."""

    conversation: Conversation
    read_only: bool = False
    scroll_to: str | None = None


class HistoryLoaded(Record):
    """The older messages of a conversation that was opened from its newest ones arrived:
    `earlier` messages now precede the ones already there, which are the same objects."""

    conversation: Conversation
    earlier: int


class MessageAdded(Record):
    """A user message or a notice line (persona divider, error) was appended."""

    message: Message


class MessagesHidden(Record):
    """Messages that are no longer shown (an edited-away turn, a replaced version)."""

    messages: tuple[Message, ...]


class VersionShown(Record):
    """`shown` replaces `replaced` on screen (flipping between versions of a reply)."""

    replaced: Message
    shown: Message
    index: int
    count: int


class ReplyStarted(Record):
    message: Message


class ReplyDelta(Record):
    message: Message
    text: str


class ReplyEnded(Record):
    """The reply is over; `message.finish_reason` says how (stop, cancelled, error, ...)."""

    message: Message


class ToolCallStarted(Record):
    """The reply `message` runs a tool: `call` as the model asked for it (no result yet)."""

    message: Message
    call: ToolCall


class ToolCallEnded(Record):
    """A call of the reply `message` has its result (`call.result`, `call.failed`)."""

    message: Message
    call: ToolCall


class Approval(StrEnum):
    """The user's answer to a tool that asks before it runs."""

    ONCE = "once"
    ALWAYS = "always"
    """This tool of this server runs without asking from now on (remembered)."""
    DENY = "deny"


class ToolApprovalRequested(Record):
    """A tool that may change things (an MCP server's, not marked read-only) wants to run
    with `arguments` (pretty JSON, as sent): the UI asks the user and sets `answer`. The
    session cancels `answer` when the reply is stopped first; the question goes away then."""

    server: str
    tool: str
    """The tool's name as its server gives it."""
    arguments: str
    answer: asyncio.Future[Approval]


class FactsUsed(Record):
    """Catalogue facts went along with the question of the reply `message` (its `facts`
    name them); said when they were added after the reply started (tools refused)."""

    message: Message


class RetryScheduled(Record):
    attempt: int
    max_attempts: int
    delay: float
    reason: str


class PersonaChanged(Record):
    persona: Persona


class ModelChanged(Record):
    model: str
    announce: bool = True
    """False when the model changed because a conversation that remembers its model was
    opened (the header shows it; no notice needed)."""


class Progress(Record):
    """Work that lasts a while is under way (the `--local` server starting): `text` says
    what, until the next Progress. `text` None: it is over — the line goes after `linger`
    seconds (so that its last words, "Ready on …", can be read), at once if 0."""

    text: str | None
    linger: float = 0.0


class BusyChanged(Record):
    busy: bool


class Notify(Record):
    """A transient toast (saved elsewhere, quarantined file, refused action)."""

    text: str
    severity: Severity = Severity.INFORMATION


class TitleChanged(Record):
    title: str


class SpoilerShieldChanged(Record):
    """The conversation's spoiler shield was turned on or off (used from the next request
    on; saved with the conversation)."""

    on: bool


class ListsShared(Record):
    """Whether the request just sent carried the user's lists (the taste summary in its
    system message, or the model read them with the `my_films` tool): the header's mark."""

    shared: bool


ControllerEvent = (
    ConversationOpened
    | HistoryLoaded
    | MessageAdded
    | MessagesHidden
    | VersionShown
    | ReplyStarted
    | ReplyDelta
    | ReplyEnded
    | ToolCallStarted
    | ToolCallEnded
    | ToolApprovalRequested
    | FactsUsed
    | RetryScheduled
    | PersonaChanged
    | ModelChanged
    | Progress
    | BusyChanged
    | Notify
    | TitleChanged
    | SpoilerShieldChanged
    | ListsShared
)
