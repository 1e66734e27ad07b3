"""A question answered with the film tools, end to end below the UI: the real controller,
the real OpenAI backend, the loopback server scripted to ask for calls, and the fixture
catalogue. What is checked is what the model is sent and what the user gets back (the
reply, its saved tool calls, the lines' events, the notices).
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from moviechat_tui.core import events as ev
from moviechat_tui.core.conversation import FINISH_CANCELLED
from moviechat_tui.core.endpoint import Endpoint
from moviechat_tui.llm.backend import OpenAIBackend
from moviechat_tui.session import tool_loop
from moviechat_tui.session.controller import ConversationController
from moviechat_tui.session.tools import RESULT_LIMIT
from moviechat_tui.settings.config import RequestOptions, Settings
from moviechat_tui.settings.personas import FACTS_GUIDANCE, TOOLS_GUIDANCE
from moviechat_tui.storage.preferences import load_preferences
from tests.support.apphelpers import make_settings
from tests.support.imdb_fixtures import install_catalogue
from tests.support.loopback_server import LoopbackServer, Reply, ToolCall

QUESTION = "Who directed Parasite and when was it released?"
ANSWER = "Bong Joon Ho directed *Parasite* (2019)."
SEARCH = ToolCall("search_films", '{"query": "Parasite", "year": 2019}')


class Session:
    """A controller on a data folder with the fixture catalogue, and what it emitted."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.events: list[ev.ControllerEvent] = []

        def factory(endpoint: Endpoint, request: RequestOptions) -> OpenAIBackend:
            return OpenAIBackend(endpoint.base_url, endpoint.api_key, timeout=5.0,
                                 connect_timeout=2.0, max_attempts=1)

        self.controller = ConversationController.for_settings(settings, self.events.append,
                                                               factory)

    async def ask(self, text: str) -> None:
        assert self.controller.send(text)
        task = self.controller._reply_task
        assert task is not None
        await task
        await self.controller.save_now()

    @property
    def reply(self) -> Any:
        return [m for m in self.controller.conversation.messages if m.role == "assistant"][-1]

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def saved(self) -> dict[str, Any]:
        [path] = self.settings.paths.conversations_dir.glob("*.toml")
        with path.open("rb") as handle:
            return tomllib.load(handle)


@pytest.fixture
async def make_session(tmp_path: Path, loopback: LoopbackServer
                       ) -> AsyncIterator[Callable[..., Session]]:
    made: list[Session] = []

    def make(*, model: str = "loopback-mini", config: str = "", catalogue: bool = True,
             base_url: str | None = None) -> Session:
        settings = make_settings(tmp_path, base_url or loopback.base_url, model=model,
                                 config=config)
        if catalogue and not (settings.paths.data_dir / "films").exists():
            install_catalogue(settings.paths.data_dir)
        session = Session(settings)
        made.append(session)
        return session

    yield make
    for session in made:
        await session.controller.connection.close()


def tool_names(body: dict[str, Any]) -> list[str]:
    return [t["function"]["name"] for t in body.get("tools", [])]


