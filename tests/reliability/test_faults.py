"""The fault catalogue, 15/15: every network and server failure, driven through the real app.

Each row of `FAULTS` is one thing a server or the network can do to a reply. For every row the
same promise is checked, the way a user would notice it:

1. the chat (or, while a retry is pending, the status line above the prompt) says in words
   what happened — and a retry's line goes as soon as the wait is cancelled;
2. the question is on disk;
3. whatever part of the reply arrived is kept — on screen and on disk — and marked with how it
   ended (`finish_reason` and the label under the reply);
4. the draft the user was typing while the reply failed is still in the prompt;
5. sending that draft works (the server has recovered by then).

The rows complement tests/tui/test_app_errors.py (which checks the exact wording and the number of
attempts for some of the same faults); docs/reliability.md maps each fault to its tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from moviechat_tui.tui.app import MovieChatApp
from moviechat_tui.tui.widgets.message_view import AssistantMessageView, NoticeView
from moviechat_tui.tui.widgets.status_line import StatusLine
from tests.support.apphelpers import (
    make_app,
    make_settings,
    saved_conversations,
    send,
    until,
    wait_idle,
    with_request,
)
from tests.support.loopback_server import (
    DROP_MID_STREAM,
    EMPTY_CHOICES,
    HANG,
    MALFORMED_CHUNK,
    NO_DONE,
    SSE_ERROR_EVENT,
    LoopbackServer,
    Reply,
)

QUESTION = "Tell me about Jaws"
DRAFT = "and Duel?"
RECOVERED = "Duel (1971) was Spielberg's first feature."
SLOW_ERROR = 0.4
"""Status errors arrive after this many seconds, so the draft is typed while the request is
still failing rather than after it failed."""
PARTIAL = "Jaws was shot on Martha's Vineyard in 1974"


@dataclass(frozen=True)
class Fault:
    reply: Reply | None
    """What the server answers to every attempt of the failing turn (None: no server)."""
    words: tuple[str, ...]
    """The message the user sees must contain each of these (case-insensitive)."""
    kept: str | None = None
    """Start of the partial reply that must be kept, or None when no text arrived."""
    finish: str | None = None
    """How the kept reply is marked on disk."""
    label: str = ""
    """The words under the kept reply on screen."""
    retry_shown: bool = False
    """A 'trying again' line must appear above the prompt while the failing turn runs."""
    message_in: str = "chat"
    """Where the message is: 'chat' (a notice line), 'status' (the line above the prompt,
    while the retry waits), or 'label' (under the reply)."""
    cancel: bool = False
    """The user presses Esc while it happens."""
    settings: tuple[tuple[str, Any], ...] = ()


def slow_error(status: int, **kwargs: Any) -> Reply:
    return Reply.error(status, fault=HANG, hang_for=SLOW_ERROR, **kwargs)


def streamed(fault: str | None, **kwargs: Any) -> Reply:
    """PARTIAL and more, word by word, slowly enough to type a draft meanwhile."""
    text = PARTIAL + " and the shark kept breaking down, so Spielberg hid it."
    return Reply(text=text, delay=0.06, fault=fault, **kwargs)


FAULTS: dict[str, Fault] = {
    "401 bad key": Fault(slow_error(401), ("401", "API key")),
    "403 forbidden": Fault(slow_error(403), ("403", "refused")),
    "404 unknown model": Fault(slow_error(404, code="model_not_found"), ("404", "--model")),
    "429 Retry-After, Esc cancels the wait": Fault(
        Reply.error(429, retry_after=30), ("429", "trying again in", "Esc"),
        retry_shown=True, message_in="status", cancel=True),
    "500 internal error": Fault(slow_error(500), ("500", "try again"), retry_shown=True,
                                settings=(("max_attempts", 2),)),
    "503 overloaded": Fault(slow_error(503), ("503", "overloaded"), retry_shown=True,
                            settings=(("max_attempts", 2),)),
    "connection refused": Fault(None, ("could not connect", "running"),
                                settings=(("max_attempts", 1),)),
    "no answer before the timeout": Fault(
        Reply(fault=HANG, hang_for=60), ("did not answer", "timeout"), retry_shown=True,
        settings=(("timeout", 1.0), ("max_attempts", 2))),
    "dropped mid-stream": Fault(
        streamed(DROP_MID_STREAM, fault_after=9), ("connection dropped", "kept"),
        kept=PARTIAL, finish="error", label="failed: incomplete"),
    "closed without [DONE] or finish_reason": Fault(
        streamed(NO_DONE), ("may be incomplete",), kept=PARTIAL, finish="truncated",
        label="cut off: may be incomplete"),
    "SSE error event": Fault(
        streamed(SSE_ERROR_EVENT, fault_after=9, error_message="upstream model crashed"),
        ("error in the middle of the reply", "upstream model crashed"),
        kept=PARTIAL, finish="error", label="failed: incomplete"),
    "malformed JSON chunk": Fault(
        streamed(MALFORMED_CHUNK, fault_after=9), ("cannot read",),
        kept=PARTIAL, finish="error", label="failed: incomplete"),
    "empty choices chunks (just works)": Fault(
        streamed(EMPTY_CHOICES), (), kept=PARTIAL, finish="stop", message_in="none"),
    "context_length_exceeded": Fault(
        slow_error(400, code="context_length_exceeded"), ("too long", "ctrl+n")),
    "1 token/s trickle, Esc cancels": Fault(
        Reply(text=PARTIAL + " and then a great deal more", delay=1.0),
        ("stopped",), kept="Jaws was", finish="cancelled", label="stopped",
        message_in="label", cancel=True),
}
assert len(FAULTS) == 15


# --- helpers ---------------------------------------------------------------------------------


def status_line(app: MovieChatApp) -> str:
    """What the line above the prompt says ("" when it is not shown)."""
    line = app.chat_screen.query_one(StatusLine)
    return line.text if line.display else ""


def prompt_text(app: MovieChatApp) -> str:
    return str(app.chat_screen.query_one("#prompt").text)  # type: ignore[attr-defined]


def notices(app: MovieChatApp) -> list[str]:
    return ["\n".join(str(s.content) for s in v.query(Static))
            for v in app.chat_screen.query(NoticeView)]


def replies(app: MovieChatApp) -> list[AssistantMessageView]:
    return list(app.chat_screen.query(AssistantMessageView))


def reply_label(view: AssistantMessageView) -> str:
    status = view.query_one(".message-status", Static)
    return str(status.content) if status.display else ""


def only(items: list[Any], show: Any = repr) -> Any:
    assert len(items) == 1, [show(item) for item in items]
    return items[0]


@contextlib.contextmanager
def refused_port() -> Iterator[tuple[int, socket.socket]]:
    """A port that refuses connections (bound, not listening) until the caller closes it and
    starts a server there: "the server was down, then came back"."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1], sock
    finally:
        sock.close()


