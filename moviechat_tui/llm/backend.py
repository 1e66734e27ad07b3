"""Talking to an OpenAI-compatible chat server: the only module that imports `openai`.

`import openai` costs about a second and ~50 MB, so it happens on the first request, in a
worker thread so the interface keeps drawing meanwhile; importing this module pulls in neither
`openai` nor `textual`. Everything the SDK raises is turned into a `BackendError` whose
message says, in one readable sentence, what happened and what to do — with the API key
removed, because servers do echo keys back in their error text.

We retry ourselves (the SDK is told `max_retries=0`) so that each wait can be shown to the user
as a `Retrying` event and cancelled by cancelling the consuming task. Retries happen only
before the first piece of text: once text is on screen, a repeat would duplicate it.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

from moviechat_tui.core.endpoint import OPENAI_BASE_URL, display_url, is_loopback_url, is_openai_url
from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.secret import Secret, redact
from moviechat_tui.core.text import one_line
from moviechat_tui.llm.types import (
    BackendError,
    ChatRequest,
    ErrorKind,
    Finished,
    Retrying,
    StreamEvent,
    TextDelta,
    ToolCallRequest,
    Usage,
)

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

NO_KEY_PLACEHOLDER = "sk-no-key-required"
"""Sent to servers that need no key (llama.cpp, Ollama): the SDK refuses to run without one."""

MAX_RETRY_DELAY = 60.0
"""Longest wait we accept from a `Retry-After` header before the next attempt."""

_DETAIL_LIMIT = 160
_HTML_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)
_SECRET_HEADER_WORDS = ("auth", "key", "token", "secret", "cookie")


class ChatBackend(Protocol):
    """What the controller needs from a chat server; tests substitute fakes for it."""

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Events for one reply. Raises `BackendError`. Close it (`contextlib.aclosing`) or
        cancel the task consuming it to drop the connection."""
        ...

    async def list_models(self) -> list[str]:
        """Model ids the server offers, sorted. Raises `BackendError`."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP connections."""
        ...


def no_api_key_error(base_url: str | None) -> BackendError:
    return BackendError(ErrorKind.NO_API_KEY, _(
        "No API key is set for {url}. Set OPENAI_API_KEY (or run `moviechat config init` to "
        "save one), point --base-url at a local server such as llama.cpp or Ollama, or run "
        "`moviechat --local` for a fully offline model."
    ).format(url=display_url(base_url or OPENAI_BASE_URL)))


