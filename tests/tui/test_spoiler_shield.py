"""The spoiler shield in the app, asserted on what the screen shows.

Hidden passages in these replies hold words marked with `§`, a character that appears nowhere
else: wherever the screen (the composed terminal rows) or a reply's drawn lines (its
rendered and plain blocks, and the plain tail of the block still arriving) show a `§`, a
spoiler has leaked. The streaming tests pace the loopback server chunk by chunk
(`Reply.gate`) and read the screen after every one."""

from __future__ import annotations

import json
import threading
from datetime import date
from pathlib import Path

from textual.widgets import Static

from moviechat_tui.core.spoilers import SHIELD_PROMPT
from moviechat_tui.films.my_store import MyFilmsStore
from moviechat_tui.tui.app import MovieChatApp
from moviechat_tui.tui.widgets.chat_header import ChatHeader
from moviechat_tui.tui.widgets.message_view import AssistantMessageView
from moviechat_tui.tui.widgets.rendered_markdown import RenderedMarkdown
from tests.support.apphelpers import (
    make_app,
    make_settings,
    saved_conversations,
    screen_lines,
    send,
    until,
    wait_idle,
)
from tests.support.loopback_server import LoopbackServer, Reply

SECRET = "§"
CLOSED = "Spoiler — press s to show"


def drawn(view: AssistantMessageView) -> str:
    """Everything the reply's view draws, on screen or scrolled off: its blocks' lines and
    the plain tail."""
    tail = [str(s.content) for s in view.query(".message-tail").results(Static)
            if s.display]
    return "\n".join([*view.body.rendered_text(), *tail])


def screen(app: MovieChatApp) -> str:
    return "\n".join(screen_lines(app))


def header_text(app: MovieChatApp) -> str:
    return app.chat_screen.query_one(ChatHeader).right_text


def reply_views(app: MovieChatApp) -> list[AssistantMessageView]:
    return list(app.chat_screen.query(AssistantMessageView))


def assert_nothing_hidden_shows(app: MovieChatApp, view: AssistantMessageView,
                                step: str) -> None:
    on_screen, in_view = screen(app), drawn(view)
    assert SECRET not in on_screen and SECRET not in in_view, f"leaked after {step!r}"
    # The tags are never text; a possible start of one is held back until it is known.
    for piece in ("<spo", "iler>", "</", "<s"):
        assert piece not in in_view, f"{piece!r} drawn after {step!r}:\n{in_view}"


async def stream_paced(pilot, server: LoopbackServer, chunks: list[str],  # type: ignore[no-untyped-def]
                       question: str) -> AssistantMessageView:
    """Send `question`, let the reply (`chunks`) through one chunk at a time, and check the
    screen after each one has been taken in by the reply's view."""
    app = pilot.app
    gate = threading.Semaphore(0)
    server.push(Reply(text="".join(chunks), chunks=chunks, gate=gate))
    await send(pilot, question)
    await until(pilot, lambda: len(reply_views(app)) >= 1 and reply_views(app)[-1].has_class(
        "-streaming"), what="the reply to start")
    view = reply_views(app)[-1]
    so_far = ""
    for chunk in chunks:
        so_far += chunk
        gate.release()
        await until(pilot, lambda: view.shown_text == so_far,  # noqa: B023
                    what=f"the view to take in {chunk!r}")
        await pilot.pause()
        assert_nothing_hidden_shows(app, view, chunk)
    gate.release()  # the end: finish reason and [DONE]
    await wait_idle(pilot)
    assert_nothing_hidden_shows(app, view, "the end")
    return view


KANE = [
    "Citizen Kane follows a reporter chasing a dying man's last word. <spo",
    "iler>Rosebud§ is",
    " his§ childhood§ sled§.</spo",
    "iler> Then the credits roll.\n\nA second twist: <",
    "s", "p", "o", "i", "l", "e", "r", ">",
    "The§ reporter§ never§ learns§",
    "<", "/", "s", "p", "o", "i", "l", "e", "r", ">",
    " — the ending < is > worth seeing.",
]