# --- the catalogue ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAULTS))
async def test_fault_is_survived_without_losing_a_word(tmp_path: Path, name: str) -> None:
    fault = FAULTS[name]
    with contextlib.ExitStack() as stack:
        if fault.reply is None:
            port, reserved = stack.enter_context(refused_port())
            server = LoopbackServer(port=port)
            base_url = f"http://127.0.0.1:{port}/v1"
        else:
            server = stack.enter_context(LoopbackServer(default_reply=fault.reply))
            base_url = server.base_url
        settings = with_request(make_settings(tmp_path, base_url), **dict(fault.settings))
        app = make_app(settings)
        async with app.run_test(size=(120, 40)) as pilot:
            await send(pilot, QUESTION)
            if fault.reply is not None:
                await asyncio.to_thread(server.wait_for_requests, 1)
            if fault.kept is not None:  # wait until part of the reply is on screen
                await until(pilot, lambda: any(
                    r.shown_text.startswith(fault.kept or "")
                    for r in replies(app)), what="the first words of the reply")
            # The user starts typing the next question while this one is failing.
            await pilot.press(*DRAFT)
            waiting = ""
            if fault.retry_shown:
                await until(pilot, lambda: "trying again" in status_line(app),
                            timeout=15, what="a 'trying again' line above the prompt")
                waiting = status_line(app)
            if fault.cancel:
                await pilot.press("escape")
            await wait_idle(pilot, timeout=20)
            assert status_line(app) == "", "the retry's line outlived the wait"

            # 1. What the user is told.
            if fault.message_in == "chat":
                said = " ".join(notices(app))
            elif fault.message_in == "status":
                said = waiting
            elif fault.message_in == "label":
                said = " ".join(reply_label(r) for r in replies(app))
            else:
                said = ""
                assert notices(app) == [], "a reply that worked must not come with a warning"
            for word in fault.words:
                assert word.lower() in said.lower(), (word, said)

            # 2 and 3. The question and whatever arrived are on disk, marked.
            saved = only(saved_conversations(settings))
            on_disk = saved["messages"]
            assert (on_disk[0]["role"], on_disk[0]["content"]) == ("user", QUESTION)
            saved_replies = [m for m in on_disk if m["role"] == "assistant"]
            if fault.kept is None:
                assert saved_replies == [] and replies(app) == []  # no empty bubble
            else:
                kept = only(saved_replies)
                assert kept["content"].startswith(fault.kept), kept
                assert kept["finish_reason"] == fault.finish
                view = only(replies(app), lambda r: (r.message, r.shown_text))
                assert view.shown_text == kept["content"]
                assert reply_label(view) == fault.label
            if fault.cancel:
                # Stopped at once (wait_idle allows 20 s, the 429 asked for 30 s), and for good:
                # no retry is sent, a stream's connection is closed.
                assert len(server.requests) == 1, "a cancelled retry must not be sent"
                if fault.kept is not None:
                    await asyncio.to_thread(server.wait_for_disconnects, 1)

            # 4. The draft is untouched.
            assert prompt_text(app) == DRAFT

            # 5. The server is back: sending the draft works.
            if fault.reply is None:
                reserved.close()
                stack.enter_context(server)
            server.default_reply = Reply(text=RECOVERED)
            await pilot.press("enter")
            await wait_idle(pilot, timeout=20)
            assert prompt_text(app) == ""
            last = replies(app)[-1]
            assert last.shown_text == RECOVERED
            assert reply_label(last) == ""
        saved = only(saved_conversations(settings))
        users = [m["content"] for m in saved["messages"] if m["role"] == "user"]
        assert users == [QUESTION, DRAFT]
        assert saved["messages"][-1]["content"] == RECOVERED
        assert saved["messages"][-1]["finish_reason"] == "stop"


async def test_stopping_a_retry_wait_says_so_in_the_chat(tmp_path: Path) -> None:
    """After Esc during 'trying again in 30 s' the line goes at once, and the chat says the
    question was not answered, so the user knows to send it again."""
    with LoopbackServer(default_reply=Reply.error(429, retry_after=30)) as server:
        app = make_app(make_settings(tmp_path, server.base_url))
        async with app.run_test(size=(120, 40)) as pilot:
            await send(pilot, QUESTION)
            await until(pilot, lambda: "trying again" in status_line(app),
                        what="a 'trying again' line")
            await pilot.press("escape")
            await wait_idle(pilot)
            assert status_line(app) == ""
            assert any("stopped" in n.lower() for n in notices(app)), notices(app)
