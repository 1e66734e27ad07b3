"""Message ids made unique again when a file has the same id twice (a `[[messages]]` table
copied by hand, say): repaired and reported rather than quarantined, since nothing else is
wrong with the file.

Why it matters: a save merges by message id, so of two messages with one id the next save
would keep one, and the other would be gone without a word.

The repair is deterministic — the same messages always get the same ids — so two windows
reading one file agree, and so do `load_tail` (the newest part of a long conversation) and
`load` (all of it). That is why an *earlier* message is renamed and the last one keeps its
id: whether a message is renamed, and to what, depends only on the messages after it, which
every reader of the conversation's end has read. The new id is a digest of the old one and
of how many later messages share it: 32 hex digits, like the app's own ids.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

from moviechat_tui.core.conversation import Message


class DuplicateIds(ValueError):
    """Renaming could not make the ids unique (a file made to collide with the new ids)."""


def _renamed(message_id: str, later: int) -> str:
    data = f"{message_id}\n{later}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def duplicate_count(messages: Sequence[Message]) -> int:
    """How many messages share their id with a later one (0 for a sound file: one set)."""
    return len(messages) - len({m.id for m in messages})


def unique_ids(messages: Sequence[Message]) -> tuple[list[Message], int]:
    """`messages` with unique ids, and how many were renamed (renamed ones are copies; the
    others are the same objects). Raises `DuplicateIds` if renaming could not do it."""
    if not duplicate_count(messages):
        return list(messages), 0
    out = list(messages)
    later: dict[str, int] = {}
    renamed = 0
    for index in range(len(out) - 1, -1, -1):
        message_id = out[index].id
        seen = later.get(message_id, 0)
        later[message_id] = seen + 1
        if seen:
            out[index] = dataclasses.replace(out[index], id=_renamed(message_id, seen))
            renamed += 1
    if duplicate_count(out):
        raise DuplicateIds("message ids still repeat after renaming")
    return out, renamed