async def test_a_marker_split_across_chunks_never_lets_the_secret_show(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f12")
        await pilot.pause()
        view = await stream_paced(pilot, loopback, KANE, "Tell me about Citizen Kane")
        shown = drawn(view)
        assert shown.count(CLOSED) == 2
        assert "a dying man's last word." in shown and "Then the credits roll." in shown
        assert "the ending < is > worth seeing." in shown  # a "<" that is no tag shows
    # The file keeps the reply as the model wrote it.
    [saved] = saved_conversations(app.settings)
    assert saved["messages"][-1]["content"] == "".join(KANE)


async def test_the_opening_tag_one_character_a_chunk_and_the_tail_while_it_waits(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    """The tag arrives a character at a time while the block it is in is still plain text
    (the tail), at the start of a line and after a blank line."""
    chunks = ["Premise first.\n\n", *"<spoiler>", "Twist§ here§", *"</spoiler>",
              "\n\nAfter.\n\n", *"<SPOILER>", "Shouted§", "</Spoiler>", " Done."]
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        view = await stream_paced(pilot, loopback, chunks, "Go")
        assert drawn(view).count(CLOSED) == 2
        assert "After." in drawn(view) and "Done." in drawn(view)


async def test_a_reply_with_an_unclosed_marker_stays_hidden_to_the_end_and_after(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    chunks = ["The Sixth Sense is a ghost story. ", "<spoiler>", "He§ was§ dead§ ",
              "all§ along§.\n\n", "## The§ ending§\n\n", "Every§ clue§ fits§."]
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f12")
        view = await stream_paced(pilot, loopback, chunks, "The Sixth Sense?")
        shown = drawn(view)
        # The rest of the reply, paragraphs and heading included, is one closed block.
        assert shown.count(CLOSED) == 1
        assert shown.strip().endswith(CLOSED + ", or click")
        # Once the reply is over, it can be opened like any other.
        view.focus()
        await pilot.press("s")
        await pilot.pause()
        assert "He§ was§ dead§ all§ along§." in drawn(view)
        assert "Every§ clue§ fits§." in drawn(view)


REPLY_ONE = ("Se7en: two detectives hunt a killer.\n\n"
             "<spoiler>The§ box§ holds§ a§ head§.</spoiler>\n\n"
             "And later: <spoiler>Mills§ shoots§ Doe§.</spoiler> Bleak.")
REPLY_TWO = "Fight Club: an insomniac meets a soap seller. <spoiler>They§ are§ one§.</spoiler>"


async def test_s_opens_the_passages_of_the_focused_reply_only_one_at_a_time(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=REPLY_ONE), Reply(text=REPLY_TWO))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.press("f12")
        await send(pilot, "Se7en?")
        await wait_idle(pilot)
        await send(pilot, "Fight Club?")
        await wait_idle(pilot)
        first, second = reply_views(app)
        assert SECRET not in screen(app)
        first.focus()
        await pilot.pause()
        assert "s spoiler" in screen(app)  # the prompt's border names the key
        await pilot.press("s")
        await pilot.pause()
        assert "The§ box§ holds§ a§ head§." in drawn(first)
        assert "Mills§" not in drawn(first) and drawn(first).count(CLOSED) == 1
        assert SECRET not in drawn(second)  # the other reply is untouched
        await pilot.press("s")
        await pilot.pause()
        assert "Mills§ shoots§ Doe§." in drawn(first) and CLOSED not in drawn(first)
        assert SECRET not in drawn(second)
        await pilot.press("s")  # all open: s closes them again
        await pilot.pause()
        assert SECRET not in drawn(first) and drawn(first).count(CLOSED) == 2


async def test_a_click_opens_that_passage_and_leaves_the_focus_alone(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=REPLY_ONE))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 40)) as pilot:
        await send(pilot, "Se7en?")
        await wait_idle(pilot)
        [view] = reply_views(app)
        body = view.query_one(RenderedMarkdown)
        lines = body.rendered_text()
        second = [y for y, line in enumerate(lines) if CLOSED in line][1]
        await pilot.click(body, offset=(4, second))
        await pilot.pause()
        assert "Mills§ shoots§ Doe§." in drawn(view)
        assert "The§" not in drawn(view)  # only the one clicked
        assert app.focused is app.chat_screen.prompt


