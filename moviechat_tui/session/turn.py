"""One chat turn's request and reply: what is sent, how the reply streams in, how it ended.

The controller decides *when* a turn runs and saves; this module holds *what* a turn is: the
request built from the conversation (persona prompt, fitted history, the parameters this model
accepts, the tools offered), the reply streamed into its `Message` (sanitised chunk by chunk,
with periodic saves, the function calls it asks for collected), and the notice that explains
an unusual ending. The rounds of tool calls are run by tool_loop.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from moviechat_tui.core import events as ev
from moviechat_tui.core.capabilities import capabilities_for, reply_reserve
from moviechat_tui.core.context import Fitted, estimate_tokens, fit_history
from moviechat_tui.core.conversation import (
    FINISH_CANCELLED,
    FINISH_STREAMING,
    FINISH_TRUNCATED,
    Conversation,
    Message,
)
from moviechat_tui.core.i18n import _
from moviechat_tui.core.persona import Persona
from moviechat_tui.core.records import replace
from moviechat_tui.core.text import StreamSanitizer
from moviechat_tui.core.tools import reply_messages, round_messages
from moviechat_tui.llm.types import (
    ChatRequest,
    Finished,
    Retrying,
    TextDelta,
    ToolCallRequest,
    Usage,
)

if TYPE_CHECKING:
    from moviechat_tui.llm.backend import ChatBackend

SAVE_INTERVAL = 0.5
"""Seconds between saves of a streaming reply: the 'at most ~1 s lost on kill -9' promise."""
YIELD_INTERVAL = 0.005
"""Seconds of buffered chunks handled before letting key presses and screen updates in."""


def build_request(conversation: Conversation, persona: Persona, model: str, *,
                  context_window: int | None = None,
                  prompt_budget: int | None = None,
                  system: str | None = None,
                  tools: tuple[dict[str, Any], ...] = (),
                  tool_choice: str | None = None,
                  pending: Message | None = None) -> tuple[ChatRequest, Fitted]:
    """The request for the next reply, and what fitting the history did (`dropped` counts
    the conversation's messages left out).

    History is fitted into the model's context window (`context_window` overrides the
    built-in table), or into `prompt_budget` tokens when the server already said our estimate
    was too generous. Reasoning models get `max_completion_tokens` and no temperature
    (capabilities are data, see core/capabilities.py). `system` replaces the persona's
    prompt (the grounded one: session/grounding.py). With `tools` offered, earlier replies
    are sent with their tool calls and results, and `pending` — the reply being written —
    adds the rounds of calls it has made so far; without, only the replies' text is sent."""
    caps = capabilities_for(model, context_window=context_window)
    with_tools = bool(tools)
    history: list[dict[str, Any]] = []
    owners: list[int] = []
    """For each entry of `history`, the index of the message it comes from."""
    for index, m in enumerate(conversation.messages):
        if not m.sent_to_model or m.finish_reason == FINISH_STREAMING:
            continue
        if m.role == "assistant":
            parts = reply_messages(m, with_tools=with_tools)
        else:
            parts = [{"role": m.role, "content": m.content}]
        history += parts
        owners += [index] * len(parts)
    tail = round_messages(pending.tool_rounds) if pending is not None and with_tools else []
    reserve = reply_reserve(caps, persona.max_tokens)
    window = caps.context_window if prompt_budget is None else prompt_budget + reserve
    fitted = fit_history({"role": "system", "content": system or persona.system_prompt},
                         history, context_window=window, reply_reserve=reserve, tail=tail)
    if fitted.dropped:
        fitted = replace(fitted, dropped=len(set(owners[:fitted.dropped])))
    grounding: dict[str, Any] = {"tools": tools, "tool_choice": tool_choice if tools else None}
    if caps.reasoning:
        extra: dict[str, object] = (
            {"max_completion_tokens": persona.max_tokens} if persona.max_tokens else {})
        request = ChatRequest(model=model, messages=fitted.messages, extra=extra, **grounding)
    else:
        temperature = persona.temperature if persona.temperature is not None \
            else caps.temperature
        request = ChatRequest(model=model, messages=fitted.messages,
                              temperature=temperature, max_tokens=persona.max_tokens,
                              **grounding)
    return request, fitted


