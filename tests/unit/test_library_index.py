"""The library index (a SQLite cache of the conversation files): it is rebuilt when missing,
damaged or from another version, follows edits made outside the app, never keeps text the files
no longer hold, and gives exactly the results of a plain scan of the files."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.library import index as library_index
from moviechat_tui.library import search as library
from moviechat_tui.library.index import LibraryIndex, default_index_path, index_for
from moviechat_tui.library.search import SearchHit, search_conversations
from moviechat_tui.storage import format as store_format
from moviechat_tui.storage.store import ConversationStore, StoreError

BASE = datetime(2025, 3, 1, tzinfo=UTC)


def _conv(conv_id: str, title: str, texts: list[str], hours: int = 0) -> Conversation:
    conv = Conversation(id=conv_id, title=title, persona="expert", model="m",
                        created=BASE, updated=BASE + timedelta(hours=hours))
    for i, text in enumerate(texts):
        conv.messages.append(Message(role="user" if i % 2 == 0 else "assistant", content=text,
                                     id=f"{conv_id}m{i}", created=BASE + timedelta(minutes=i)))
    return conv


@pytest.fixture
def store(tmp_path: Path) -> ConversationStore:
    store = ConversationStore(tmp_path / "conversations")
    store.save(_conv("old", "Alien notes", ["Who directed Alien?", "Ridley Scott, in 1979."]))
    store.save(_conv("mid", "봉준호 이야기",
                     ["기생충 어땠어요?", "기생충은 계단의 영화입니다."], 1))
    store.save(_conv("new", "Long takes", ["Why the long take in Stalker?",
                                           "Tarkovsky's 롱테이크 makes time visible."], 2))
    return store


def _fresh(store: ConversationStore) -> LibraryIndex:
    """What a new process sees: a new store and index object over the same files."""
    return LibraryIndex(ConversationStore(store.conversations_dir))


def _ids(index: LibraryIndex) -> list[str]:
    return [s.id for s in index.summaries()]


def _found(store: ConversationStore, query: str) -> list[tuple[str, str]]:
    return [(h.conversation_id, h.message_id) for h in search_conversations(store, query)]


def _plain_scan(store: ConversationStore, query: str, limit: int = 500) -> list[SearchHit]:
    """The reference: every readable file parsed, messages matched with `str.casefold`."""
    query = query.strip()
    if not query:
        return []
    folded = query.casefold()
    hits: list[SearchHit] = []
    for summary in store.list_summaries():
        try:
            conv = store.load(summary.id).conversation
        except StoreError:
            continue
        for m in conv.messages:
            if m.hidden or m.role == "notice":
                continue
            if folded not in m.content.casefold():
                continue
            text, at = library._readable_match(m.content, folded)
            snippet, start, end = library._snippet(text, at, at + len(query))
            hits.append(SearchHit(conv.id, conv.title, conv.updated, m.id, m.role, snippet,
                                  start, end))
            if len(hits) >= limit:
                return hits
    return hits


def test_the_index_lives_in_the_data_dir_cache_and_is_private(store: ConversationStore) -> None:
    assert _ids(_fresh(store)) == ["new", "mid", "old"]
    path = default_index_path(store.conversations_dir)
    assert path == store.conversations_dir.parent / "cache" / "library.sqlite3"
    assert path.is_file()
    assert path.stat().st_mode & 0o077 == 0


def test_listing_equals_the_store_listing(store: ConversationStore) -> None:
    assert _fresh(store).summaries() == ConversationStore(store.conversations_dir).list_summaries()


def test_the_index_and_the_store_agree_on_what_a_conversation_is(
        store: ConversationStore, tmp_path: Path) -> None:
    """Both read the directory through one scan: a file the list shows is one search reads."""
    conv_dir = store.conversations_dir
    outside = tmp_path / "secret.toml"
    outside.write_bytes((conv_dir / "old.toml").read_bytes())
    (conv_dir / "link.toml").symlink_to(outside)  # leads out: never read
    (conv_dir / "inside.toml").symlink_to(conv_dir / "old.toml")  # stays in: a conversation
    (conv_dir / ".old.abc.tmp").write_bytes(b"partial")
    (conv_dir / "old.toml.corrupt").write_bytes(b"junk")
    (conv_dir / "bad name.toml").write_bytes((conv_dir / "old.toml").read_bytes())
    (conv_dir / "folder.toml").mkdir()
    os.mkfifo(conv_dir / "pipe.toml")
    (conv_dir / "stray.d").mkdir()

    listed = [s.id for s in ConversationStore(conv_dir).list_summaries()]
    assert listed == ["new", "mid", "old", "inside"]  # same time: by id, descending
    assert _ids(_fresh(store)) == listed


def test_rebuilt_after_the_cache_file_is_deleted(store: ConversationStore) -> None:
    before = _fresh(store).summaries()
    assert _found(store, "palme") == [] and _found(store, "기생충")
    path = default_index_path(store.conversations_dir)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    assert _fresh(store).summaries() == before
    assert path.is_file()
    fresh_store = ConversationStore(store.conversations_dir)
    assert _found(fresh_store, "기생충") == [("mid", "midm0"), ("mid", "midm1")]


@pytest.mark.parametrize("damage", [b"garbage" * 1000, b"", b"SQLite format 3\x00" + b"\xff" * 600],
                         ids=["garbage", "empty", "damaged-header"])
def test_rebuilt_after_the_cache_file_is_corrupted(store: ConversationStore,
                                                   damage: bytes) -> None:
    before = _fresh(store).summaries()
    search_conversations(store, "Alien")
    path = default_index_path(store.conversations_dir)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(damage)
    fresh_store = ConversationStore(store.conversations_dir)
    index = index_for(fresh_store)
    assert index.summaries() == before
    assert _found(fresh_store, "alien") == [("old", "oldm0")]
    assert index.take_problems() == []  # a damaged cache is not the user's problem
    with sqlite3.connect(path) as con:  # rebuilt as a real database file
        assert con.execute("PRAGMA user_version").fetchone()[0] == library_index.SCHEMA_VERSION


def test_rebuilt_when_written_by_another_schema_version(store: ConversationStore) -> None:
    _fresh(store).summaries()
    path = default_index_path(store.conversations_dir)
    with sqlite3.connect(path) as con:
        con.execute("PRAGMA user_version = 999")
        con.execute("DELETE FROM conversations")  # what an old version would not understand
    assert _ids(_fresh(store)) == ["new", "mid", "old"]
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == library_index.SCHEMA_VERSION


def test_an_unwritable_cache_falls_back_to_memory(store: ConversationStore,
                                                   tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory would go")
    index = LibraryIndex(store, blocker / "cache" / "library.sqlite3")
    assert [s.id for s in index.summaries()] == ["new", "mid", "old"]
    assert [(m.conversation_id, m.message_id) for m in index.find_messages("alien", 10)] == [
        ("old", "oldm0")]
    store.save(_conv("newest", "Added later", ["Alien again"], 5))
    assert _ids(index)[0] == "newest"
    assert [m.conversation_id for m in index.find_messages("alien", 10)] == ["newest", "old"]


def test_external_edits_are_picked_up_in_list_and_search(store: ConversationStore) -> None:
    assert _found(store, "ridley") == [("old", "oldm1")]
    path = store.path_for("old")
    text = path.read_text("utf-8")
    text = text.replace("Alien notes", "Edited by hand").replace(
        "Ridley Scott, in 1979.", "Directed by Ridley Scott with Giger designs.")
    path.write_text(text, encoding="utf-8")
    # The same process (the running app) and a new one (the CLI) both see it.
    for index in (index_for(store), _fresh(store)):
        titles = {s.id: s.title for s in index.summaries()}
        assert titles["old"] == "Edited by hand"
    assert _found(store, "giger") == [("old", "oldm1")]
    assert _found(store, "in 1979") == []
    [hit] = search_conversations(store, "giger")
    assert hit.title == "Edited by hand"


def test_a_new_message_from_another_instance_is_found(store: ConversationStore) -> None:
    assert _found(store, "Solaris") == []
    other = ConversationStore(store.conversations_dir)  # another instance
    conv = other.load("mid").conversation
    conv.messages.append(Message(role="user", content="And Solaris?", id="midm2"))
    other.save(conv)
    assert _found(store, "solaris") == [("mid", "midm2")]


def test_files_removed_or_added_outside(store: ConversationStore, tmp_path: Path) -> None:
    assert _found(store, "alien") == [("old", "oldm0")]
    store.path_for("old").unlink()
    elsewhere = ConversationStore(tmp_path / "elsewhere")
    elsewhere.save(_conv("synced", "From the laptop", ["Alien: Romulus, worth it?"], 9))
    os.replace(elsewhere.path_for("synced"), store.path_for("synced"))
    assert _ids(index_for(store)) == ["synced", "new", "mid"]
    assert _found(store, "alien") == [("synced", "syncedm0")]
    assert _ids(_fresh(store)) == ["synced", "new", "mid"]


def test_the_cache_never_keeps_text_the_files_no_longer_hold(store: ConversationStore) -> None:
    search_conversations(store, "anything")  # the text is in the index now
    path = default_index_path(store.conversations_dir)

    def cached_text() -> str:
        with sqlite3.connect(path) as con:
            return " ".join(r[0] for r in con.execute("SELECT content FROM messages"))

    assert "Ridley Scott" in cached_text()
    data = store.path_for("old").read_text("utf-8").replace("Ridley Scott", "R. S.")
    store.path_for("old").write_text(data, encoding="utf-8")
    index_for(store).summaries()  # a listing alone drops the changed file's text
    assert "Ridley Scott" not in cached_text()
    store.path_for("new").unlink()
    index_for(store).summaries()
    assert "Tarkovsky" not in cached_text()


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record which conversations are read whole (through `ConversationStore.load`) from now on."""
    loads: list[str] = []
    real_load = ConversationStore.load

    def counting_load(self: ConversationStore, conv_id: str):  # type: ignore[no-untyped-def]
        loads.append(conv_id)
        return real_load(self, conv_id)

    monkeypatch.setattr(ConversationStore, "load", counting_load)
    return loads


