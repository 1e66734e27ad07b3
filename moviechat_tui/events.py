"""Events the controller emits for the UI (plain dataclasses; the UI never calls back into
the store or backend, it only reacts to these and calls controller methods)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from moviechat_tui.models import Conversation, Message
from moviechat_tui.personas import Persona


class Severity(StrEnum):
    INFORMATION = "information"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class ConversationOpened:
    """A different conversation is now current (new, resumed, or reloaded after a merge)."""

    conversation: Conversation
    read_only: bool = False
    scroll_to: str | None = None


@dataclass(frozen=True)
class MessageAdded:
    """A user message or a notice line (persona divider, error) was appended."""

    message: Message


@dataclass(frozen=True)
class MessagesHidden:
    """Messages that are no longer shown (an edited-away turn, a replaced version)."""

    messages: tuple[Message, ...]


@dataclass(frozen=True)
class VersionShown:
    """`shown` replaces `replaced` on screen (flipping between versions of a reply)."""

    replaced: Message
    shown: Message
    index: int
    count: int


@dataclass(frozen=True)
class ReplyStarted:
    message: Message


@dataclass(frozen=True)
class ReplyDelta:
    message: Message
    text: str


@dataclass(frozen=True)
class ReplyEnded:
    """The reply is over; `message.finish_reason` says how (stop, cancelled, error, ...)."""

    message: Message


@dataclass(frozen=True)
class RetryScheduled:
    attempt: int
    max_attempts: int
    delay: float
    reason: str


@dataclass(frozen=True)
class PersonaChanged:
    persona: Persona


@dataclass(frozen=True)
class ModelChanged:
    model: str


@dataclass(frozen=True)
class BusyChanged:
    busy: bool


@dataclass(frozen=True)
class Notify:
    """A transient toast (saved elsewhere, quarantined file, refused action)."""

    text: str
    severity: Severity = Severity.INFORMATION


@dataclass(frozen=True)
class TitleChanged:
    title: str


ControllerEvent = (
    ConversationOpened
    | MessageAdded
    | MessagesHidden
    | VersionShown
    | ReplyStarted
    | ReplyDelta
    | ReplyEnded
    | RetryScheduled
    | PersonaChanged
    | ModelChanged
    | BusyChanged
    | Notify
    | TitleChanged
)
