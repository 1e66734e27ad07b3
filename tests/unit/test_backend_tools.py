"""Function calling over the chat completions stream, against a real server on 127.0.0.1.

What a model asks for arrives in pieces (`delta.tool_calls` fragments, an index per call,
the arguments split anywhere, several calls interleaved): the backend hands the caller whole
calls, in order, once the model has finished asking — and sends back exactly the messages
it is given, tool traffic included.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from moviechat_tui.core.secret import Secret
from moviechat_tui.llm.backend import OpenAIBackend, ToolCallAssembler
from moviechat_tui.llm.types import (
    BackendError,
    ChatRequest,
    ErrorKind,
    Finished,
    StreamEvent,
    TextDelta,
    ToolCallRequest,
)
from tests.support.loopback_server import LoopbackServer, Reply, ToolCall

SEARCH = {"type": "function", "function": {
    "name": "search_films", "description": "Find films by title.",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                   "required": ["query"]}}}
QUESTION = [{"role": "system", "content": "You are a film expert."},
            {"role": "user", "content": "Who directed Parasite?"}]


@pytest.fixture
async def backend(loopback: LoopbackServer) -> AsyncIterator[OpenAIBackend]:
    made = OpenAIBackend(loopback.base_url, Secret("sk-test"), timeout=2.0,
                         connect_timeout=1.0, backoff_base=0.01)
    yield made
    await made.aclose()


async def collect(backend: OpenAIBackend, **kwargs: Any) -> list[StreamEvent]:
    options: dict[str, Any] = {"tools": (SEARCH,)}
    options.update(kwargs)
    request = ChatRequest(model="loopback-mini", messages=options.pop("messages", QUESTION),
                          **options)
    return [event async for event in backend.stream(request)]


async def test_arguments_split_over_many_chunks_arrive_as_one_call(
        loopback: LoopbackServer, backend: OpenAIBackend) -> None:
    arguments = json.dumps({"query": "Parasite", "year": 2019})
    loopback.push(Reply.calling(ToolCall("search_films", arguments, id="call_a"),
                                tool_chunk=3))
    events = await collect(backend)
    assert events == [ToolCallRequest(0, "call_a", "search_films", arguments),
                      Finished("tool_calls")]
    body = loopback.last_request
    assert body["tools"] == [SEARCH]
    assert "tool_choice" not in body


async def test_two_interleaved_calls_come_out_whole_and_in_index_order(
        loopback: LoopbackServer, backend: OpenAIBackend) -> None:
    first = '{"query": "Parasite"}'
    second = '{"name": "Bong Joon Ho", "role": "director"}'
    loopback.push(Reply.calling(ToolCall("search_films", first),
                                ToolCall("person_films", second), tool_chunk=2,
                                interleave=True, text="Let me look."))
    events = await collect(backend)
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Let", " me", " look."]
    calls = [e for e in events if isinstance(e, ToolCallRequest)]
    assert [(c.index, c.name, c.arguments) for c in calls] == [
        (0, "search_films", first), (1, "person_films", second)]
    assert calls[0].id != calls[1].id and all(c.id for c in calls)
    assert events[-1] == Finished("tool_calls")


async def test_arguments_that_are_not_json_are_passed_on_as_written(
        loopback: LoopbackServer, backend: OpenAIBackend) -> None:
    loopback.push(Reply.calling(ToolCall("search_films", '{"query": "Parasi')))
    events = await collect(backend)
    assert events[0] == ToolCallRequest(0, "call_1", "search_films", '{"query": "Parasi')


async def test_tool_traffic_and_tool_choice_are_sent_back_exactly(
        loopback: LoopbackServer, backend: OpenAIBackend) -> None:
    messages = [*QUESTION,
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_1", "type": "function",
                     "function": {"name": "search_films", "arguments": '{"query":"Parasite"}'}}]},
                {"role": "tool", "tool_call_id": "call_1", "content": '[{"id":"tt0000001"}]'}]
    loopback.push(Reply(text="Bong Joon Ho."))
    events = await collect(backend, messages=messages, tool_choice="none")
    assert events[-1] == Finished("stop")
    body = loopback.last_request
    assert body["messages"] == messages
    assert body["tool_choice"] == "none"


async def test_no_tools_offered_means_no_tools_key(
        loopback: LoopbackServer, backend: OpenAIBackend) -> None:
    await collect(backend, tools=(), tool_choice="none")
    assert "tools" not in loopback.last_request
    assert "tool_choice" not in loopback.last_request


async def test_a_server_that_rejects_tools_says_so_in_the_error_detail(
        backend: OpenAIBackend) -> None:
    with LoopbackServer(reject_tools=True) as server:
        rejecting = OpenAIBackend(server.base_url, Secret("sk-test"), timeout=2.0)
        try:
            with pytest.raises(BackendError) as caught:
                await collect(rejecting)
            assert caught.value.kind is ErrorKind.BAD_REQUEST
            assert "does not support tools" in caught.value.detail
            # Without tools the same server answers.
            events = await collect(rejecting, tools=())
            assert events[-1] == Finished("stop")
        finally:
            await rejecting.aclose()


def test_fragments_without_an_index_or_with_whole_calls_are_assembled() -> None:
    """Some servers leave out `index`, send a call whole, or parsed arguments."""
    calls = ToolCallAssembler()
    calls.feed([{"id": "a", "function": {"name": "search_films", "arguments": '{"q'}}])
    calls.feed([{"function": {"arguments": 'uery": "Coco"}'}}])
    calls.feed([{"id": "b", "function": {"name": "film_details",
                                         "arguments": {"id": "tt0000004"}}}])
    calls.feed("nonsense")
    calls.feed([None, {"index": 5, "function": None}])
    assert calls.take() == [
        ToolCallRequest(0, "a", "search_films", '{"query": "Coco"}'),
        ToolCallRequest(1, "b", "film_details", '{"id": "tt0000004"}'),
        ToolCallRequest(5, "", "", ""),
    ]
    assert calls.take() == []