class OpenAIBackend:
    """`ChatBackend` over the `openai` SDK's `AsyncOpenAI` client.

    `timeout` is the longest silence accepted while waiting for or reading a reply (httpx read
    timeout, per chunk, not a cap on the whole reply); `connect_timeout` bounds opening the
    connection. `max_attempts` counts the first try. `include_usage` asks for a usage chunk
    (`stream_options`), off by default because some compatible servers reject the option.
    `backoff_base` is the first wait when the server does not say how long (doubling after).
    """

    def __init__(self, base_url: str | None, api_key: Secret, *, timeout: float = 60.0,
                 connect_timeout: float = 10.0, max_attempts: int = 3,
                 headers: dict[str, str] | None = None, include_usage: bool = False,
                 backoff_base: float = 1.0, max_retry_delay: float = MAX_RETRY_DELAY,
                 url_source: str = "--base-url",
                 key_source: str | None = None) -> None:
        self.base_url = base_url.rstrip("/") if base_url else None
        self._url_source = url_source
        """Where the address came from, as error messages name it (`--base-url`, the
        profile's base_url, the local server ...)."""
        self._key_source = key_source
        """Where the key came from, as the 401 message names it (None: the usual places)."""
        self._api_key = api_key
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_attempts = max(1, max_attempts)
        self._headers = dict(headers or {})
        self._include_usage = include_usage
        self._backoff_base = backoff_base
        self._max_retry_delay = max_retry_delay
        # Header values that look like credentials are scrubbed from messages like the key.
        self._secrets = (api_key, *(
            Secret(value) for name, value in self._headers.items()
            if any(word in name.lower() for word in _SECRET_HEADER_WORDS)
        ))
        self._client: openai.AsyncOpenAI | None = None

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.endpoint!r}, api_key={self._api_key!r})"

    @property
    def endpoint(self) -> str:
        """The base URL as shown to the user (OpenAI's when none was configured)."""
        return display_url(self.base_url or OPENAI_BASE_URL)

    def config_error(self) -> BackendError | None:
        """The problem that would make every request fail before it is sent, if any."""
        if not self._api_key and is_openai_url(self.base_url):
            return no_api_key_error(self.base_url)
        return None

    async def prepare(self) -> None:
        """Import `openai` and build the client now (optional: the first request does it).

        Call it in the background after the first frame to take the ~1 s import off the
        first message's latency. Raises `BackendError(NO_API_KEY)` like a request would.
        """
        await self._ensure_client()

    async def _ensure_client(self) -> openai.AsyncOpenAI:
        if self._client is not None:
            return self._client
        problem = self.config_error()
        if problem is not None:
            raise problem
        # The import runs in a thread: it takes ~1 s, during which the UI must keep drawing.
        await asyncio.to_thread(_import_openai)
        import openai

        if self._client is None:  # another task may have finished first while we waited
            # Everything is passed explicitly: the SDK would otherwise read OPENAI_API_KEY and
            # OPENAI_BASE_URL from the environment and override the precedence resolved by
            # our config (flag > env > file) — e.g. send the OpenAI key to a local server.
            # A server on this machine is never reached through HTTP(S)_PROXY: with a proxy
            # set and no NO_PROXY entry, httpx would send 127.0.0.1 requests to the proxy.
            http_client = (openai.DefaultAsyncHttpxClient(trust_env=False)
                           if is_loopback_url(self.base_url) else None)
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key.reveal() or NO_KEY_PLACEHOLDER,
                base_url=self.base_url or OPENAI_BASE_URL,
                timeout=openai.Timeout(self._timeout, connect=self._connect_timeout),
                max_retries=0,
                default_headers=self._headers or None,
                http_client=http_client,
            )
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def list_models(self) -> list[str]:
        client = await self._ensure_client()
        import openai

        try:
            ids = [model.id async for model in client.models.list()]
        except openai.APIError as exc:
            raise self._map_error(exc, model=None, started=False, attempts=1) from None
        except ValueError as exc:  # a body that is not JSON, or not a model list
            raise self._protocol_error(exc) from None
        # Ids are shown and picked: strings only, with nothing that could act on the terminal.
        return sorted({one_line(i, 200) for i in ids if isinstance(i, str)} - {""})

    def _body(self, request: ChatRequest) -> dict[str, object]:
        body: dict[str, object] = {"model": request.model, "messages": list(request.messages),
                                   "stream": True}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if self._include_usage:
            body["stream_options"] = {"include_usage": True}
        if request.tools:
            body["tools"] = list(request.tools)
            if request.tool_choice is not None:
                body["tool_choice"] = request.tool_choice
        if log.isEnabledFor(logging.DEBUG) and request.messages:
            # The system message as it goes out (persona prompt, catalogue facts): with
            # --debug, what the model was told can be checked. Never the user's messages.
            first = request.messages[0]
            if first.get("role") == "system":
                log.debug("request body: tools=%d system message=%r", len(request.tools),
                          first.get("content"))
        return body

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield the reply as events; see `ChatBackend.stream`.

        Ends after the server's `[DONE]` or a clean close. A reply that never carried a
        finish_reason ends without `Finished`: the caller marks it as possibly truncated.
        """
        client = await self._ensure_client()
        import openai

        attempt = 1
        while True:
            started = False  # has any text (or tool call) arrived in this attempt?
            finished = False
            chunks = 0
            calls = ToolCallAssembler()
            try:
                # `post` with `cast_to=object` (the SDK's documented way to make custom
                # requests) rather than `chat.completions.create`: the same request, auth,
                # timeouts, SSE parsing and stream errors, but each chunk comes as the parsed
                # JSON instead of a pydantic model built per chunk — 0.07 ms each, a fifth of
                # the app's CPU on a 4,000-chunk reply.
                response = await client.post(
                    "/chat/completions",
                    cast_to=object,
                    body=self._body(request),
                    options={"extra_json": dict(request.extra)} if request.extra else {},
                    stream=True,
                    stream_cls=openai.AsyncStream[object],
                )
                # `async with` closes the HTTP response however we leave: end, error,
                # cancellation of the consuming task, or the caller closing this generator.
                async with response:
                    async for chunk in response:
                        chunks += 1
                        for event in _chunk_events(chunk, finished, calls):
                            if isinstance(event, TextDelta | ToolCallRequest):
                                started = True
                            elif isinstance(event, Finished):
                                finished = True
                            yield event
                if chunks == 0:
                    # Not even a role chunk: a web page or some other non-SSE answer (the SDK
                    # decodes those to nothing). Saying "truncated" would send users astray.
                    raise self._protocol_error(None)
                return
            except openai.APIError as exc:
                failure = exc
            except ValueError as exc:  # JSON that is not JSON, or not a chunk (SDK lets it out)
                raise self._protocol_error(exc) from None
            log.debug("attempt %d failed: %s", attempt, self._redact(repr(failure)))
            if finished and isinstance(failure, openai.APIConnectionError):
                return  # the reply was complete; only the [DONE] trailer was lost
            delay = None if started else self._retry_delay(failure, attempt)
            if delay is None:
                raise self._map_error(failure, model=request.model, started=started,
                                      attempts=attempt) from None
            attempt += 1
            yield Retrying(attempt, self._max_attempts, delay, _retry_reason(failure))
            await asyncio.sleep(delay)

    # -- retry policy ----------------------------------------------------------------------

    def _retry_delay(self, exc: openai.APIError, attempt: int) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None when retrying cannot help."""
        import openai

        if attempt >= self._max_attempts:
            return None
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            if status == 429 and _error_code(exc) == "insufficient_quota":
                return None  # out of credit: waiting does not fix it
            if status not in (408, 429) and status < 500:
                return None
            told = _retry_after(exc.response.headers)
            if told is not None:
                return min(told, self._max_retry_delay)
        elif not isinstance(exc, openai.APIConnectionError):  # SSE error event etc.
            return None
        return min(self._backoff_base * 2.0 ** (attempt - 1), self._max_retry_delay)

    # -- error mapping ---------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        return redact(text, *self._secrets)

    def _detail(self, exc: openai.APIError) -> str:
        """The server's own words, sanitised, shortened and with every secret removed."""
        body = exc.body
        message: object = body
        if isinstance(body, dict):
            message = body.get("message") or body.get("error") or body.get("detail") or ""
        if not isinstance(message, str):
            message = "" if message is None else str(message)
        elif not isinstance(body, dict) and message.lstrip().startswith("<"):
            message = _HTML_TAG.sub(" ", message)  # a proxy's HTML error page: keep the words
        # Redact before shortening, so that a cut cannot leave half of a key behind.
        return self._redact(one_line(self._redact(message), _DETAIL_LIMIT))

    def _with_detail(self, sentence: str, exc: openai.APIError) -> str:
        detail = self._detail(exc)
        if not detail:
            return sentence
        return _("{sentence} Server said: “{detail}”").format(sentence=sentence, detail=detail)

    def _protocol_error(self, exc: Exception | None) -> BackendError:
        log.debug("unreadable stream data: %s", self._redact(repr(exc)))
        return BackendError(ErrorKind.PROTOCOL, _(
            "The server at {url} sent something this app cannot read (not an OpenAI-style "
            "reply). Check that {source} points at an OpenAI-compatible server, usually "
            "ending in /v1."
        ).format(url=self.endpoint, source=self._url_source))

    def _map_error(self, exc: openai.APIError, *, model: str | None, started: bool,
                   attempts: int) -> BackendError:
        import openai

        url = self.endpoint
        if isinstance(exc, openai.APIStatusError):
            return self._map_status(exc, model=model, attempts=attempts)
        if isinstance(exc, openai.APIConnectionError):
            cause = type(exc.__cause__).__name__
            if started:
                if isinstance(exc, openai.APITimeoutError):
                    message = _("The server went silent for {seconds:g} s in the middle of the "
                                "reply; the text so far is kept. Send again to retry.")
                else:
                    message = _("The connection dropped in the middle of the reply; the text "
                                "so far is kept. Send again to retry.")
                return BackendError(ErrorKind.STREAM_CUT, message.format(
                    seconds=self._timeout))
            if isinstance(exc, openai.APITimeoutError):
                if cause in ("ConnectTimeout", "PoolTimeout"):
                    return BackendError(ErrorKind.TIMEOUT, _(
                        "Could not connect to {url} within {seconds:g} s. Check the address "
                        "and your network."
                    ).format(url=url, seconds=self._connect_timeout))
                return BackendError(ErrorKind.TIMEOUT, _(
                    "The server at {url} did not answer within {seconds:g} s. It may be busy "
                    "or still loading the model: try again, or raise `timeout` in the config."
                ).format(url=url, seconds=self._timeout))
            return BackendError(ErrorKind.CONNECTION, _(
                "Could not connect to {url}. Check that the server is running and that "
                "{source} is right."
            ).format(url=url, source=self._url_source))
        # A plain APIError: the server reported an error inside the stream (SSE error event).
        return BackendError(ErrorKind.PROTOCOL, self._with_detail(
            _("The server reported an error in the middle of the reply. Try again."), exc))

    def _map_status(self, exc: openai.APIStatusError, *, model: str | None,
                    attempts: int) -> BackendError:
        status = exc.status_code
        code = _error_code(exc)
        detail = self._detail(exc)
        url = self.endpoint
        model_text = model or "?"
        kind: ErrorKind
        retry_after: float | None = None
        if status == 401:
            kind = ErrorKind.AUTH
            if self._key_source is None:
                sentence = _("The server rejected the API key (401). Check OPENAI_API_KEY or "
                             "the api_key in your config.")
            else:
                sentence = _("The server rejected the API key (401). Check {source}.").format(
                    source=self._key_source)
        elif status == 403:
            kind = ErrorKind.FORBIDDEN
            sentence = _("The server refused access (403): this key may not be allowed to use "
                         "model “{model}”. Check the key's permissions or choose another "
                         "model with --model.").format(model=model_text)
        elif status == 404 and model is not None and (
                code == "model_not_found" or "model" in detail.lower()):
            kind = ErrorKind.NOT_FOUND
            sentence = _("The server has no model “{model}” (404). Choose another with "
                         "--model; {url}/models lists the available ones."
                         ).format(model=model_text, url=url)
        elif status == 404:
            kind = ErrorKind.NOT_FOUND
            sentence = _("Nothing answered at {url} (404). Check {source}: "
                         "OpenAI-compatible servers usually end in /v1.").format(
                             url=url, source=self._url_source)
        elif status == 429 and code == "insufficient_quota":
            kind = ErrorKind.RATE_LIMIT
            sentence = _("The account has run out of quota (429). Check the plan and billing "
                         "details of this API key; waiting will not help.")
        elif status == 429:
            kind = ErrorKind.RATE_LIMIT
            retry_after = _retry_after(exc.response.headers)
            if retry_after is not None:
                sentence = _("The server is rate-limiting requests (429). Wait {seconds} s and "
                             "try again.").format(seconds=max(1, round(retry_after)))
            else:
                sentence = _("The server is rate-limiting requests (429). Wait a minute and "
                             "try again.")
        elif _is_context_error(exc, code, detail):
            kind = ErrorKind.CONTEXT_TOO_LONG
            sentence = _("This conversation is too long for model “{model}”. Start a new "
                         "conversation (ctrl+n), or use a model with a larger context window."
                         ).format(model=model_text)
        elif status >= 500:
            kind = ErrorKind.SERVER
            sentence = ngettext(
                "The server failed with an internal error ({status}). Try again in a moment.",
                "The server failed with an internal error ({status}) {n} times in a row. Try "
                "again in a moment.",
                attempts,
            ).format(status=status, n=attempts)
        elif status in (400, 413, 422):
            kind = ErrorKind.BAD_REQUEST
            sentence = _("The server rejected the request ({status}). The model or a setting "
                         "such as temperature may not be supported there.").format(status=status)
        else:
            kind = ErrorKind.UNKNOWN
            sentence = _("The server answered with an unexpected error ({status})."
                         ).format(status=status)
        return BackendError(kind, self._with_detail(sentence, exc), retry_after=retry_after,
                            status=status, detail=detail)


