"""Library actions from the TUI: search, rename, delete/restore, branch, export.

Kept apart from `ConversationController`, which owns the live turn; this one works on saved
conversations and tells the controller when the current one is affected. Every file
operation runs in a thread; results and problems come back as return values and events.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from pathlib import Path

from moviechat_tui.core import events as ev
from moviechat_tui.core.conversation import Conversation, Message, new_id, now_utc
from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.core.text import one_line
from moviechat_tui.library import export
from moviechat_tui.library import search as library
from moviechat_tui.library.trash import Trash, TrashedConversation
from moviechat_tui.session.controller import ConversationController
from moviechat_tui.storage.errors import why_not_written
from moviechat_tui.storage.store import StoreError


def _slug(title: str) -> str:
    slug = re.sub(r"[^\w]+", "-", title.casefold(), flags=re.UNICODE).strip("-")
    return slug[:48] or "conversation"


class _Branch(Record):
    """The last branch made, for `undo_branch`."""

    branch_id: str
    source_id: str
    message_id: str
    """The message it was made from (the original is shown there again)."""
    message_count: int
    """Messages in the branch when it was made: one more, and there is no undoing it."""


class LibraryController:
    def __init__(self, controller: ConversationController) -> None:
        self.controller = controller
        self.store = controller.store
        self.trash = Trash(self.store, controller.settings.paths.trash_dir)
        self._emit = controller.emit
        self._branch: _Branch | None = None

    @property
    def exports_dir(self) -> Path:
        return self.controller.settings.paths.exports_dir

    async def search(self, query: str) -> list[library.SearchHit]:
        from moviechat_tui.library.index import index_for

        loop = asyncio.get_running_loop()

        def on_backlog(count: int) -> None:  # called from the worker thread
            loop.call_soon_threadsafe(self._emit, ev.Notify(library.backlog_notice(count)))

        hits = await asyncio.to_thread(library.search_conversations, self.store, query,
                                       on_backlog=on_backlog)
        self.controller.report(index_for(self.store).take_problems())
        return hits

    async def rename(self, conv_id: str, title: str) -> bool:
        title = one_line(title, 200)
        if not title:
            return False
        current = self.controller.conversation
        if conv_id == current.id:
            current.title = title
            current.touch()
            self._emit(ev.TitleChanged(title))
            await self.controller.save_now()
            return True
        try:
            loaded = await asyncio.to_thread(self.store.load, conv_id)
            conv = dataclasses.replace(loaded.conversation, title=title, updated=now_utc())
            await asyncio.to_thread(self.store.save, conv)
        except StoreError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return False
        return True

    async def delete(self, conv_id: str) -> bool:
        if conv_id == self.controller.conversation.id:
            await self.controller.new_conversation()
        try:
            await asyncio.to_thread(self.trash.delete, conv_id)
        except (UserFacingError, StoreError) as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return False
        self.controller.view_cache.forget(conv_id)
        self._emit(ev.Notify(_("Moved to the trash; restore it from the conversation list "
                               "(ctrl+o, then ctrl+t) within 30 days.")))
        return True

    async def trash_entries(self) -> list[TrashedConversation]:
        return await asyncio.to_thread(self.trash.entries)

    async def restore(self, entry: TrashedConversation) -> bool:
        try:
            await asyncio.to_thread(self.trash.restore, entry)
        except UserFacingError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return False
        self._emit(ev.Notify(_("Restored “{title}”.").format(
            title=one_line(entry.summary.title, 60))))
        return True

    async def branch_from(self, message: Message) -> bool:
        """A new conversation with the visible history up to and including `message`; it
        becomes current. Until something is added to it, `undo_branch` takes it back."""
        await self.controller.complete_history()
        source = self.controller.conversation
        if message not in source.messages:
            return False
        upto = source.messages.index(message) + 1
        copied = [dataclasses.replace(m, id=new_id(), group=None)
                  for m in source.messages[:upto] if not m.hidden]
        branch = Conversation(
            title=one_line(_("{title} (branch)").format(title=source.title or _("Untitled")),
                           200),
            persona=source.persona, model=self.controller.model, messages=copied,
            spoiler_shield=source.spoiler_shield)  # a branch goes on as careful
        try:
            await asyncio.to_thread(self.store.save, branch)
        except StoreError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return False
        if not await self.controller.open_conversation(branch.id):
            return False
        self._branch = _Branch(branch.id, source.id, message.id,
                               len(self.controller.conversation.messages))
        self._emit(ev.Notify(_("Branched into a new conversation: the original is unchanged. "
                               "ctrl+z goes back (the branch goes to the trash).")))
        return True

    @property
    def branch_undoable(self) -> bool:
        """The conversation made by the last branch is current and nothing was added to it."""
        made = self._branch
        current = self.controller.conversation
        return (made is not None and current.id == made.branch_id
                and len(current.messages) == made.message_count)

    async def undo_branch(self) -> bool:
        """Back to the conversation the last branch was made from, at the message it was made
        from; the branch goes to the trash (restorable, like any deleted conversation)."""
        if not self.branch_undoable:
            self._branch = None
            return False
        made = self._branch
        assert made is not None
        self._branch = None
        if not await self.controller.open_conversation(made.source_id,
                                                       scroll_to=made.message_id):
            return False
        try:
            await asyncio.to_thread(self.trash.delete, made.branch_id)
        except (UserFacingError, StoreError) as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return True
        self.controller.view_cache.forget(made.branch_id)
        self._emit(ev.Notify(_("Branch undone: back in the original conversation (the branch "
                               "is in the trash).")))
        return True

    async def export_current(self) -> Path | None:
        await self.controller.complete_history()
        conv = self.controller.conversation
        if not conv.messages:
            self._emit(ev.Notify(_("Nothing to export yet.")))
            return None
        text = export.export_markdown(conv, self.controller.personas)
        path = self.exports_dir / f"{_slug(conv.title)}-{conv.id[:8]}.md"

        def write() -> None:
            try:
                self.exports_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            except OSError as err:
                raise export.ExportError(_("Could not export to {path}: {why}.").format(
                    path=path, why=why_not_written(err))) from err
            export.write_export(path, text)

        try:
            await asyncio.to_thread(write)
        except export.ExportError as exc:
            self._emit(ev.Notify(exc.message, ev.Severity.ERROR))
            return None
        self._emit(ev.Notify(_("Exported to {path}").format(path=path)))
        return path
