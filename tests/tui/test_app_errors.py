"""Every failure in the core catalogue: one readable line in the chat, history kept, the
next send works."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviechat_tui.tui.widgets.status_line import StatusLine
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    notices_on_screen,
    saved_conversations,
    send,
    wait_idle,
    with_request,
)
from tests.support.loopback_server import DROP_MID_STREAM, HANG, NO_DONE, Reply, closed_port_url

CASES = [  # (name, reply, attempts it costs, words the message must contain)
    ("bad key", Reply.error(401), 1, ["401", "API key"]),
    ("unknown model", Reply.error(404, code="model_not_found"), 1, ["gpt-4o-mini", "--model"]),
    ("rate limited", Reply.error(429, retry_after=0), 3, ["429"]),
    ("server error", Reply.error(500), 3, ["500"]),
    # Context too long is retried once with less history before the user is told.
    ("context too long", Reply.error(400, code="context_length_exceeded"), 2, ["ctrl+n"]),
    ("timeout", Reply(fault=HANG, hang_for=30), 3, ["did not answer", "timeout"]),
]


@pytest.mark.parametrize(("name", "reply", "attempts", "words"), CASES,
                         ids=[c[0] for c in CASES])
async def test_error_is_one_line_in_the_chat_and_app_keeps_working(
        tmp_path: Path, loopback, name: str, reply: Reply, attempts: int,
        words: list[str]) -> None:
    # Retryable failures fail every attempt so the error is what the user finally sees.
    loopback.push(*([reply] * attempts))
    settings = with_request(make_settings(tmp_path, loopback.base_url), timeout=1.0)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Tell me about Jaws")
        await wait_idle(pilot, timeout=20)
        [notice] = notices_on_screen(app)
        assert "\n" not in notice.strip()
        for word in words:
            assert word.lower() in notice.lower(), notice
        # The draft the user types next is theirs, the history stays, the next send works.
        loopback.push(Reply(text="Jaws (1975) is Spielberg's."))
        await send(pilot, "Try again")
        await wait_idle(pilot)
        roles = [r for r, _ in messages_on_screen(app)]
        assert roles == ["user", "notice", "user", "assistant"]
        assert messages_on_screen(app)[-1][1] == "Jaws (1975) is Spielberg's."
    [saved] = saved_conversations(settings)
    assert saved["messages"][0]["content"] == "Tell me about Jaws"


async def test_connection_refused(tmp_path: Path) -> None:
    settings = with_request(make_settings(tmp_path, closed_port_url()), max_attempts=1)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Anyone there?")
        await wait_idle(pilot)
        [notice] = notices_on_screen(app)
        assert "connect" in notice.lower()
    [saved] = saved_conversations(settings)
    assert [m["role"] for m in saved["messages"]] == ["user", "notice"]


async def test_stream_cut_keeps_partial_text_and_says_so(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="Psycho was shot in black and white on a TV budget",
                        fault=DROP_MID_STREAM, fault_after=4))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Psycho?")
        await wait_idle(pilot)
        roles_texts = messages_on_screen(app)
        assert roles_texts[1][0] == "assistant"
        assert roles_texts[1][1].startswith("Psycho was")
        assert roles_texts[2][0] == "notice"
    [saved] = saved_conversations(settings)
    assert saved["messages"][1]["finish_reason"] == "error"
    assert saved["messages"][1]["content"].startswith("Psycho was")


async def test_stream_without_finish_is_marked_truncated(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="An unfinished thought", fault=NO_DONE))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Finish this")
        await wait_idle(pilot)
        assert "incomplete" in notices_on_screen(app)[0]
    [saved] = saved_conversations(settings)
    assert saved["messages"][1]["finish_reason"] == "truncated"


async def test_retry_is_shown_and_then_succeeds(tmp_path: Path, loopback) -> None:
    loopback.push(Reply.error(429, retry_after=1), Reply(text="Worth the wait."))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Busy?")
        await pilot.pause(0.5)
        status = app.chat_screen.query_one(StatusLine)
        assert "trying again in 1 s (attempt 2 of 3)" in status.text, status.text
        await wait_idle(pilot)
        assert status.text == "" and not status.display
        assert messages_on_screen(app)[-1] == ("assistant", "Worth the wait.")
        assert notices_on_screen(app) == []


async def test_api_key_never_reaches_screen_or_disk(tmp_path: Path, loopback) -> None:
    sentinel = "sk-SENTINEL-5f1d2c"
    loopback.push(Reply.error(401, echo_api_key=True))
    settings = make_settings(tmp_path, loopback.base_url, env={"OPENAI_API_KEY": sentinel})
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Hi")
        await wait_idle(pilot)
        assert loopback.request_headers[-1]["authorization"] == f"Bearer {sentinel}"
        shown = " ".join(t for _, t in messages_on_screen(app))
        assert "401" in shown and sentinel not in shown
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert sentinel.encode() not in path.read_bytes(), path


async def test_quit_waits_when_the_conversation_cannot_be_saved(
        tmp_path: Path, loopback, monkeypatch) -> None:
    import errno

    from moviechat_tui.storage.store import ConversationStore, StoreWriteError

    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Remember this")
        await wait_idle(pilot)
        real_save = ConversationStore.save

        def disk_full(self, conv, **kwargs):  # type: ignore[no-untyped-def]
            raise StoreWriteError(self.path_for(conv.id), OSError(errno.ENOSPC, "No space"))

        monkeypatch.setattr(ConversationStore, "save", disk_full)
        app.controller.conversation.messages[0].content = "Remember this, edited"
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running  # not quitting: the edit is only in memory
        toasts = [str(n.message) for n in app._notifications]
        assert any("Not quitting" in t for t in toasts), toasts
        monkeypatch.setattr(ConversationStore, "save", real_save)  # space freed
        await pilot.press("ctrl+q")
    [saved] = saved_conversations(settings)
    assert saved["messages"][0]["content"] == "Remember this, edited"


PROFILES = """
profile = "router"
[[profiles]]
name = "router"
base_url = "{url}"
api_key_env = "ROUTER_KEY"
"""


async def test_errors_name_the_profile_the_user_set_up(tmp_path: Path, loopback) -> None:
    """With a profile, a rejected key names the profile's variable (not OPENAI_API_KEY) and
    an unreachable server names the profile's base_url (not --base-url, never given)."""
    loopback.push(Reply.error(401))
    settings = make_settings(tmp_path, None, config=PROFILES.format(url=loopback.base_url),
                             env={"ROUTER_KEY": "sk-router"})
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Tell me about Jaws")
        await wait_idle(pilot)
        [notice] = notices_on_screen(app)
        assert "ROUTER_KEY environment variable (profile “router”)" in notice, notice
        assert "OPENAI_API_KEY" not in notice

    (tmp_path / "closed").mkdir()
    closed = with_request(make_settings(
        tmp_path / "closed", None, config=PROFILES.format(url=closed_port_url()),
        env={"ROUTER_KEY": "sk-router"}), max_attempts=1)
    app = make_app(closed)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Anyone there?")
        await wait_idle(pilot)
        [notice] = notices_on_screen(app)
        assert "base_url of profile “router”" in notice, notice
        assert "--base-url" not in notice
