"""Reading and being told things at 80×24 (issue 16, A3, A4, A5, B10, C17): notices never
cover the prompt, a failed question is one key from being sent again, the conversation
scrolls from the prompt, waits count down, and the header names what the user talks to."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.cells import cell_len
from textual.widgets._toast import Toast

from moviechat_tui.core import events as ev
from moviechat_tui.core.records import replace
from moviechat_tui.tui.app import MovieChatApp
from moviechat_tui.tui.widgets.chat_header import fit_right
from moviechat_tui.tui.widgets.message_view import NoticeView
from moviechat_tui.tui.widgets.status_line import StatusLine
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    notices_on_screen,
    send,
    until,
    wait_idle,
    with_request,
)
from tests.support.loopback_server import LoopbackServer, Reply


def status_of(app: MovieChatApp) -> StatusLine:
    return app.chat_screen.query_one(StatusLine)


def header_right(app: MovieChatApp) -> str:
    """The header's right-hand part, checked to be shown whole (not cut with "…" by the
    widget: only the text itself may shorten the model name)."""
    widget = app.chat_screen.query_one("#header-persona")
    text = str(widget.render())
    assert cell_len(text) <= widget.content_region.width, (text, widget.content_region)
    return text


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_notices_never_cover_the_prompt(tmp_path: Path, loopback,
                                              size: tuple[int, int]) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=size, notifications=True) as pilot:
        for n in range(3):
            app.notify(f"Notice number {n}: something the app wants to say, at some length.")
        await pilot.pause(0.3)
        prompt = app.chat_screen.prompt.region
        shown = list(app.screen.query(Toast))
        assert len(shown) == 3
        for toast in shown:
            assert not toast.region.overlaps(prompt), (toast.region, prompt)
            assert toast.region.y >= 1  # under the header, which stays readable


async def test_local_progress_is_a_line_that_goes_not_a_stack_of_toasts(
        tmp_path: Path, loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        for line in ("Starting llama.cpp server…", "Loading model SmolLM2.gguf…",
                     "Ready on 127.0.0.1:4242"):
            app._emit(ev.Progress(line))
        await pilot.pause()
        assert status_of(app).text == "Ready on 127.0.0.1:4242"
        assert list(app.screen.query(Toast)) == []
        # Ready: the last line stays a moment (to be read), then goes.
        app._emit(ev.Progress(None, linger=0.5))
        await pilot.pause()
        assert status_of(app).text == "Ready on 127.0.0.1:4242"
        await until(pilot, lambda: not status_of(app).display, what="the line to go")
        assert status_of(app).text == ""


async def test_local_progress_that_comes_before_the_screen_is_up(
        tmp_path: Path, loopback) -> None:
    """--local reports its first line while the app mounts: it crashed the app
    (AttributeError: the chat screen had no status line yet)."""
    app = make_app(make_settings(tmp_path, loopback.base_url))
    app.controller.start_local_endpoint = (  # type: ignore[method-assign]
        lambda: app._emit(ev.Progress("Starting llama.cpp server…")))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert status_of(app).text == "Starting llama.cpp server…"
        assert status_of(app).display


@pytest.mark.parametrize("status", [429, 401])
async def test_ctrl_r_sends_a_failed_question_again(tmp_path: Path, loopback,
                                                   status: int) -> None:
    loopback.push(Reply.error(status), Reply(text="Now it works."))
    settings = with_request(make_settings(tmp_path, loopback.base_url,
                                          env={"OPENAI_API_KEY": "sk-test"}),
                            max_attempts=1)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Who scored Vertigo?")
        await wait_idle(pilot)
        [error] = notices_on_screen(app)
        assert "Press ctrl+r to try again." in error, error
        await pilot.press("ctrl+r")
        await wait_idle(pilot)
        assert messages_on_screen(app)[-1] == ("assistant", "Now it works.")
        sent = [m["content"] for m in loopback.last_request["messages"][1:]]
        assert sent == ["Who scored Vertigo?"]  # the question once, not twice
        assert [role for role, _ in messages_on_screen(app)].count("user") == 1


async def test_the_try_again_hint_names_a_remapped_key(tmp_path: Path, loopback) -> None:
    loopback.push(Reply.error(500))
    settings = with_request(make_settings(tmp_path, loopback.base_url,
                                          config='[keys]\nregenerate = "f5"\n'),
                            max_attempts=1)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Hello?")
        await wait_idle(pilot)
        assert "Press f5 to try again." in notices_on_screen(app)[0]


async def test_the_first_run_notice_is_readable_at_80x24(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None)  # OpenAI, no key: the first-run notice
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.3)
        notice = app.chat_screen.query_one(NoticeView)
        pane = app.chat_screen.message_pane
        assert "No API key" in str(notice.query_one("Static").render())
        assert notice.region.y >= pane.region.y, "the notice's first line is scrolled off"
        assert app.focused is app.chat_screen.prompt
        # The greeting below it is reached with PageDown, from the prompt.
        await pilot.press("pagedown")
        await pilot.pause()
        assert pane.scroll_y > 0
        await pilot.press("pageup")
        await pilot.pause()
        assert pane.scroll_y == 0
        assert app.focused is app.chat_screen.prompt


async def test_page_keys_scroll_the_conversation_from_the_prompt(
        tmp_path: Path, loopback) -> None:
    loopback.default_reply = Reply(text="\n\n".join(f"Line {n}." for n in range(20)))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        for n in range(3):
            await send(pilot, f"Question {n}")
            await wait_idle(pilot)
        pane = app.chat_screen.message_pane
        bottom = pane.max_scroll_y
        assert bottom > 0 and pane.scroll_y == bottom
        await pilot.press("pageup")
        await pilot.pause()
        assert pane.scroll_y < bottom
        await pilot.press("ctrl+home")
        await pilot.pause()
        assert pane.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        assert pane.scroll_y > 0
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert pane.scroll_y == pane.max_scroll_y
        assert app.focused is app.chat_screen.prompt


async def test_new_text_below_is_marked_while_scrolled_up(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="\n\n".join(f"Line {n}." for n in range(20))),
                  Reply(text="\n\n".join(f"More {n}." for n in range(200)), delay=0.01))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Long one")
        await wait_idle(pilot)
        await send(pilot, "Longer one")
        await until(pilot, lambda: "More 20." in app.controller.conversation.messages[-1].content,
                    what="the reply to be under way")
        await pilot.press("pageup", "pageup")
        await until(pilot, lambda: "New text below" in status_of(app).text,
                    what="the marker")
        await pilot.press("ctrl+end")
        await pilot.pause()
        assert "New text below" not in status_of(app).text
        assert app.chat_screen.message_pane.following
        # Scrolled up again: a click on the marker goes there too.
        await pilot.press("ctrl+home")
        await until(pilot, lambda: "New text below" in status_of(app).text,
                    what="the marker again")
        await pilot.click("#new-text-below")
        await pilot.pause()
        assert app.chat_screen.message_pane.following
        await wait_idle(pilot, timeout=20)


async def test_a_long_retry_wait_counts_down_and_goes_when_cancelled(
        tmp_path: Path, loopback) -> None:
    """A Retry-After over the cap: the toast said "retrying in 60 s" for a minute, never
    counting, and stayed over the "Stopped" line after Esc."""
    loopback.push(Reply.error(429, retry_after=600), Reply(text="Too late."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Busy?")
        status = status_of(app)
        await until(pilot, lambda: "trying again in 60 s" in status.text,
                    what="the capped wait")
        await until(pilot, lambda: "trying again in 59 s" in status.text, timeout=3,
                    what="the wait to count down")
        assert not any("retry" in str(n.message).lower() for n in app._notifications)
        await pilot.press("escape")
        await wait_idle(pilot)
        assert status.text == "" and not status.display
        assert any("Stopped" in text for text in notices_on_screen(app))


def test_header_keeps_persona_profile_and_offline_and_shortens_the_model() -> None:
    right = fit_right(persona="Movie expert", model="SmolLM2-135M-Instruct.Q4_1",
                      profile=None, tokens=None, extra="offline", busy=False, room=52)
    assert right.startswith("Movie expert · SmolLM2") and right.endswith(" · offline")
    assert len(right) <= 52
    right = fit_right(persona="Movie expert", model="gpt-4o-mini-2024-07-18",
                      profile="work", tokens="12,345 tokens", extra="", busy=True, room=40)
    assert right.startswith("● Movie expert · gpt-") and right.endswith(" @ work")
    assert "tokens" not in right  # the total goes first


async def test_header_names_the_profile_and_fits_80_columns(tmp_path: Path, loopback) -> None:
    config = (f'profile = "home"\n[[profiles]]\nname = "home"\nbase_url = "{loopback.base_url}"'
              '\nmodel = "SmolLM2-135M-Instruct.Q4_1-with-a-long-name"\n')
    app = make_app(make_settings(tmp_path, None, config=config))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        right = header_right(app)
        assert "Movie expert" in right and right.endswith("@ home"), right
        assert "…" in right  # the model name gave way
        title = app.chat_screen.query_one("#header-title").region
        assert title.width >= 12


async def test_offline_tag_is_not_cut_at_80_columns(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None)
    settings = replace(settings, endpoint=replace(
        settings.endpoint, model="SmolLM2-135M-Instruct.Q4_1",
        local_model=tmp_path / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    app = MovieChatApp(settings)
    app.controller.start_local_endpoint = lambda: None  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        right = header_right(app)
        assert right.startswith("Movie expert · SmolLM2") and right.endswith("· offline"), right


async def test_a_model_picked_in_the_palette_is_remembered_on_the_same_endpoint(
        tmp_path: Path, loopback) -> None:
    loopback.models = ["film-large", "film-small"]
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        app.controller.set_model("film-small")
        await send(pilot, "Which model?")
        await wait_idle(pilot)
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.controller.model == "film-small"
        assert "film-small" in header_right(app)
        await send(pilot, "Still you?")
        await wait_idle(pilot)
    assert loopback.last_request["model"] == "film-small"
    # Another server: the name may mean nothing there, so the configured model is used.
    with LoopbackServer() as other:
        app = make_app(make_settings(tmp_path, other.base_url), continue_latest=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert app.controller.conversation.title == "Which model?"
            assert app.controller.model == settings.endpoint.model
