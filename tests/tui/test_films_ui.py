"""The film catalogue in the app: the search screen, the card, the marks under a reply, and
the one-time offer without a catalogue — driven with Pilot against a fixture catalogue and
the loopback server, with no model needed for the lookups."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from moviechat_tui.films.importer import import_catalogue
from moviechat_tui.films.locations import FilmLocations
from moviechat_tui.settings.config import Settings
from moviechat_tui.storage.preferences import load_preferences
from moviechat_tui.tui.app import MovieChatApp
from moviechat_tui.tui.screens.film_card import FilmCardScreen
from moviechat_tui.tui.screens.film_search import FilmSearchScreen
from moviechat_tui.tui.screens.message_films import MessageFilmsScreen
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
from tests.support.imdb_fixtures import write_datasets
from tests.support.loopback_server import Reply, closed_port_url

MADE_UP = ("Here are three Korean thrillers:\n\n"
           "1. *The Kingkrapers* (2018) — a heist that goes wrong.\n"
           "2. *Parasite* (2017) — a poor family moves in on a rich one.\n"
           "3. *Memories of Murder* (2003) — detectives chase a serial killer.\n")


def _with_catalogue(tmp_path: Path, settings: Settings) -> None:
    folder = write_datasets(tmp_path / "imdb")
    import_catalogue(folder, FilmLocations.in_folder(settings.paths.films_dir).catalogue)


def _screen_text(app: MovieChatApp) -> str:
    return "\n".join(screen_lines(app))


async def _open_search(pilot: Any, text: str) -> FilmSearchScreen:
    app = pilot.app
    await pilot.press("ctrl+f")
    await until(pilot, lambda: isinstance(app.screen, FilmSearchScreen), what="film search")
    screen = app.screen
    assert isinstance(screen, FilmSearchScreen)
    for key in text:
        await pilot.press("space" if key == " " else key)
    await until(pilot, lambda: screen.shown_query == text, what=f"results for {text!r}")
    return screen


async def test_search_updates_as_you_type_and_enter_opens_the_card(tmp_path: Path) -> None:
    """No model, no network: the endpoint is a closed port and nothing is ever sent."""
    settings = make_settings(tmp_path, closed_port_url())
    _with_catalogue(tmp_path, settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _open_search(pilot, "memories")
        assert [f.title for f in screen.films] == ["Memories", "Memories of Murder"]
        for key in " of mur":
            await pilot.press("space" if key == " " else key)
        await until(pilot, lambda: screen.shown_query == "memories of mur", what="narrowed")
        assert [f.title for f in screen.films] == ["Memories of Murder"]
        text = _screen_text(app)
        assert "Memories of Murder" in text
        assert "2003 · film · Bong Joon Ho · ★ 8.1 (210,000)" in text
        assert "Information courtesy of IMDb" in text
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen), what="the card")
        card = app.screen
        assert isinstance(card, FilmCardScreen)
        await until(pilot, lambda: card.details is not None, what="the card's facts")
        await pilot.pause()
        text = _screen_text(app)
        for fact in ("Memories of Murder (2003)", "Salinui chueok", "131 min",
                     "Crime, Drama, Mystery", "Bong Joon Ho", "Shim Sung-bo",
                     "Song Kang-ho — Detective Park Doo-man", "8.1/10 from 210,000 votes",
                     "살인의 추억 (KR, ko)", "tt0000003"):
            assert fact in text, fact
        assert "Information courtesy of IMDb (https://www.imdb.com). Used with" in text
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen  # back to the search, results kept
        assert screen.query_one(Input).value == "memories of mur"


async def test_hangul_finds_the_film_and_shows_the_matched_title(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, closed_port_url())
    _with_catalogue(tmp_path, settings)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _open_search(pilot, "기생충")
        assert screen.films[0].id == "tt0000001"
        assert "기생충" in _screen_text(app)


async def test_the_card_copies_the_link_and_asks_about_the_film(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, closed_port_url())
    _with_catalogue(tmp_path, settings)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_search(pilot, "parasite 2019")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen)
                    and app.screen.details is not None, what="the card")
        await pilot.press("c")
        assert app.clipboard == "https://www.imdb.com/title/tt0000001/"
        await pilot.press("a")
        await until(pilot, lambda: app.screen is app.chat_screen, what="back to the chat")
        prompt = app.chat_screen.prompt
        assert prompt.text == "About Parasite (2019), directed by Bong Joon Ho: "
        assert prompt.has_focus
        assert prompt.cursor_location == prompt.document.end


async def test_asking_about_a_film_keeps_the_draft(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, closed_port_url())
    _with_catalogue(tmp_path, settings)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        prompt = app.chat_screen.prompt
        prompt.focus()
        for key in "Is it better than ":
            await pilot.press("space" if key == " " else key)
        await _open_search(pilot, "godfather")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen)
                    and app.screen.details is not None, what="the card")
        await pilot.press("a")
        await until(pilot, lambda: app.screen is app.chat_screen, what="back to the chat")
        assert prompt.text == ("Is it better than The Godfather (1972), directed by "
                               "Francis Ford Coppola")


async def test_film_search_from_the_palette_and_listed_in_f1(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, closed_port_url())
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        for key in "Look up":
            await pilot.press("space" if key == " " else key)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FilmSearchScreen), what="search")
        await pilot.press("escape")
        await pilot.press("f1")
        await pilot.pause()
        text = _screen_text(app)
        assert re.search(r"Ctrl\+F +Look up a film in the catalogue", text), text


async def test_without_a_catalogue_the_search_says_how_to_get_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, closed_port_url())
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("ctrl+f")
        await until(pilot, lambda: isinstance(app.screen, FilmSearchScreen), what="search")
        for key in "parasite":
            await pilot.press(key)
        await pilot.pause(0.4)
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = _screen_text(app)
        assert "No film catalogue yet" in text and "moviechat films" in text
        assert not app.screen.query_one(OptionList).display


def _marks(app: MovieChatApp) -> list[str]:
    return [m.plain for m in app.chat_screen.query(FilmMarks)]


async def test_a_reply_with_a_made_up_film_and_a_wrong_year_is_marked(
        tmp_path: Path, loopback: Any) -> None:
    loopback.push(Reply(text=MADE_UP))
    settings = make_settings(tmp_path, loopback.base_url)
    _with_catalogue(tmp_path, settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Three Korean thrillers?")
        await wait_idle(pilot)
        await until(pilot, lambda: bool(_marks(app)), what="the line of films")
        assert _marks(app) == ["Films: ✗ The Kingkrapers (2018) not in the catalogue · "
                               "⚠ Parasite (2017 → 2019) · Memories of Murder (2003)"]
        line = app.chat_screen.query_one(FilmMarks)
        assert line.size.height == 1
        # At 80 columns the problems stay whole (their marks say it); what had no room is
        # counted.
        shown = next(row for row in screen_lines(app) if "Films:" in row)
        assert "✗ The Kingkrapers (2018) · ⚠ Parasite (2017 → 2019) · +1" in shown
        # f on the reply: every film, with its mark; Enter → the card.
        view = app.chat_screen.query_one(AssistantMessageView)
        view.focus()
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, MessageFilmsScreen), what="list")
        text = _screen_text(app)
        assert "✗ The Kingkrapers (2018)" in text
        assert "⚠ Parasite (2017)" in text and "The catalogue says 2019" in text
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen)
                    and app.screen.details is not None, what="Parasite's card")
        assert app.screen.details.film.id == "tt0000001"  # type: ignore[attr-defined]


async def test_marks_come_for_replies_shown_from_disk_once_on_screen(
        tmp_path: Path, loopback: Any) -> None:
    loopback.push(Reply(text=MADE_UP))
    settings = make_settings(tmp_path, loopback.base_url)
    _with_catalogue(tmp_path, settings)
    first = make_app(settings)
    async with first.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Three Korean thrillers?")
        await wait_idle(pilot)
        await until(pilot, lambda: bool(_marks(first)), what="marks")
    again = make_app(settings, continue_latest=True)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        await until(pilot, lambda: bool(_marks(again)), what="marks after --continue")
        assert "✗ The Kingkrapers (2018)" in _marks(again)[0]


async def test_without_a_catalogue_the_import_is_offered_once(
        tmp_path: Path, loopback: Any) -> None:
    loopback.push(Reply(text="Hello! Ask me about films."), Reply(text=MADE_UP),
                  Reply(text=MADE_UP))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "hi")
        await wait_idle(pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert _marks(app) == []  # no film named: no offer
        await send(pilot, "Three Korean thrillers?")
        await wait_idle(pilot)
        await until(pilot, lambda: bool(_marks(app)), what="the offer")
        assert _marks(app) == ["No film catalogue yet: run `moviechat films update` "
                               "(≈1.5 GB download, ~20 min) or `moviechat films import DIR`."]
        assert load_preferences(settings.paths.data_dir).films_offered
        await send(pilot, "More?")
        await wait_idle(pilot)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(_marks(app)) == 1  # once


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_titles_from_the_catalogue_are_never_markup(
        tmp_path: Path, size: tuple[int, int]) -> None:
    settings = make_settings(tmp_path, closed_port_url())
    folder = write_datasets(tmp_path / "imdb", extra={"title.basics": [
        ("tt0000050", "movie", "[b]Bold[/b] [@click=app.quit]Trap[/]", "[red]x", "0", "2020",
         "\\N", "90", "Drama")], "title.ratings": [("tt0000050", "7.0", "5000")]})
    import_catalogue(folder, FilmLocations.in_folder(settings.paths.films_dir).catalogue)
    app = make_app(settings)
    async with app.run_test(size=size) as pilot:
        screen = await _open_search(pilot, "trap")
        assert screen.films[0].id == "tt0000050"
        assert "[b]Bold[/b] [@click=app.quit]Trap[/]" in _screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen)
                    and app.screen.details is not None, what="the card")
        assert "[red]x" in _screen_text(app)
        assert app.is_running


async def test_only_the_replies_on_screen_are_checked_then_more_as_you_scroll(
        tmp_path: Path) -> None:
    """A conversation opened with --continue: the replies off screen get their line when
    they are scrolled into view, not before (recognition is for what the user sees)."""
    from datetime import UTC, datetime, timedelta

    from moviechat_tui.core.conversation import Conversation, Message
    from moviechat_tui.storage.store import ConversationStore

    settings = make_settings(tmp_path, closed_port_url())
    _with_catalogue(tmp_path, settings)
    at = datetime(2025, 1, 1, tzinfo=UTC)
    conv = Conversation(id="many", title="Films", persona="expert", model="m")
    for i in range(6):
        conv.messages.append(Message(role="user", content=f"Question {i}?", id=f"u{i}",
                                     created=at + timedelta(minutes=i)))
        conv.messages.append(Message(
            role="assistant", id=f"a{i}", created=at + timedelta(minutes=i),
            finish_reason="stop",
            content=f"Reply {i}: try *Parasite* (2019).\n\nA line.\n\nAnother line."))
    ConversationStore(settings.paths.conversations_dir).save(conv)
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_idle(pilot)
        pane = app.chat_screen.message_pane
        views = list(app.chat_screen.query(AssistantMessageView))
        newest = views[-1]
        await until(pilot, lambda: bool(newest.query(FilmMarks)), what="the newest's line")
        await app.workers.wait_for_complete()
        await pilot.pause()
        above = [v for v in views if v.virtual_region.bottom < pane.scroll_y]
        assert above, "the test needs a reply mounted above the visible part"
        assert not any(v.query(FilmMarks) for v in above)  # off screen: not checked
        pane.scroll_home(animate=False)
        await until(pilot, lambda: all(v.query(FilmMarks) for v in above),
                    what="the lines of the replies scrolled into view")
        assert above[0].query_one(FilmMarks).plain == "Films: Parasite (2019)"


async def test_a_lookup_that_ends_as_its_screen_goes_is_dropped(tmp_path: Path) -> None:
    """The card's and the search's lookups run in a thread; one that ends as the app closes
    (the screen's widgets already taken down) crashed the app with NoMatches, as My films'
    read of the lists did. Here the widgets are taken away by hand while the lookup waits."""
    import asyncio

    settings = make_settings(tmp_path, closed_port_url())
    _with_catalogue(tmp_path, settings)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        release = asyncio.Event()
        films = app.films
        film, search = films.film, films.search

        async def slow_film(film_id: str) -> Any:
            await release.wait()
            return await film(film_id)

        async def slow_search(text: str) -> Any:
            await release.wait()
            return await search(text)

        films.film = slow_film  # type: ignore[method-assign]
        films.search = slow_search  # type: ignore[method-assign]
        app.push_screen(FilmCardScreen("tt0000003"))
        await until(pilot, lambda: isinstance(app.screen, FilmCardScreen)
                    and bool(app.screen.query("#film-facts")), what="the card")
        await app.screen.query_one("#film-facts").remove()
        release.set()
        await pilot.pause(0.2)
        assert app.is_running
        release.clear()
        app.pop_screen()
        await pilot.press("ctrl+f")
        await until(pilot, lambda: isinstance(app.screen, FilmSearchScreen)
                    and bool(app.screen.query("#film-results")), what="search")
        await pilot.press("a")
        await pilot.pause(0.5)  # past the typing pause: the search waits
        await app.screen.query_one("#film-results").remove()
        release.set()
        await pilot.pause(0.2)
        assert app.is_running