def test_unchanged_files_are_not_read_again(store: ConversationStore,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    search_conversations(store, "warm")  # index built: headers and text
    headers: list[Path] = []
    real_header = store_format.read_header

    def counting_header(path: Path) -> bytes:
        headers.append(path)
        return real_header(path)

    monkeypatch.setattr(store_format, "read_header", counting_header)
    loads = _count_loads(monkeypatch)
    fresh_store = ConversationStore(store.conversations_dir)  # a new process
    assert [s.id for s in index_for(fresh_store).summaries()] == ["new", "mid", "old"]
    assert _found(fresh_store, "기생충") == [("mid", "midm0"), ("mid", "midm1")]
    assert headers == [] and loads == []
    conv = _conv("mid", "봉준호 이야기", ["기생충 어땠어요?", "반지하 장면이 핵심이죠."], 1)
    ConversationStore(store.conversations_dir).save(conv)
    assert _found(fresh_store, "반지하") == [("mid", "midm1")]
    assert [p.name for p in headers] == ["mid.toml"] and loads == ["mid"]


def test_a_change_in_the_side_directory_is_a_change(store: ConversationStore,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    search_conversations(store, "warm")
    loads = _count_loads(monkeypatch)
    side = store.conversations_dir / "old.d"
    side.mkdir(exist_ok=True)
    (side / "segment").write_text("x")  # a new side file: the directory's stat changes
    search_conversations(store, "warm")
    assert loads == ["old"]


def test_damaged_files_are_reported_and_not_indexed(store: ConversationStore) -> None:
    store.path_for("old").write_text('title = "unterminated\n', encoding="utf-8")
    index = index_for(store)
    assert _ids(index) == ["new", "mid"]
    [problem] = index.take_problems()
    assert "old.toml" in problem.message
    assert not store.path_for("old").exists()  # moved aside, never deleted
    assert list(store.conversations_dir.glob("old.toml.corrupt*"))
    assert _found(store, "ridley") == []


def test_a_file_too_large_to_load_is_listed_but_reported_once_by_search(
        store: ConversationStore, monkeypatch: pytest.MonkeyPatch) -> None:
    from moviechat_tui.storage import store as store_module

    largest = max(p.stat().st_size for p in store.conversations_dir.glob("*.toml"))
    monkeypatch.setattr(store_module, "MAX_FILE_BYTES", largest + 100)
    big = _conv("big", "Huge", ["Alien " * 2000], 3)
    data, _ = store_format.serialise(big)
    store.path_for("big").write_bytes(data)  # written by something else, beyond the limit
    index = index_for(store)
    assert _ids(index)[0] == "big"  # its header is still fine
    assert _found(store, "alien") == [("old", "oldm0")]
    [problem] = index.take_problems()
    assert "big.toml" in problem.message
    assert _found(store, "alien") == [("old", "oldm0")]
    assert index.take_problems() == []  # not re-read on every search


def test_korean_substrings_of_every_length(store: ConversationStore) -> None:
    assert _found(store, "기생충") == [("mid", "midm0"), ("mid", "midm1")]
    assert _found(store, "계단") == [("mid", "midm1")]  # two letters
    assert _found(store, "충") == [("mid", "midm0"), ("mid", "midm1")]  # one letter
    assert _found(store, "롱테") == [("new", "newm1")]
    assert _found(store, "기생충은 계단") == [("mid", "midm1")]
    [hit] = search_conversations(store, "롱테이크")
    assert hit.snippet[hit.match_start:hit.match_end] == "롱테이크"


def test_odd_queries(store: ConversationStore) -> None:
    assert search_conversations(store, "   ") == []
    assert search_conversations(store, "\ud800") == []  # a lone surrogate from a raw argv
    assert _found(store, "'s") == [("new", "newm1")]
    assert _found(store, "%") == [] and _found(store, "_") == []  # no LIKE wildcards
    assert _found(store, "ALIEN?") == [("old", "oldm0")]


def test_two_instances_share_the_file(store: ConversationStore) -> None:
    first, second = _fresh(store), _fresh(store)
    results: list[list[str]] = []

    def run(index: LibraryIndex) -> None:
        results.append([m.message_id for m in index.find_messages("long take", 10)])

    threads = [threading.Thread(target=run, args=(i,)) for i in (first, second, first)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [["newm0"]] * 3
    assert first.take_problems() == [] and second.take_problems() == []


_WORDS = ["Alien", "alien", "ALIEN", "Straße", "STRASSE", "strasse", "ΣΊΣΥΦΟΣ", "σίσυφος",
          "Éclair", "éclair", "İstanbul", "ﬁlm", "film", "기생충", "봉준호", "롱테이크", "영화",
          "계단", "🎬", "long take", "Tarkovsky", "a", "the", "x\ty", "line\nbreak", "'", "%"]


def _random_corpus(store: ConversationStore, rng: random.Random) -> None:
    for c in range(40):
        conv = Conversation(id=f"r{c:02d}", title=" ".join(rng.sample(_WORDS, 2)),
                            persona="expert", model="m", created=BASE,
                            updated=BASE + timedelta(hours=rng.randint(0, 12)))  # ties too
        for i in range(rng.randint(0, 12)):
            role = rng.choice(["user", "assistant", "assistant", "notice"])
            text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 30)))
            conv.messages.append(Message(role=role, content=text, id=f"r{c:02d}m{i}",  # type: ignore[arg-type]
                                         created=BASE + timedelta(minutes=i),
                                         hidden=rng.random() < 0.15))
        store.save(conv)


