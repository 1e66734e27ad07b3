"""What of your lists goes along with a request, read from the request bodies the loopback
server received: the taste summary in the system message for the recommender persona and
for any persona when the question asks for recommendations; the read-only `my_films` tool
offered to a model that calls tools, and its answer; the header's "♥ your lists" mark; and
nothing of the lists at all with `[films] share_my_films = false`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from moviechat_tui.films.my_store import MyFilmsStore
from moviechat_tui.films.taste import INSTRUCTION
from moviechat_tui.settings.config import Settings
from moviechat_tui.tui.app import MovieChatApp
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
from tests.support.loopback_server import LoopbackServer, Reply, ToolCall

PRIVATE = "[films]\nshare_my_films = false\n"
RECOMMENDATION = ("You could try *Memories of Murder* (2003) or *The Godfather* (1972).")


def _settings(tmp_path: Path, base_url: str, *, config: str = "", **overrides: Any
              ) -> Settings:
    tmp_path.mkdir(parents=True, exist_ok=True)
    settings = make_settings(tmp_path, base_url, config=config, **overrides)
    install_catalogue(settings.paths.data_dir)
    store = MyFilmsStore(settings.paths.my_films_dir)
    store.log_watched("Parasite", 2019, "tt0000001", watched=date(2024, 3, 9), rating=5)
    store.add_to_watchlist("Spirited Away", 2001, "tt0000007", on=date(2024, 4, 1))
    return settings


def _system(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content") or "") for m in body["messages"]
                     if m["role"] in ("system", "developer"))


def _tools(body: dict[str, Any]) -> list[str]:
    return [tool["function"]["name"] for tool in body.get("tools") or []]


def _mark(app: MovieChatApp) -> bool:
    return "♥ your lists" in app.chat_screen.header.right_text


async def test_asking_for_recommendations_sends_your_taste_and_the_header_says_so(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text="Hello."), Reply(text=RECOMMENDATION))
    app = make_app(_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Who directed Alien?")
        await wait_idle(pilot)
        plain = loopback.requests[-1]
        assert INSTRUCTION not in _system(plain) and "Parasite" not in _system(plain)
        assert not _mark(app)
        # The tool is offered with the film tools, whatever the question.
        assert "my_films" in _tools(plain) and "search_films" in _tools(plain)

        await send(pilot, "Can you recommend a thriller?")
        await wait_idle(pilot)
        system = _system(loopback.requests[-1])
        assert INSTRUCTION in system
        assert "Parasite (2019)" in system and "Spirited Away (2001)" in system
        assert _mark(app)
        # The films the recommendation names (the catalogue knows them) show the key.
        view = app.chat_screen.query(AssistantMessageView).last()
        await until(pilot, lambda: bool(view.query(FilmMarks)), what="the films line")
        line = view.query_one(FilmMarks).plain
        assert "Memories of Murder (2003)" in line
        assert "On the reply (↑): w watchlist · r rate · f every film" in line
        # Whole at 80 columns.
        assert any(row.rstrip().endswith("f every film") for row in screen_lines(app))


async def test_the_recommender_persona_always_gets_your_taste(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text="Hello."))
    app = make_app(_settings(tmp_path, loopback.base_url, persona="recommender"))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Hi there")
        await wait_idle(pilot)
        system = _system(loopback.requests[-1])
        assert INSTRUCTION in system and "Parasite (2019)" in system
        assert _mark(app)


async def test_the_my_films_tool_answers_with_your_lists(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply.calling(ToolCall("my_films", '{"list": "watchlist"}')),
                  Reply(text="Since you want to see Spirited Away, start there."))
    app = make_app(_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Which of my films first?")
        await wait_idle(pilot)
        second = loopback.requests[-1]
        [answer] = [m for m in second["messages"] if m["role"] == "tool"]
        data = json.loads(answer["content"])
        assert [e["title"] for e in data["watchlist"]["entries"]] == ["Spirited Away"]
        assert "diary" not in data
        assert _mark(app)  # the model read them: they went along
        assert any("♥ read your lists → 1 film" in row for row in screen_lines(app))


async def test_share_my_films_false_keeps_every_list_out_of_every_request(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=RECOMMENDATION), Reply(text="Hello."))
    settings = _settings(tmp_path, loopback.base_url, config=PRIVATE)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Can you recommend a thriller?")
        await wait_idle(pilot)
        await send(pilot, "Suggest something like Parasite")
        await wait_idle(pilot)
        for body in loopback.requests:
            assert "my_films" not in _tools(body)
            text = json.dumps(body, ensure_ascii=False)
            assert INSTRUCTION not in text
            assert "Spirited Away" not in text  # only on the watchlist: never sent
        assert not _mark(app)
    recommender = make_app(_settings(tmp_path / "r", loopback.base_url, config=PRIVATE,
                                     persona="recommender"))
    loopback.push(Reply(text="Hello."))
    async with recommender.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Hi")
        await wait_idle(pilot)
        assert INSTRUCTION not in _system(loopback.requests[-1])
        assert not _mark(recommender)


async def test_a_model_that_cannot_call_tools_gets_the_summary_but_no_tool(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=RECOMMENDATION))
    app = make_app(_settings(tmp_path, loopback.base_url, model="gemma-2-9b-it"))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Recommend me a film for tonight")
        await wait_idle(pilot)
        body = loopback.requests[-1]
        assert not _tools(body)
        assert INSTRUCTION in _system(body) and "Parasite (2019)" in _system(body)
        assert _mark(app)
