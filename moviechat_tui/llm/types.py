"""What the backend yields and raises: plain data the controller can act on.

Kept apart from `backend.py` so that the controller and the UI can name these types without
touching the module that (lazily) imports `openai`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.records import Record, field


class ChatRequest(Record):
    """One chat completions call. `messages` are OpenAI chat messages, system first:
    `{"role", "content"}`, and in a conversation with tool traffic also an assistant message
    with `tool_calls` followed by one `{"role": "tool", "tool_call_id", "content"}` per call.

    `tools` are the functions offered (`{"type": "function", "function": {name, description,
    parameters}}`), none when empty; `tool_choice` is sent when set ("none" on the last round
    asks the model to answer with what it has)."""

    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    max_tokens: int | None = None
    extra: dict[str, object] = field(default_factory=dict)
    tools: tuple[dict[str, Any], ...] = ()
    tool_choice: str | None = None


class TextDelta(Record):
    text: str


class ToolCallRequest(Record):
    """A function the model asked to call, assembled from the stream's `delta.tool_calls`
    fragments. Yielded once per call, in the order of their index, just before `Finished`.

    `arguments` is the JSON text exactly as the model wrote it (it may not be valid JSON:
    the caller checks); `id` may be empty when a server sent none."""

    index: int
    id: str
    name: str
    arguments: str


class Finished(Record):
    """The server said the reply is over. `reason` is the server's finish_reason."""

    reason: str


class Usage(Record):
    prompt_tokens: int
    completion_tokens: int


class Retrying(Record):
    """A retryable failure before any text arrived; the backend waits `delay` s and tries again."""

    attempt: int  # the attempt about to be made, 2.. max_attempts
    max_attempts: int
    delay: float
    reason: str  # short human text, e.g. "rate limited (429)"


StreamEvent = TextDelta | ToolCallRequest | Finished | Usage | Retrying


class ErrorKind(StrEnum):
    AUTH = "auth"  # 401
    FORBIDDEN = "forbidden"  # 403
    NOT_FOUND = "not_found"  # 404: unknown model or wrong base URL
    RATE_LIMIT = "rate_limit"  # 429
    SERVER = "server"  # 5xx
    CONNECTION = "connection"  # refused, DNS, reset before headers
    TIMEOUT = "timeout"
    STREAM_CUT = "stream_cut"  # connection dropped after text had started
    CONTEXT_TOO_LONG = "context_too_long"
    BAD_REQUEST = "bad_request"  # other 400/422
    PROTOCOL = "protocol"  # malformed chunk, SSE error event
    NO_API_KEY = "no_api_key"
    UNKNOWN = "unknown"


class BackendError(UserFacingError):
    """A failure mapped to something the user can act on.

    `message` is one readable sentence (already sanitised and free of secrets) saying what
    happened and what to do. `retry_after` is set for rate limits when the server said.
    `detail` is the server's own words (sanitised, shortened, without secrets; "" when it
    gave none), for the caller to tell one kind of rejection from another (a server that
    does not support `tools`).
    """

    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None,
                 status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.status = status
        self.detail = detail
