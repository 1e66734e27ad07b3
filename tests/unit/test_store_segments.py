"""Long conversations: a main file with the newest messages plus sealed segments in `<id>.d/`
(docs/storage-format.md, "Long conversations")."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moviechat_tui.core import events as ev
from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.library.trash import Trash
from moviechat_tui.session.controller import ConversationController
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage import segments as store_segments
from moviechat_tui.storage import store as store_module
from moviechat_tui.storage.format import SEGMENT_SIZE, TAIL_LIMIT
from moviechat_tui.storage.store import ConversationStore, CorruptConversation, StoreWriteError
from moviechat_tui.tui.widgets.loader import Loader
from moviechat_tui.tui.widgets.message_view import MessageView
from tests.support.apphelpers import make_app, make_settings, until, wait_idle

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def long_conv(count: int, conv_id: str = "long") -> Conversation:
    messages = [
        Message(role="user" if i % 2 == 0 else "assistant", content=f"message {i}\nline 2",
                created=T0 + timedelta(seconds=i), id=f"m{i:05d}",
                persona=None if i % 2 == 0 else "expert")
        for i in range(count)
    ]
    return Conversation(id=conv_id, title="Long", model="gpt-test", created=T0,
                        updated=T0 + timedelta(seconds=count), messages=messages)


def contents(conv: Conversation) -> list[str]:
    return [m.content for m in conv.messages]


def segment_files(conv_dir: Path, conv_id: str = "long") -> list[str]:
    directory = conv_dir / f"{conv_id}.d"
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def main_file_messages(conv_dir: Path, conv_id: str = "long") -> int:
    return (conv_dir / f"{conv_id}.toml").read_bytes().count(b"\n[[messages]]\n")


@pytest.fixture
def conv_dir(tmp_path: Path) -> Path:
    return tmp_path / "conversations"


def test_round_trip_across_segment_boundaries(conv_dir: Path) -> None:
    conv = long_conv(2 * TAIL_LIMIT + 37)
    ConversationStore(conv_dir).save(conv)
    assert len(segment_files(conv_dir)) >= 2
    assert SEGMENT_SIZE <= main_file_messages(conv_dir) < TAIL_LIMIT
    loaded = ConversationStore(conv_dir).load("long").conversation  # no in-memory state
    assert loaded.messages == conv.messages
    summary = store_format.parse_summary(
        store_format.read_header(conv_dir / "long.toml"), "long")
    assert summary.message_count == len(conv.messages)  # the total, sealed ones included
    assert ConversationStore(conv_dir).list_summaries()[0].message_count == len(conv.messages)


def test_short_conversations_stay_one_file_in_the_core_format(conv_dir: Path) -> None:
    ConversationStore(conv_dir).save(long_conv(TAIL_LIMIT - 1))
    assert not (conv_dir / "long.d").exists()
    data = (conv_dir / "long.toml").read_bytes()
    assert data.startswith(b"schema_version = 1\n") and b"segments" not in data
    assert len(store_format.parse_conversation(data, "long").messages) == TAIL_LIMIT - 1


def test_appending_seals_the_oldest_messages_and_writes_only_the_main_file(
        conv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ConversationStore(conv_dir)
    conv = long_conv(TAIL_LIMIT - 1)
    store.save(conv)
    written: list[str] = []
    real_write = store_module.write_atomically
    for module in (store_module, store_segments):
        monkeypatch.setattr(module, "write_atomically",
                            lambda path, data: written.append(path.name) or real_write(path, data))
    conv.messages.append(Message(role="user", content="the 200th", id="new-0"))
    store.save(conv)  # reaches TAIL_LIMIT: the oldest SEGMENT_SIZE are sealed
    assert len(written) == 2 and written[-1] == "long.toml"
    assert main_file_messages(conv_dir) == TAIL_LIMIT - SEGMENT_SIZE
    written.clear()
    parsed: list[object] = []
    monkeypatch.setattr(store_format, "parse_segment",
                        lambda *a: parsed.append(a) or pytest.fail("read a segment"))
    for n in range(1, 5):
        conv.messages.append(Message(role="user", content=f"more {n}", id=f"new-{n}"))
        store.save(conv)
    assert written == ["long.toml"] * 4  # a turn rewrites the main file only
    monkeypatch.undo()
    assert ConversationStore(conv_dir).load("long").conversation.messages == conv.messages


def test_a_long_core_format_file_is_split_on_its_first_save(conv_dir: Path) -> None:
    conv = long_conv(3 * TAIL_LIMIT)
    conv_dir.mkdir()
    old, _ = store_format.serialise(conv)  # the Core format: every message in one file
    (conv_dir / "long.toml").write_bytes(old)
    store = ConversationStore(conv_dir)
    loaded = store.load("long").conversation
    assert loaded.messages == conv.messages  # read as it is
    assert not (conv_dir / "long.d").exists()  # reading changes nothing
    store.save(loaded)
    assert segment_files(conv_dir) and main_file_messages(conv_dir) < TAIL_LIMIT
    assert (conv_dir / "long.toml").read_bytes().startswith(b"schema_version = 2\n")
    assert ConversationStore(conv_dir).load("long").conversation.messages == conv.messages


def test_a_crash_between_segment_and_main_file_loses_and_duplicates_nothing(
        conv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ConversationStore(conv_dir)
    conv = long_conv(TAIL_LIMIT - 1)
    store.save(conv)
    before = (conv_dir / "long.toml").read_bytes()
    real_write = store_module.write_atomically

    def die_at_main_file(path: Path, data: bytes) -> None:
        if path.name == "long.toml":
            raise StoreWriteError(path, OSError(5, "I/O error"))
        real_write(path, data)

    monkeypatch.setattr(store_module, "write_atomically", die_at_main_file)
    conv.messages.append(Message(role="user", content="lost in the crash?", id="new"))
    with pytest.raises(StoreWriteError):
        store.save(conv)
    monkeypatch.setattr(store_module, "write_atomically", real_write)
    assert segment_files(conv_dir)  # the segment was written, the main file was not
    assert (conv_dir / "long.toml").read_bytes() == before
    after_crash = ConversationStore(conv_dir)  # a new process
    assert after_crash.load("long").conversation.messages == conv.messages[:-1]  # once each
    store.save(conv)  # the app saves again with the next change
    final = ConversationStore(conv_dir).load("long").conversation
    assert [m.id for m in final.messages] == [m.id for m in conv.messages]
    listed = store_format.parse_main((conv_dir / "long.toml").read_bytes(), "long")[1]
    assert segment_files(conv_dir) == sorted(ref.file for ref in listed)  # orphan removed


def test_a_damaged_segment_is_quarantined_reported_and_the_rest_loads(conv_dir: Path) -> None:
    conv = long_conv(3 * TAIL_LIMIT)
    ConversationStore(conv_dir).save(conv)
    names = segment_files(conv_dir)
    damaged = conv_dir / "long.d" / names[1]
    bad = damaged.read_bytes().replace(b"message 1", b"message X", 1)
    damaged.write_bytes(bad)
    store = ConversationStore(conv_dir)
    loaded = store.load("long").conversation
    problems = store.take_problems()
    assert len(problems) == 1 and isinstance(problems[0], CorruptConversation)
    assert names[1] in problems[0].message
    quarantined = damaged.with_name(damaged.name + ".corrupt")
    assert quarantined.read_bytes() == bad  # moved aside, never rewritten
    lost = {m.id for m in conv.messages[SEGMENT_SIZE:2 * SEGMENT_SIZE]}
    assert [m.id for m in loaded.messages] == [m.id for m in conv.messages if m.id not in lost]
    loaded.messages.append(Message(role="user", content="still works", id="new"))
    store.save(loaded)
    assert quarantined.read_bytes() == bad  # a save does not touch it either
    final = ConversationStore(conv_dir).load("long").conversation
    assert final.messages[-1].content == "still works"
    assert len(final.messages) == len(conv.messages) - SEGMENT_SIZE + 1


def test_a_missing_segment_is_reported_and_the_rest_loads(conv_dir: Path) -> None:
    conv = long_conv(2 * TAIL_LIMIT)
    ConversationStore(conv_dir).save(conv)
    (conv_dir / "long.d" / segment_files(conv_dir)[0]).unlink()
    store = ConversationStore(conv_dir)
    loaded = store.load("long").conversation
    assert len(store.take_problems()) == 1
    assert loaded.messages == conv.messages[SEGMENT_SIZE:]


def test_changing_an_old_message_rewrites_only_its_segment(
        conv_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = ConversationStore(conv_dir)
    conv = long_conv(3 * TAIL_LIMIT)
    store.save(conv)
    before = segment_files(conv_dir)
    conv.messages[5].hidden = True  # e.g. flipping the version of an old reply
    conv.messages[6].content = "edited by hand"
    store.save(conv)
    after = segment_files(conv_dir)
    assert len(after) == len(before) and len(set(after) - set(before)) == 1
    assert not (set(before) - set(after)) - {before[0]}  # only the first one was replaced
    loaded = ConversationStore(conv_dir).load("long").conversation
    assert loaded.messages[5].hidden and loaded.messages[6].content == "edited by hand"
    assert loaded.messages == conv.messages
    written: list[str] = []
    real_write = store_module.write_atomically
    for module in (store_module, store_segments):
        monkeypatch.setattr(module, "write_atomically",
                            lambda path, data: written.append(path.name) or real_write(path, data))
    conv.messages.append(Message(role="user", content="next turn", id="next"))
    store.save(conv)
    assert written == ["long.toml"]  # back to writing the main file only


def test_two_instances_appending_to_a_long_conversation_lose_nothing(conv_dir: Path) -> None:
    ConversationStore(conv_dir).save(long_conv(TAIL_LIMIT - 3))
    app_a, app_b = ConversationStore(conv_dir), ConversationStore(conv_dir)
    conv_a = app_a.load("long").conversation
    conv_b = app_b.load("long").conversation
    for i in range(2 * SEGMENT_SIZE):  # both cross sealing points while the other writes
        conv_a.messages.append(Message(role="user", content=f"A {i}", id=f"a{i:04d}"))
        conv_a.messages = app_a.save(conv_a).messages
        conv_b.messages.append(Message(role="user", content=f"B {i}", id=f"b{i:04d}"))
        if i == 50:
            conv_b.messages[3].hidden = True  # B changes a sealed message meanwhile
        conv_b.messages = app_b.save(conv_b).messages
    conv_a.messages = app_a.save(conv_a).messages
    final = ConversationStore(conv_dir).load("long").conversation
    texts = contents(final)
    for tag in "AB":
        assert [t for t in texts if t.startswith(f"{tag} ")] == [
            f"{tag} {i}" for i in range(2 * SEGMENT_SIZE)]
    assert len(final.messages) == TAIL_LIMIT - 3 + 4 * SEGMENT_SIZE
    assert final.messages[3].hidden
    assert final.messages == conv_a.messages


def test_trash_and_restore_move_the_segments_too(tmp_path: Path, conv_dir: Path) -> None:
    store = ConversationStore(conv_dir)
    conv = long_conv(2 * TAIL_LIMIT)
    store.save(conv)
    names = segment_files(conv_dir)
    trash = Trash(store, tmp_path / "trash")
    trash.delete("long")
    assert not (conv_dir / "long.toml").exists() and not (conv_dir / "long.d").exists()
    (entry,) = trash.entries()
    assert entry.summary.message_count == len(conv.messages)
    assert sorted(os.listdir(entry.path.with_suffix(".d"))) == names
    trash.restore(entry)
    assert segment_files(conv_dir) == names
    assert ConversationStore(conv_dir).load("long").conversation.messages == conv.messages
    assert os.listdir(tmp_path / "trash") == []


def test_trash_purge_removes_expired_segments(tmp_path: Path, conv_dir: Path) -> None:
    store = ConversationStore(conv_dir)
    store.save(long_conv(2 * TAIL_LIMIT))
    trash = Trash(store, tmp_path / "trash")
    trash.delete("long")
    assert trash.purge_expired(now=10**12) == 2
    assert os.listdir(tmp_path / "trash") == []


def test_load_tail_reads_only_the_newest_messages(conv_dir: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    conv = long_conv(5 * TAIL_LIMIT + 11)
    ConversationStore(conv_dir).save(conv)
    store = ConversationStore(conv_dir)
    read: list[str] = []
    real_parse = store_format.parse_segment
    monkeypatch.setattr(store_format, "parse_segment",
                        lambda data, ref: read.append(ref.file) or real_parse(data, ref))
    in_main = main_file_messages(conv_dir)
    tail = store.load_tail("long", 10)
    assert not tail.complete and tail.message_count == len(conv.messages)
    assert tail.conversation.messages == conv.messages[-in_main:] and read == []
    more = store.load_tail("long", in_main + 1)  # needs one sealed segment, not the others
    assert more.conversation.messages == conv.messages[-(in_main + SEGMENT_SIZE):]
    assert len(read) == 1
    everything = store.load_tail("long", len(conv.messages))
    assert everything.complete and everything.conversation.messages == conv.messages


def test_load_tail_of_a_short_conversation_is_the_whole_of_it(conv_dir: Path) -> None:
    conv = long_conv(12)
    ConversationStore(conv_dir).save(conv)
    tail = ConversationStore(conv_dir).load_tail("long", 5)
    assert tail.complete and tail.conversation.messages == conv.messages
    assert tail.message_count == 12


def test_the_returned_conversation_keeps_the_callers_objects(conv_dir: Path) -> None:
    store = ConversationStore(conv_dir)
    conv = long_conv(3 * TAIL_LIMIT)
    store.save(conv)
    conv.messages.append(Message(role="user", content="next", id="next"))
    merged = store.save(conv)
    assert all(a is b for a, b in zip(merged.messages, conv.messages, strict=True))


def test_a_message_changed_in_a_thread_after_the_save_started_is_saved_next_time(
        conv_dir: Path) -> None:
    store = ConversationStore(conv_dir)
    conv = long_conv(3 * TAIL_LIMIT)
    store.save(conv)
    snapshot = dataclasses.replace(conv, messages=list(conv.messages))
    store.save(snapshot)
    conv.messages[0].content = "changed later"  # same object, changed after it was handed
    store.save(conv)
    assert ConversationStore(conv_dir).load("long").conversation.messages[0].content == (
        "changed later")


@pytest.mark.parametrize("how", ["load", "load_tail", "saved"])
def test_messages_the_store_hands_out_are_plain_data(conv_dir: Path, how: str) -> None:
    """The store's bookkeeping for long conversations lives in the storage layer: a message
    from it copies like any other (`Message(**vars(m))`), and a copy put in its place is
    saved like any other change."""
    store = ConversationStore(conv_dir)
    conv = long_conv(3 * TAIL_LIMIT)
    store.save(conv)
    if how == "load":
        conv = store.load("long").conversation
    elif how == "load_tail":
        conv = store.load_tail("long", 3 * TAIL_LIMIT).conversation
        assert conv.messages[0].id == "m00000"  # the sealed history is in it
    names = {f.name for f in dataclasses.fields(Message)}
    for message in conv.messages:
        assert set(vars(message)) == names
        copy = Message(**vars(message))
        assert copy == message and message == copy and type(copy) is Message
    fresh = Message(role="user", content="hi")
    assert Message(**vars(fresh)) == fresh

    conv.messages[1] = dataclasses.replace(Message(**vars(conv.messages[1])), content="new")
    store.save(conv)
    assert ConversationStore(conv_dir).load("long").conversation.messages[1].content == "new"


# --- the app --------------------------------------------------------------------------------


async def test_opening_a_long_conversation_shows_the_newest_then_loads_the_rest(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    conv = long_conv(5 * TAIL_LIMIT)
    ConversationStore(settings.paths.conversations_dir).save(conv)
    app = make_app(settings, open_id="long")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        views = app.chat_screen.query(MessageView)
        assert views.last().message.id == conv.messages[-1].id
        controller = app.controller
        await until(pilot, lambda: controller.history_complete, what="history loaded")
        await pilot.pause()
        assert [m.id for m in controller.conversation.messages] == [
            m.id for m in conv.messages]
        shown_first = app.chat_screen.query(MessageView).first().message.id
        loader = app.chat_screen.query(Loader).first()
        assert str(loader.render()).startswith("▲") or loader.direction < 0
        first_index = [m.id for m in conv.messages].index(shown_first)
        assert first_index > 0
        for _ in range(40):  # load earlier until the very first message is shown
            loaders = [w for w in app.chat_screen.query(Loader) if w.direction < 0]
            if not loaders:
                break
            loaders[0].focus()
            await pilot.press("enter")
            await pilot.pause()
        assert app.chat_screen.query(MessageView).first().message.id == conv.messages[0].id


async def test_a_message_sent_before_the_history_arrived_is_saved_with_all_of_it(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    conv = long_conv(3 * TAIL_LIMIT)
    store = ConversationStore(settings.paths.conversations_dir)
    store.save(conv)
    events: list[ev.ControllerEvent] = []
    controller = ConversationController(settings, ConversationStore(store.conversations_dir),
                                        events.append)
    assert await controller.open_conversation("long")
    assert not controller.history_complete  # only the newest messages so far
    newest = list(controller.conversation.messages)
    assert newest == conv.messages[-len(newest):] and len(newest) < len(conv.messages)
    controller.conversation.messages.append(
        Message(role="user", content="typed at once", id="fast"))
    assert await controller.save_now()  # waits for the rest first
    assert controller.history_complete
    assert all(a is b for a, b in zip(controller.conversation.messages[-len(newest) - 1:],
                                      [*newest, controller.conversation.messages[-1]],
                                      strict=True))  # the shown objects stay
    loaded = [e for e in events if isinstance(e, ev.HistoryLoaded)]
    assert len(loaded) == 1 and loaded[0].earlier == len(conv.messages) - len(newest)
    saved = ConversationStore(settings.paths.conversations_dir).load("long").conversation
    assert [m.id for m in saved.messages] == [m.id for m in conv.messages] + ["fast"]


async def test_complete_history_brings_in_every_message(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    conv = long_conv(3 * TAIL_LIMIT)
    ConversationStore(settings.paths.conversations_dir).save(conv)
    controller = ConversationController(
        settings, ConversationStore(settings.paths.conversations_dir), lambda e: None)
    assert await controller.open_conversation("long")
    assert not controller.history_complete
    await controller.complete_history()
    assert controller.conversation.messages == conv.messages


WORKER = """
import sys
from pathlib import Path
from moviechat_tui.core.conversation import Message
from moviechat_tui.storage.store import ConversationStore

