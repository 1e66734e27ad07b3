"""My films in the app, driven with Pilot as a user would: the My films screen (F10 and the
palette; tabs, filter as you type, sort, remove with undo, the card, asking in the chat),
the keys that put a film in your lists on a film card and on a reply, and the Letterboxd
import from the app — against the fixture catalogue, a hand-written Letterboxd export and
the loopback server. What is asserted is what the screen shows and what the list files hold.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from textual.widgets import Input

from moviechat_tui.films.my_store import MyFilmsStore
from moviechat_tui.settings.config import Settings
from moviechat_tui.tui.app import MovieChatApp
from moviechat_tui.tui.screens.film_card import FilmCardScreen
from moviechat_tui.tui.screens.film_search import FilmSearchScreen
from moviechat_tui.tui.screens.letterboxd_import import LetterboxdImportScreen
from moviechat_tui.tui.screens.message_films import MessageFilmsScreen
from moviechat_tui.tui.screens.my_films import MyFilmsScreen
from moviechat_tui.tui.screens.rating_dialog import RatingDialog
from moviechat_tui.tui.screens.watched_on_dialog import WatchedOnDialog
from moviechat_tui.tui.widgets.film_marks import FilmMarks
from moviechat_tui.tui.widgets.message_view import AssistantMessageView
from tests.support.apphelpers import (
    make_app,
    make_settings,
    screen_lines,
    send,
    until,
    wait_idle,
)
from tests.support.imdb_fixtures import install_catalogue
from tests.support.letterboxd_fixtures import write_export
from tests.support.loopback_server import Reply, closed_port_url


def _settings(tmp_path: Path, base_url: str | None = None, *, config: str = "") -> Settings:
    settings = make_settings(tmp_path, base_url or closed_port_url(), config=config)
    install_catalogue(settings.paths.data_dir)
    return settings


def _store(settings: Settings) -> MyFilmsStore:
    return MyFilmsStore(settings.paths.my_films_dir)


def _seed(settings: Settings) -> MyFilmsStore:
    """Three films on the watchlist, two in the diary, two rated."""
    store = _store(settings)
    store.add_to_watchlist("The Godfather", 1972, "tt0000018", on=date(2024, 4, 1))
    store.add_to_watchlist("Blade Runner 2049", 2017, "tt0000016", on=date(2024, 4, 3))
    store.add_to_watchlist("Night Harbor", 2015, None, on=date(2024, 4, 2))
    store.log_watched("Parasite", 2019, "tt0000001", watched=date(2024, 3, 9), rating=5)
    store.log_watched("Amélie", 2001, "tt0000006", watched=date(2022, 1, 15))
    store.rate("Spirited Away", 2001, "tt0000007", 4, on=date(2020, 1, 1))
    return store


def _text(app: MovieChatApp) -> str:
    return "\n".join(screen_lines(app))


def _toasts(app: MovieChatApp) -> list[str]:
    return [notification.message for notification in app._notifications]


def _rows(screen: MyFilmsScreen) -> list[str]:
    return [entry.label for entry in screen.shown]


async def _type(pilot: Any, text: str) -> None:
    for key in text:
        await pilot.press("space" if key == " " else key)


async def _open_my_films(pilot: Any) -> MyFilmsScreen:
    app = pilot.app
    await pilot.press("f10")
    await until(pilot, lambda: isinstance(app.screen, MyFilmsScreen)
                and app.screen.complete, what="My films, read")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, MyFilmsScreen)
    return screen


async def test_f10_opens_my_films_with_a_tab_per_list(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _seed(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_films(pilot)
        text = _text(app)
        assert "Watchlist (3)" in text and "Diary (2)" in text and "Ratings (2)" in text
        # Newest first: the day each was added, the title and year.
        assert _rows(screen) == ["Blade Runner 2049 (2017)", "Night Harbor (2015)",
                                 "The Godfather (1972)"]
        assert any("2024-04-03  Blade Runner 2049 (2017)" in row for row in screen_lines(app))
        assert "3 films · by date, newest first" in text
        await pilot.press("tab")
        await pilot.pause()
        assert screen.current == "diary"
        text = _text(app)
        assert "2024-03-09  ★★★★★  Parasite (2019)" in text
        assert "no date" not in text
        await pilot.press("tab")
        await pilot.pause()
        assert "★★★★   Spirited Away (2001)" in _text(app)
        await pilot.press("shift+tab", "shift+tab")
        await pilot.pause()
        assert screen.current == "watchlist"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.chat_screen


async def test_my_films_from_the_palette_and_in_f1(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await _type(pilot, "My films")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, MyFilmsScreen), what="My films")
        await until(pilot, lambda: "Your watchlist is empty" in _text(app), what="empty")
        # An empty list says what to do.
        assert "import your Letterboxd export: press i" in _text(app).replace("\n", " ") \
            or "press i" in _text(app)
        await pilot.press("escape")
        await pilot.press("f1")
        await pilot.pause()
        text = _text(app)
        assert "F10" in text and "My films: your watchlist, diary and ratings" in text


async def test_typing_filters_and_s_sorts(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _seed(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_films(pilot)
        screen.entry_list.focus()
        await pilot.pause()
        await _type(pilot, "god")  # typed in the list: it goes to the filter
        await pilot.pause()
        assert screen.filter_input.value == "god"
        assert _rows(screen) == ["The Godfather (1972)"]
        assert "1 of 3" in _text(app)
        for _key in range(3):
            await pilot.press("backspace")
        await pilot.pause()
        assert len(_rows(screen)) == 3
        await pilot.press("down")  # from the filter into the list
        await pilot.pause()
        assert screen.entry_list.has_focus
        await pilot.press("s")
        await pilot.pause()
        assert _rows(screen) == ["Blade Runner 2049 (2017)", "Night Harbor (2015)",
                                 "The Godfather (1972)"]
        assert "by title" in _text(app)
        await pilot.press("s")
        await pilot.pause()
        assert _rows(screen) == ["The Godfather (1972)", "Night Harbor (2015)",
                                 "Blade Runner 2049 (2017)"]
        assert "by year, oldest first" in _text(app)


async def test_x_removes_and_ctrl_z_puts_it_back(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = _seed(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_films(pilot)
        screen.entry_list.focus()
        await pilot.pause()
        await pilot.press("x")
        await until(pilot, lambda: len(_rows(screen)) == 2, what="removed")
        assert "Blade Runner 2049" not in _text(app)
        assert sorted(e.title for e in store.load_list("watchlist")) == ["Night Harbor",
                                                                          "The Godfather"]
        assert any("Removed Blade Runner 2049 (2017) from your watchlist" in n
                   for n in _toasts(app))
        await pilot.press("ctrl+z")
        await until(pilot, lambda: len(_rows(screen)) == 3, what="put back")
        assert "Blade Runner 2049 (2017)" in _text(app)
        assert len(store.load_list("watchlist")) == 3


async def test_enter_opens_the_card_and_a_asks_about_the_film(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _seed(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_films(pilot)
        await pilot.press("down", "enter")  # the filter → the list → the card
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen)
                    and app.screen.details is not None, what="the card")
        assert "Blade Runner 2049 (2017)" in _text(app)
        await until(pilot, lambda: "On your watchlist" in _text(app), what="its state")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("down")  # Night Harbor: not in the catalogue → the search
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FilmSearchScreen), what="search")
        assert app.screen.query_one(Input).value == "Night Harbor"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("a")
        await until(pilot, lambda: app.screen is app.chat_screen, what="back to the chat")
        assert app.chat_screen.prompt.text == "About Night Harbor (2015): "


async def test_keys_on_the_card_put_the_film_in_your_lists(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    store = _store(settings)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        app.open_film_card("tt0000003")
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen)
                    and app.screen.details is not None, what="the card")
        await until(pilot, lambda: "Not in your lists yet" in _text(app), what="state")
        await pilot.press("w")
        await until(pilot, lambda: "On your watchlist" in _text(app), what="watchlist")
        assert [e.film_id for e in store.load_list("watchlist")] == ["tt0000003"]
        await pilot.press("l")
        await until(pilot, lambda: "Watched on today" in _text(app), what="watched")
        assert "On your watchlist" not in _text(app)  # watching it took it off
        assert [e.watched for e in store.load_list("diary")] == [date.today()]
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RatingDialog), what="rating")
        await pilot.press("4", "full_stop", "enter")
        await until(pilot, lambda: "Rated ★★★★½ (4.5)" in _text(app), what="rated")
        assert [e.rating for e in store.load_list("ratings")] == [4.5]
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, WatchedOnDialog), what="day")
        assert app.screen.query_one(Input).value == date.today().isoformat()
        await _type(pilot, "2021-08-08")  # today's date is selected: typing replaces it
        await pilot.press("enter")
        await until(pilot, lambda: "Watched 2 times" in _text(app), what="second viewing")
        assert date(2021, 8, 8) in {e.watched for e in store.load_list("diary")}


async def test_keys_on_a_reply_act_on_its_film_or_ask_which(
        tmp_path: Path, loopback: Any) -> None:
    loopback.push(Reply(text="*Memories of Murder* (2003) is the one to see."),
                  Reply(text="Try *Coco* (2017)... no: *The Godfather* (1972) or "
                             "*Spirited Away* (2001)."))
    settings = _settings(tmp_path, loopback.base_url)
    store = _store(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "A Korean thriller?")
        await wait_idle(pilot)
        view = app.chat_screen.query(AssistantMessageView).last()
        await until(pilot, lambda: bool(view.query(FilmMarks)), what="the films line")
        view.focus()
        await pilot.pause()
        await pilot.press("w")
        await until(pilot, lambda: bool(store.load_list("watchlist")), what="added")
        assert [e.label for e in store.load_list("watchlist")] == ["Memories of Murder (2003)"]
        assert any("Added Memories of Murder (2003) to your watchlist" in n
                   for n in _toasts(app))

        await send(pilot, "Something else?")
        await wait_idle(pilot)
        view = app.chat_screen.query(AssistantMessageView).last()
        await until(pilot, lambda: bool(view.query(FilmMarks)), what="the second films line")
        view.focus()
        await pilot.pause()
        await pilot.press("l")  # several films: the list of them, to choose one
        await until(pilot, lambda: isinstance(app.screen, MessageFilmsScreen), what="list")
        await pilot.press("down", "l")
        await until(pilot, lambda: bool(store.load_list("diary")), what="logged")
        assert [e.title for e in store.load_list("diary")] == ["The Godfather"]
        await until(pilot, lambda: "The Godfather (1972): Watched on today" in _text(app),
                    what="the state under the list")


async def test_letterboxd_import_from_my_films(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    export = write_export(tmp_path / "letterboxd-someone-2026-01-21")
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_films(pilot)
        assert screen.entry_list.has_focus  # empty lists: the list's keys are live
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, LetterboxdImportScreen),
                    what="the import dialog")
        dialog = app.screen
        dialog.query_one(Input).value = f"'{export}'"  # as a terminal's drop pastes it
        await pilot.press("enter")
        await until(pilot, lambda: dialog.summary is not None, what="the summary")
        await pilot.pause()
        text = _text(app)
        assert "Read 23 rows from diary.csv" in text
        assert "Love, Rosie (2014) — not in the catalogue" in text
        assert "ratings.csv:6" in text
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen and "Diary (10)" in _text(app),
                    what="the lists imported")
        assert "Watchlist (4)" in _text(app)
        # Importing the same export again adds nothing.
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, LetterboxdImportScreen), what="again")
        again = app.screen
        again.query_one(Input).value = str(export)
        await pilot.press("enter")
        await until(pilot, lambda: again.summary is not None, what="the second summary")
        assert not any(again.summary.added.values())  # type: ignore[union-attr]


async def test_a_path_that_is_no_export_says_so_and_the_dialog_stays(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_my_films(pilot)
        await pilot.press("i")
        await until(pilot, lambda: isinstance(app.screen, LetterboxdImportScreen), what="dlg")
        dialog = app.screen
        dialog.query_one(Input).value = str(tmp_path / "nothing-here.zip")
        await pilot.press("enter")
        await until(pilot, lambda: "nothing-here.zip" in _text(app), what="the problem")
        assert app.screen is dialog and dialog.summary is None
        assert not _store(settings).load().total


def test_rows_line_up_in_korean_too() -> None:
    """The day column is cells wide, not characters: "날짜 없음" (no date) is 9 cells."""
    from rich.cells import cell_len

    from moviechat_tui.core import i18n
    from moviechat_tui.films.my_lists import make_entry
    from moviechat_tui.tui.render.my_films_rows import entry_row

    dated = make_entry("Parasite", 2019, None, date(2024, 3, 9), watched=date(2024, 3, 9),
                       rating=5)
    undated = make_entry("Coco", 2017, None, date(2024, 3, 9))
    assert i18n.set_language("ko") == "ko"
    try:
        rows = [entry_row("diary", entry, 60).plain for entry in (dated, undated)]
    finally:
        i18n.set_language("en")
    assert rows[1].startswith("날짜 없음")
    titles = ("Parasite", "Coco")
    starts = [cell_len(row[:row.index(title)]) for row, title in zip(rows, titles, strict=True)]
    assert starts[0] == starts[1]


async def test_a_filter_that_matches_nothing_and_an_empty_list_say_what_to_do(
        tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _store(settings).add_to_watchlist("The Godfather", 1972, "tt0000018")
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_my_films(pilot)
        await _type(pilot, "zzz")
        await pilot.pause()
        assert "No film in your watchlist matches “zzz”. Tab looks in the next list." \
            in _text(app)
        for _key in range(3):
            await pilot.press("backspace")
        await pilot.press("tab")  # the diary: empty
        await pilot.pause()
        assert "Your diary is empty." in _text(app)
        await pilot.press("i")  # the key the hint names works at once (not typed)
        await until(pilot, lambda: isinstance(app.screen, LetterboxdImportScreen),
                    what="the import dialog")
        assert screen.filter_input.value == ""


async def test_closing_my_films_while_the_lists_are_read_keeps_the_app_running(
        tmp_path: Path) -> None:
    """F10 then Esc before the lists were read: the read finished on a screen already taken
    down and the app crashed (NoMatches '#my-films-list'; seen in the benchmark)."""
    settings = _settings(tmp_path)
    _seed(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        my_films = app.controller.my_films
        release = asyncio.Event()
        read = my_films.lists

        async def slow_lists() -> Any:
            await release.wait()
            return await read()

        my_films.lists = slow_lists  # type: ignore[method-assign]
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, MyFilmsScreen), what="My films")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, MyFilmsScreen),
                    what="My films closed")
        release.set()
        await pilot.pause(0.2)
        assert app.is_running
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, MyFilmsScreen)
                    and app.screen.complete, what="My films, read")
        assert "Watchlist (3)" in _text(app)


async def test_lists_read_as_the_screen_is_taken_down_are_dropped(tmp_path: Path) -> None:
    """F10 at once after start, then the app closed: the lists' read ended while the screen's
    widgets were already gone, and the worker crashed the app (NoMatches '#my-films-list',
    1 run in 3 of `benchmarks.my_films --quick`). Here the widgets are taken away by hand
    while the read waits, which is what the closing app does."""
    settings = _settings(tmp_path)
    _seed(settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        my_films = app.controller.my_films
        release = asyncio.Event()
        read = my_films.lists

        async def slow_lists() -> Any:
            await release.wait()
            return await read()

        my_films.lists = slow_lists  # type: ignore[method-assign]
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, MyFilmsScreen) and app.screen.shown,
                    what="My films, its first list")
        screen = app.screen
        assert isinstance(screen, MyFilmsScreen)
        await screen.query_one("#my-films-list").remove()
        release.set()
        await pilot.pause(0.2)
        assert app.is_running
        await pilot.press("escape")
