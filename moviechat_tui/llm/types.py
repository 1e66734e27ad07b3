"""What the backend yields and raises: plain data the controller can act on.

Kept apart from `backend.py` so that the controller and the UI can name these types without
touching the module that (lazily) imports `openai`.
"""

from __future__ import annotations

from enum import StrEnum

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.records import Record, field


class ChatRequest(Record):
    """One chat completions call. `messages` are `{"role", "content"}` dicts, system first."""

    model: str
    messages: list[dict[str, str]]
    temperature: float | None = None
    max_tokens: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


class TextDelta(Record):
    text: str


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


StreamEvent = TextDelta | Finished | Usage | Retrying


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
    """

    def __init__(self, kind: ErrorKind, message: str, *, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.status = status
