"""Files edited by hand or damaged in ways that still parse: values TOML accepts but the app
cannot use, message ids that repeat, caches that parse badly. Each is handled like any other
damage (moved aside and reported), repaired and reported, or — for a cache — ignored."""

from __future__ import annotations

import sqlite3
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.library.index import LibraryIndex, default_index_path
from moviechat_tui.library.search import search_conversations
from moviechat_tui.storage.errors import (
    AmbiguousConversationId,
    ConversationNotFound,
    CorruptConversation,
    RepairedMessageIds,
)
from moviechat_tui.storage.format import SEGMENT_SIZE, TAIL_LIMIT
from moviechat_tui.storage.preferences import Preferences, load_preferences, save_preferences
from moviechat_tui.storage.store import ConversationStore

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Set the process's local time zone (what `datetime.astimezone()` converts to)."""

    def use(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


def hand_written(folder: Path, conv_id: str, *, created: str = "2025-01-01T00:00:00Z",
                 updated: str = "2025-01-02T00:00:00Z", message_created: str =
                 "2025-01-01T00:00:00Z", ids: tuple[str, ...] = ("a", "b")) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tables = "".join(textwrap.dedent(f"""
        [[messages]]
        id = "{message_id}"
        role = "{"user" if n % 2 == 0 else "assistant"}"
        content = "message {n}"
        created = {message_created}
        """) for n, message_id in enumerate(ids))
    path = folder / f"{conv_id}.toml"
    path.write_text(textwrap.dedent(f"""\
        schema_version = 1
        id = "{conv_id}"
        title = "Edited by hand"
        created = {created}
        updated = {updated}
        persona = "expert"
        model = "m"
        message_count = {len(ids)}
        """) + tables, encoding="utf-8")
    return path


# --- times at the edge of the calendar ---------------------------------------------------------

EDGE_TIMES = [
    # (where, value, local time zone): each parses as TOML, none can be shown everywhere
    ("updated", "9999-12-31 23:59:59.999999-23:59", "UTC"),  # year 10000 in UTC
    ("created", "0001-01-01 00:00:00+23:59", "UTC"),  # year 0 in UTC
    ("updated", "9999-12-31 23:59:59Z", "Asia/Seoul"),  # year 10000 in local time
    ("updated", "9999-12-31T23:59:59", "Asia/Seoul"),  # no offset: taken as UTC
    ("created", "0001-01-01T00:00:00Z", "America/New_York"),  # year 0 in local time
    ("message_created", "9999-12-31 23:59:59.999999-23:59", "UTC"),
    ("message_created", "9999-12-31T12:00:00Z", "Pacific/Kiritimati"),  # +14:00
]


@pytest.mark.parametrize(("where", "value", "zone"), EDGE_TIMES)
def test_a_time_the_app_cannot_use_is_damage(tmp_path: Path, local_zone, where: str,
                                              value: str, zone: str) -> None:
    local_zone(zone)
    store = ConversationStore(tmp_path)
    ConversationStore(tmp_path).save(Conversation(
        id="fine", title="Fine", created=T0, updated=T0,
        messages=[Message(role="user", content="hello", created=T0)]))
    path = hand_written(tmp_path, "edge", **{where: value})

    index = LibraryIndex(store)
    assert search_conversations(store, "message", index=index) == []  # reads every file
    assert [s.id for s in index.summaries()] == ["fine"]
    [problem] = index.take_problems() + store.take_problems()
    assert isinstance(problem, CorruptConversation) and "outside the dates" in problem.message
    assert not path.exists() and path.with_name("edge.toml.corrupt").exists()
    for summary in store.list_summaries():
        summary.updated.astimezone()  # nothing listed that cannot be shown here


def test_times_just_inside_the_calendar_are_kept(tmp_path: Path, local_zone) -> None:
    local_zone("Pacific/Kiritimati")
    hand_written(tmp_path, "early", created="0001-01-02T00:00:00Z",
                 updated="9999-12-30T23:59:59Z")
    [summary] = ConversationStore(tmp_path).list_summaries()
    assert summary.updated.astimezone().year == 9999
    assert ConversationStore(tmp_path).load("early").conversation.created.year == 1


# --- message ids that repeat -------------------------------------------------------------------


def test_repeated_message_ids_are_repaired_reported_and_nothing_is_lost(tmp_path: Path) -> None:
    path = hand_written(tmp_path, "dup", ids=("a", "b", "a", "c", "a"))
    store = ConversationStore(tmp_path)
    loaded = store.load("dup").conversation
    assert [m.content for m in loaded.messages] == [f"message {n}" for n in range(5)]
    assert len({m.id for m in loaded.messages}) == 5
    assert loaded.messages[-1].id == "a"  # the last one keeps its id
    [problem] = store.take_problems()
    assert isinstance(problem, RepairedMessageIds) and problem.renamed == 2
    assert "dup.toml" in problem.message

    loaded.messages.append(Message(role="user", content="one more", created=T0))
    store.save(loaded)
    fresh = ConversationStore(tmp_path)
    again = fresh.load("dup").conversation
    # (all written at one time: the file keeps them in (created, id) order)
    assert sorted(m.content for m in again.messages) == sorted(
        [f"message {n}" for n in range(5)] + ["one more"])
    assert sorted(m.id for m in again.messages) == sorted(m.id for m in loaded.messages)
    assert fresh.take_problems() == []  # the file was corrected
    assert path.read_text("utf-8").count("[[messages]]") == 6


def test_two_readers_repair_the_same_way(tmp_path: Path) -> None:
    hand_written(tmp_path, "dup", ids=("a", "a"))
    first = ConversationStore(tmp_path).load("dup").conversation
    second = ConversationStore(tmp_path).load("dup").conversation
    assert first == second
    ConversationStore(tmp_path).save(first)
    ConversationStore(tmp_path).save(second)
    assert len(ConversationStore(tmp_path).load("dup").conversation.messages) == 2


def test_a_repeated_id_in_a_long_conversation_is_repaired_in_every_view(tmp_path: Path) -> None:
    """An id in a sealed segment copied into the main file: `load_tail` (the newest part)
    and `load` (all of it) agree, and the next save writes every message once."""
    messages = [Message(role="user" if i % 2 == 0 else "assistant", content=f"m{i}",
                        created=T0 + timedelta(seconds=i), id=f"id{i:04d}")
                for i in range(TAIL_LIMIT + 20)]
    conv = Conversation(id="long", title="Long", created=T0, updated=T0, messages=messages)
    ConversationStore(tmp_path).save(conv)
    main = tmp_path / "long.toml"
    sealed_id = f"id{SEGMENT_SIZE // 2:04d}"
    text = main.read_text("utf-8")
    main.write_text(text.replace(f'id = "id{TAIL_LIMIT + 10:04d}"', f'id = "{sealed_id}"'),
                    encoding="utf-8")

    store = ConversationStore(tmp_path)
    tail = store.load_tail("long", SEGMENT_SIZE).conversation
    whole = store.load("long").conversation
    assert len({m.id for m in whole.messages}) == len(messages)
    assert [m.id for m in whole.messages[-len(tail.messages):]] == [m.id for m in tail.messages]
    assert [m.content for m in whole.messages] == [m.content for m in messages]
    assert any(isinstance(p, RepairedMessageIds) for p in store.take_problems())

    store.save(whole)
    fresh = ConversationStore(tmp_path)
    assert [m.content for m in fresh.load("long").conversation.messages] == [
        m.content for m in messages]
    assert fresh.take_problems() == []


# --- TOML that parses badly in other ways --------------------------------------------------------


@pytest.mark.parametrize("value", ["[" * 100_000, "1" * 5_000])
def test_toml_python_cannot_hold_is_damage(tmp_path: Path, value: str) -> None:
    path = hand_written(tmp_path, "deep")
    path.write_text(path.read_text("utf-8").replace('persona = "expert"',
                                                    f"persona = {value}"), encoding="utf-8")
    store = ConversationStore(tmp_path)
    assert store.list_summaries() == []
    [problem] = store.take_problems()
    assert isinstance(problem, CorruptConversation) and problem.quarantined_to is not None


@pytest.mark.parametrize("text", ["theme = " + "[" * 100_000, "theme = " + "1" * 5_000,
                                  "\ud800", "theme = 'nord'\n[[x]]\n" + "a = {" * 3000])
def test_a_state_file_that_parses_badly_is_ignored(tmp_path: Path, text: str) -> None:
    (tmp_path / "state.toml").write_text(text, encoding="utf-8", errors="surrogatepass")
    assert load_preferences(tmp_path) == Preferences()
    save_preferences(tmp_path, Preferences(theme="nord"))
    assert load_preferences(tmp_path) == Preferences(theme="nord")


# --- the library index ---------------------------------------------------------------------------


def _seeded(tmp_path: Path) -> ConversationStore:
    store = ConversationStore(tmp_path / "conversations")
    for n in range(3):
        store.save(Conversation(id=f"c{n}", title=f"Chat {n}", created=T0,
                                updated=T0 + timedelta(hours=n),
                                messages=[Message(role="user", content=f"about Alien {n}",
                                                  created=T0, id=f"m{n}")]))
    return store


@pytest.mark.parametrize("damage", [
    "UPDATE conversations SET updated = 'yesterday' WHERE id = 'c1'",
    "UPDATE conversations SET created = '9999-12-31T23:59:59+00:00' WHERE id = 'c1'",
    "UPDATE conversations SET title = x'00ff' WHERE id = 'c1'",  # a blob, not text
    "UPDATE conversations SET message_count = 'many' WHERE id = 'c1'",
    "UPDATE conversations SET title = 'x' || char(27) || ']52;c;aGk=' || char(7) "
    "WHERE id = 'c1'",
    "UPDATE conversations SET updated_us = 'soon'",
    "UPDATE messages SET content = 'about Alien ' || char(27) || '[2J'",
    "UPDATE messages SET role = x'01'",
    "DROP TABLE messages",
])
def test_a_library_index_damaged_in_any_way_is_rebuilt(tmp_path: Path, damage: str) -> None:
    store = _seeded(tmp_path)
    expected = ConversationStore(store.conversations_dir).list_summaries()
    index = LibraryIndex(store)
    assert index.summaries() == expected
    search_conversations(store, "alien", index=index)  # the text is in the index too
    with sqlite3.connect(default_index_path(store.conversations_dir)) as con:
        con.execute(damage)

    fresh = LibraryIndex(ConversationStore(store.conversations_dir))
    assert fresh.summaries() == expected
    hits = search_conversations(fresh.store, "alien", index=fresh)
    assert sorted(h.message_id for h in hits) == ["m0", "m1", "m2"]
    assert all("\x1b" not in h.snippet for h in hits)


# --- ids given in part ---------------------------------------------------------------------------


def test_a_unique_start_of_an_id_names_the_conversation(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path)
    for conv_id, title in [("806f3c00aa", "Alien"), ("806f9b11bb", "Aliens"),
                           ("806f9b11bb2", "Alien 3"), ("12ab", "Parasite")]:
        store.save(Conversation(id=conv_id, title=title, messages=[
            Message(role="user", content="hi")]))
    assert store.resolve_id("12") == "12ab"
    assert store.resolve_id("806f3") == "806f3c00aa"
    assert store.resolve_id("806f9b11bb") == "806f9b11bb"  # a whole id wins, as in git
    with pytest.raises(AmbiguousConversationId) as ambiguous:
        store.resolve_id("806f")
    lines = ambiguous.value.message.splitlines()
    assert "3 conversations" in lines[0] and "806f" in lines[0]
    assert lines[1:] == ["  806f3c00aa  Alien", "  806f9b11bb  Aliens",
                         "  806f9b11bb2  Alien 3"]
    with pytest.raises(ConversationNotFound):
        store.resolve_id("ffff")
    assert store.take_problems() == []
