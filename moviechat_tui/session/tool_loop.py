"""The tool loop: ask, run the calls the model wants, send the results, until it answers.

One question is at most `MAX_ROUNDS` rounds of calls and `TIME_LIMIT` seconds of them;
after that the model is asked once more with `tool_choice: "none"` — answer with what you
have — and a model that still asks for calls is stopped, with a line saying so. Each round
is kept in the reply (`Message.tool_rounds`) as soon as its results are in, so a save made
meanwhile, `--continue` and the next request all see the same traffic.

Nothing the model sends can crash the turn: a bad call becomes a result saying what was
wrong (session/tools.py). Esc cancels the task running this like any reply: the call that
was running and the ones after it are answered "stopped" (so the history stays valid for
the next request) and the cancellation goes on up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from moviechat_tui.core import events as ev
from moviechat_tui.core.conversation import FINISH_STREAMING, Message
from moviechat_tui.core.i18n import ngettext
from moviechat_tui.core.text import one_line, sanitize
from moviechat_tui.core.tools import ToolCall, ToolRound
from moviechat_tui.llm.types import BackendError, ChatRequest, ErrorKind, ToolCallRequest
from moviechat_tui.session.tools import ToolRegistry
from moviechat_tui.session.turn import stream_reply

if TYPE_CHECKING:
    from moviechat_tui.llm.backend import ChatBackend

MAX_ROUNDS = 6
"""Rounds of calls per question before the model is asked to answer without more."""
SHOW_RUNNING_AFTER = 0.1
"""Seconds a call runs before its line shows it running (`ToolCallStarted`); a faster call
gets its line once, finished (`ToolCallEnded`)."""
AFTER_REQUEST = 0.03
"""Seconds after a round before its finished lines are drawn and it is saved: the next
request is on its way by then (a few ms), so the model does not wait for either."""
TIME_LIMIT = 120.0
"""Seconds from the question on after which no more rounds are run (the model's own time
included: a slow model that keeps calling is as stuck as a fast one)."""


class RequestFor(Protocol):
    def __call__(self, *, tool_choice: str | None,
                 prompt_budget: int | None) -> tuple[ChatRequest, int]:
        """The next request of this turn, and its estimated prompt size."""
        ...


async def answer(backend: ChatBackend, reply: Message, request_for: RequestFor,
                 registry: ToolRegistry, emit: Callable[[ev.ControllerEvent], None],
                 save_soon: Callable[[], None], *, max_rounds: int | None = None,
                 time_limit: float | None = None) -> str | None:
    """Stream the reply to the question, running the rounds of calls it takes. Returns a
    notice when the model was stopped for calling too much, else None. Backend errors and
    cancellation propagate (a prompt too long for the model is retried once, smaller,
    while no text has arrived)."""
    deadline = time.monotonic() + (TIME_LIMIT if time_limit is None else time_limit)
    max_rounds = MAX_ROUNDS if max_rounds is None else max_rounds
    rounds = 0
    choice: str | None = None
    budget: int | None = None
    later = Deferred(emit, save_soon)
    try:
        while True:
            request, estimate = request_for(tool_choice=choice, prompt_budget=budget)
            start = len(reply.content)
            try:
                calls = await stream_reply(backend, request, reply, emit, save_soon)
            except BackendError as exc:
                if (exc.kind != ErrorKind.CONTEXT_TOO_LONG or reply.content
                        or budget is not None):
                    raise
                # Our estimate was too generous for this model: retry once with half of it.
                budget = estimate // 2
                continue
            if not calls or not request.tools:
                return None  # the answer (calls asked for without tools offered: ignored)
            if choice == "none":
                return ngettext(
                    "The model kept asking for tools after {n} round of them and was "
                    "stopped. Ask again, or ask more precisely.",
                    "The model kept asking for tools after {n} rounds of them and was "
                    "stopped. Ask again, or ask more precisely.", rounds).format(n=rounds)
            reply.finish_reason = FINISH_STREAMING
            await run_round(registry, calls, reply, reply.content[start:], emit, later)
            later.soon()
            rounds += 1
            if rounds >= max_rounds or time.monotonic() >= deadline:
                choice = "none"
    finally:
        later.flush()  # however the turn ends, the chat has every line before it ends


class Deferred:
    """What a round leaves for the chat and the disk — its lines' final state and a save —
    held until the next request has gone out (`AFTER_REQUEST`): drawing a line and
    serialising the conversation cost the event loop and the GIL ~10 ms, which the model
    would otherwise wait for. Flushed at once when a slow call's line must show, and when
    the turn ends."""

    def __init__(self, emit: Callable[[ev.ControllerEvent], None],
                 save_soon: Callable[[], None]) -> None:
        self._emit = emit
        self._save_soon = save_soon
        self._events: list[ev.ControllerEvent] = []
        self._save = False
        self._timer: asyncio.TimerHandle | None = None

    def add(self, event: ev.ControllerEvent) -> None:
        self._events.append(event)

    def soon(self) -> None:
        """Flush after `AFTER_REQUEST`, with a save."""
        self._save = True
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(AFTER_REQUEST, self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        events, self._events = self._events, []
        for event in events:
            self._emit(event)
        if self._save:
            self._save = False
            self._save_soon()


async def run_round(registry: ToolRegistry, requested: list[ToolCallRequest], reply: Message,
                    text: str, emit: Callable[[ev.ControllerEvent], None],
                    later: Deferred) -> None:
    """Run one round's calls in the order asked and add the round to `reply`. A call's
    finished line goes to `later`; a slow call's running line is shown at once."""
    used = {call.id for turn in reply.tool_rounds for call in turn.calls}
    pending: list[ToolCall] = []
    for request in requested:
        call_id = sanitize(request.id)[:200]
        if not call_id or call_id in used:  # servers that send no ids, or the same twice
            call_id = f"call_{uuid.uuid4().hex[:24]}"
        used.add(call_id)
        pending.append(ToolCall(call_id, one_line(request.name, 200),
                                sanitize(request.arguments), ""))
    done: list[ToolCall] = []
    try:
        for call in pending:
            running = asyncio.ensure_future(registry.call(call.name, call.arguments))
            try:
                # A line that says "running" only for a call that takes a while: a catalogue
                # search is over in a few ms, and a line drawn twice costs a screen update.
                await asyncio.wait({running}, timeout=SHOW_RUNNING_AFTER)
                if not running.done():
                    later.flush()  # the lines of the calls before it come first
                    emit(ev.ToolCallStarted(reply, call))
                outcome = await running
            except asyncio.CancelledError:
                running.cancel()
                raise
            finished = ToolCall(call.id, call.name, call.arguments, outcome.result,
                                outcome.failed)
            done.append(finished)
            later.add(ev.ToolCallEnded(reply, finished))
    except asyncio.CancelledError:
        stopped = "Stopped by the user before it finished."  # for the model: not translated
        for call in pending[len(done):]:
            finished = ToolCall(call.id, call.name, call.arguments, stopped, True)
            done.append(finished)
            later.add(ev.ToolCallEnded(reply, finished))
        reply.tool_rounds = (*reply.tool_rounds, ToolRound(tuple(done), text))
        raise
    reply.tool_rounds = (*reply.tool_rounds, ToolRound(tuple(done), text))
