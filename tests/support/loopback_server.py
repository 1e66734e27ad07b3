"""An OpenAI-compatible chat server on 127.0.0.1 for tests and for trying the app by hand.

Why a real server instead of mocking the SDK: the failures users meet (a socket dropped in the
middle of a reply, a stream that ends without `[DONE]`, a 429 with `Retry-After`, a server that
accepts and never answers) live in the HTTP and SSE layers. Only real sockets exercise the
SDK's and httpx's handling of them, and the same server serves pytest, subprocess-driven tests
and a human in tmux.

Stdlib only. `ThreadingHTTPServer` in a background thread, so it works from sync tests, async
tests (it never touches their event loop) and other processes. Responses use HTTP/1.1 with
chunked transfer encoding like real servers, which is what lets a client tell a connection cut
mid-body (incomplete chunked body) from a body that ended cleanly.

Usage:

    with LoopbackServer() as server:
        server.push(Reply(text="Hello there"), Reply.error(429, retry_after=1))
        ... point the client at server.base_url ...
        server.wait_for_requests(1)

Tool calls (function calling): a reply that asks for calls streams them as OpenAI does —
`delta.tool_calls` fragments with an index per call, the id, type and name in the first one,
the arguments in pieces of `tool_chunk` characters (interleaved between calls with
`interleave=True`), then `finish_reason: "tool_calls"`:

    server.push(Reply.calling(ToolCall("search_films", '{"query": "Parasite"}')),
                Reply(text="Bong Joon Ho directed it."))
    LoopbackServer(reject_tools=True)   # 400 "does not support tools" to any request
                                        # that offers tools, like Ollama for such models

By hand (prints the base URL, Ctrl+C to stop):

    python -m tests.support.loopback_server --port 8765 --delay 0.02
    python -m tests.support.loopback_server --script replies.json   # scripted replies
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import select
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Fault names (one per Reply). Plain strings so the CLI can take them verbatim.
HANG = "hang"  # accept the request, send nothing for `hang_for` seconds, then reply normally
DROP_MID_STREAM = "drop_mid_stream"  # send `fault_after` content chunks, then cut the socket
# (with fault_after >= the number of chunks: cut after the finish chunk, before [DONE])
NO_DONE = "no_done"  # send content, no finish_reason, no [DONE]; end the body cleanly
SSE_ERROR_EVENT = "sse_error_event"  # `fault_after` chunks, then `event: error` + error JSON
MALFORMED_CHUNK = "malformed_chunk"  # `fault_after` chunks, then `data: {not json`
EMPTY_CHOICES = "empty_choices"  # `choices: []` chunks between content chunks + usage chunk
FAULTS = (HANG, DROP_MID_STREAM, NO_DONE, SSE_ERROR_EVENT, MALFORMED_CHUNK, EMPTY_CHOICES)

# Default OpenAI-style error bodies per status: (type, code, message).
_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory",
          "Country, region, or territory not supported."),
    404: ("invalid_request_error", "model_not_found",
          "The model does not exist or you do not have access to it."),
    408: ("server_error", None, "Request timed out."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests."),
    500: ("server_error", None, "The server had an error while processing your request."),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
}
_CONTEXT_MESSAGE = (
    "This model's maximum context length is 8192 tokens. However, your messages resulted in "
    "9000 tokens. Please reduce the length of the messages."
)

DEFAULT_MODELS = ["loopback-mini", "loopback-large", "gpt-4o-mini"]

FILM_REPLY = """\
## Three films worth a rainy evening

Here is a short, **opinionated** list to get you started:

1. *Paths of Glory* (1957) — Kubrick's anti-war drama, 88 minutes and not one wasted.
2. *Tokyo Story* (1953) — Ozu's quiet study of a family drifting apart.
3. *The Third Man* (1949) — Vienna, zither music and Orson Welles on a Ferris wheel.

| Film | Director | Year | Runtime |
|------|----------|------|---------|
| Paths of Glory | Stanley Kubrick | 1957 | 88 min |
| Tokyo Story | Yasujirō Ozu | 1953 | 136 min |
| The Third Man | Carol Reed | 1949 | 104 min |

If you keep a watch list in a script, something like this works:

```python
watchlist = ["Paths of Glory", "Tokyo Story", "The Third Man"]
for title in sorted(watchlist):
    print(f"- {title}")
```

> "Cinema is a matter of what's in the frame and what's out." — Martin Scorsese