def _import_openai() -> None:
    import openai  # noqa: F401  (the import is the point: warm sys.modules off the loop)


class ToolCallAssembler:
    """Builds the calls of one streamed reply from its `delta.tool_calls` fragments.

    Each fragment names its call by `index`; the first one of a call carries `id`, `type`
    and `function.name`, the later ones pieces of `function.arguments` to concatenate, and
    fragments of several calls may interleave. Servers differ: some leave `index` out (a
    fragment with a new `id` then starts a new call, one without continues the last), some
    send the name in pieces too, some send a whole call in one fragment."""

    def __init__(self) -> None:
        self._calls: dict[int, list[str]] = {}
        """index → [id, name, arguments so far]."""
        self._last: int | None = None

    def feed(self, fragments: object) -> bool:
        """Take a `delta.tool_calls` value; True if it held a call fragment."""
        if not isinstance(fragments, list):
            return False
        took = False
        for fragment in fragments:
            if not isinstance(fragment, dict):
                continue
            call_id = fragment.get("id")
            call_id = call_id if isinstance(call_id, str) else ""
            given = fragment.get("index")
            if isinstance(given, int) and not isinstance(given, bool):
                index = given
            else:
                last = self._last
                known = self._calls.get(last) if last is not None else None
                if last is None or known is None or (call_id and known[0]
                                                     and call_id != known[0]):
                    index = max(self._calls, default=-1) + 1
                else:
                    index = last
            call = self._calls.setdefault(index, ["", "", ""])
            self._last = index
            took = True
            if call_id and not call[0]:
                call[0] = call_id
            function = fragment.get("function")
            if isinstance(function, dict):
                name = function.get("name")
                if isinstance(name, str):
                    call[1] += name
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    call[2] += arguments
                elif isinstance(arguments, dict):  # a few servers send the parsed object
                    import json

                    call[2] += json.dumps(arguments, ensure_ascii=False)
        return took

    def take(self) -> list[ToolCallRequest]:
        """The calls assembled so far, by index (and forget them)."""
        calls = [ToolCallRequest(index, *self._calls[index]) for index in sorted(self._calls)]
        self._calls.clear()
        self._last = None
        return calls