async def test_with_the_shield_off_marked_passages_still_stay_closed(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=REPLY_TWO))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Fight Club?")
        await wait_idle(pilot)
        assert "shield" not in header_text(app)
        assert SECRET not in screen(app) and CLOSED in screen(app)
    assert SHIELD_PROMPT not in loopback.requests[-1]["messages"][0]["content"]


async def test_the_toggle_is_saved_and_restored_with_continue_and_sent_while_on(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "shield" not in header_text(app)
        await pilot.press("f12")
        await pilot.pause()
        assert "🙈 shield" in header_text(app) and "🙈 shield" in screen(app)
        await send(pilot, "Vertigo?")
        await wait_idle(pilot)
        await pilot.press("ctrl+q")
    system = loopback.requests[-1]["messages"][0]
    assert system["role"] == "system" and SHIELD_PROMPT in system["content"]
    [saved] = saved_conversations(settings)
    assert saved["spoiler_shield"] is True

    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "🙈 shield" in screen(app)
        await send(pilot, "And its ending?")
        await wait_idle(pilot)
        assert SHIELD_PROMPT in loopback.requests[-1]["messages"][0]["content"]
        await pilot.press("ctrl+backslash")  # the other default key: off
        await pilot.pause()
        assert "shield" not in header_text(app)
        await send(pilot, "One more")
        await wait_idle(pilot)
        assert SHIELD_PROMPT not in loopback.requests[-1]["messages"][0]["content"]
        await pilot.press("ctrl+q")
    [saved] = saved_conversations(settings)
    assert "spoiler_shield" not in saved


async def test_the_palette_turns_it_on_and_a_new_conversation_starts_off(
        tmp_path: Path) -> None:
    app = make_app(make_settings(tmp_path, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        for key in "Spoiler shield":
            await pilot.press("space" if key == " " else key)
        await pilot.pause(0.3)
        assert "Spoiler shield: turn on" in screen(app)
        await pilot.press("enter")
        await until(pilot, lambda: "shield" in header_text(app), what="the shield on")
        assert app.controller.conversation.spoiler_shield
        await pilot.press("ctrl+n")
        await until(pilot, lambda: "shield" not in header_text(app), what="a new one, off")


async def test_a_config_default_starts_new_conversations_with_the_shield_on(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1", config="spoiler_shield = true\n")
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        assert "🙈 shield" in screen(app)
        await pilot.press("f12")
        await pilot.pause()
        assert "shield" not in header_text(app)
        await pilot.press("ctrl+n")
        await until(pilot, lambda: "shield" in header_text(app), what="the default again")


async def test_films_in_the_diary_are_listed_to_the_model_as_safe(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    store = MyFilmsStore.under(settings.paths.data_dir)
    store.log_watched("Parasite", 2019, "tt6751668", watched=date(2024, 3, 1))
    store.rate("Mother", 2009, None, 4.5)
    store.add_to_watchlist("Burning", 2018, None)  # wanted, not seen: not safe
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f12")
        await send(pilot, "Compare Parasite and Burning")
        await wait_idle(pilot)
    system = loopback.requests[-1]["messages"][0]["content"]
    assert system.startswith(app.controller.persona.system_prompt)
    safe = system.split("may be discussed openly, without the tags:")[1]
    assert "Parasite (2019)" in safe and "Mother (2009)" in safe
    assert "Burning" not in safe


async def test_a_damaged_diary_is_reported_and_the_question_still_goes(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    folder = settings.paths.data_dir / "my-films"
    folder.mkdir(parents=True)
    (folder / "diary.toml").write_text("this is [not toml", encoding="utf-8")
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f12")
        await send(pilot, "Parasite?")
        await wait_idle(pilot)
        await pilot.pause(0.2)
        assert any("diary.toml" in str(n.message) for n in app._notifications)
    system = loopback.requests[-1]["messages"][0]["content"]
    assert system.endswith(SHIELD_PROMPT)  # no films, no failure
    assert (folder / "diary.toml.corrupt").exists()


async def test_the_kept_view_never_holds_a_spoiler_and_it_comes_back_closed(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=REPLY_ONE))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(80, 40)) as pilot:
        await send(pilot, "Se7en?")
        await wait_idle(pilot)
        reply_views(app)[0].focus()
        await pilot.press("s", "s")
        await pilot.pause()
        assert "Mills§" in screen(app)
        await pilot.press("ctrl+q")
    for kept in (settings.paths.data_dir / "cache" / "views").glob("*.json"):
        assert SECRET not in kept.read_text(encoding="utf-8")
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(80, 40)) as pilot:
        await pilot.pause()
        assert SECRET not in screen(app) and screen(app).count(CLOSED) == 2


async def test_copy_keeps_the_spoilers_with_visible_marks(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=REPLY_TWO))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Fight Club?")
        await wait_idle(pilot)
        reply_views(app)[0].focus()
        await pilot.press("c")
        assert app.clipboard == ("Fight Club: an insomniac meets a soap seller. "
                                 "[spoiler]They§ are§ one§.[/spoiler]")


async def test_a_generated_title_is_asked_without_the_spoilers(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=REPLY_TWO), Reply(text="Soap and insomnia"))
    settings = make_settings(tmp_path, loopback.base_url, config="generate_titles = true\n")
    app = make_app(settings)
    async with app.run_test() as pilot:
        await send(pilot, "what is fight club about")
        await wait_idle(pilot)
        await until(pilot, lambda: len(loopback.requests) == 2, what="the title request")
    asked = json.dumps(loopback.requests[-1], ensure_ascii=False)
    assert "Write a title" in asked and SECRET not in asked and "soap seller" in asked


async def test_a_stray_closing_tag_hides_nothing_and_s_is_typed_into_the_prompt(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text="Alien is a horror film.</spoiler> Scott directs."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Alien?")
        await wait_idle(pilot)
        [view] = reply_views(app)
        assert "Alien is a horror film. Scott directs." in drawn(view)
        view.focus()
        await pilot.pause()
        assert "s spoiler" not in screen(app)
        await pilot.press("s")
        await pilot.pause()
        assert app.chat_screen.prompt.text == "s"


async def test_a_passage_is_text_not_markup_closed_or_open(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    """Markup in a passage — an action link, a stray closing bracket — neither runs nor
    crashes, and once opened it reads as written."""
    loopback.push(Reply(text="Premise. <spoiler>[@click=app.quit]Rosebud§[/] is [/ a "
                             "[b]sled§[/b]</spoiler> End."))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(80, 24)) as pilot:
        await send(pilot, "Kane?")
        await wait_idle(pilot)
        [view] = reply_views(app)
        assert SECRET not in screen(app) and CLOSED in screen(app)
        view.focus()
        await pilot.press("s")
        await pilot.pause()
        assert "[@click=app.quit]Rosebud§[/] is [/ a [b]sled§[/b]" in screen(app)
        assert app.is_running


async def test_a_branch_keeps_the_shield(tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=REPLY_TWO))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f12")
        await send(pilot, "Fight Club?")
        await wait_idle(pilot)
        source = app.controller.conversation.id
        reply_views(app)[0].focus()
        await pilot.press("b")
        await until(pilot, lambda: app.controller.conversation.id != source,
                    what="the branch to open")
        assert app.controller.conversation.spoiler_shield
        assert "🙈 shield" in header_text(app)


def test_the_header_keeps_the_shield_mark_whole_and_shortens_the_model() -> None:
    from rich.cells import cell_len

    from moviechat_tui.tui.widgets.chat_header import fit_right, shield_mark

    right = fit_right(persona="Movie expert", model="SmolLM2-135M-Instruct.Q4_1",
                      profile=None, tokens="1,234 tokens", extra="offline", busy=False,
                      room=50, shield=shield_mark())
    assert right.endswith(" · offline · 🙈 shield") and right.startswith("Movie expert · Smol")
    assert "tokens" not in right and cell_len(right) <= 50
