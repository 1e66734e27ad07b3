"""Deleted conversations go to `trash/` under the data dir for 30 days, restorable from the
conversation browser; nothing is removed before that.

A trashed file is the original file, moved (never rewritten), named `<id>.<unix time>.toml`
so the deletion time survives and two deletions of the same id do not collide; a long
conversation's segment directory `<id>.d/` moves with it, as `<id>.<unix time>.d/`. Moves
happen under the conversation's lock, like saves, so another window's save is not torn in
half. The main file moves first: a crash in between leaves the segments behind in
`conversations/`, unlisted, and restoring takes them from there.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from moviechat_tui.core.conversation import ConversationSummary
from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage.files import exclusive_lock
from moviechat_tui.storage.store import ConversationStore

KEEP_DAYS = 30


class TrashError(UserFacingError):
    """A delete or restore that could not be done; nothing was changed."""


class TrashedConversation(Record):
    summary: ConversationSummary
    deleted_at: float
    path: Path


class Trash:
    def __init__(self, store: ConversationStore, trash_dir: Path) -> None:
        self.store = store
        self.trash_dir = trash_dir

    def delete(self, conv_id: str) -> None:
        source = self.store.path_for(conv_id)
        self.trash_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        target = self.trash_dir / f"{conv_id}.{int(time.time())}.toml"
        segments = self.store.segments_dir(conv_id)
        try:
            with exclusive_lock(source.with_suffix(".lock"), source):
                os.replace(source, target)
                if segments.is_dir() and not segments.is_symlink():
                    os.replace(segments, target.with_suffix(".d"))
        except OSError as err:
            raise TrashError(_("Could not move {path} to the trash: {reason}").format(
                path=source, reason=err.strerror or err)) from err

    def entries(self) -> list[TrashedConversation]:
        """Trashed conversations, most recently deleted first (expired ones purged first)."""
        self.purge_expired()
        found: list[TrashedConversation] = []
        try:
            names = os.listdir(self.trash_dir)
        except OSError:
            return []
        for name in names:
            parts = name.split(".")
            if len(parts) != 3 or parts[2] != "toml" or not parts[1].isdigit():
                continue
            path = self.trash_dir / name
            try:
                summary = store_format.parse_summary(store_format.read_header(path), parts[0])
            except (OSError, store_format.FormatError):
                continue
            found.append(TrashedConversation(summary, float(parts[1]), path))
        return sorted(found, key=lambda t: t.deleted_at, reverse=True)

    def restore(self, entry: TrashedConversation) -> str:
        target = self.store.path_for(entry.summary.id)
        if target.exists():
            raise TrashError(_("A conversation with id {id} exists again; restore refused so "
                               "neither is overwritten.").format(id=entry.summary.id))
        self.store.conversations_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        trashed_segments = entry.path.with_suffix(".d")
        segments = self.store.segments_dir(entry.summary.id)
        try:
            with exclusive_lock(target.with_suffix(".lock"), target):
                # Segments first: the main file that lists them appears last.
                if trashed_segments.is_dir():
                    if segments.is_dir() and _only_segments(segments):
                        shutil.rmtree(segments)  # unlisted leftovers of an interrupted save
                    os.rename(trashed_segments, segments)  # refuses a non-empty directory
                os.link(entry.path, target)  # fails instead of overwriting a newcomer
                os.unlink(entry.path)
        except OSError as err:
            raise TrashError(_("Could not restore {path}: {reason}").format(
                path=entry.path, reason=err.strerror or err)) from err
        return entry.summary.id

    def purge_expired(self, now: float | None = None) -> int:
        cutoff = (now or time.time()) - KEEP_DAYS * 86_400
        removed = 0
        try:
            names = os.listdir(self.trash_dir)
        except OSError:
            return 0
        for name in names:
            parts = name.split(".")
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < cutoff:
                path = self.trash_dir / name
                try:
                    if parts[2] == "d" and path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path)
                    else:
                        os.unlink(path)
                    removed += 1
                except OSError:
                    continue
        return removed


def _only_segments(directory: Path) -> bool:
    """True if `directory` holds nothing but segment files (safe to replace on restore)."""
    try:
        return all(store_format.SEGMENT_NAME.fullmatch(name) for name in os.listdir(directory))
    except OSError:
        return False
