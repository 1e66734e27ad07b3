"""The conversation library: search-and-jump, rename, delete-confirm-restore, branch, export,
long conversations, and the scripting CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.coordinate import Coordinate
from textual.pilot import Pilot

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.tui.screens.chat import INITIAL_WINDOW, LOAD_BATCH, MAX_MOUNTED_MESSAGES
from moviechat_tui.tui.widgets.loader import Loader
from moviechat_tui.tui.widgets.message_view import MessageView
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    saved_conversations,
    screen_lines,
    send,
    until,
    wait_idle,
)
from tests.support.loopback_server import Reply


def _seed(store_dir: Path, n_conversations: int = 3, n_messages: int = 4) -> None:
    store = ConversationStore(store_dir)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for c in range(n_conversations):
        conv = Conversation(id=f"c{c}", title=f"Chat number {c}", persona="expert",
                            model="m", created=base, updated=base + timedelta(hours=c))
        for i in range(n_messages):
            role = "user" if i % 2 == 0 else "assistant"
            text = f"message {i} of chat {c}"
            if c == 1 and i == 1:
                text = "Bong Joon-ho's 기생충 won the Palme d'Or"
            conv.messages.append(Message(role=role, content=text, id=f"c{c}m{i}",
                                         created=base + timedelta(minutes=i)))
        store.save(conv)


async def _search_every_message(pilot: Pilot[Any], query: str, *, wait: bool = True) -> None:
    """ctrl+o, then ctrl+f and the query, as a user searches; `wait` for the results."""
    await pilot.press("ctrl+o")
    await pilot.pause(0.3)
    await pilot.press("ctrl+f", *query)
    if wait:
        await pilot.pause(0.6)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def test_full_text_search_jumps_to_the_message(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await _search_every_message(pilot, "기생충")
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 1  # type: ignore[attr-defined]
        snippet = table.get_row_at(0)[0]  # type: ignore[attr-defined]
        assert "기생충" in snippet.plain
        assert snippet.plain[slice(*snippet.spans[0][:2])] == "기생충"
        await pilot.press("enter")
        await wait_idle(pilot)
        assert app.controller.conversation.id == "c1"
        # Scrolled to and highlighted; the focus stays in the prompt, so what is typed next
        # is a question, not a message key (issue 16, A1).
        [found] = app.chat_screen.query(".message.-found")
        assert isinstance(found, MessageView) and found.message.id == "c1m1"
        assert app.focused is app.chat_screen.prompt


async def test_a_first_search_over_a_big_library_says_why_it_takes_a_while(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from moviechat_tui.library import index as library_index

    monkeypatch.setattr(library_index, "BACKLOG_NOTICE", 3)
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await _search_every_message(pilot, "palme")
        toasts = [str(n.message) for n in app._notifications]
        assert any("Reading 3 conversations into the search index" in t for t in toasts)
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 1  # type: ignore[attr-defined]


async def test_rename_delete_and_restore_from_the_browser(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await pilot.press("ctrl+r")  # newest first: "Chat number 2"
        await pilot.pause()
        await pilot.press(*"Renamed chat", "enter")  # the old title is selected: typing replaces it
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        titles = {c["id"]: c["title"] for c in saved_conversations(settings)}
        assert titles["c2"] == "Renamed chat"
        await pilot.press("ctrl+d")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        assert "c2" not in {c["id"] for c in saved_conversations(settings)}
        assert len(list((settings.paths.data_dir / "trash").glob("c2.*.toml"))) == 1
        await pilot.press("ctrl+t")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 1  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
    assert "c2" in {c["id"] for c in saved_conversations(settings)}
    assert not list((settings.paths.data_dir / "trash").glob("c2.*.toml"))


async def test_branch_from_a_message_and_export(tmp_path: Path, loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        loopback.push(Reply(text="Answer one."), Reply(text="Answer two."))
        await send(pilot, "Question one")
        await wait_idle(pilot)
        await send(pilot, "Question two")
        await wait_idle(pilot)
        original = app.controller.conversation.id
        await pilot.press("up", "up", "up")  # focus "Answer one."
        assert app.focused.message.content == "Answer one."  # type: ignore[union-attr]
        await pilot.press("b")
        await wait_idle(pilot)
        assert app.controller.conversation.id != original
        assert [t.splitlines()[-1] for _, t in messages_on_screen(app)] == [
            "Question one", "Answer one."]
        await pilot.press("ctrl+s")
        await pilot.pause(0.5)
    exported = list((settings.paths.data_dir / "exports").glob("*.md"))
    assert len(exported) == 1
    text = exported[0].read_text("utf-8")
    assert "## You" in text and "Answer one." in text and "Answer two." not in text
    assert "Movie expert (gpt-4o-mini)" in text
    assert len(saved_conversations(settings)) == 2


async def test_long_conversation_mounts_a_bounded_window(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir, n_conversations=1, n_messages=1_000)
    app = make_app(settings, open_id="c0")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        views = app.chat_screen.query(MessageView)
        # The newest first, a screenful: a long chat paints as fast as a short one.
        opened = len(views)
        assert 8 <= opened <= INITIAL_WINDOW
        assert views.last().message.id == "c0m999"
        app.chat_screen.query_one(Loader).focus()
        await pilot.press("enter")
        await pilot.pause()
        first = 1_000 - opened - LOAD_BATCH
        assert len(app.chat_screen.query(MessageView)) == min(opened + LOAD_BATCH,
                                                              MAX_MOUNTED_MESSAGES)
        assert app.chat_screen.query(MessageView).first().message.id == f"c0m{first}"
        for _ in range(5):  # keep loading earlier: the pane stays bounded
            app.chat_screen.query(Loader).first().focus()
            await pilot.press("enter")
            await pilot.pause()
        views = app.chat_screen.query(MessageView)
        assert len(views) == MAX_MOUNTED_MESSAGES
        assert views.first().message.id == f"c0m{first - 5 * LOAD_BATCH}"
        assert len(app.chat_screen.query(Loader)) == 2  # earlier and later


def _cli(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviechat_tui", "--data-dir", str(data),
                           "--config", str(data / "none.toml"), *args],
                          capture_output=True, text=True, timeout=60)


def test_cli_list_search_export_json(tmp_path: Path) -> None:
    _seed(tmp_path / "conversations")
    listed = json.loads(_cli("list", "--json", data=tmp_path).stdout)
    assert [c["id"] for c in listed] == ["c2", "c1", "c0"]
    assert set(listed[0]) == {"id", "title", "persona", "model", "created", "updated",
                              "message_count"}
    found = json.loads(_cli("search", "palme", "--json", data=tmp_path).stdout)
    assert [(h["conversation_id"], h["message_id"]) for h in found] == [("c1", "c1m1")]
    start, end = found[0]["match"]
    assert found[0]["snippet"][start:end].lower() == "palme"
    assert _cli("search", "nowhere-to-be-found", data=tmp_path).returncode == 1
    out = tmp_path / "out.md"
    done = _cli("export", "c1", "-o", str(out), data=tmp_path)
    assert done.returncode == 0 and "기생충" in out.read_text("utf-8")
    assert out.stat().st_mode & 0o777 == 0o600  # private, as the TUI's exports are
    assert _cli("export", "missing", data=tmp_path).returncode == 1


def test_cli_list_and_search_follow_files_changed_between_runs(tmp_path: Path) -> None:
    _seed(tmp_path / "conversations")
    assert [h["message_id"] for h in json.loads(
        _cli("search", "기생충", "--json", data=tmp_path).stdout)] == ["c1m1"]
    assert (tmp_path / "cache" / "library.sqlite3").is_file()  # the index each run reuses
    path = tmp_path / "conversations" / "c1.toml"
    path.write_text(path.read_text("utf-8").replace("Chat number 1", "Renamed by hand")
                    .replace("기생충 won", "기생충 (Parasite) won"), encoding="utf-8")
    (tmp_path / "conversations" / "c2.toml").unlink()
    listed = json.loads(_cli("list", "--json", data=tmp_path).stdout)
    assert [(c["id"], c["title"]) for c in listed] == [("c1", "Renamed by hand"),
                                                      ("c0", "Chat number 0")]
    found = json.loads(_cli("search", "(parasite)", "--json", data=tmp_path).stdout)
    assert [(h["conversation_id"], h["title"]) for h in found] == [("c1", "Renamed by hand")]
    (tmp_path / "cache" / "library.sqlite3").write_bytes(b"not a database")
    rebuilt = _cli("list", "--json", data=tmp_path)
    assert len(json.loads(rebuilt.stdout)) == 2
    assert rebuilt.stderr == ""  # a damaged cache is rebuilt without a word
    assert _cli("search", "of chat 0", data=tmp_path).returncode == 0


def test_two_processes_fill_the_index_at_once(tmp_path: Path) -> None:
    _seed(tmp_path / "conversations", n_conversations=30)
    command = [sys.executable, "-m", "moviechat_tui", "--data-dir", str(tmp_path),
               "--config", str(tmp_path / "none.toml"), "search", "of chat", "--json"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=60) for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert [err for _, err in outputs] == ["", ""]  # no "database is locked", no fallback
    first, second = (json.loads(out) for out, _ in outputs)
    assert first == second and len(first) == 30 * 4 - 1  # c1m1 is the Korean one


async def test_generated_title_when_switched_on(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="Kubrick's 2001 is a landmark."),
                  Reply(text='"Kubrick\'s Space Odyssey."'))
    settings = make_settings(tmp_path, loopback.base_url, config="generate_titles = true\n")
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "what do you think about 2001 a space odyssey and its ending")
        await wait_idle(pilot)
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert app.controller.conversation.title == "Kubrick's Space Odyssey"
        header = str(app.chat_screen.query_one("#header-title").content)  # type: ignore[attr-defined]
        assert header == "Kubrick's Space Odyssey"
    assert loopback.requests[-1]["messages"][0]["content"].startswith("Write a title")
    [saved] = saved_conversations(settings)
    assert saved["title"] == "Kubrick's Space Odyssey"


async def test_no_title_request_by_default(tmp_path: Path, loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "A question about Alien")
        await wait_idle(pilot)
        await pilot.pause(0.3)
    assert len(loopback.requests) == 1
    assert saved_conversations(settings)[0]["title"] == "A question about Alien"


async def test_files_changed_outside_the_app_show_up_in_the_list(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir, n_conversations=2)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 2  # type: ignore[attr-defined]
        await pilot.press("escape")
        # Another instance (or a sync tool) adds one and retitles another.
        _seed(tmp_path / "elsewhere", n_conversations=3)
        (tmp_path / "elsewhere" / "c2.toml").rename(settings.paths.conversations_dir / "c2.toml")
        path = settings.paths.conversations_dir / "c0.toml"
        path.write_text(path.read_text("utf-8").replace("Chat number 0", "Edited by hand"),
                        encoding="utf-8")
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        table = app.screen.query_one("#conversation-table")
        titles = [table.get_row_at(i)[0].plain for i in range(table.row_count)]  # type: ignore[attr-defined]
        assert titles == ["Chat number 2", "Chat number 1", "Edited by hand"]


async def test_a_slow_search_says_it_is_searching_not_that_nothing_matched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from textual.widgets import Static

    from moviechat_tui.session.library_actions import LibraryController

    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir)
    release = asyncio.Event()
    real_search = LibraryController.search

    async def slow_search(self: LibraryController, query: str) -> list:  # type: ignore[type-arg]
        await release.wait()  # a first search reading every conversation
        return await real_search(self, query)

    monkeypatch.setattr(LibraryController, "search", slow_search)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await _search_every_message(pilot, "palme", wait=False)
        hint = app.screen.query_one("#conversations-empty", Static)
        await until(pilot, lambda: hint.display and "Searching" in str(hint.render()),
                    what="the searching hint")
        assert "No message contains" not in str(hint.render())
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.query_one("#conversation-table").row_count == 1  # type: ignore[attr-defined]
        assert not hint.display


# ------------------------------------------------------------------ 80 columns

PARASITE = "Three films like Parasite by Bong Joon-ho please"


def _seed_branch_and_reply(store_dir: Path) -> None:
    """A conversation, its branch, and a Markdown reply (the loopback server's) in both."""
    from tests.support.loopback_server import FILM_REPLY

    store = ConversationStore(store_dir)
    base = datetime(2025, 1, 1, tzinfo=UTC)
    for n, title in enumerate([PARASITE, f"{PARASITE} (branch)"]):
        conv = Conversation(id=f"p{n}", title=title, persona="expert", model="gpt-4o-mini",
                            created=base, updated=base + timedelta(hours=n))
        conv.messages = [
            Message(role="user", content=PARASITE, id=f"p{n}u", created=base),
            Message(role="assistant", content=FILM_REPLY, id=f"p{n}a", created=base,
                    persona="expert", model="gpt-4o-mini", finish_reason="stop"),
        ]
        store.save(conv)


def _cells(app: Any, column: str) -> list[str]:
    table = app.screen.query_one("#conversation-table")
    return [str(table.get_cell_at(Coordinate(row, table.get_column_index(column))))
            for row in range(table.row_count)]


def _widget_text(app: Any, selector: str) -> str:
    """What a widget shows on screen, its rows joined with single spaces."""
    region = app.screen.query_one(selector).region
    rows = screen_lines(app)[region.y:region.bottom]
    return " ".join(" ".join(row[region.x:region.right] for row in rows).split())


def _footer_labels(app: Any) -> list[str]:
    from textual.widgets._footer import FooterKey

    return [key.description for key in app.screen.query(FooterKey)]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_titles_get_the_room_and_a_branch_differs_from_its_original(
        tmp_path: Path, size: tuple[int, int]) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed_branch_and_reply(settings.paths.conversations_dir)
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        branch, original = _cells(app, "title")
        assert original == PARASITE  # whole, at 80 columns too
        assert branch != original and branch.endswith("(branch)")
        table = app.screen.query_one("#conversation-table")
        on_screen = screen_lines(app)[table.region.y:table.region.bottom]
        assert any(PARASITE in row and "(branch)" not in row for row in on_screen), on_screen
        assert any(row.rstrip().endswith("(branch)") or "(branch)  " in row
                   for row in on_screen), on_screen
        if size[0] >= 120:
            assert branch == f"{PARASITE} (branch)"
            assert "persona" in [str(k.value) for k in
                                 app.screen.query_one("#conversation-table").columns]
        # The highlighted row in full, under the table.
        assert (f"{PARASITE} (branch) · Movie expert · gpt-4o-mini · 2 messages"
                in _widget_text(app, "#conversation-detail"))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_search_shows_the_match_in_plain_text(tmp_path: Path,
                                                    size: tuple[int, int]) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed_branch_and_reply(settings.paths.conversations_dir)
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        await _search_every_message(pilot, "glory")
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 2  # one row per matching message
        for row in range(table.row_count):
            snippet = table.get_cell_at(Coordinate(row, 0))
            assert "Paths of Glory" in snippet.plain, snippet.plain  # the match, in view
            assert "*" not in snippet.plain and "|" not in snippet.plain
            assert snippet.plain[slice(*snippet.spans[0][:2])].casefold() == "glory"
        branch, original = _cells(app, "title")
        assert branch.endswith("(branch)") and not original.endswith("(branch)")
        rows = [line for line in screen_lines(app) if "Paths of Glory" in line]
        assert len(rows) >= 2, "the match is not on screen"


async def test_an_empty_trash_says_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = " ".join(" ".join(screen_lines(app)).split())
        assert "The trash is empty" in shown
        assert "Deleted" not in shown  # no empty table's headings instead


async def test_the_footer_lists_the_keys_of_the_view(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        titles = _footer_labels(app)
        assert {"Open", "Search text", "Trash", "Rename", "Delete", "Close"} <= set(titles)
        await pilot.press("ctrl+f", *"palme")
        await pilot.pause(0.6)
        await app.workers.wait_for_complete()
        await pilot.pause()
        search = _footer_labels(app)
        assert "Rename" not in search and "Delete" not in search
        assert "Titles" in search and "Search text" not in search and "Open" in search
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        trash = _footer_labels(app)  # an empty trash: nothing to restore, rename or delete
        assert not {"Rename", "Delete", "Open", "Restore"} & set(trash)
        assert "Titles" in trash and "Search text" in trash
        # ctrl+d in the trash is the filter box's own key again (delete right), not Delete.
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("ctrl+d", "y")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.press("ctrl+t")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "Restore" in _footer_labels(app)