def test_results_equal_a_plain_scan_of_the_files(tmp_path: Path) -> None:
    rng = random.Random(20251125)
    store = ConversationStore(tmp_path / "conversations")
    _random_corpus(store, rng)
    queries = [*_WORDS, *(w.upper() for w in _WORDS), "ss", "σ", "i̇", "n ", " ", "ta", "ξ"]
    for _ in range(60):  # random substrings of random messages
        conv = store.load(f"r{rng.randrange(40):02d}").conversation
        if conv.messages:
            text = rng.choice(conv.messages).content
            start = rng.randrange(len(text))
            queries.append(text[start:start + rng.randint(1, 6)])
    for query in queries:
        for limit in (500, 7):
            expected = _plain_scan(store, query, limit)
            assert search_conversations(store, query, limit) == expected, (query, limit)
    assert _fresh(store).summaries() == store.list_summaries()


def test_importing_the_library_costs_no_sqlite_and_no_textual() -> None:
    code = ("import sys, moviechat_tui.library.index, moviechat_tui.session.library_actions; "
            "print('sqlite3' in sys.modules, 'textual' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_first_search_stops_reading_once_the_first_results_are_certain(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_index, "_TEXT_BATCH", 4)
    store = ConversationStore(tmp_path / "conversations")
    _random_corpus(store, random.Random(4))
    loads = _count_loads(monkeypatch)
    for query, limit in [("a", 3), ("alien", 5), ("기생충", 2), ("nowhere", 5), ("ss", 500)]:
        index = LibraryIndex(store, tmp_path / f"index-{query}.sqlite3")  # empty each time
        expected = _plain_scan(store, query, limit)
        loads.clear()  # count the search's reads only
        assert search_conversations(store, query, limit, index=index) == expected, query
        if query == "a":
            assert len(loads) < 40  # a common word: answered before reading everything
            # The rest is read by later searches, which still give the full answer.
            assert search_conversations(store, "a", index=index) == _plain_scan(store, "a")
        if query == "nowhere":
            assert len(loads) == 40


def test_stopping_early_never_skips_a_changed_conversation_that_sorts_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library_index, "_TEXT_BATCH", 4)
    store = ConversationStore(tmp_path / "conversations")
    for i in range(12):
        store.save(_conv(f"c{i:02d}", f"Chat {i}", [f"match {i}"], hours=i))
    search_conversations(store, "warm")  # all text indexed
    for i in range(4, 12):  # the eight newest change: their text must be read again
        os.utime(store.path_for(f"c{i:02d}"), ns=(1, 1_000_000_000 + i))
    found = [h.conversation_id for h in search_conversations(store, "match", 6)]
    assert found == ["c11", "c10", "c09", "c08", "c07", "c06"]


