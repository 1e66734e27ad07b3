"""Two moviechat processes on one conversation lose nothing.

Two real app processes, each in its own pseudo-terminal, both started with `--open` on the
same conversation, each sending questions while the other's reply is still streaming (so
their saves interleave: the store's lock + three-way merge is what keeps both). At the end the
file must hold every question from both windows, each followed by its complete reply.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage.store import ConversationStore
from tests.support.crash_harness import app_env
from tests.support.loopback_server import LoopbackServer, Reply
from tests.support.terminal import Terminal

ANSWER = ("Noted, and here is a fairly long answer so that the two replies stream at the same "
          "time and the two windows save over each other. Over.")


def busy(screen: str) -> bool:
    """The header shows ● while a reply is arriving (a send then would be refused)."""
    return "●" in screen.splitlines()[0]


def pump_until(terms: list[Terminal], condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            screens = "\n".join(t.dump() for t in terms)
            raise AssertionError(f"timed out waiting for {what}:\n{screens}")
        for term in terms:
            assert term.returncode is None, f"a window exited:\n{term.dump()}"
            term.pump(0.01)


def test_two_windows_on_one_conversation_lose_nothing(tmp_path: Path) -> None:
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    folder = tmp_path / "data" / "conversations"
    ConversationStore(folder).save(Conversation(
        id="shared", title="Jaws night", model="loopback-mini", created=start, updated=start,
        messages=[Message(role="user", content="Who directed Jaws?", created=start, id="q0"),
                  Message(role="assistant", content="Steven Spielberg.", id="a0",
                          created=start + timedelta(seconds=1), finish_reason="stop")]))

    reply = Reply(text=ANSWER, echo=True, delay=0.04)
    with LoopbackServer(default_reply=reply) as server:
        argv = [sys.executable, "-m", "moviechat_tui", "--base-url", server.base_url,
                "--open", "shared"]
        with Terminal(argv, cols=100, rows=40, env=app_env(tmp_path), cwd=tmp_path) as a, \
                Terminal(argv, cols=100, rows=40, env=app_env(tmp_path), cwd=tmp_path) as b:
            for term in (a, b):
                term.wait_for(lambda s: "Steven Spielberg." in s and "Ask about a film" in s,
                              timeout=40)
            sent = 0
            for round_ in (1, 2):
                for name, term in (("A", a), ("B", b)):
                    term.send(f"question {round_} from {name}")
                    term.press("enter")
                    sent += 1
                    # Let this reply start before the other window sends: streams overlap.
                    pump_until([a, b], lambda n=sent: len(server.requests) >= n, 30,
                               f"request {sent}")
                pump_until([a, b], lambda n=sent: len(server.completed) >= n, 30,
                           f"{sent} complete replies")
                for term, name in ((a, "A"), (b, "B")):  # each shows its own reply, done
                    term.wait_for(lambda s, n=name, r=round_: f"You said: question {r} from {n}"
                                  in s and not busy(s), timeout=10)
            assert server.disconnects == []  # every reply was streamed to the end
            for term in (a, b):
                term.press("ctrl+q")
            assert a.wait_exit(20) == 0
            assert b.wait_exit(20) == 0

    final = ConversationStore(folder).load("shared").conversation.messages
    questions = [m.content for m in final if m.role == "user"]
    assert sorted(questions) == sorted(
        ["Who directed Jaws?"] + [f"question {r} from {n}" for r in (1, 2) for n in "AB"])
    replies = [m for m in final if m.role == "assistant"]
    assert len(replies) == 5, [(m.role, m.content[:40]) for m in final]
    for message in replies[1:]:
        assert message.finish_reason == "stop", message
        assert message.content.endswith(ANSWER), message.content
    # Each question got its own answer (the server quotes the question it answered).
    answered = sorted(m.content.split("\n")[0] for m in replies[1:])
    assert answered == sorted(f"> You said: question {r} from {n}" for r in (1, 2) for n in "AB")
    assert [m.role for m in final].count("notice") == 0
    assert len({m.id for m in final}) == len(final) == 10


def test_adopting_merged_versions_never_undoes_the_other_windows_reply(tmp_path: Path) -> None:
    """The deterministic core of the race above: window B streams a reply and saves it three
    times; window A saves in between and, as the app does, adopts what each save hands back.
    A must never write an older version of B's reply over a newer one."""
    start = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    folder = tmp_path / "conversations"
    store_a, store_b = ConversationStore(folder), ConversationStore(folder)
    question = Message(role="user", content="Who directed Jaws?", created=start, id="q")
    conv_b = Conversation(id="c", created=start, updated=start, messages=[question])
    reply = Message(role="assistant", content="", id="r", created=start + timedelta(1),
                    finish_reason="streaming")
    conv_b.messages.append(reply)
    conv_a = Conversation(id="c", created=start, updated=start,
                          messages=[dataclasses.replace(question)])
    for version, words in enumerate(["Steven", "Steven Spielberg", "Steven Spielberg, 1975."]):
        reply.content = words
        reply.finish_reason = "stop" if version == 2 else "streaming"
        store_b.save(conv_b)
        conv_a.messages = store_a.save(conv_a).messages  # adopt, as the controller does
        on_disk = ConversationStore(folder).load("c").conversation.messages[-1]
        assert (on_disk.content, on_disk.finish_reason) == (words, reply.finish_reason)
    store_a.save(conv_a)  # A saves once more (say, on quit): the final reply stays
    final = ConversationStore(folder).load("c").conversation.messages[-1]
    assert (final.content, final.finish_reason) == ("Steven Spielberg, 1975.", "stop")