store = ConversationStore(Path(sys.argv[1]))
conv = store.load("long").conversation
for i in range(150):
    conv.messages.append(Message(role="user", content=f"{sys.argv[2]} {i}"))
    conv.messages = store.save(conv).messages
"""


def test_two_processes_appending_to_a_long_conversation_lose_nothing(conv_dir: Path) -> None:
    ConversationStore(conv_dir).save(long_conv(TAIL_LIMIT - 3))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(conv_dir), tag], env=env)
             for tag in ("A", "B")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    final = ConversationStore(conv_dir).load("long").conversation
    for tag in "AB":
        assert [m.content for m in final.messages if m.content.startswith(f"{tag} ")] == [
            f"{tag} {i}" for i in range(150)]
    assert len(final.messages) == TAIL_LIMIT - 3 + 300
    assert len({m.id for m in final.messages}) == len(final.messages)
    listed = store_format.parse_main((conv_dir / "long.toml").read_bytes(), "long")[1]
    assert segment_files(conv_dir) == sorted(ref.file for ref in listed)


@pytest.mark.parametrize("saves_before", [0, 1, 3])
@pytest.mark.parametrize("loaded", [False, True])
def test_an_old_message_changed_in_place_is_always_saved(
        conv_dir: Path, saves_before: int, loaded: bool) -> None:
    """However the sealed messages were last checked (compared, or known unchanged by the
    change mark, after a load or a save), changing one in place reaches the file."""
    store = ConversationStore(conv_dir)
    conv = long_conv(3 * TAIL_LIMIT)
    store.save(conv)
    if loaded:
        store = ConversationStore(conv_dir)
        conv = store.load("long").conversation
    for n in range(saves_before):
        conv.messages.append(Message(role="user", content=f"turn {n}", id=f"t{n}"))
        store.save(conv)
    conv.messages[SEGMENT_SIZE + 1].hidden = True
    store.save(conv)
    conv.messages[2].content = "second change"
    store.save(conv)
    final = ConversationStore(conv_dir).load("long").conversation
    assert final.messages[SEGMENT_SIZE + 1].hidden
    assert final.messages[2].content == "second change"
    assert final.messages == conv.messages
