"""The background indexer: after the library is first listed, a low-priority process reads
the conversations' text into the index so the first search does not have to; it leaves damaged
files for the app to report, and it never outlives the app."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.library import index_worker
from moviechat_tui.library.index import LibraryIndex
from moviechat_tui.library.search import search_conversations
from moviechat_tui.session import controller as controller_module
from moviechat_tui.session.controller import ConversationController
from moviechat_tui.storage.store import ConversationStore, CorruptConversation
from tests.support.apphelpers import make_settings

BASE = datetime(2025, 3, 1, tzinfo=UTC)


def _fill(store: ConversationStore, count: int) -> None:
    for n in range(count):
        conv = Conversation(id=f"c{n:04d}", title=f"Talk {n}", persona="expert", model="m",
                            created=BASE, updated=BASE + timedelta(minutes=n))
        conv.messages += [Message(role="user", content=f"Question {n} about Stalker?"),
                          Message(role="assistant", content=f"Answer {n}: the Zone.")]
        store.save(conv)


def _wait(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_listing_a_large_library_fills_the_search_index_in_the_background(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(controller_module, "BACKLOG_TO_SPAWN", 20)
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    store = ConversationStore(settings.paths.conversations_dir)
    _fill(store, 30)
    controller = ConversationController(settings, store, lambda event: None)
    index = LibraryIndex(ConversationStore(settings.paths.conversations_dir))

    assert len(await controller.list_conversations()) == 30
    await asyncio.to_thread(_wait, lambda: index.backlog() == 0)  # no search was made
    assert await controller.shutdown()
    assert not controller._indexer.running()
    hits = search_conversations(store, "answer 7:", index=index)
    assert [h.conversation_id for h in hits] == ["c0007"]


async def test_a_small_library_starts_no_background_process(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    store = ConversationStore(settings.paths.conversations_dir)
    _fill(store, 3)
    controller = ConversationController(settings, store, lambda event: None)
    await controller.list_conversations()
    await asyncio.gather(*controller._tasks)
    assert not controller._indexer.started


def test_the_indexer_leaves_a_damaged_file_for_the_app_to_report(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "conversations")
    _fill(store, 3)
    damaged = store.path_for("c0001")
    damaged.write_bytes(damaged.read_bytes() + b"\n[[messages]]\nrole = \n")  # header intact
    before = damaged.read_bytes()

    assert index_worker.main([str(store.conversations_dir), str(os.getppid())]) == 0

    assert damaged.read_bytes() == before  # not moved, not rewritten
    index = LibraryIndex(ConversationStore(store.conversations_dir))
    assert index.backlog() == 1  # the two good ones were read; the damaged one was not
    app_store = ConversationStore(store.conversations_dir)
    search_conversations(app_store, "Stalker", index=index)
    problems = index.take_problems() + app_store.take_problems()
    assert [type(p) for p in problems] == [CorruptConversation]
    assert not damaged.exists() and damaged.with_name(damaged.name + ".corrupt").exists()


def test_the_indexer_stops_when_the_app_is_gone(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "conversations")
    _fill(store, 450)  # three batches
    # A stand-in for the app that starts the indexer and dies without stopping it.
    parent = subprocess.run(
        [sys.executable, "-c",
         "import sys; from pathlib import Path; from moviechat_tui.library.index_worker import "
         "IndexWorker; w = IndexWorker(Path(sys.argv[1])); w.start(); "
         "print(w._process.pid)", str(store.conversations_dir)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[2])
    worker = int(parent.stdout)

    def gone() -> bool:
        try:
            return Path(f"/proc/{worker}/stat").read_text().split()[2] == "Z"
        except FileNotFoundError:
            return True

    _wait(gone, timeout=20)
    index = LibraryIndex(ConversationStore(store.conversations_dir))
    assert index.backlog() == 450  # it noticed before reading anything


def test_a_search_does_not_read_again_what_the_indexer_read_meanwhile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moviechat_tui.library import index as library_index

    monkeypatch.setattr(library_index, "_TEXT_BATCH", 5)
    store = ConversationStore(tmp_path / "conversations")
    _fill(store, 15)
    searching = LibraryIndex(ConversationStore(store.conversations_dir))
    worker = LibraryIndex(ConversationStore(store.conversations_dir))
    read: list[str] = []
    real_rows = searching._text_rows

    def rows(conv_id: str) -> list:  # type: ignore[type-arg]
        if not read:
            worker.fill_text()  # the background indexer gets through everything meanwhile
        read.append(conv_id)
        return real_rows(conv_id)

    monkeypatch.setattr(searching, "_text_rows", rows)
    hits = searching.find_messages("nowhere to be found", 500)
    assert hits == [] and len(read) == 5  # only the batch it had started; 10 were skipped
    assert searching.backlog() == 0
