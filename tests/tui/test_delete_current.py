"""Deleting the conversation on screen while its last save is still being written: the file
must end up in the trash, not re-created in the list by that late save."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import Message
from moviechat_tui.session.controller import ConversationController
from moviechat_tui.session.library_actions import LibraryController
from moviechat_tui.storage.store import ConversationStore
from tests.support.apphelpers import make_settings


async def test_deleting_the_open_conversation_waits_for_its_save(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    store = ConversationStore(settings.paths.conversations_dir)
    chat = ConversationController(settings, store, lambda event: None)
    chat.conversation.messages.append(Message(role="user", content="Who shot Liberty Valance?"))
    assert await chat.save_now()
    conv_id = chat.conversation.id

    entered, release = threading.Event(), threading.Event()
    real_save = store.save

    def slow_save(*args: object, **kwargs: object) -> object:
        entered.set()
        release.wait(5)  # a slow disk: the write is still in progress
        return real_save(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "save", slow_save)
    chat.conversation.messages.append(Message(role="assistant", content="Nobody knows."))
    chat._schedule_save()
    await asyncio.to_thread(entered.wait, 5)

    library = LibraryController(chat)
    deleting = asyncio.create_task(library.delete(conv_id))
    await asyncio.sleep(0.2)
    release.set()
    assert await deleting
    await asyncio.gather(*chat._tasks)

    assert not store.path_for(conv_id).exists()  # not brought back by the late save
    [trashed] = library.trash.entries()
    assert trashed.summary.id == conv_id
    restored = await library.restore(trashed)
    assert restored
    contents = [m.content for m in store.load(conv_id).conversation.messages]
    assert contents == ["Who shot Liberty Valance?", "Nobody knows."]  # nothing lost either
