"""Keys and focus in everyday use (issue 16, A1, A2, A6): typing always reaches the prompt,
nothing happens that the user did not ask for, and no draft is ever lost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from moviechat_tui.tui.app import MovieChatApp
from moviechat_tui.tui.widgets.message_view import (
    AssistantMessageView,
    MessageView,
    UserMessageView,
)
from moviechat_tui.tui.widgets.prompt_input import PromptInput
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    send,
    until,
    wait_idle,
)
from tests.support.loopback_server import Reply


def prompt_of(app: MovieChatApp) -> PromptInput:
    return app.chat_screen.prompt


def toasts(app: MovieChatApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def conversation_files(app: MovieChatApp) -> list[Path]:
    return sorted(app.settings.paths.conversations_dir.glob("*.toml"))


async def type_text(pilot: Pilot[Any], text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])


async def test_a_search_result_opens_with_the_focus_in_the_prompt(
        tmp_path: Path, loopback) -> None:
    """The steps of the report: ctrl+o → ctrl+f "Vertigo" → Enter on the result → type a
    question. It copied, refused edits and branched into a new conversation."""
    loopback.push(Reply(text="Vertigo (1958) is Hitchcock's best."), Reply(text="Noted."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Which Hitchcock first?")
        await wait_idle(pilot)
        await send(pilot, "And then?")
        await wait_idle(pilot)
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await pilot.press("ctrl+f", *"Vertigo")
        await pilot.pause(0.6)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("enter")
        await wait_idle(pilot)
        [found] = app.chat_screen.query(".message.-found")
        assert isinstance(found, AssistantMessageView)
        assert "Vertigo" in found.message.content
        assert app.focused is prompt_of(app)
        question = "What about Scorsese's best?"
        await type_text(pilot, question)
        await pilot.pause()
        assert prompt_of(app).text == question
        assert app.clipboard == ""
        assert not any("Copied" in t or "Branched" in t or "edited" in t for t in toasts(app))
        assert len(conversation_files(app)) == 1


async def test_typing_on_a_focused_message_goes_to_the_prompt(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="Ridley Scott."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Who directed Alien?")
        await wait_idle(pilot)
        await pilot.press("up")
        assert isinstance(app.focused, AssistantMessageView)
        prompt = prompt_of(app)
        # While a message has the focus, the prompt says which keys act on it and how back.
        assert "c copy" in str(prompt.border_title) and "b branch" in str(prompt.border_title)
        assert "Esc" in str(prompt.border_subtitle)
        # "w" is no message key: it is typed into the prompt, which takes the focus back.
        await type_text(pilot, "why")
        assert prompt.text == "why"
        assert app.focused is prompt
        assert not prompt.border_title
        # The message keys still work when a message was chosen on purpose.
        await pilot.press("ctrl+u", "up")
        assert isinstance(app.focused, AssistantMessageView)
        await pilot.press("c")
        assert app.clipboard == "Ridley Scott."
        assert prompt.text == ""


async def test_escape_on_a_message_goes_back_without_stopping_the_reply(
        tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="A first line.\n\n" + "word " * 400, delay=0.01))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Tell me everything")
        await until(pilot, lambda: app.controller.busy, what="the reply to start")
        await pilot.press("up")
        assert isinstance(app.focused, AssistantMessageView)
        await pilot.press("escape")
        assert app.focused is prompt_of(app)
        assert app.controller.busy, "Esc on a message stopped the reply"
        await pilot.press("escape")  # now it stops the reply, as documented
        await wait_idle(pilot)
        assert app.controller.conversation.messages[-1].finish_reason in ("cancelled", "stop")


async def test_removing_the_focused_message_puts_the_focus_in_the_prompt(
        tmp_path: Path, loopback) -> None:
    """Textual moves the focus of a removed widget to its neighbour: a message the user did
    not choose, where the next typed letter would be a command."""
    loopback.push(Reply(text="First take."), Reply(text="Second take."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Best Kubrick?")
        await wait_idle(pilot)
        await pilot.press("up")
        assert isinstance(app.focused, AssistantMessageView)
        await pilot.press("ctrl+r")  # the focused reply is replaced by a new version
        await wait_idle(pilot)
        assert app.focused is prompt_of(app)


async def test_clicking_a_link_asks_and_does_not_focus_the_message(
        tmp_path: Path, loopback) -> None:
    from moviechat_tui.tui.screens.link import LinkScreen

    loopback.push(Reply(text="[Criterion](https://www.criterion.com) has it."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Where to stream it?")
        await wait_idle(pilot)
        view = app.chat_screen.query_one(AssistantMessageView)
        body = view.body.region
        await pilot.click(offset=(body.x + 2, body.y))  # on "Criterion"
        await pilot.pause()
        assert isinstance(app.screen, LinkScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.focused, MessageView)
        # A click on the message elsewhere (its heading) does choose it.
        meta = view.query_one(".message-meta").region
        await pilot.click(offset=(meta.x + 1, meta.y))
        await pilot.pause()
        assert app.focused is view


async def test_a_branch_is_undone_with_ctrl_z(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="Ridley Scott."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Who directed Alien?")
        await wait_idle(pilot)
        original = app.controller.conversation.id
        await pilot.press("up", "b")
        await until(pilot, lambda: app.controller.conversation.id != original,
                    what="the branch to open")
        await pilot.pause()
        assert len(conversation_files(app)) == 2
        assert any("ctrl+z" in t for t in toasts(app)), toasts(app)
        assert app.focused is prompt_of(app)
        await pilot.press("ctrl+z")
        await until(pilot, lambda: app.controller.conversation.id == original,
                    what="the original to open again")
        await pilot.pause()
        assert len(conversation_files(app)) == 1
        assert len(list(app.settings.paths.trash_dir.glob("*.toml"))) == 1
        # Back at the message the branch was made from, highlighted.
        [found] = app.chat_screen.query(".message.-found")
        assert found.message.content == "Ridley Scott."  # type: ignore[attr-defined]


async def test_ctrl_z_in_the_branch_first_undoes_what_was_typed(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="Ridley Scott."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Who directed Alien?")
        await wait_idle(pilot)
        original = app.controller.conversation.id
        await pilot.press("up", "b")
        await until(pilot, lambda: app.controller.conversation.id != original)
        await pilot.pause()
        branch = app.controller.conversation.id
        await type_text(pilot, "ut then")
        await pilot.press("ctrl+z")
        assert prompt_of(app).text == ""
        assert app.controller.conversation.id == branch
        await pilot.press("ctrl+z")
        await until(pilot, lambda: app.controller.conversation.id == original)


async def test_readline_keys_edit_the_draft_in_the_prompt(tmp_path: Path, loopback) -> None:
    """ctrl+e used to throw the draft away for the last question; ctrl+a, ctrl+e, ctrl+k,
    ctrl+u and ctrl+w now do in the prompt what they do in a shell."""
    loopback.push(Reply(text="Bong Joon-ho."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Who made Parasite?")
        await wait_idle(pilot)
        prompt = prompt_of(app)
        draft = "I also liked Memories of Murder and"
        await type_text(pilot, draft)
        await pilot.press("home", "ctrl+e", "!")
        assert prompt.text == draft + "!"
        await pilot.press("ctrl+a", ">")
        assert prompt.text == ">" + draft + "!"
        await pilot.press("ctrl+e", "backspace", "ctrl+w")
        assert prompt.text == ">I also liked Memories of Murder "
        await pilot.press("ctrl+a", "ctrl+k")
        assert prompt.text == ""
        await type_text(pilot, "Mother")
        await pilot.press("ctrl+u")
        assert prompt.text == ""
        assert not app.controller.editing


async def test_editing_the_last_question_keeps_the_draft(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="About Alien."), Reply(text="About Aliens."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Tell me about Alien")
        await wait_idle(pilot)
        prompt = prompt_of(app)
        await type_text(pilot, "my draft")
        await pilot.press("ctrl+g")
        assert prompt.text == "Tell me about Alien"
        # The mode is on the prompt for as long as it lasts (not a toast that fades).
        assert "Editing" in str(prompt.border_title)
        await pilot.press("escape")
        assert prompt.text == "my draft"
        assert not app.controller.editing and not prompt.border_title
        # Edit and send: the draft comes back once the edited question is sent.
        await pilot.press("ctrl+g", "s", "enter")
        await wait_idle(pilot)
        assert [t.splitlines()[-1] for _, t in messages_on_screen(app)] == [
            "Tell me about Aliens", "About Aliens."]
        assert prompt.text == "my draft"
        assert not prompt.border_title


async def test_an_example_question_keeps_the_draft(tmp_path: Path, loopback) -> None:
    from moviechat_tui.tui.widgets.greeting import Greeting, example_questions

    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await type_text(pilot, "half a thought")
        app.chat_screen.query_one(Greeting).post_message(
            Greeting.ExampleChosen(example_questions()[0]))
        await pilot.pause()
        prompt = prompt_of(app)
        assert prompt.text == example_questions()[0]
        await pilot.press("escape")
        assert prompt.text == "half a thought"


async def test_a_flipped_version_keeps_its_indicator_in_view(tmp_path: Path, loopback) -> None:
    long_one = "\n\n".join(f"Paragraph {n} of the first take." for n in range(30))
    long_two = "\n\n".join(f"Paragraph {n} of the second take." for n in range(30))
    loopback.push(Reply(text=long_one), Reply(text=long_two))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Two takes please")
        await wait_idle(pilot)
        await pilot.press("ctrl+r")
        await wait_idle(pilot)
        await pilot.press("up")
        await pilot.press("left")
        await wait_idle(pilot)
        view = app.focused
        assert isinstance(view, AssistantMessageView)
        assert view.message.content == long_one
        meta = view.query_one(".message-meta")
        pane = app.chat_screen.message_pane.region
        assert "‹ 1/2 ›" in str(meta.render())
        assert pane.y <= meta.region.y < pane.bottom, "the ‹ 1/2 › line scrolled out of view"


async def test_version_keys_only_on_a_reply_with_versions(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="One."), Reply(text="Two."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Q")
        await wait_idle(pilot)
        await pilot.press("up")
        view = app.focused

        def version_key_on(view: Any) -> bool:
            binding = app.screen.active_bindings.get("left")
            return binding is not None and binding.node is view

        assert not version_key_on(view)  # (the pane's own "scroll left" stays)
        assert "versions" not in str(prompt_of(app).border_title)
        # "<" is then just a character: typed into the prompt.
        await pilot.press("less_than_sign")
        assert prompt_of(app).text == "<"
        await pilot.press("backspace", "ctrl+r")
        await wait_idle(pilot)
        await pilot.press("up")
        assert version_key_on(app.focused)
        assert "versions" in str(prompt_of(app).border_title)


async def test_edit_message_key_on_the_last_question(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="Answer."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Question")
        await wait_idle(pilot)
        await pilot.press("up", "up")
        assert isinstance(app.focused, UserMessageView)
        assert "e edit" in str(prompt_of(app).border_title)
        await pilot.press("e")
        assert prompt_of(app).text == "Question"
        assert app.focused is prompt_of(app)
        assert "Editing" in str(prompt_of(app).border_title)


async def test_an_edit_left_behind_by_a_new_conversation_is_over(
        tmp_path: Path, loopback) -> None:
    """The edit pointed at a message of the conversation left behind: the next send in the new
    one raised ValueError (hide_turn_from on a message that is not there)."""
    loopback.push(Reply(text="About Alien."), Reply(text="Fresh start."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Tell me about Alien")
        await wait_idle(pilot)
        await pilot.press(app.key_for("edit_last"))
        assert app.controller.editing
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert not app.controller.editing
        assert not prompt_of(app).border_title
        await pilot.press("enter")  # the question's text stayed in the prompt, as a draft
        await wait_idle(pilot)
        assert messages_on_screen(app)[-1] == ("assistant", "Fresh start.")


async def test_keys_typed_fast_on_a_message_all_reach_the_prompt(
        tmp_path: Path, loopback) -> None:
    """Keys that arrive together (a fast typist, a terminal's burst) are queued before the
    first one moves the focus: none may be lost, and none may run as a message key (the
    "b" and "c" of "about Scorsese" vanished, found in tmux)."""
    from textual import events

    loopback.push(Reply(text="Ridley Scott."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Who directed Alien?")
        await wait_idle(pilot)
        await pilot.press("up")
        assert isinstance(app.focused, AssistantMessageView)
        text = "what about Scorsese"
        for char in text:
            app.post_message(events.Key("space" if char == " " else char, char))
        await pilot.pause()
        await pilot.pause()
        assert prompt_of(app).text == text
        assert app.clipboard == ""
        assert len(conversation_files(app)) == 1