Want more in the same vein, or something lighter?"""


@dataclass
class ToolCall:
    """One function call a scripted reply asks for. `arguments` is sent as written (it may
    be invalid JSON on purpose); `id` defaults to `call_<n>` numbered across the server."""

    name: str
    arguments: str = "{}"
    id: str | None = None


@dataclass
class Reply:
    """One scripted answer to one chat completions request.

    `text` is streamed in chunks: `chunks` if given, else `chunk_size` characters each, else
    word-ish tokens (each with its leading whitespace, so the chunks join back to `text`).
    `status` >= 400 sends an OpenAI-style JSON error body instead (see `Reply.error`).
    """

    text: str = "Hello from the loopback server."
    chunks: list[str] | None = None
    chunk_size: int | None = None
    delay: float = 0.0  # seconds between chunks (a slow trickle is delay=1.0)
    finish_reason: str | None = "stop"
    fault: str | None = None  # one of FAULTS
    fault_after: int = 2  # content chunks sent before drop / SSE error / malformed chunk
    hang_for: float = 3600.0  # for HANG: silence before replying normally
    status: int = 200
    error_type: str | None = None  # error body fields; defaults from the status
    error_code: str | None = None
    error_message: str | None = None
    retry_after: str | float | None = None  # Retry-After header value (seconds)
    retry_after_ms: float | None = None  # retry-after-ms header (OpenAI's finer-grained one)
    echo_api_key: bool = False  # put the request's bearer token in the error message
    echo: bool = False  # first line quotes the last user message
    usage: dict[str, int] | None = None  # send a usage chunk (choices == []) at the end
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    model: str | None = None  # model name in chunks; default: the requested one
    raw_body: str | None = None  # send this verbatim instead (e.g. an HTML page), with:
    content_type: str = "text/html; charset=utf-8"
    tool_calls: list[ToolCall] = field(default_factory=list)  # asked for after the text
    tool_chunk: int = 4  # characters of arguments per fragment
    interleave: bool = False  # send the calls' argument fragments in turns
    gate: threading.Semaphore | None = None  # each content chunk, and then the end (finish
    # reason, [DONE]), waits for one `gate.release()`: a test paces the stream step by step

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; expected one of {FAULTS}")

    @classmethod
    def error(cls, status: int, *, code: str | None = None, message: str | None = None,
              retry_after: str | float | None = None, **kwargs: Any) -> Reply:
        """An HTTP error reply, e.g. `Reply.error(404)` (code model_not_found),
        `Reply.error(429, retry_after=2)`, `Reply.error(400, code="context_length_exceeded")`."""
        if message is None and code == "context_length_exceeded":
            message = _CONTEXT_MESSAGE
        return cls(status=status, error_code=code, error_message=message,
                   retry_after=retry_after, **kwargs)

    @classmethod
    def calling(cls, *calls: ToolCall, text: str = "", **kwargs: Any) -> Reply:
        """A reply that asks for these function calls (after `text`, usually none)."""
        kwargs.setdefault("finish_reason", "tool_calls")
        return cls(text=text, tool_calls=list(calls), **kwargs)

    def pieces(self, text: str) -> list[str]:
        if self.chunks is not None:
            return list(self.chunks)
        if self.chunk_size:
            return [text[i:i + self.chunk_size] for i in range(0, len(text), self.chunk_size)]
        return re.findall(r"\s*\S+|\s+", text)


def closed_port_url() -> str:
    """A base URL where nothing listens: connecting is refused at once.

    The port stays bound (without listening) for the life of the process, so no other test
    can start listening on it in the meantime and turn "refused" into something else.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    _RESERVED.append(sock)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


_RESERVED: list[socket.socket] = []


