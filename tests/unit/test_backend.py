"""OpenAIBackend against a real OpenAI-compatible server on 127.0.0.1.

Every test drives the real SDK over real sockets, so what is checked is what a user would
see: the text that arrives, the error sentence shown, the retries announced, the connection
that gets closed when they press Escape.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from moviechat_tui.core.secret import Secret
from moviechat_tui.llm.backend import NO_KEY_PLACEHOLDER, OpenAIBackend
from moviechat_tui.llm.types import (
    BackendError,
    ChatRequest,
    ErrorKind,
    Finished,
    Retrying,
    StreamEvent,
    TextDelta,
    Usage,
)
from tests.support.loopback_server import (
    DROP_MID_STREAM,
    EMPTY_CHOICES,
    HANG,
    MALFORMED_CHUNK,
    NO_DONE,
    SSE_ERROR_EVENT,
    LoopbackServer,
    Reply,
    closed_port_url,
)

SENTINEL = "sk-SENTINEL-4f9c2e7a1b3d5f60"
MESSAGES = [
    {"role": "system", "content": "You are a film critic."},
    {"role": "user", "content": "Recommend a film noir."},
]

MakeBackend = Callable[..., OpenAIBackend]


@pytest.fixture
async def make_backend(loopback: LoopbackServer) -> AsyncIterator[MakeBackend]:
    """Backends with test-sized timeouts and waits, closed after the test."""
    made: list[OpenAIBackend] = []

    def make(base_url: str | None = "loopback", key: str = SENTINEL, **kwargs: Any
             ) -> OpenAIBackend:
        options: dict[str, Any] = {"timeout": 2.0, "connect_timeout": 1.0,
                                   "backoff_base": 0.01}
        options.update(kwargs)
        url = loopback.base_url if base_url == "loopback" else base_url
        backend = OpenAIBackend(url, Secret(key), **options)
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.aclose()


def request(model: str = "noir-1", **kwargs: Any) -> ChatRequest:
    return ChatRequest(model=model, messages=[dict(m) for m in MESSAGES], **kwargs)


async def collect(backend: OpenAIBackend, req: ChatRequest | None = None
                  ) -> tuple[list[StreamEvent], BackendError | None]:
    events: list[StreamEvent] = []
    try:
        async for event in backend.stream(req or request()):
            events.append(event)
    except BackendError as exc:
        return events, exc
    return events, None


def text_of(events: list[StreamEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def of_type(events: list[StreamEvent], kind: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, kind)]


# -- the normal path --------------------------------------------------------------------------


async def test_stream_delivers_the_whole_text_then_finished(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    text = "Try *Out of the Past* (1947).\n\n- moody\n- fatalistic\n\n```\nnoir = True\n```"
    loopback.push(Reply(text=text))
    events, error = await collect(make_backend())
    assert error is None
    assert text_of(events) == text
    assert len(of_type(events, TextDelta)) > 5  # it really streamed, not one blob
    assert events[-1] == Finished("stop")
    assert of_type(events, Retrying) == []


async def test_finish_reason_length_is_passed_on(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text="A long answer cut at the", finish_reason="length"))
    events, error = await collect(make_backend())
    assert error is None
    assert of_type(events, Finished) == [Finished("length")]


async def test_request_body_carries_model_messages_and_settings(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    backend = make_backend(headers={"X-Moviechat-Test": "yes"})
    _, error = await collect(backend, request("noir-2", temperature=0.3, max_tokens=120,
                                               extra={"top_p": 0.9}))
    assert error is None
    body = loopback.last_request
    assert body["model"] == "noir-2"
    assert body["messages"] == MESSAGES
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 120
    assert body["top_p"] == 0.9
    assert body["stream"] is True
    assert "stream_options" not in body  # some compatible servers reject it
    headers = loopback.request_headers[-1]
    assert headers["authorization"] == f"Bearer {SENTINEL}"
    assert headers["x-moviechat-test"] == "yes"


async def test_unset_temperature_and_max_tokens_are_not_sent(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    # Reasoning models reject `temperature`: leaving it unset must leave it out.
    _, error = await collect(make_backend(), request())
    assert error is None
    assert "temperature" not in loopback.last_request
    assert "max_tokens" not in loopback.last_request


async def test_include_usage_asks_for_and_reports_usage(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text="one two three",
                        usage={"prompt_tokens": 42, "completion_tokens": 3, "total_tokens": 45}))
    events, error = await collect(make_backend(include_usage=True))
    assert error is None
    assert loopback.last_request["stream_options"] == {"include_usage": True}
    assert of_type(events, Usage) == [Usage(prompt_tokens=42, completion_tokens=3)]
    assert text_of(events) == "one two three"


async def test_chunks_with_empty_choices_are_skipped(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text="Chinatown, 1974, Polanski.", fault=EMPTY_CHOICES))
    events, error = await collect(make_backend())
    assert error is None
    assert text_of(events) == "Chinatown, 1974, Polanski."
    assert of_type(events, Finished) == [Finished("stop")]
    assert len(of_type(events, Usage)) == 1


async def test_list_models_returns_sorted_ids(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.models = ["zeta", "alpha", "mid"]
    assert await make_backend().list_models() == ["alpha", "mid", "zeta"]


async def test_list_models_maps_errors(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.models_reply = Reply.error(401, echo_api_key=True)
    with pytest.raises(BackendError) as caught:
        await make_backend().list_models()
    assert caught.value.kind is ErrorKind.AUTH
    assert SENTINEL not in caught.value.message


# -- API keys and endpoints ------------------------------------------------------------------


@pytest.mark.parametrize("base_url", [None, "https://api.openai.com/v1"])
async def test_missing_key_for_openai_explains_first_run_choices(
        make_backend: MakeBackend, base_url: str | None) -> None:
    backend = make_backend(base_url=base_url, key="")
    events, error = await collect(backend)
    assert events == []
    assert error is not None and error.kind is ErrorKind.NO_API_KEY
    for hint in ("OPENAI_API_KEY", "moviechat config init", "--base-url", "moviechat --local"):
        assert hint in error.message
    assert backend.config_error() is not None


async def test_local_server_needs_no_key_and_env_key_is_not_leaked(
        loopback: LoopbackServer, make_backend: MakeBackend,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK would pick these up by itself; our resolved settings must win, and an OpenAI
    # key from the environment must not be sent to some other server.
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    monkeypatch.setenv("OPENAI_BASE_URL", closed_port_url())
    backend = make_backend(key="")
    assert backend.config_error() is None
    events, error = await collect(backend)
    assert error is None and of_type(events, Finished)
    assert loopback.request_headers[-1]["authorization"] == f"Bearer {NO_KEY_PLACEHOLDER}"


async def test_wrong_base_url_path_says_to_check_base_url(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    base = loopback.base_url.removesuffix("/v1")  # a common mistake: forgetting /v1
    _, error = await collect(make_backend(base_url=base))
    assert error is not None and error.kind is ErrorKind.NOT_FOUND
    assert "--base-url" in error.message and "/v1" in error.message


async def test_connection_refused_is_retried_then_reported(make_backend: MakeBackend) -> None:
    url = closed_port_url()
    events, error = await collect(make_backend(base_url=url, max_attempts=2))
    assert [e.attempt for e in of_type(events, Retrying)] == [2]
    assert error is not None and error.kind is ErrorKind.CONNECTION
    assert url.removesuffix("/v1") in error.message


# -- HTTP errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(("reply", "kind", "hints"), [
    (Reply.error(401), ErrorKind.AUTH, ["401", "OPENAI_API_KEY"]),
    (Reply.error(403), ErrorKind.FORBIDDEN, ["403", "--model"]),
    (Reply.error(404, code="model_not_found"), ErrorKind.NOT_FOUND,
     ["noir-1", "--model", "/v1/models"]),
    (Reply.error(400, code="context_length_exceeded"), ErrorKind.CONTEXT_TOO_LONG,
     ["new conversation", "ctrl+n"]),
    (Reply.error(400, message="the request exceeds the available context size, try "
                              "increasing it", error_type="exceed_context_size_error"),
     ErrorKind.CONTEXT_TOO_LONG, ["ctrl+n"]),  # llama.cpp's wording, no OpenAI code
    (Reply.error(400, message="Unsupported value: 'temperature'"), ErrorKind.BAD_REQUEST,
     ["400", "temperature"]),
    (Reply.error(429, code="insufficient_quota", message="You exceeded your current quota"),
     ErrorKind.RATE_LIMIT, ["quota"]),
], ids=["401", "403", "404-model", "context-openai", "context-llamacpp", "400", "quota"])
async def test_client_errors_map_to_a_kind_and_are_not_retried(
        loopback: LoopbackServer, make_backend: MakeBackend, reply: Reply, kind: ErrorKind,
        hints: list[str]) -> None:
    loopback.push(reply)
    events, error = await collect(make_backend(max_attempts=3))
    assert error is not None and error.kind is kind, error
    for hint in hints:
        assert hint in error.message
    assert error.status == reply.status
    assert len(loopback.requests) == 1  # retrying cannot fix these: no pointless waits
    assert of_type(events, Retrying) == []


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retried_then_reported(
        loopback: LoopbackServer, make_backend: MakeBackend, status: int) -> None:
    loopback.push(*[Reply.error(status)] * 3)
    events, error = await collect(make_backend(max_attempts=3, backoff_base=0.02))
    retries = of_type(events, Retrying)
    assert [(r.attempt, r.max_attempts) for r in retries] == [(2, 3), (3, 3)]
    assert [r.delay for r in retries] == [0.02, 0.04]  # doubling backoff
    assert str(status) in retries[0].reason
    assert error is not None and error.kind is ErrorKind.SERVER
    assert str(status) in error.message and "3 times" in error.message
    assert len(loopback.requests) == 3


async def test_server_error_then_success_keeps_only_the_good_text(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply.error(502), Reply(text="Double Indemnity."))
    events, error = await collect(make_backend())
    assert error is None
    assert text_of(events) == "Double Indemnity."
    assert len(of_type(events, Retrying)) == 1


async def test_429_retry_after_is_announced_honoured_then_succeeds(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply.error(429, retry_after=1), Reply(text="The Big Sleep."))
    started = time.monotonic()
    events, error = await collect(make_backend())
    elapsed = time.monotonic() - started
    assert error is None
    assert isinstance(events[0], Retrying)
    assert events[0] == Retrying(attempt=2, max_attempts=3, delay=1.0,
                                 reason="rate limited (429)")
    assert text_of(events) == "The Big Sleep."
    assert elapsed >= 0.95  # it really waited as the server asked
    assert len(loopback.requests) == 2


async def test_429_retries_exhausted_reports_the_wait(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(*[Reply.error(429, retry_after_ms=30)] * 2)
    events, error = await collect(make_backend(max_attempts=2))
    assert [r.delay for r in of_type(events, Retrying)] == [pytest.approx(0.03)]
    assert error is not None and error.kind is ErrorKind.RATE_LIMIT
    assert error.retry_after == pytest.approx(0.03)
    assert "429" in error.message and "Wait 1 s" in error.message


async def test_429_without_retry_after_backs_off_from_one_second(
        loopback: LoopbackServer) -> None:
    loopback.push(Reply.error(429))
    backend = OpenAIBackend(loopback.base_url, Secret(SENTINEL), timeout=2.0)
    stream = backend.stream(request())
    try:
        first = await anext(stream)
    finally:
        await stream.aclose()  # the user cancels instead of waiting
        await backend.aclose()
    assert first == Retrying(attempt=2, max_attempts=3, delay=1.0, reason="rate limited (429)")


@pytest.mark.parametrize("retry_after", [
    "3600", email.utils.formatdate(time.time() + 3600, usegmt=True)], ids=["seconds", "date"])
async def test_long_retry_after_is_capped_at_60_seconds(
        loopback: LoopbackServer, make_backend: MakeBackend, retry_after: str) -> None:
    loopback.push(Reply.error(429, retry_after=retry_after))
    stream = make_backend().stream(request())
    try:
        first = await anext(stream)
    finally:
        await stream.aclose()
    assert isinstance(first, Retrying) and first.delay == 60.0


# -- broken streams --------------------------------------------------------------------------


async def test_server_that_never_answers_times_out(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(fault=HANG, hang_for=10))
    started = time.monotonic()
    events, error = await collect(make_backend(timeout=0.3, max_attempts=1))
    assert time.monotonic() - started < 2
    assert events == []
    assert error is not None and error.kind is ErrorKind.TIMEOUT
    assert "0.3 s" in error.message
    await asyncio.to_thread(loopback.wait_for_disconnects, 1, 2.0)  # we hung up on it


async def test_timeout_before_any_text_is_retried(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(fault=HANG, hang_for=10), Reply(text="Laura (1944)."))
    events, error = await collect(make_backend(timeout=0.3, max_attempts=2))
    assert error is None
    assert [r.reason for r in of_type(events, Retrying)] == ["timed out"]
    assert text_of(events) == "Laura (1944)."


async def test_drop_mid_stream_keeps_text_and_reports_stream_cut(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text="The Maltese Falcon is a classic.", fault=DROP_MID_STREAM,
                        fault_after=3))
    events, error = await collect(make_backend(max_attempts=3))
    assert text_of(events) == "The Maltese Falcon"
    assert error is not None and error.kind is ErrorKind.STREAM_CUT
    assert "kept" in error.message
    assert len(loopback.requests) == 1  # no retry once text is on screen: it would repeat


async def test_drop_after_finish_reason_is_a_complete_reply(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    # Only the `[DONE]` trailer was lost: the reply is whole, so no error and no "cut" notice.
    loopback.push(Reply(text="Gun Crazy (1950).", fault=DROP_MID_STREAM, fault_after=99))
    events, error = await collect(make_backend())
    assert error is None
    assert text_of(events) == "Gun Crazy (1950)."
    assert events[-1] == Finished("stop")


async def test_stall_mid_stream_keeps_text_and_reports_stream_cut(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(chunks=["Sunset", " Boulevard", " (1950)"], delay=5))
    events, error = await collect(make_backend(timeout=0.3))
    assert text_of(events) == "Sunset"
    assert error is not None and error.kind is ErrorKind.STREAM_CUT
    assert len(loopback.requests) == 1


async def test_stream_without_finish_or_done_ends_quietly_without_finished(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text="Touch of Evil opens with a long take", fault=NO_DONE))
    events, error = await collect(make_backend())
    assert error is None
    assert text_of(events) == "Touch of Evil opens with a long take"
    assert of_type(events, Finished) == []  # the controller marks it as truncated


async def test_sse_error_event_is_a_protocol_error_after_the_text(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text="Kiss Me Deadly is", fault=SSE_ERROR_EVENT, fault_after=2,
                        error_message="Model overloaded mid-generation"))
    events, error = await collect(make_backend())
    assert text_of(events) == "Kiss Me"
    assert error is not None and error.kind is ErrorKind.PROTOCOL
    assert "Model overloaded mid-generation" in error.message
    assert len(loopback.requests) == 1


async def test_malformed_chunk_is_a_protocol_error(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text="Detour was shot in six days", fault=MALFORMED_CHUNK,
                        fault_after=1))
    events, error = await collect(make_backend())
    assert text_of(events) == "Detour"
    assert error is not None and error.kind is ErrorKind.PROTOCOL
    assert "--base-url" in error.message


def test_chunks_with_missing_null_or_odd_fields_still_give_their_text() -> None:
    """What compatible servers send is read leniently, field by field; JSON that is not a
    chunk at all is refused (the caller reports it as a protocol error)."""
    from moviechat_tui.llm.backend import _chunk_events

    assert _chunk_events({"choices": [{"delta": {"content": "Vertigo"}}]}, False) == \
        [TextDelta("Vertigo")]
    assert _chunk_events({"choices": [{"delta": None, "finish_reason": "stop"}]}, False) == \
        [Finished("stop")]
    assert _chunk_events({"choices": [{"delta": {"content": None}}]}, False) == []
    assert _chunk_events({"choices": [], "usage": {"prompt_tokens": "12",
                                                   "completion_tokens": None}}, False) == \
        [Usage(12, 0)]
    assert _chunk_events({"choices": "nonsense", "usage": None}, False) == []
    with pytest.raises(ValueError):
        _chunk_events(["not", "a", "chunk"], False)


async def test_web_page_instead_of_an_api_is_a_protocol_error_not_a_truncation(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    # e.g. --base-url pointing at a web server's front page that answers 200 to anything.
    loopback.push(Reply(raw_body="<html><body><h1>Welcome to my film blog</h1></body></html>"))
    events, error = await collect(make_backend())
    assert events == []
    assert error is not None and error.kind is ErrorKind.PROTOCOL
    assert "--base-url" in error.message


async def test_html_error_page_is_shown_as_words(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    page = ("<html><head><style>h1 {color: red}</style></head>"
            "<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>")
    loopback.push(Reply(raw_body=page, status=502))
    _, error = await collect(make_backend(max_attempts=1))
    assert error is not None and error.kind is ErrorKind.SERVER
    assert "502 Bad Gateway nginx" in error.message
    assert "<" not in error.message and "color" not in error.message


# -- cancellation ----------------------------------------------------------------------------


async def test_cancelling_the_consumer_closes_the_connection(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text=" ".join(["frame"] * 200), delay=0.05))
    backend = make_backend()
    first_text = asyncio.Event()
    received: list[str] = []

    async def consume() -> None:
        async for event in backend.stream(request()):
            if isinstance(event, TextDelta):
                received.append(event.text)
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 2)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # The server notices the client leaving long before the 10 s the reply would take.
    await asyncio.to_thread(loopback.wait_for_disconnects, 1, 2.0)
    assert loopback.completed == []
    assert 0 < len(received) < 20


async def test_closing_the_stream_early_closes_the_connection(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(Reply(text=" ".join(["frame"] * 200), delay=0.05))
    async with contextlib.aclosing(make_backend().stream(request())) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                break
    await asyncio.to_thread(loopback.wait_for_disconnects, 1, 2.0)
    assert loopback.completed == []


# -- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reply", [
    Reply.error(401, echo_api_key=True),
    Reply.error(403, echo_api_key=True),
    Reply.error(404, echo_api_key=True),
    Reply.error(400, echo_api_key=True),
    Reply.error(400, code="context_length_exceeded", echo_api_key=True),
    Reply.error(418, echo_api_key=True),
    Reply.error(429, code="insufficient_quota", echo_api_key=True),
    Reply(text="a b c d", fault=SSE_ERROR_EVENT, echo_api_key=True),
    # The key sits where a 160-character cut would split it: redact before shortening.
    Reply.error(401, message="x" * 130, echo_api_key=True),
], ids=["401", "403", "404", "400", "context", "418", "quota", "sse", "long"])
async def test_api_key_never_appears_in_error_messages(
        loopback: LoopbackServer, make_backend: MakeBackend, reply: Reply) -> None:
    loopback.push(reply)
    backend = make_backend(max_attempts=1)
    _, error = await collect(backend)
    assert error is not None
    shown = " ".join([error.message, str(error), repr(error), repr(backend)])
    assert SENTINEL[:12] not in shown
    assert "****" in error.message  # the server's text was shown, with the key masked


async def test_api_key_never_appears_after_retries(
        loopback: LoopbackServer, make_backend: MakeBackend) -> None:
    loopback.push(*[Reply.error(503, echo_api_key=True)] * 2)
    events, error = await collect(make_backend(max_attempts=2))
    assert error is not None and error.kind is ErrorKind.SERVER
    assert SENTINEL[:12] not in error.message + repr(events)


# -- start-up cost ---------------------------------------------------------------------------


def test_importing_the_backend_does_not_import_openai_or_textual() -> None:
    code = ("import sys, moviechat_tui.llm.backend; "
            "print(sorted(m for m in ('openai', 'textual', 'httpx2') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


async def test_loopback_server_is_reached_despite_a_proxy_setting(
        loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY without NO_PROXY must not send 127.0.0.1 traffic to the proxy."""
    monkeypatch.setenv("HTTP_PROXY", closed_port_url().removesuffix("/v1"))
    monkeypatch.setenv("http_proxy", closed_port_url().removesuffix("/v1"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    loopback.push(Reply(text="Through, not around."))
    backend = OpenAIBackend(loopback.base_url, Secret(""), max_attempts=1)
    try:
        texts = [e.text async for e in backend.stream(
            ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}]))
            if isinstance(e, TextDelta)]
    finally:
        await backend.aclose()
    assert "".join(texts) == "Through, not around."
