"""A short title for a new conversation, asked of the model after its first reply.

Optional (`generate_titles` in the config): one small extra request. Until it answers, and
if it fails, the title is the start of the user's first message (`default_title`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from moviechat_tui.core.conversation import Conversation, Message, default_title
from moviechat_tui.core.text import one_line
from moviechat_tui.llm.types import BackendError, ChatRequest, TextDelta

if TYPE_CHECKING:
    from moviechat_tui.llm.backend import ChatBackend

log = logging.getLogger(__name__)

TITLE_PROMPT = (
    "Write a title of at most six words for a conversation about films that starts with "
    "the question and answer below. Reply with the title only: no quotes, no final period. "
    "Use the language of the question."
)
TITLE_TIMEOUT = 30.0


def wants_title(conversation: Conversation, reply: Message) -> str | None:
    """The question to title, if `reply` is the first complete answer and the title is still
    the default one; else None."""
    users = [m for m in conversation.messages if m.role == "user" and not m.hidden]
    if (len(users) != 1 or reply.finish_reason != "stop"
            or conversation.title != default_title(users[0].content)):
        return None
    return users[0].content


async def generate_title(backend: ChatBackend, model: str, question: str,
                         answer: str) -> str | None:
    """The model's title for this exchange, cleaned up, or None if it failed."""
    request = ChatRequest(model=model, max_tokens=24, temperature=0.3, messages=[
        {"role": "system", "content": TITLE_PROMPT},
        {"role": "user", "content": question[:2_000] + "\n\n---\n\n" + answer[:1_000]},
    ])
    parts: list[str] = []
    try:
        async with asyncio.timeout(TITLE_TIMEOUT):
            async for event in backend.stream(request):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
    except (BackendError, TimeoutError) as exc:
        log.info("title generation failed: %s", exc)
        return None
    title = one_line("".join(parts).strip().strip('"\'“”'), 80).rstrip(".")
    return title or None
