"""Fitting a conversation into the model's context window.

Token counts are estimated, not exact (a tokenizer per model would be a heavy dependency for a
guess that only needs to be safe): about 4 characters per token for Latin text and about one
token per character for Hangul/CJK, plus a few tokens per message for the chat framing. The
oldest turns go first; the system prompt and the newest user message always stay.
"""

from __future__ import annotations

import re
from typing import Any

from moviechat_tui.core.records import Record

PER_MESSAGE_OVERHEAD = 4
REPLY_RESERVE = 1_024
"""Tokens kept free for the reply when the persona sets no max_tokens."""


_NARROW = re.compile("[\x00-\u10ff]+")
"""Characters below U+1100 (Hangul Jamo) count as narrow: about 4 per token."""


def estimate_tokens(text: str) -> int:
    # A regex pass instead of a Python loop per character: fitting runs on the event loop
    # before each request, over a history that may be megabytes long.
    wide = len(_NARROW.sub("", text))
    return (len(text) - wide + 3) // 4 + wide + PER_MESSAGE_OVERHEAD


class Fitted(Record):
    messages: list[dict[str, Any]]
    dropped: int
    """How many history messages were left out."""
    estimated_tokens: int


def message_tokens(message: dict[str, Any]) -> int:
    """The estimated size of one chat message: its text, and the calls it asks for."""
    content = message.get("content")
    total = estimate_tokens(content if isinstance(content, str) else "")
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        total += estimate_tokens(str(function.get("name", "")) + " "
                                 + str(function.get("arguments", "")))
    return total


_NOT_A_START = ("assistant", "tool")
"""Roles history may not start with: a reply without its question, a tool result without
the call it answers (servers refuse that)."""


def fit_history(system: dict[str, Any], history: list[dict[str, Any]], *,
                context_window: int, reply_reserve: int | None = None,
                tail: list[dict[str, Any]] | None = None) -> Fitted:
    """Drop the oldest history messages until system + history (+ `tail`) fits the budget.

    A user message is dropped together with the assistant reply that follows it (and that
    reply's tool calls and results), so the model never sees a reply without its question.
    The last message is always kept (if even that does not fit, the server will say so and
    the user is told). `tail` (the calls of the reply being written) always stays, after it.
    """
    budget = context_window - (reply_reserve or min(REPLY_RESERVE, context_window // 4))
    tail = tail or []
    # Walk back from the newest message and stop once the budget is spent, so the cost is
    # that of what fits, not of the whole history (a 5,000-message chat made every send
    # wait ~0.5 s). The answer is the oldest start that fits; a start may not be an assistant
    # reply or a tool result (it would lose its question), except the very first message or
    # the last one.
    system_cost = message_tokens(system) + sum(message_tokens(m) for m in tail)
    last = len(history) - 1
    total = system_cost
    best: tuple[int, int] | None = None
    for index in range(last, -1, -1):
        total += message_tokens(history[index])
        if total > budget:
            break
        if index in (0, last) or history[index]["role"] not in _NOT_A_START:
            best = (index, total)
    if best is None:  # not even the newest message fits: send it alone, the server decides
        start = max(last, 0)
        while start > 0 and history[start]["role"] == "tool":
            start -= 1  # never a tool result without its call
        best = (start, system_cost + sum(message_tokens(m) for m in history[start:]))
    start, total = best
    return Fitted([system, *history[start:], *tail], start, total)