def tail_after_question(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = body["messages"]
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    return messages[last_user + 1:]


# -- the round trip ----------------------------------------------------------------------

async def test_a_search_round_trip_sends_the_result_back_and_streams_the_answer(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    loopback.push(Reply.calling(SEARCH, tool_chunk=3), Reply(text=ANSWER))
    session = make_session()
    await session.ask(QUESTION)

    first, second = loopback.requests
    assert tool_names(first) == ["search_films", "film_details", "person_films"]
    assert "temperature" not in first  # the server's default for a model the table lacks
    assert TOOLS_GUIDANCE in first["messages"][0]["content"]
    assert "check with search_films" not in first["messages"][0]["content"]  # expert's hint
    call, result = tail_after_question(second)
    [asked] = call["tool_calls"]
    assert (call["role"], call["content"]) == ("assistant", None)
    assert asked["function"] == {"name": "search_films", "arguments": SEARCH.arguments}
    assert (result["role"], result["tool_call_id"]) == ("tool", asked["id"])
    found = json.loads(result["content"])["results"]
    assert [(f["id"], f["title"], f["year"]) for f in found] == [
        ("tt0000001", "Parasite", 2019)]
    assert found[0]["directors"] == ["Bong Joon Ho"]

    reply = session.reply
    assert reply.content == ANSWER and reply.finish_reason == "stop"
    [round_] = reply.tool_rounds
    assert [(c.name, c.arguments, c.failed) for c in round_.calls] == [
        ("search_films", SEARCH.arguments, False)]
    # A search is over in milliseconds: its line is drawn once, finished (a slow call's
    # line shows it running first: see the Esc test).
    assert session.of(ev.ToolCallStarted) == []
    assert [e.call.result for e in session.of(ev.ToolCallEnded)] == [result["content"]]
    saved = session.saved()["messages"][-1]
    assert saved["tool_rounds"][0]["calls"][0]["result"] == result["content"]


async def test_the_next_question_and_continue_send_the_tool_traffic_back_exactly(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    loopback.push(Reply.calling(SEARCH), Reply(text=ANSWER), Reply(text="Yes."))
    session = make_session()
    await session.ask(QUESTION)
    sent = tail_after_question(loopback.requests[1])
    await session.ask("Is it good?")
    history = loopback.requests[2]["messages"]
    question = history.index({"role": "user", "content": QUESTION})
    assert history[question + 1:question + 4] == [
        *sent, {"role": "assistant", "content": ANSWER}]

    # Another run of the app, opening the conversation (--continue): the same messages.
    loopback.push(Reply(text="Still yes."))
    again = make_session()
    assert await again.controller.open_conversation(session.controller.conversation.id)
    await again.ask("Really?")
    resent = loopback.requests[3]["messages"]
    assert resent[:len(history)] == history[:len(history)]


async def test_two_calls_at_once_run_in_order_and_both_results_go_back(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    loopback.push(Reply.calling(SEARCH, ToolCall("person_films",
                                                 '{"name": "Bong Joon Ho", "role": '
                                                 '"director"}'),
                                tool_chunk=2, interleave=True),
                  Reply(text=ANSWER))
    session = make_session()
    await session.ask(QUESTION)
    call, first, second = tail_after_question(loopback.requests[1])
    assert [c["function"]["name"] for c in call["tool_calls"]] == [
        "search_films", "person_films"]
    assert [first["tool_call_id"], second["tool_call_id"]] == [
        c["id"] for c in call["tool_calls"]]
    films = json.loads(second["content"])["films"]
    assert [f["title"] for f in films] == ["Parasite", "Memories of Murder"]
    assert [e.call.name for e in session.of(ev.ToolCallEnded)] == [
        "search_films", "person_films"]


@pytest.mark.parametrize(("call", "says"), [
    (ToolCall("search_films", '{"query": "Parasi'), "not valid JSON"),
    (ToolCall("film_detials", '{"id": "tt0000001"}'), "There is no tool named “film_detials”"),
    (ToolCall("search_films", '{"year": 2019}'), "“query” is required"),
    (ToolCall("search_films", '{"query": "Coco", "year": "2017"}'), "“year” should be integer"),
    (ToolCall("search_films", '{"query": "Coco", "genre": "x"}'), "no argument “genre”"),
    (ToolCall("film_details", '{"id": "tt9999999"}'), "No film with the id"),
])
async def test_a_bad_call_goes_back_to_the_model_as_a_result_saying_what_was_wrong(
        loopback: LoopbackServer, make_session: Callable[..., Session], call: ToolCall,
        says: str) -> None:
    loopback.push(Reply.calling(call), Reply(text=ANSWER))
    session = make_session()
    await session.ask(QUESTION)
    _call, result = tail_after_question(loopback.requests[1])
    assert says in result["content"]
    assert session.reply.content == ANSWER  # the turn went on
    [[made]] = [r.calls for r in session.reply.tool_rounds]
    assert made.failed and says in made.result
    assert not any(isinstance(e, ev.Notify) and e.severity is ev.Severity.ERROR
                   for e in session.events)


async def test_a_tool_that_raises_or_answers_too_much_does_not_end_the_turn(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    class Broken:
        name, description, read_only = "broken", "Always fails.", True
        parameters: dict[str, Any] = {"type": "object", "properties": {}}

        async def run(self, arguments: dict[str, Any]) -> str:
            raise RuntimeError("disk on fire")

        def describe(self, arguments: Any, result: str | None, failed: bool) -> str:
            return "broken"

    class Chatty(Broken):
        name = "chatty"

        async def run(self, arguments: dict[str, Any]) -> str:
            return "x" * (3 * RESULT_LIMIT)

    session = make_session()
    session.controller.grounding.registry.add(Broken())
    session.controller.grounding.registry.add(Chatty())
    loopback.push(Reply.calling(ToolCall("broken"), ToolCall("chatty")), Reply(text=ANSWER))
    await session.ask(QUESTION)
    _call, broken, chatty = tail_after_question(loopback.requests[1])
    assert "The tool failed: RuntimeError: disk on fire" in broken["content"]
    assert len(chatty["content"]) < RESULT_LIMIT + 100
    assert chatty["content"].endswith(f"[cut: {2 * RESULT_LIMIT} more characters]")
    assert session.reply.content == ANSWER


async def test_a_model_that_calls_tools_forever_is_stopped_after_six_rounds(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    loopback.default_reply = Reply.calling(SEARCH)
    session = make_session()
    await session.ask(QUESTION)
    requests = loopback.requests
    assert len(requests) == tool_loop.MAX_ROUNDS + 1
    assert all(r.get("tool_choice") is None for r in requests[:-1])
    assert requests[-1]["tool_choice"] == "none"  # "answer with what you have"
    assert len(session.reply.tool_rounds) == tool_loop.MAX_ROUNDS
    assert any("kept asking for tools after 6 rounds" in e.text
               for e in session.of(ev.Notify))
    assert not session.controller.busy
    assert len(session.saved()["messages"][-1]["tool_rounds"]) == tool_loop.MAX_ROUNDS


async def test_after_the_time_limit_no_more_rounds_run(
        loopback: LoopbackServer, make_session: Callable[..., Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tool_loop, "TIME_LIMIT", 0.0)
    loopback.push(Reply.calling(SEARCH), Reply(text=ANSWER))
    session = make_session()
    await session.ask(QUESTION)
    assert [r.get("tool_choice") for r in loopback.requests] == [None, "none"]
    assert session.reply.content == ANSWER


async def test_esc_during_a_tool_round_stops_it_and_keeps_the_history_valid(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    running = asyncio.Event()

    class Slow:
        name, description, read_only = "slow", "Takes forever.", True
        parameters: dict[str, Any] = {"type": "object", "properties": {}}

        async def run(self, arguments: dict[str, Any]) -> str:
            running.set()
            await asyncio.Event().wait()
            return ""

        def describe(self, arguments: Any, result: str | None, failed: bool) -> str:
            return "slow"

    session = make_session()
    session.controller.grounding.registry.add(Slow())
    loopback.push(Reply.calling(ToolCall("slow"), SEARCH, text="Let me look."))
    assert session.controller.send(QUESTION)
    await asyncio.wait_for(running.wait(), 5)
    assert session.controller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await session.controller._reply_task  # type: ignore[misc]
    reply = session.reply
    assert reply.finish_reason == FINISH_CANCELLED and reply.content == "Let me look."
    [round_] = reply.tool_rounds
    assert [(c.name, c.failed) for c in round_.calls] == [("slow", True),
                                                           ("search_films", True)]
    assert all("Stopped by the user" in c.result for c in round_.calls)
    assert [e.call.name for e in session.of(ev.ToolCallEnded)] == ["slow", "search_films"]

    # The next question sends every call with its result: nothing the server would refuse.
    loopback.push(Reply(text=ANSWER))
    await session.ask("Try again?")
    sent = loopback.requests[-1]["messages"]
    ids = [c["id"] for m in sent for c in m.get("tool_calls") or ()]
    assert ids and [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ids


# -- models that cannot call tools -------------------------------------------------------

async def test_a_model_that_cannot_call_tools_gets_catalogue_facts(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    session = make_session(model="SmolLM2-135M-Instruct.Q4_1")
    await session.ask(QUESTION)
    body = loopback.last_request
    assert "tools" not in body
    assert body["temperature"] == 0.2  # the table's: it keeps to the facts at 0.2
    system = body["messages"][0]["content"]
    assert FACTS_GUIDANCE in system
    for fact in ("Title: Parasite (2019)", "Original title: Gisaengchung",
                 "Runtime: 132 minutes", "Directed by: Bong Joon Ho",
                 "Written by: Bong Joon Ho, Han Jin-won",
                 "Starring: Song Kang-ho, Choi Woo-shik, Park So-dam"):
        assert fact in system
    assert session.reply.facts == ("Parasite (2019)",)
    assert session.saved()["messages"][-1]["facts"] == ["Parasite (2019)"]


async def test_facts_follow_the_conversation_to_a_follow_up_question(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    session = make_session(model="SmolLM2-135M-Instruct.Q4_1")
    await session.ask("Tell me about Memories of Murder.")
    await session.ask("Who starred in it?")
    assert "Title: Memories of Murder (2003)" in loopback.last_request["messages"][0]["content"]
    assert session.reply.facts == ("Memories of Murder (2003)",)


async def test_a_server_that_rejects_tools_gets_the_question_again_with_facts_and_is_remembered(
        make_session: Callable[..., Session]) -> None:
    with LoopbackServer(reject_tools=True) as server:
        session = make_session(base_url=server.base_url)
        await session.ask(QUESTION)
        first, second = server.requests
        assert tool_names(first) and "tools" not in second
        assert second["messages"][1:] == first["messages"][1:]  # the same question
        assert "Directed by: Bong Joon Ho" in second["messages"][0]["content"]
        assert session.reply.facts == ("Parasite (2019)",)
        assert session.reply.content == "Hello from the loopback server."
        assert any("does not accept tools" in e.text for e in session.of(ev.Notify))
        assert [e.message for e in session.of(ev.FactsUsed)] == [session.reply]
        prefs = load_preferences(session.settings.paths.data_dir)
        assert prefs.no_tools == (f"http://127.0.0.1:{server.port}/v1 loopback-mini",)

        await session.ask("And who wrote it?")
        assert len(server.requests) == 3 and "tools" not in server.requests[2]

        later = make_session(base_url=server.base_url)  # the next run remembers it too
        await later.ask(QUESTION)
        assert len(server.requests) == 4 and "tools" not in server.requests[3]


@pytest.mark.parametrize(("mode", "model", "tools", "facts"), [
    ("off", "loopback-mini", False, False),
    ("off", "SmolLM2-135M-Instruct", False, False),
    ("facts", "loopback-mini", False, True),
    ("tools", "SmolLM2-135M-Instruct", True, False),
    ("auto", "gpt-4o-mini", True, False),
    ("auto", "gemma-2-2b", False, True),
])
async def test_the_grounding_setting_picks_the_path(
        loopback: LoopbackServer, make_session: Callable[..., Session], mode: str,
        model: str, tools: bool, facts: bool) -> None:
    session = make_session(model=model, config=f'[films]\ngrounding = "{mode}"\n')
    await session.ask(QUESTION)
    body = loopback.last_request
    assert bool(body.get("tools")) is tools
    assert ("Directed by: Bong Joon Ho" in body["messages"][0]["content"]) is facts


async def test_without_a_catalogue_nothing_is_offered_or_added(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    for model in ("loopback-mini", "SmolLM2-135M-Instruct"):
        session = make_session(model=model, catalogue=False)
        await session.ask(QUESTION)
        body = loopback.last_request
        assert "tools" not in body
        assert body["messages"][0]["content"] == session.controller.persona.system_prompt


async def test_the_persona_says_when_to_use_the_tools_only_when_they_are_offered(
        loopback: LoopbackServer, make_session: Callable[..., Session]) -> None:
    session = make_session(config='persona = "recommender"\n')
    await session.ask("Recommend me something like Parasite.")
    system = loopback.last_request["messages"][0]["content"]
    assert system.startswith(session.controller.persona.system_prompt)
    assert "Before you recommend a film, check with search_films that it exists" in system

    facts = make_session(model="SmolLM2-135M-Instruct", config='persona = "recommender"\n')
    await facts.ask("Recommend me something like Parasite.")
    system = loopback.last_request["messages"][0]["content"]
    assert "search_films" not in system and FACTS_GUIDANCE in system
    assert "prefer them over your memory" in system
