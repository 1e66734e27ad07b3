"""The core chat loop, driven through the real UI against a real loopback server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from moviechat_tui.settings.personas import BUILTIN_PERSONAS
from moviechat_tui.tui.widgets.greeting import Greeting
from moviechat_tui.tui.widgets.message_view import AssistantMessageView
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    notices_on_screen,
    saved_conversations,
    send,
    until,
    wait_idle,
)
from tests.support.loopback_server import Reply


async def test_greeting_then_streamed_reply_saved_to_disk(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="**Ridley Scott** directed *Alien* (1979).", delay=0.01))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()  # the example list is mounted just after the first frame
        greeting = app.chat_screen.query_one(Greeting)
        assert len(greeting.query("#examples").first().options) >= 3  # type: ignore[attr-defined]
        await send(pilot, "Who directed Alien?")
        await wait_idle(pilot)
        assert messages_on_screen(app) == [
            ("user", "You · " + messages_on_screen(app)[0][1].split("\n")[0][6:] + "\n"
             "Who directed Alien?"),
            ("assistant", "**Ridley Scott** directed *Alien* (1979)."),
        ]
        assert not app.chat_screen.query(Greeting)
        assert app.chat_screen.query_one("#prompt").text == ""  # type: ignore[attr-defined]
    [saved] = saved_conversations(settings)
    assert saved["title"] == "Who directed Alien?"
    assert [(m["role"], m["content"]) for m in saved["messages"]] == [
        ("user", "Who directed Alien?"),
        ("assistant", "**Ridley Scott** directed *Alien* (1979)."),
    ]
    assert saved["messages"][1]["finish_reason"] == "stop"
    assert saved["messages"][1]["persona"] == "expert"


async def test_user_message_is_on_disk_before_the_request(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="slow", delay=0.5))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Is Vertigo Hitchcock's best?")
        await asyncio.to_thread(loopback.wait_for_requests, 1)
        # The server has the request: the question must already be in the file.
        [saved] = saved_conversations(settings)
        assert saved["messages"][0]["content"] == "Is Vertigo Hitchcock's best?"
        await wait_idle(pilot)


async def test_reply_is_saved_while_it_streams(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text=" ".join(f"w{i}" for i in range(40)), delay=0.05))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Talk slowly")
        await pilot.pause(1.4)
        assert app.controller.busy
        [saved] = saved_conversations(settings)
        partial = saved["messages"][1]
        assert partial["finish_reason"] == "streaming"
        assert partial["content"].startswith("w0 w1")
        await wait_idle(pilot)


async def test_multiline_input_with_ctrl_j(tmp_path: Path, loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await pilot.press(*"Line one", "ctrl+j", *"Line two")
        assert app.chat_screen.query_one("#prompt").text == "Line one\nLine two"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_idle(pilot)
    assert loopback.last_request["messages"][-1] == {"role": "user",
                                                      "content": "Line one\nLine two"}


async def test_escape_stops_and_keeps_the_partial_reply(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="one two three four five six seven eight nine ten", delay=0.3))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Count slowly")
        await pilot.pause(1.0)
        await pilot.press("escape")
        await wait_idle(pilot)
        view = app.chat_screen.query_one(AssistantMessageView)
        shown = view.shown_text
        assert shown.startswith("one")
        assert "ten" not in shown
        assert "stopped" in str(view.query_one(".message-status").content)  # type: ignore[attr-defined]
        # The input still works after stopping.
        loopback.push(Reply(text="Back again."))
        await send(pilot, "Next")
        await wait_idle(pilot)
        assert messages_on_screen(app)[-1] == ("assistant", "Back again.")
    [saved] = saved_conversations(settings)
    stopped = saved["messages"][1]
    assert stopped["finish_reason"] == "cancelled"
    assert stopped["content"] == shown


async def test_f3_switches_persona_for_the_very_next_request(tmp_path: Path, loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    critic = BUILTIN_PERSONAS[1]
    async with app.run_test() as pilot:
        await send(pilot, "Hello")
        await wait_idle(pilot)
        assert loopback.last_request["messages"][0]["content"] == BUILTIN_PERSONAS[0].system_prompt
        await pilot.press("f3")
        await pilot.pause()
        header = str(app.chat_screen.query_one("#header-persona").content)  # type: ignore[attr-defined]
        assert critic.name in header
        assert any(critic.name in n for n in notices_on_screen(app))  # the divider
        await send(pilot, "Review Alien")
        await wait_idle(pilot)
    request = loopback.last_request
    assert request["messages"][0] == {"role": "system", "content": critic.system_prompt}
    assert [m["role"] for m in request["messages"]] == ["system", "user", "assistant", "user"]
    [saved] = saved_conversations(settings)
    assert saved["persona"] == "critic"
    replies = [m for m in saved["messages"] if m["role"] == "assistant"]
    assert [r["persona"] for r in replies] == ["expert", "critic"]
    assert all(r["model"] == settings.endpoint.model for r in replies)


async def test_ctrl_t_cycles_personas(tmp_path: Path, loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test() as pilot:
        seen = []
        for _ in range(len(BUILTIN_PERSONAS)):
            await pilot.press("ctrl+t")
            seen.append(app.controller.persona.id)
        assert seen == [p.id for p in BUILTIN_PERSONAS[1:]] + [BUILTIN_PERSONAS[0].id]


async def test_continue_reopens_history_and_sends_it(tmp_path: Path, loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    loopback.push(Reply(text="It was 1982."))
    async with make_app(settings).run_test() as pilot:
        await send(pilot, "When was Blade Runner released?")
        await wait_idle(pilot)
        await pilot.press("ctrl+q")
    app = make_app(settings, continue_latest=True)
    async with app.run_test() as pilot:
        await pilot.pause()
        await wait_idle(pilot)
        assert [r for r, _ in messages_on_screen(app)] == ["user", "assistant"]
        assert messages_on_screen(app)[1][1] == "It was 1982."
        await send(pilot, "And the sequel?")
        await wait_idle(pilot)
    sent = loopback.last_request["messages"]
    assert [m["content"] for m in sent[1:]] == [
        "When was Blade Runner released?", "It was 1982.", "And the sequel?"]
    [saved] = saved_conversations(settings)
    assert saved["message_count"] == 4


async def test_ctrl_o_lists_and_opens_a_conversation(tmp_path: Path, loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        loopback.push(Reply(text="First answer"))
        await send(pilot, "First chat")
        await wait_idle(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert messages_on_screen(app) == []
        loopback.push(Reply(text="Second answer"))
        await send(pilot, "Second chat")
        await wait_idle(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 2  # type: ignore[attr-defined]
        # Newest first; filter down to the older one and open it.
        await pilot.press(*"first")
        await pilot.pause()
        assert table.row_count == 1  # type: ignore[attr-defined]
        await pilot.press("enter")
        await wait_idle(pilot)
        assert [t for _, t in messages_on_screen(app)][1] == "First answer"
        assert app.controller.conversation.title == "First chat"


async def test_quit_while_streaming_saves_the_partial_reply(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="a b c d e f g h i j k l m n o p", delay=0.2))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Go")
        await pilot.pause(0.8)
        await pilot.press("ctrl+q")
    [saved] = saved_conversations(settings)
    reply = saved["messages"][1]
    assert reply["finish_reason"] == "cancelled"
    assert reply["content"].startswith("a b")


async def test_help_lists_every_key(tmp_path: Path, loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 50)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        from moviechat_tui.tui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        keys = {key for _, rows in app.screen.sections for key, _ in rows}
        assert {"enter", "ctrl+j", "escape", "ctrl+n", "ctrl+o", "ctrl+p", "ctrl+t",
                "f1", "ctrl+q", "f2", "f9"} <= keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_missing_key_for_openai_explains_first_run(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, None)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        [notice] = notices_on_screen(app)
        assert "OPENAI_API_KEY" in notice and "--base-url" in notice
        await send(pilot, "Hello?")
        await wait_idle(pilot)
        await until(pilot, lambda: any("OPENAI_API_KEY" in n
                                       for n in notices_on_screen(app)[1:]),
                    what="the missing key said again after sending")
        assert app.chat_screen.query_one("#prompt") is not None


async def test_hostile_model_output_is_shown_literally(tmp_path: Path, loopback) -> None:
    hostile = "[@click=app.quit]x[/] and [/ and [b]bold? \x1b]52;c;SGk=\x07\x1b[2J done"
    loopback.push(Reply(text=hostile, chunk_size=3))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "[/ also in my question [@click=app.quit]")
        await wait_idle(pilot)
        role, shown = messages_on_screen(app)[1]
        assert role == "assistant"
        assert shown == "[@click=app.quit]x[/] and [/ and [b]bold?  done"
        assert "[/ also in my question [@click=app.quit]" in messages_on_screen(app)[0][1]
        # Click on the reply text: nothing must run.
        await pilot.click(AssistantMessageView, offset=(3, 2))
        await pilot.pause()
        assert app.is_running
    [saved] = saved_conversations(settings)
    assert "\x1b" not in saved["messages"][1]["content"]


async def test_command_palette_lists_and_switches_personas(tmp_path: Path, loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"trivia host")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.controller.persona.id == "trivia"
        header = str(app.chat_screen.query_one("#header-persona").content)  # type: ignore[attr-defined]
        assert "Trivia host" in header


async def test_persona_keys_win_over_the_prompt_editor(tmp_path: Path, loopback) -> None:
    """F6/F7 are TextArea keys too; with the prompt focused they must still pick personas."""
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test() as pilot:
        await pilot.press(*"draft")
        await pilot.press("f6")
        assert app.controller.persona.id == BUILTIN_PERSONAS[4].id
        await pilot.press("f7")
        assert app.controller.persona.id == BUILTIN_PERSONAS[5].id
        assert app.chat_screen.query_one("#prompt").text == "draft"  # type: ignore[attr-defined]