class _ClientGone(Exception):
    """The client closed its side (cancelled request) while we were replying."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], owner: LoopbackServer) -> None:
        self.owner = owner
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connection errors are part of the scripted faults; keep test output clean.
        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError, _ClientGone)):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Scriptable OpenAI-compatible server. Thread-safe; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 models: list[str] | None = None, default_reply: Reply | None = None,
                 verbose: bool = False, reject_tools: bool = False) -> None:
        self.host = host
        self.port = port
        self.models: list[str] = list(DEFAULT_MODELS if models is None else models)
        self.default_reply: Reply = default_reply or Reply()
        self.models_reply: Reply | None = None  # set to an error Reply to fail GET /models
        self.verbose = verbose
        self.reject_tools = reject_tools
        """Answer any request that offers `tools` with a 400 saying they are unsupported."""
        self.calls_made = 0  # tool calls sent so far (numbers their default ids)
        self.replies: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []  # JSON bodies of POST /chat/completions
        self.request_headers: list[dict[str, str]] = []  # lower-cased names, same order
        self.log: list[tuple[str, str]] = []  # (method, path) of every request
        self.disconnects: list[int] = []  # request indexes whose client left mid-reply
        self.completed: list[int] = []  # request indexes answered to the end
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _Server((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"loopback-server:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with httpd.sockets_lock:  # wake handlers blocked on idle keep-alive connections
            for sock in list(httpd.open_sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------

    def push(self, *replies: Reply) -> None:
        """Queue replies; each chat request takes the next one, then `default_reply`."""
        with self._cond:
            self.replies.extend(replies)

    def next_reply(self) -> Reply:
        with self._cond:
            return self.replies.popleft() if self.replies else self.default_reply

    @property
    def last_request(self) -> dict[str, Any]:
        with self._cond:
            return self.requests[-1]

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until at least `n` chat requests arrived; raise TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.requests) >= n, timeout):
                raise TimeoutError(f"{len(self.requests)} of {n} requests after {timeout} s")
            return list(self.requests)

    def wait_for_disconnects(self, n: int = 1, timeout: float = 5.0) -> list[int]:
        """Block until the server saw `n` clients leave mid-reply; raise TimeoutError otherwise."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self.disconnects) >= n, timeout):
                raise TimeoutError(f"{len(self.disconnects)} of {n} disconnects after {timeout} s")
            return list(self.disconnects)

    def _record(self, attr: str, value: Any) -> None:
        with self._cond:
            getattr(self, attr).append(value)
            self._cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    # -- plumbing --------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.owner.verbose:
            super().log_message(format, *args)

    @property
    def owner(self) -> LoopbackServer:
        return self.server.owner

    def _client_gone(self) -> bool:
        """True if the client closed its end (EOF waiting to be read) or the server stops."""
        if self.owner._stopping.is_set():
            return True
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                return bool(self.connection.recv(1, socket.MSG_PEEK) == b"")
        except (OSError, ValueError):
            return True
        return False

    def _wait(self, seconds: float) -> None:
        """Sleep, but notice a client that leaves (raise _ClientGone) within ~10 ms."""
        deadline = time.monotonic() + seconds
        while True:
            if self._client_gone():
                raise _ClientGone
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                select.select([self.connection], [], [], min(remaining, 0.05))
            except (OSError, ValueError) as exc:
                raise _ClientGone from exc

    def _pass(self, gate: threading.Semaphore) -> None:
        """Wait for the test to open `gate` (see Reply.gate), noticing a client that left."""
        while not gate.acquire(timeout=0.05):
            if self._client_gone():
                raise _ClientGone

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _write_chunk(self, data: bytes) -> None:
        if self._client_gone():
            raise _ClientGone
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        except OSError as exc:
            raise _ClientGone from exc

    def _event(self, payload: Any, event: str | None = None) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        head = f"event: {event}\n" if event else ""
        self._write_chunk(f"{head}data: {text}\n\n".encode())

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- routes ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self.owner._record("log", ("GET", self.path))
        path = self.path.split("?")[0].rstrip("/")
        if path == "/v1/models":
            reply = self.owner.models_reply
            if reply is not None and reply.status >= 400:
                self._send_error_reply(reply)
                return
            self._send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 1700000000, "owned_by": "loopback"}
                for m in self.owner.models
            ]})
            return
        self._not_found()

    def do_POST(self) -> None:
        self.owner._record("log", ("POST", self.path))
        raw = self._read_body()
        if self.path.split("?")[0].rstrip("/") != "/v1/chat/completions":
            self._not_found()
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "Body is not JSON.",
                                            "type": "invalid_request_error", "code": None}})
            return
        owner = self.owner
        with owner._cond:
            owner.requests.append(body)
            owner.request_headers.append({k.lower(): v for k, v in self.headers.items()})
            index = len(owner.requests) - 1
            owner._cond.notify_all()
        if owner.reject_tools and body.get("tools"):
            reply = Reply.error(400, message=f"{body.get('model')} does not support tools")
        else:
            reply = owner.next_reply()
        try:
            self._answer(index, body, reply)
        except _ClientGone:
            owner._record("disconnects", index)
            self.close_connection = True
            return
        owner._record("completed", index)

    def _not_found(self) -> None:
        self._send_json(404, {"error": {"message": f"Unknown path {self.path}",
                                        "type": "invalid_request_error", "code": None}})

    # -- answering -------------------------------------------------------------------------

    def _bearer(self) -> str:
        auth = self.headers.get("Authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else auth

    def _send_error_reply(self, reply: Reply) -> None:
        etype, ecode, emessage = _ERRORS.get(reply.status, ("server_error", None, "Error."))
        message = reply.error_message or emessage
        if reply.echo_api_key:
            message = f"{message} Key used: {self._bearer()}"
        headers = dict(reply.headers)
        if reply.retry_after is not None:
            headers["Retry-After"] = str(reply.retry_after)
        if reply.retry_after_ms is not None:
            headers["retry-after-ms"] = str(reply.retry_after_ms)
        body = {"error": {"message": message, "type": reply.error_type or etype,
                          "param": None, "code": reply.error_code or ecode}}
        self._send_json(reply.status, body, headers)

    def _answer(self, index: int, body: dict[str, Any], reply: Reply) -> None:
        if reply.fault == HANG:
            self._wait(reply.hang_for)
        if reply.raw_body is not None:
            data = reply.raw_body.encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        if reply.status >= 400:
            self._send_error_reply(reply)
            return
        text = reply.text
        if reply.echo:
            text = f"> You said: {_last_user_line(body)}\n\n{text}"
        model = reply.model or str(body.get("model") or "loopback-mini")
        cid = f"chatcmpl-loopback-{index}"
        created = int(time.time())
        usage = reply.usage
        options = body.get("stream_options") or {}
        if usage is None and (reply.fault == EMPTY_CHOICES or (
                isinstance(options, dict) and options.get("include_usage"))):
            usage = {"prompt_tokens": _count_prompt_tokens(body),
                     "completion_tokens": len(reply.pieces(text)),
                     "total_tokens": 0}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if not body.get("stream"):
            self._send_json(200, {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": reply.finish_reason, "logprobs": None}],
                "usage": usage or {"prompt_tokens": _count_prompt_tokens(body),
                                   "completion_tokens": len(reply.pieces(text)),
                                   "total_tokens": 0},
            }, reply.headers)
            return
        self._stream(cid, created, model, text, reply, usage)

    def _stream(self, cid: str, created: int, model: str, text: str, reply: Reply,
                usage: dict[str, int] | None) -> None:
        pieces = reply.pieces(text)
        if reply.fault in (SSE_ERROR_EVENT, MALFORMED_CHUNK) and \
                len(pieces) <= reply.fault_after:
            raise ValueError("fault_after must be smaller than the number of chunks")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        # One stream per connection: the client never reuses a socket we are about to close.
        self.send_header("Connection", "close")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"id": cid, "object": "chat.completion.chunk", "created": created,
                    "model": model, "system_fingerprint": None,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                 "finish_reason": finish}]}

        def empty(extra: dict[str, Any] | None = None) -> dict[str, Any]:
            return {"id": cid, "object": "chat.completion.chunk", "created": created,
                    "model": model, "choices": [], **(extra or {})}

        self._event(chunk({"role": "assistant", "content": ""}))
        for n, piece in enumerate(pieces):
            if n and reply.delay:
                self._wait(reply.delay)
            if reply.gate is not None:
                self._pass(reply.gate)
            if n == reply.fault_after:
                if reply.fault == DROP_MID_STREAM:
                    self._drop()
                    return
                if reply.fault == SSE_ERROR_EVENT:
                    message = reply.error_message or "The server had an error while streaming."
                    if reply.echo_api_key:
                        message = f"{message} Key used: {self._bearer()}"
                    self._event({"error": {"message": message,
                                           "type": reply.error_type or "server_error",
                                           "param": None, "code": reply.error_code}},
                                event="error")
                    self._end_body()
                    return
                if reply.fault == MALFORMED_CHUNK:
                    self._write_chunk(b"data: {not json\n\n")
            if reply.fault == EMPTY_CHOICES:
                self._event(empty())
            self._event(chunk({"content": piece}))
        if reply.gate is not None:
            self._pass(reply.gate)
        if reply.fault == NO_DONE:
            self._end_body()
            return
        for fragment in self._tool_fragments(reply):
            if reply.delay:
                self._wait(reply.delay)
            self._event(chunk({"tool_calls": [fragment]}))
        if reply.finish_reason is not None:
            self._event(chunk({}, reply.finish_reason))
        if reply.fault == DROP_MID_STREAM:  # fault_after >= len(pieces)
            self._drop()
            return
        if usage is not None:
            self._event(empty({"usage": usage}))
        self._write_chunk(b"data: [DONE]\n\n")
        self._end_body()

    def _tool_fragments(self, reply: Reply) -> list[dict[str, Any]]:
        """The `delta.tool_calls` items for the reply's calls: per call a first fragment
        (index, id, type, name, empty arguments), then its arguments in pieces."""
        per_call: list[list[dict[str, Any]]] = []
        for index, call in enumerate(reply.tool_calls):
            with self.owner._cond:
                self.owner.calls_made += 1
                number = self.owner.calls_made
            first = {"index": index, "id": call.id or f"call_{number}", "type": "function",
                     "function": {"name": call.name, "arguments": ""}}
            size = max(1, reply.tool_chunk)
            rest = [{"index": index, "function": {"arguments": call.arguments[i:i + size]}}
                    for i in range(0, len(call.arguments), size)]
            per_call.append([first, *rest])
        if not reply.interleave:
            return [fragment for fragments in per_call for fragment in fragments]
        out: list[dict[str, Any]] = []
        while any(per_call):
            for fragments in per_call:
                if fragments:
                    out.append(fragments.pop(0))
        return out

    def _end_body(self) -> None:
        """Terminate the chunked body properly: the client sees a clean end of stream."""
        try:
            self.wfile.write(b"0\r\n\r\n")
        except OSError as exc:
            raise _ClientGone from exc
        self.close_connection = True

    def _drop(self) -> None:
        """Cut the connection mid-body, without the terminating chunk."""
        time.sleep(0.02)  # let the client read what was sent before the FIN arrives
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.close_connection = True


