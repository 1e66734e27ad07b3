"""The chat's lines for tool calls and catalogue facts, driven with Pilot against the
loopback server and the fixture catalogue: a line per call above the reply's text, Enter
shows what the model sent and got back (as literal text), `--continue` shows them again,
and Esc stops a tool round like a reply."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from moviechat_tui.tui.widgets.message_view import AssistantMessageView
from moviechat_tui.tui.widgets.tool_calls import ToolActivity, ToolCallLine
from tests.support.apphelpers import (
    make_app,
    make_settings,
    saved_conversations,
    screen_lines,
    send,
    until,
    wait_idle,
)
from tests.support.imdb_fixtures import install_catalogue
from tests.support.loopback_server import LoopbackServer, Reply, ToolCall

QUESTION = "Who directed Parasite?"
ANSWER = "Bong Joon Ho directed it in 2019."
SEARCH = ToolCall("search_films", '{"query": "Parasite", "year": 2019}')
DETAILS = ToolCall("film_details", '{"id": "tt0000001"}')


def settings_with_catalogue(tmp_path: Path, base_url: str, **overrides: Any) -> Any:
    settings = make_settings(tmp_path, base_url, **overrides)
    install_catalogue(settings.paths.data_dir)
    return settings


def lines_of(app: Any) -> list[str]:
    return [line.shown_text for line in app.screen.query(ToolCallLine)]


async def test_each_call_is_a_line_above_the_reply_and_opens_to_its_raw_traffic(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply.calling(SEARCH), Reply.calling(DETAILS), Reply(text=ANSWER))
    app = make_app(settings_with_catalogue(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, QUESTION)
        await wait_idle(pilot)
        assert lines_of(app) == ["▸ 🔎 searched films: Parasite 2019 → 1 result",
                                 "▸ 🎬 looked up a film: Parasite (2019)"]
        [view] = app.screen.query(AssistantMessageView)
        activity = view.query_one(ToolActivity)
        assert view.children.index(activity) < view.children.index(view.body)
        assert view.shown_text == ANSWER

        first = app.screen.query(ToolCallLine).first()
        first.focus()
        await pilot.pause()
        assert "Show the call" in "".join(screen_lines(app)[-1:])
        await pilot.press("enter")
        await pilot.pause()
        assert "Hide the call" in "".join(screen_lines(app)[-1:])
        opened = first.shown_text.splitlines()
        assert opened[:3] == ["▾ 🔎 searched films: Parasite 2019 → 1 result", "Arguments:",
                              SEARCH.arguments]
        assert opened[3] == "Result (what the model was sent):"
        assert opened[4].startswith('{"results":[{"id":"tt0000001","title":"Parasite"')
        assert any("Arguments:" in row for row in screen_lines(app))
        await pilot.press("enter")
        assert first.shown_text == "▸ 🔎 searched films: Parasite 2019 → 1 result"


async def test_continue_shows_the_lines_again(tmp_path: Path, loopback: LoopbackServer) -> None:
    settings = settings_with_catalogue(tmp_path, loopback.base_url)
    loopback.push(Reply.calling(SEARCH), Reply(text=ANSWER))
    async with make_app(settings).run_test() as pilot:
        await send(pilot, QUESTION)
        await wait_idle(pilot)
        shown = lines_of(pilot.app)
        await pilot.press("ctrl+q")
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await wait_idle(pilot)
        assert lines_of(app) == shown == ["▸ 🔎 searched films: Parasite 2019 → 1 result"]
        line = app.screen.query(ToolCallLine).first()
        line.focus()
        await pilot.press("enter")
        assert SEARCH.arguments in line.shown_text.splitlines()


async def test_what_the_model_sends_is_shown_as_text_never_as_markup(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    hostile = '{"query": "[@click=app.quit]Parasite[/] [bold]x"}'
    loopback.push(Reply.calling(ToolCall("search_films", hostile)), Reply(text=ANSWER))
    app = make_app(settings_with_catalogue(tmp_path, loopback.base_url))
    async with app.run_test() as pilot:
        await send(pilot, QUESTION)
        await wait_idle(pilot)
        line = app.screen.query(ToolCallLine).first()
        assert "[@click=app.quit]Parasite[/] [bold]x" in line.shown_text
        await pilot.click(ToolCallLine)  # a click opens it; nothing in it acts
        await pilot.pause()
        assert hostile in line.shown_text and app.is_running


async def test_esc_stops_a_tool_round_like_a_reply(tmp_path: Path,
                                                   loopback: LoopbackServer) -> None:
    running = asyncio.Event()

    class Slow:
        name, description, read_only = "slow_lookup", "Takes its time.", True
        parameters: dict[str, Any] = {"type": "object", "properties": {}}

        async def run(self, arguments: dict[str, Any]) -> str:
            running.set()
            await asyncio.Event().wait()
            return ""

        def describe(self, arguments: Any, result: str | None, failed: bool) -> str:
            return "⏳ slow lookup" + (" …" if result is None else " → stopped")

    settings = settings_with_catalogue(tmp_path, loopback.base_url)
    loopback.push(Reply.calling(ToolCall("slow_lookup"), text="Checking the catalogue."))
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        app.controller.grounding.registry.add(Slow())
        await send(pilot, QUESTION)
        await until(pilot, running.is_set, what="the tool to run")
        await until(pilot, lambda: lines_of(app) == ["▸ ⏳ slow lookup …"],
                    what="the running line")
        await pilot.press("escape")
        await wait_idle(pilot)
        assert not app.controller.busy
        assert lines_of(app) == ["▸ ⏳ slow lookup → stopped"]
        assert any("stopped" in row for row in screen_lines(app))
    [saved] = saved_conversations(settings)
    reply = saved["messages"][-1]
    assert reply["finish_reason"] == "cancelled"
    [call] = reply["tool_rounds"][0]["calls"]
    assert call["failed"] and "Stopped by the user" in call["result"]


async def test_the_facts_that_went_along_are_one_line(tmp_path: Path,
                                                      loopback: LoopbackServer) -> None:
    settings = settings_with_catalogue(tmp_path, loopback.base_url,
                                       model="SmolLM2-135M-Instruct.Q4_1")
    loopback.push(Reply(text=ANSWER))
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Who directed Parasite and when was it released?")
        await wait_idle(pilot)
        assert any("📚 Using catalogue facts: Parasite (2019)" in row
                   for row in screen_lines(app))
        assert "Directed by: Bong Joon Ho" in loopback.last_request["messages"][0]["content"]


async def test_a_server_that_rejects_tools_shows_the_facts_line_once_it_falls_back(
        tmp_path: Path) -> None:
    with LoopbackServer(reject_tools=True) as server:
        app = make_app(settings_with_catalogue(tmp_path, server.base_url))
        async with app.run_test(size=(80, 24)) as pilot:
            await send(pilot, QUESTION)
            await wait_idle(pilot)
            [activity] = app.screen.query(ToolActivity)
            assert "Using catalogue facts: Parasite (2019)" in str(
                activity.query_one(".facts-line").render())
