"""Versions of a reply (regenerate) and edited turns, as operations on a Conversation.

Nothing is ever deleted: a regenerated reply's earlier versions and an edited question's
old turn are kept in the file with `hidden = true`. Versions of one reply share a `group`
(the id of the first version); exactly one member of a group is visible.
"""

from __future__ import annotations

from moviechat_tui.core.conversation import Conversation, Message


def visible(conv: Conversation) -> list[Message]:
    return [m for m in conv.messages if not m.hidden]


def last_reply(conv: Conversation) -> Message | None:
    """The visible assistant reply that answers the last visible user message."""
    for message in reversed(visible(conv)):
        if message.role == "user":
            return None
        if message.role == "assistant":
            return message
    return None


def last_user(conv: Conversation) -> Message | None:
    return next((m for m in reversed(visible(conv)) if m.role == "user"), None)


def unanswered(conv: Conversation) -> Message | None:
    """The last visible user message if no reply follows it (its turn failed or was stopped
    before any text arrived, and the empty reply was dropped): the question to send again."""
    question = last_user(conv)
    if question is None or last_reply(conv) is not None:
        return None
    return question


def group_of(conv: Conversation, message: Message) -> list[Message]:
    """All versions of `message`'s reply, oldest first (just itself if never regenerated)."""
    if message.group is None:
        return [message]
    return [m for m in conv.messages if m.group == message.group]


def retire_for_regeneration(message: Message) -> str:
    """Hide the current version; returns the group the new version joins."""
    message.group = message.group or message.id
    message.hidden = True
    return message.group


def select_version(conv: Conversation, message: Message, step: int) -> Message | None:
    """Show the version `step` places away; returns it, or None at either end."""
    versions = group_of(conv, message)
    index = versions.index(message) + step
    if len(versions) < 2 or not 0 <= index < len(versions):
        return None
    message.hidden = True
    chosen = versions[index]
    chosen.hidden = False
    return chosen


def hide_turn_from(conv: Conversation, message: Message) -> list[Message]:
    """Hide `message` and every visible message after it (editing a question)."""
    start = conv.messages.index(message)
    hidden = [m for m in conv.messages[start:] if not m.hidden]
    for m in hidden:
        m.hidden = True
    return hidden