def _chunk_events(chunk: object, finished: bool,
                  calls: ToolCallAssembler | None = None) -> list[StreamEvent]:
    """The events in one chunk (its JSON). `choices` may be empty (usage chunk, keep-alives).

    Servers leave fields out or send nulls where OpenAI sends values: everything is read
    with a check of its type. Raises ValueError for JSON that is not a chunk at all.
    Tool call fragments go to `calls`; the assembled calls come out just before `Finished`,
    so a reply that was cut off never asks for a call with half its arguments."""
    if chunk is None:  # `data: null`: nothing in it
        return []
    if not isinstance(chunk, dict):
        raise ValueError(f"a stream chunk that is not a JSON object: {type(chunk).__name__}")
    events: list[StreamEvent] = []
    choices = chunk.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        delta = choice.get("delta")
        content = delta.get("content") if isinstance(delta, dict) else None
        if isinstance(content, str) and content:
            events.append(TextDelta(content))
        if calls is not None and isinstance(delta, dict):
            calls.feed(delta.get("tool_calls"))
        reason = choice.get("finish_reason")
        if reason and not finished:
            if calls is not None:
                events += calls.take()
            events.append(Finished(str(reason)))
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        events.append(Usage(_count(usage.get("prompt_tokens")),
                            _count(usage.get("completion_tokens"))))
    return events