def too_long_notice(text: str, persona: Persona, model: str, *,
                    context_window: int | None = None) -> str | None:
    """Why `text` cannot be sent to `model` at all, when even alone (with the persona's
    prompt and room for a reply) it exceeds a context window we know; else None.

    Said before anything is sent, so the draft stays in the prompt: a server answers such a
    request with an error at best, and llama.cpp's with an empty reply."""
    caps = capabilities_for(model, context_window=context_window)
    if not caps.window_known:
        return None
    needed = (estimate_tokens(persona.system_prompt) + estimate_tokens(text)
              + reply_reserve(caps, persona.max_tokens))
    if needed <= caps.context_window:
        return None
    message_tokens = estimate_tokens(text)
    room = max(0, caps.context_window - needed + message_tokens)
    return _("This message is too long for {model}: about {tokens:,} tokens, and the model "
             "reads {window:,} in all, its reply included. Shorten it to about {room:,} "
             "tokens (roughly {chars:,} characters), or use a model with a larger context "
             "window.").format(model=model, tokens=message_tokens, window=caps.context_window,
                               room=room, chars=room * 4)


async def stream_reply(backend: ChatBackend, request: ChatRequest, reply: Message,
                       emit: Callable[[ev.ControllerEvent], None],
                       save_soon: Callable[[], None]) -> list[ToolCallRequest]:
    """Stream the backend's answer into `reply`, emitting `ReplyDelta`s and asking for a save
    every SAVE_INTERVAL; on return `reply.finish_reason` says how it ended (`truncated` if the
    server never said). Returns the function calls the model asked for (none when it
    answered). Backend errors and cancellation propagate, with the text so far kept in
    `reply`."""
    last_save = last_yield = time.monotonic()
    finished: str | None = None
    calls: list[ToolCallRequest] = []
    clean = StreamSanitizer()
    async for event in backend.stream(request):
        if isinstance(event, TextDelta):
            text = clean.feed(event.text)
            if not text:
                continue
            reply.content += text
            emit(ev.ReplyDelta(reply, text))
            now = time.monotonic()
            if now - last_save >= SAVE_INTERVAL:
                last_save = now
                save_soon()
            if now - last_yield >= YIELD_INTERVAL:
                # The SDK hands over chunks it has buffered without returning to the event
                # loop: after a burst, let key presses and screen updates in.
                await asyncio.sleep(0)
                last_yield = time.monotonic()
        elif isinstance(event, ToolCallRequest):
            calls.append(event)
        elif isinstance(event, Finished):
            finished = event.reason or "stop"
        elif isinstance(event, Retrying):
            emit(ev.RetryScheduled(event.attempt, event.max_attempts, event.delay,
                                   event.reason))
        elif isinstance(event, Usage):
            reply.prompt_tokens = event.prompt_tokens
            reply.completion_tokens = event.completion_tokens
    tail = clean.flush()
    if tail:
        reply.content += tail
        emit(ev.ReplyDelta(reply, tail))
    reply.finish_reason = finished or FINISH_TRUNCATED
    return calls if finished else []


def ending_notice(reply: Message) -> str | None:
    """The line that explains an unusual ending (stopped early, cut off, length limit)."""
    if reply.finish_reason == FINISH_CANCELLED and not reply.content:
        return _("Stopped before any of the reply arrived.")
    if reply.finish_reason == FINISH_TRUNCATED:
        return _("The connection closed before the reply finished: it may be incomplete. "
                 "Send your message again to retry.")
    if reply.finish_reason == "length":
        return _("The reply stopped at the model's length limit. Ask it to continue if you "
                 "want more.")
    return None