def test_searches_typed_during_a_first_search_do_not_read_the_files_again(
        store: ConversationStore, monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real_load = ConversationStore.load
    started = threading.Event()

    def slow_load(self: ConversationStore, conv_id: str):  # type: ignore[no-untyped-def]
        loads.append(conv_id)
        started.set()
        threading.Event().wait(0.05)  # a big library: the first search takes a while
        return real_load(self, conv_id)

    monkeypatch.setattr(ConversationStore, "load", slow_load)
    index = index_for(store)
    first = threading.Thread(target=index.find_messages, args=("a", 10))
    first.start()
    started.wait(5)
    assert [m.message_id for m in index.find_messages("기생충", 10)] == ["midm0", "midm1"]
    first.join()
    assert sorted(loads) == ["mid", "new", "old"]


def test_a_search_that_must_read_many_conversations_says_so_once(
        store: ConversationStore, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from moviechat_tui.cli import main

    monkeypatch.setattr(library_index, "BACKLOG_NOTICE", 3)
    data = str(store.conversations_dir.parent)
    args = ["--lang", "en", "--data-dir", data, "--config", f"{data}/none.toml",
            "search", "기생충"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "Reading 3 conversations into the search index" in first.err
    assert first.out.count("mid") == 2
    assert main(args) == 0
    assert capsys.readouterr().err == ""  # the index is filled: nothing to say
    counts: list[int] = []
    store.save(_conv("another", "One more", ["기생충 again"], 7))
    assert _found(store, "기생충")[0] == ("another", "anotherm0")
    search_conversations(store, "x", on_backlog=counts.append)
    assert counts == []  # one new conversation is not a backlog


def test_nothing_saved_yet_creates_nothing(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "typo" / "conversations")
    assert index_for(store).summaries() == []
    assert search_conversations(store, "alien") == []
    assert not (tmp_path / "typo").exists()


def test_a_side_file_edited_in_place_is_a_change(store: ConversationStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    side = store.conversations_dir / "old.d"
    side.mkdir(exist_ok=True)
    segment = side / "segment"
    segment.write_text("first")
    search_conversations(store, "warm")
    loads = _count_loads(monkeypatch)
    search_conversations(store, "warm")
    assert loads == []
    with segment.open("a") as handle:  # not a rename: the directory's own stat stays
        handle.write(" and more")
    search_conversations(store, "warm")
    assert loads == ["old"]