def _last_user_line(body: dict[str, Any]) -> str:
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):  # content parts
                content = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            flat = " ".join(str(content).split())
            return flat if len(flat) <= 120 else flat[:119] + "…"
    return "(no user message)"


def _count_prompt_tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", "")).split()) for m in body.get("messages") or []
               if isinstance(m, dict))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="OpenAI-compatible loopback chat server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--text", default=FILM_REPLY, help="reply text (default: film Markdown)")
    parser.add_argument("--text-file", help="read the reply text from this file")
    parser.add_argument("--delay", type=float, default=0.02, help="seconds between chunks")
    parser.add_argument("--chunk-size", type=int, default=None, help="characters per chunk")
    parser.add_argument("--no-echo", action="store_true",
                        help="do not quote the last user message in the first line")
    parser.add_argument("--fault", choices=FAULTS, default=None)
    parser.add_argument("--status", type=int, default=200, help="answer every request with this")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="comma-separated ids")
    parser.add_argument("--script", metavar="FILE",
                        help="a JSON list of replies answered in turn before the default one: "
                             '{"text": "..."} or {"tool_calls": [{"name": "search_films", '
                             '"arguments": "{\\"query\\": \\"Parasite\\"}"}]}')
    parser.add_argument("--reject-tools", action="store_true",
                        help="answer requests that offer tools with 400 (tools unsupported)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    text = args.text
    if args.text_file:
        with open(args.text_file, encoding="utf-8") as f:
            text = f.read()
    reply = Reply(text=text, delay=args.delay, chunk_size=args.chunk_size,
                  echo=not args.no_echo, fault=args.fault, status=args.status)
    server = LoopbackServer(args.host, args.port, default_reply=reply,
                            models=[m for m in args.models.split(",") if m],
                            verbose=args.verbose, reject_tools=args.reject_tools)
    if args.script:
        with open(args.script, encoding="utf-8") as f:
            for entry in json.load(f):
                calls = [ToolCall(c["name"], c.get("arguments", "{}"), c.get("id"))
                         for c in entry.get("tool_calls", [])]
                if calls:
                    server.push(Reply.calling(*calls, text=entry.get("text", ""),
                                              delay=args.delay))
                else:
                    server.push(Reply(text=entry.get("text", ""), delay=args.delay))
    server.start()
    print(f"Serving OpenAI-compatible chat at {server.base_url}  (Ctrl+C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
