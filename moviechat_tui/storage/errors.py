"""Errors the conversation store raises, each with a `message` the UI can show as is.

They live apart from `store.py` so the format module and the UI can import them without
pulling in file-locking code. Every message names the file involved and says what the user
can do, because "TOMLDecodeError at line 3" alone leaves a user unsure whether their chat
history is gone.
"""

from __future__ import annotations

import errno
from pathlib import Path

from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import one_line


class StoreError(Exception):
    """Base class: `message` is a complete, translated sentence for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidConversationId(StoreError, ValueError):
    """An id that could name a file outside the conversations directory (`../x`, `a/b`)."""

    def __init__(self, conv_id: str) -> None:
        super().__init__(
            _("{id!r} is not a valid conversation id.").format(id=one_line(conv_id, 80))
        )
        self.conv_id = conv_id


class ConversationNotFound(StoreError):
    def __init__(self, conv_id: str, path: Path) -> None:
        super().__init__(_("Conversation {id} was not found ({path}).").format(
            id=conv_id, path=path))
        self.conv_id = conv_id
        self.path = path


class AmbiguousConversationId(StoreError):
    """A shortened id that starts more than one conversation's id (as git says of a short
    commit hash): the message lists them, with their titles, so the user can pick."""

    def __init__(self, prefix: str, candidates: list[tuple[str, str]]) -> None:
        shown = candidates[:AMBIGUOUS_SHOWN]
        lines = [_("{count} conversations have an id starting with {prefix}; give more of "
                   "it, one of:").format(count=len(candidates), prefix=prefix)]
        lines += [f"  {conv_id}  {one_line(title, 60)}" for conv_id, title in shown]
        if len(candidates) > len(shown):
            lines.append("  " + _("… and {count} more").format(
                count=len(candidates) - len(shown)))
        super().__init__("\n".join(lines))
        self.prefix = prefix
        self.candidates = candidates


AMBIGUOUS_SHOWN = 10
"""How many candidates an `AmbiguousConversationId` message lists."""


class CorruptConversation(StoreError):
    """A file that cannot be read as a conversation.

    `quarantined_to` is where the original bytes now are (`<id>.toml.corrupt...`), or None when
    the file could not be moved (or was unreadable for a reason that is not its content, such
    as permissions, so moving it would be wrong).
    """

    def __init__(self, path: Path, quarantined_to: Path | None, reason: str) -> None:
        reason = one_line(reason, 160)
        if quarantined_to is not None:
            message = _(
                "The conversation file {path} is damaged ({reason}). It was moved to {dest} "
                "so nothing is lost; you can repair it by hand and rename it back."
            ).format(path=path, reason=reason, dest=quarantined_to.name)
        else:
            message = _("The conversation file {path} could not be read ({reason}).").format(
                path=path, reason=reason
            )
        super().__init__(message)
        self.path = path
        self.quarantined_to = quarantined_to
        self.reason = reason


class RepairedMessageIds(StoreError):
    """Messages of a (hand-edited) file that shared an id were given new ids, so that none
    is lost at the next save, which writes the file with them."""

    def __init__(self, path: Path, renamed: int) -> None:
        super().__init__(_(
            "In {path}, {count} messages had the same id as another one (edited by hand?). "
            "They were given new ids so that none is lost; the file is corrected at the next "
            "save."
        ).format(path=path, count=renamed))
        self.path = path
        self.renamed = renamed


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


class ConversationTooLarge(CorruptConversation):
    """Bigger than the store's limit: not opened (parsing it would stall the app for many
    seconds and hold it all in memory) and never moved or rewritten, since it is not damaged."""

    def __init__(self, path: Path, size: int, limit: int) -> None:
        super().__init__(
            path, None,
            f"it is {_megabytes(size)}, more than the {_megabytes(limit)} moviechat opens; "
            "it was left as it is",
        )
        self.size = size
        self.limit = limit


class LinkOutsideDataDir(ConversationNotFound):
    """A symbolic link that leads out of the conversations directory: a planted
    `x.toml -> ~/.ssh/id_rsa` must not be read, shown, moved or written through. For the
    store it does not exist (listing skips it); opening it by id says why."""

    def __init__(self, conv_id: str, path: Path) -> None:
        super().__init__(conv_id, path)
        self.message = _("The conversation file {path} could not be read ({reason}).").format(
            path=path,
            reason="it is a link to a file outside the conversations folder, which moviechat "
                   "does not follow; nothing was changed",
        )
        self.args = (self.message,)


class ReadOnlyConversation(StoreError):
    """The file was written by a newer moviechat-tui; rewriting it could drop what it added."""

    def __init__(self, path: Path, schema_version: int, supported: int) -> None:
        super().__init__(
            _(
                "{path} was written by a newer version of moviechat-tui (format {version}; "
                "this version understands format {supported}). It can be read but not "
                "changed; update moviechat-tui to continue this conversation."
            ).format(path=path, version=schema_version, supported=supported)
        )
        self.path = path
        self.schema_version = schema_version


_WHY = {
    errno.ENOSPC: lambda: _("the disk is full"),
    errno.EDQUOT: lambda: _("the disk quota is exceeded"),
    errno.EFBIG: lambda: _("the file is too large"),
    errno.EACCES: lambda: _("permission denied"),
    errno.EPERM: lambda: _("permission denied"),
    errno.EROFS: lambda: _("the file system is read-only"),
    errno.ENOENT: lambda: _("the folder does not exist"),
    errno.ENOTDIR: lambda: _("part of the path is not a folder"),
    errno.EISDIR: lambda: _("it is a folder"),
}


def why_not_written(error: OSError) -> str:
    """Why a write failed, in the user's words ("the disk is full")."""
    explain = _WHY.get(error.errno or 0)
    return explain() if explain else one_line(error.strerror or str(error), 120)


class StoreWriteError(StoreError):
    """Saving failed (disk full, permissions, ...). The previous file is left untouched."""

    def __init__(self, path: Path, error: OSError) -> None:
        why = why_not_written(error)
        super().__init__(
            _("Could not save {path}: {why}. The previously saved version is unchanged.").format(
                path=path, why=why
            )
        )
        self.path = path
        self.error = error
