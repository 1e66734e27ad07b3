"""Regenerate with versions, edit and resend, copy, context fitting, usage, capabilities."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from moviechat_tui.tui.commands import help_sections
from moviechat_tui.tui.widgets.message_view import AssistantMessageView, UserMessageView
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    saved_conversations,
    send,
    wait_idle,
    with_request,
)
from tests.support.loopback_server import Reply


def _meta(view: AssistantMessageView) -> str:
    return str(view.query_one(".message-meta", Static).content)


async def test_regenerate_keeps_every_version_and_flips_between_them(
        tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="First take."), Reply(text="Second take."))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Best Kubrick?")
        await wait_idle(pilot)
        await pilot.press("ctrl+r")
        await wait_idle(pilot)
        assert messages_on_screen(app) == [messages_on_screen(app)[0],
                                           ("assistant", "Second take.")]
        view = app.chat_screen.query_one(AssistantMessageView)
        assert "‹ 2/2 ›" in _meta(view)
        # The regenerate request carried the question once, and no old reply.
        assert [m["role"] for m in loopback.last_request["messages"]] == ["system", "user"]
        view.focus()
        await pilot.press("left")
        await pilot.pause()
        assert messages_on_screen(app)[-1] == ("assistant", "First take.")
        assert "‹ 1/2 ›" in _meta(app.chat_screen.query_one(AssistantMessageView))
        await wait_idle(pilot)
        # The next question continues from the version on screen.
        loopback.push(Reply(text="Noted."))
        await send(pilot, "Why?")
        await wait_idle(pilot)
        sent = [m["content"] for m in loopback.last_request["messages"][1:]]
        assert sent == ["Best Kubrick?", "First take.", "Why?"]
    [saved] = saved_conversations(settings)
    replies = [m for m in saved["messages"] if m["role"] == "assistant"][:2]
    assert [r["content"] for r in replies] == ["First take.", "Second take."]
    assert replies[0]["group"] == replies[1]["group"]
    assert replies[1].get("hidden") is True and "hidden" not in replies[0]


async def test_edit_and_resend_replaces_the_turn_but_keeps_it_on_disk(
        tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="About Alien."), Reply(text="About Aliens."))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Tell me about Alien")
        await wait_idle(pilot)
        await pilot.press("ctrl+g")
        prompt = app.chat_screen.query_one("#prompt")
        assert prompt.text == "Tell me about Alien"  # type: ignore[attr-defined]
        await pilot.press("s", "enter")
        await wait_idle(pilot)
        assert [t.splitlines()[-1] for _, t in messages_on_screen(app)] == [
            "Tell me about Aliens", "About Aliens."]
        assert len(app.chat_screen.query(UserMessageView)) == 1
    assert [m["content"] for m in loopback.last_request["messages"][1:]] == [
        "Tell me about Aliens"]
    [saved] = saved_conversations(settings)
    assert [(m["content"], m.get("hidden", False)) for m in saved["messages"]] == [
        ("Tell me about Alien", True), ("About Alien.", True),
        ("Tell me about Aliens", False), ("About Aliens.", False)]


async def test_escape_cancels_an_edit(tmp_path: Path, loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test() as pilot:
        await send(pilot, "Question")
        await wait_idle(pilot)
        await pilot.press("ctrl+g", "escape")
        assert app.chat_screen.query_one("#prompt").text == ""  # type: ignore[attr-defined]
        assert not app.controller.editing


async def test_copy_message_and_code_block(tmp_path: Path, loopback) -> None:
    reply = "Try this:\n\n```python\nprint('Casablanca')\n```\n\nand\n\n```\nplain\n```\n"
    loopback.push(Reply(text=reply))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Code?")
        await wait_idle(pilot)
        await pilot.press("up")  # from the empty prompt to the last message
        assert isinstance(app.focused, AssistantMessageView)
        await pilot.press("c")
        assert app.clipboard == reply.rstrip("\n") or app.clipboard == reply
        await pilot.press("1")
        assert app.clipboard == "print('Casablanca')\n"
        toasts = [str(n.message) for n in app._notifications]
        assert any("code block 1 of 2 (python, 1 lines)" in t for t in toasts), toasts
        await pilot.press("3")
        assert app.clipboard == "print('Casablanca')\n"


async def test_copy_code_block_counts_the_blocks_as_the_screen_shows_them(
        tmp_path: Path, loopback) -> None:
    """A code block inside a list item is shown as block 1: key 1 copies it, not the block
    after the list (the copy once only counted fences at the start of a line)."""
    reply = ("Two steps:\n\n"
             "1. Install it:\n\n"
             "   ```sh\n"
             "   pip install moviechat\n"
             "   ```\n\n"
             "2. Then ask away.\n\n"
             "```python\n"
             "print('Casablanca')\n"
             "```\n")
    loopback.push(Reply(text=reply))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "How do I start?")
        await wait_idle(pilot)
        await pilot.press("up")
        assert isinstance(app.focused, AssistantMessageView)
        await pilot.press("1")
        assert app.clipboard == "pip install moviechat\n"
        toasts = [str(n.message) for n in app._notifications]
        assert any("code block 1 of 2 (sh, 1 lines)" in t for t in toasts), toasts
        await pilot.press("2")
        assert app.clipboard == "print('Casablanca')\n"


async def test_old_turns_are_left_out_to_fit_the_context_window(
        tmp_path: Path, loopback) -> None:
    settings = with_request(make_settings(tmp_path, loopback.base_url), context_window=2_000)
    app = make_app(settings)
    async with app.run_test() as pilot:
        for n in range(4):
            loopback.push(Reply(text=f"reply {n} " + "x" * 1_600))
            await send(pilot, f"question {n} " + "y" * 1_600)
            await wait_idle(pilot)
        sent = loopback.last_request["messages"]
        assert sent[0]["role"] == "system"
        assert sent[-1]["content"].startswith("question 3")
        assert not any(m["content"].startswith("question 0") for m in sent)
        toasts = [str(n.message) for n in app._notifications]
        assert any("left out to fit the model's context window" in t for t in toasts)
    [saved] = saved_conversations(settings)
    assert saved["message_count"] == 8  # nothing is dropped from the file


async def test_context_too_long_retries_once_with_less_history(
        tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="a " * 10), Reply(text="b " * 10),
                  Reply.error(400, code="context_length_exceeded"), Reply(text="Fits now."))
    settings = with_request(make_settings(tmp_path, loopback.base_url), context_window=100_000)
    app = make_app(settings)
    async with app.run_test() as pilot:
        for question in ("one " * 500, "two " * 500, "three"):
            await send(pilot, question)
            await wait_idle(pilot)
        assert messages_on_screen(app)[-1] == ("assistant", "Fits now.")
    first_try, retry = loopback.requests[-2:]
    assert len(retry["messages"]) < len(first_try["messages"])
    assert retry["messages"][-1]["content"] == "three"


async def test_usage_is_recorded_and_shown(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="Counted.", usage={"prompt_tokens": 42, "completion_tokens": 7,
                                                "total_tokens": 49}))
    settings = with_request(make_settings(tmp_path, loopback.base_url), include_usage=True)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Count?")
        await wait_idle(pilot)
        assert "7 tokens" in _meta(app.chat_screen.query_one(AssistantMessageView))
    [saved] = saved_conversations(settings)
    assert (saved["messages"][1]["prompt_tokens"], saved["messages"][1]["completion_tokens"]) \
        == (42, 7)


async def test_reasoning_models_get_max_completion_tokens_and_no_temperature(
        tmp_path: Path, loopback) -> None:
    config = ('[[personas]]\nid = "critic"\ntemperature = 0.3\nmax_tokens = 500\n')
    settings = make_settings(tmp_path, loopback.base_url, config=config, model="o3-mini",
                             persona="critic")
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "Think hard")
        await wait_idle(pilot)
    body = loopback.last_request
    assert body["max_completion_tokens"] == 500
    assert "temperature" not in body and "max_tokens" not in body
    assert body["messages"][0]["role"] == "system"


async def test_keys_can_be_remapped_in_the_config(tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="One."), Reply(text="Two."))
    settings = make_settings(tmp_path, loopback.base_url,
                             config='[keys]\nregenerate = "f11"\nnew_conversation = "ctrl+b"\n')
    app = make_app(settings)
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Q")
        await wait_idle(pilot)
        await pilot.press("f11")
        await wait_idle(pilot)
        assert messages_on_screen(app)[-1] == ("assistant", "Two.")
        await pilot.press("ctrl+r")  # the old key no longer regenerates
        await pilot.pause()
        assert not app.controller.busy
        rows = dict(help_sections(app)[0][1])  # the chat's keys (the library has a ctrl+r)
        assert "f11" in rows and "ctrl+b" in rows and "ctrl+r" not in rows
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert messages_on_screen(app) == []


def test_unknown_key_action_is_a_clear_config_error(tmp_path: Path) -> None:
    import pytest

    from moviechat_tui.settings.config import ConfigError

    with pytest.raises(ConfigError, match=r"config.toml:2: keys.regenrate: unknown action"):
        make_settings(tmp_path, None, config='[keys]\nregenrate = "f5"\n')


async def test_model_picker_lists_endpoint_models_and_accepts_a_typed_name(
        tmp_path: Path, loopback) -> None:
    loopback.models = ["film-large", "film-small"]
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        app.action_choose_model()
        await pilot.pause(1.5)
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"small", "enter")
        await pilot.pause()
        assert app.controller.model == "film-small"
        header = str(app.chat_screen.query_one("#header-persona").content)  # type: ignore[attr-defined]
        assert "film-small" in header
        app.action_choose_model()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press(*"my-own-model", "enter")
        await pilot.pause()
        assert app.controller.model == "my-own-model"
        await send(pilot, "Which model?")
        await wait_idle(pilot)
    assert loopback.last_request["model"] == "my-own-model"
    [saved] = saved_conversations(settings)
    assert saved["messages"][1]["model"] == "my-own-model"


async def test_theme_choice_is_remembered(tmp_path: Path, loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url, config='theme = "gruvbox"\n')
    app = make_app(settings)
    async with app.run_test() as pilot:
        assert app.theme == "gruvbox"
        app.theme = "nord"
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
    app = make_app(settings)
    async with app.run_test() as pilot:
        assert app.theme == "nord"


PROFILES = '''
profile = "first"

[[profiles]]
name = "first"
base_url = "{first}"
api_key_env = "FIRST_KEY"
model = "model-one"
headers = {{ X-Title = "moviechat" }}

[[profiles]]
name = "second"
base_url = "{second}"
model = "model-two"
'''


async def test_endpoint_profiles_start_and_switch(tmp_path: Path, loopback) -> None:
    from tests.support.loopback_server import LoopbackServer

    with LoopbackServer() as second:
        config = PROFILES.format(first=loopback.base_url, second=second.base_url)
        settings = make_settings(tmp_path, None, config=config,
                                 env={"FIRST_KEY": "sk-first", "OPENAI_API_KEY": "sk-openai"})
        assert (settings.endpoint.profile, settings.endpoint.model) == ("first", "model-one")
        app = make_app(settings)
        async with app.run_test() as pilot:
            await send(pilot, "To the first")
            await wait_idle(pilot)
            assert loopback.last_request["model"] == "model-one"
            headers = loopback.request_headers[-1]
            assert headers["authorization"] == "Bearer sk-first"
            assert headers["x-title"] == "moviechat"
            assert await app.controller.switch_profile("second")
            await send(pilot, "To the second")
            await wait_idle(pilot)
        assert second.last_request["model"] == "model-two"
        assert second.last_request["messages"][-1]["content"] == "To the second"


def test_unknown_profile_is_a_clear_error(tmp_path: Path) -> None:
    import pytest

    from moviechat_tui.settings.config import ConfigError

    with pytest.raises(ConfigError, match="profile 'nope' is not defined"):
        make_settings(tmp_path, None, config=PROFILES.format(first="http://a", second="http://b"),
                      profile="nope")


async def test_conversation_token_total_in_the_header(tmp_path: Path, loopback) -> None:
    usage = {"prompt_tokens": 1_000, "completion_tokens": 200, "total_tokens": 1_200}
    loopback.push(Reply(text="One.", usage=usage), Reply(text="Two.", usage=usage))
    app = make_app(with_request(make_settings(tmp_path, loopback.base_url), include_usage=True))
    async with app.run_test(size=(120, 30)) as pilot:
        for question in ("A?", "B?"):
            await send(pilot, question)
            await wait_idle(pilot)
        header = str(app.chat_screen.query_one("#header-persona", Static).content)
        assert "2,400 tokens" in header


async def test_palette_finds_conversations_and_models(tmp_path: Path, loopback) -> None:
    loopback.models = ["noir-7b", "western-13b"]
    loopback.push(Reply(text="Saved."))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Chinatown ending explained")
        await wait_idle(pilot)
        await pilot.press("ctrl+n")
        await pilot.press("ctrl+p", *"western")
        await pilot.pause(1.5)
        await pilot.press("enter")
        await pilot.pause()
        assert app.controller.model == "western-13b"
        await pilot.press("ctrl+p", *"chinatown")
        await pilot.pause(1.0)
        await pilot.press("enter")
        await wait_idle(pilot)
        assert app.controller.conversation.title == "Chinatown ending explained"