def _count(value: object) -> int:
    """A token count as servers send it (a number, sometimes a string or null)."""
    if isinstance(value, int | float | str):
        try:
            return int(value)
        except (ValueError, OverflowError):  # "12a", Infinity
            return 0
    return 0


def _error_code(exc: openai.APIError) -> str | None:
    code = exc.code
    if code is None and isinstance(exc.body, dict):
        raw: Any = exc.body.get("code")
        code = str(raw) if raw is not None else None
    return code


def _is_context_error(exc: openai.APIStatusError, code: str | None, detail: str) -> bool:
    """OpenAI says `context_length_exceeded`; llama.cpp and others only say it in words."""
    if code == "context_length_exceeded":
        return True
    if exc.status_code not in (400, 413, 422):
        return False
    kind = (exc.type or "").lower()
    text = detail.lower()
    return "context" in kind or any(
        words in text for words in ("context length", "context size", "context window",
                                    "maximum context"))


def _retry_after(headers: Any) -> float | None:
    """Seconds from `retry-after-ms` or `Retry-After` (seconds or an HTTP date), if given."""
    try:
        value = headers.get("retry-after-ms")
        if value:
            return max(0.0, float(value) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _retry_reason(exc: openai.APIError) -> str:
    """Short text for the 'retrying' notice, e.g. 'rate limited (429)'."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429:
            return _("rate limited (429)")
        return _("server error ({status})").format(status=exc.status_code)
    if isinstance(exc, openai.APITimeoutError):
        return _("timed out")
    return _("could not connect")
