"""Fitting a conversation into the model's context window.

Token counts are estimated, not exact (a tokenizer per model would be a heavy dependency for a
guess that only needs to be safe): about 4 characters per token for Latin text and about one
token per character for Hangul/CJK, plus a few tokens per message for the chat framing. The
oldest turns go first; the system prompt and the newest user message always stay.
"""

from __future__ import annotations

import re

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
    messages: list[dict[str, str]]
    dropped: int
    """How many history messages were left out."""
    estimated_tokens: int


def fit_history(system: dict[str, str], history: list[dict[str, str]], *,
                context_window: int, reply_reserve: int | None = None) -> Fitted:
    """Drop the oldest history messages until system + history fits the budget.

    A user message is dropped together with the assistant reply that follows it, so the
    model never sees a reply without its question. The last message is always kept (if even
    that does not fit, the server will say so and the user is told).
    """
    budget = context_window - (reply_reserve or min(REPLY_RESERVE, context_window // 4))
    # Walk back from the newest message and stop once the budget is spent, so the cost is
    # that of what fits, not of the whole history (a 5,000-message chat made every send
    # wait ~0.5 s). The answer is the oldest start that fits; a start may not be an assistant
    # reply (it would lose its question), except the very first message or the last one.
    system_cost = estimate_tokens(system["content"])
    last = len(history) - 1
    total = system_cost
    best: tuple[int, int] | None = None
    for index in range(last, -1, -1):
        total += estimate_tokens(history[index]["content"])
        if total > budget:
            break
        if index in (0, last) or history[index]["role"] != "assistant":
            best = (index, total)
    if best is None:  # not even the newest message fits: send it alone, the server decides
        start = max(last, 0)
        best = (start, system_cost + sum(estimate_tokens(m["content"])
                                         for m in history[start:]))
    start, total = best
    return Fitted([system, *history[start:]], start, total)
