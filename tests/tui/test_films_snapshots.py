"""Snapshots of the film screens at 80x24 (the smallest size the app is made for): the
search with results, a film card, the line of films under a reply with its marks, and My
films (the diary, a row highlighted)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.films.importer import import_catalogue
from moviechat_tui.films.locations import FilmLocations
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.tui.screens.film_card import FilmCardScreen
from moviechat_tui.tui.screens.film_search import FilmSearchScreen
from moviechat_tui.tui.widgets.film_marks import FilmMarks
from tests.support.apphelpers import make_app, make_settings, until
from tests.support.imdb_fixtures import write_datasets
from tests.tui.test_films_ui import MADE_UP


@pytest.fixture(autouse=True)
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def _app(tmp_path: Path, *, conversation: bool = False) -> Any:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    folder = write_datasets(tmp_path / "imdb")
    import_catalogue(folder, FilmLocations.in_folder(settings.paths.films_dir).catalogue)
    if conversation:
        at = datetime(2025, 3, 14, 20, 0, tzinfo=UTC)
        conv = Conversation(id="k1", title="Korean thrillers", created=at, updated=at,
                            persona="expert", model="gpt-4o-mini")
        conv.messages = [
            Message(role="user", content="Three Korean thrillers?", created=at, id="m1"),
            Message(role="assistant", content=MADE_UP, created=at, id="m2",
                    persona="expert", model="gpt-4o-mini", finish_reason="stop")]
        ConversationStore(settings.paths.conversations_dir).save(conv)
        return make_app(settings, continue_latest=True)
    return make_app(settings)


async def _steady(pilot: Any) -> None:
    for screen in pilot.app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            widget.cursor_blink = False
    await pilot.pause()
    await pilot.pause()


def test_film_search_80x24(tmp_path: Path, snap_compare: Any) -> None:
    async def search(pilot: Any) -> None:
        app = pilot.app
        await pilot.pause()
        await pilot.press("ctrl+f")
        await until(pilot, lambda: isinstance(app.screen, FilmSearchScreen))
        await pilot.press(*"parasite")
        await until(pilot, lambda: app.screen.shown_query == "parasite")
        await _steady(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=search)


def test_film_card_80x24(tmp_path: Path, snap_compare: Any) -> None:
    async def card(pilot: Any) -> None:
        app = pilot.app
        await pilot.pause()
        app.open_film_card("tt0000003")
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen)
                    and app.screen.details is not None)
        await app.workers.wait_for_complete()  # the line about your lists too
        await _steady(pilot)

    assert snap_compare(_app(tmp_path), terminal_size=(80, 24), run_before=card)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_marks_under_a_reply(tmp_path: Path, snap_compare: Any,
                             size: tuple[int, int]) -> None:
    async def marked(pilot: Any) -> None:
        app = pilot.app
        await until(pilot, lambda: bool(app.chat_screen.query(FilmMarks)))
        await _steady(pilot)

    assert snap_compare(_app(tmp_path, conversation=True), terminal_size=size,
                        run_before=marked)


def test_my_films_80x24(tmp_path: Path, snap_compare: Any) -> None:
    from datetime import date

    from moviechat_tui.films.my_store import MyFilmsStore
    from moviechat_tui.tui.screens.my_films import MyFilmsScreen

    app = _app(tmp_path)
    store = MyFilmsStore(app.settings.paths.my_films_dir)
    store.add_to_watchlist("The Godfather", 1972, "tt0000018", on=date(2024, 4, 1))
    store.log_watched("Parasite", 2019, "tt0000001", watched=date(2024, 3, 9), rating=4.5,
                      tags=["cinema", "with Min-ji"])
    store.log_watched("Parasite", 2019, "tt0000001", watched=date(2025, 1, 2), rating=5)
    store.log_watched("Love, Rosie", 2014, None, watched=date(2023, 11, 4))
    store.rate("Spirited Away", 2001, "tt0000007", 4, on=date(2020, 1, 1))

    async def diary(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(pilot.app.screen, MyFilmsScreen)
                    and pilot.app.screen.complete)
        await pilot.press("tab", "down", "down")
        await _steady(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=diary)
