"""Fitting a conversation into the model's context window.

Token counts are estimated, not exact (a tokenizer per model would be a heavy dependency for a
guess that only needs to be safe): about 4 characters per token for Latin text and about one
token per character for Hangul/CJK, plus a few tokens per message for the chat framing. The
oldest turns go first; the system prompt and the newest user message always stay.
"""

from __future__ import annotations

from dataclasses import dataclass

PER_MESSAGE_OVERHEAD = 4
REPLY_RESERVE = 1_024
"""Tokens kept free for the reply when the persona sets no max_tokens."""


def estimate_tokens(text: str) -> int:
    wide = sum(1 for ch in text if ord(ch) >= 0x1100)
    return (len(text) - wide + 3) // 4 + wide + PER_MESSAGE_OVERHEAD


@dataclass(frozen=True)
class Fitted:
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
    costs = [estimate_tokens(m["content"]) for m in history]
    total = estimate_tokens(system["content"]) + sum(costs)
    start = 0
    while total > budget and start < len(history) - 1:
        total -= costs[start]
        start += 1
        # Keep pairs together: do not start on an assistant reply.
        while start < len(history) - 1 and history[start]["role"] == "assistant":
            total -= costs[start]
            start += 1
    return Fitted([system, *history[start:]], start, total)
