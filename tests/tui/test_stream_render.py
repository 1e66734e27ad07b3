"""A streamed reply is rendered block by block, once each, and ends exactly as it looks when
the conversation is opened again; width and theme changes re-render it; copying, links and
literal text keep working. The block splitter is tested on its own first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from textual.widgets import TextArea

from moviechat_tui.tui.render.block_splitter import BlockSplitter, split_blocks
from moviechat_tui.tui.screens.link import LinkScreen
from moviechat_tui.tui.widgets.message_view import AssistantMessageView
from moviechat_tui.tui.widgets.rendered_markdown import RenderedMarkdown
from tests.support.apphelpers import make_app, make_settings, send, until, wait_idle
from tests.support.loopback_server import Reply

# --------------------------------------------------------------------- the splitter


def test_paragraphs_and_headings_are_blocks() -> None:
    text = "## Title\n\nFirst paragraph\nstill first.\n\n\nSecond."
    assert split_blocks(text) == ["## Title", "First paragraph\nstill first.", "Second."]


def test_blank_lines_inside_a_code_fence_do_not_cut_it() -> None:
    code = "```python\na = 1\n\n\nb = 2\n```"
    tilde = "~~~\nx\n\n```\nnot a close\n```\n\ny\n~~~"
    long_fence = "````md\n```\ninner\n```\n\nstill inside\n````"
    text = f"Intro\n\n{code}\n\n{tilde}\n\n{long_fence}\n\nAfter."
    assert split_blocks(text) == ["Intro", code, tilde, long_fence, "After."]


def test_a_fence_never_closed_runs_to_the_end() -> None:
    text = "Look:\n\n```\ncode\n\nmore code\n\nlast"
    assert split_blocks(text) == ["Look:", "```\ncode\n\nmore code\n\nlast"]
    splitter = BlockSplitter()
    assert splitter.feed(text) == ["Look:"]
    assert splitter.pending.startswith("```\ncode")


def test_a_table_is_one_block() -> None:
    table = "| Film | Year |\n|---|---|\n| Oldboy | 2003 |\n| Burning | 2018 |"
    assert split_blocks(f"### Facts\n\n{table}\n\nDone.") == ["### Facts", table, "Done."]


def test_loose_lists_and_indented_continuations_stay_together() -> None:
    loose = "1. One\n\n2. Two\n\n   More about two.\n\n3. Three"
    bullets = "- a\n\n- b\n\n      indented code in b"
    text = f"{loose}\n\nBetween.\n\n{bullets}\n\n10. a list item\n\nAfter."
    # A list item after a list stays with it: joining never changes how Markdown renders.
    assert split_blocks(text) == [loose, "Between.", f"{bullets}\n\n10. a list item",
                                  "After."]


def test_crlf_line_ends() -> None:
    text = "One\r\n\r\n```\r\na\r\n\r\nb\r\n```\r\n\r\nTwo\r\n"
    assert split_blocks(text) == ["One", "```\r\na\r\n\r\nb\r\n```", "Two"]


def test_a_block_is_finished_as_soon_as_the_next_one_starts() -> None:
    splitter = BlockSplitter()
    assert splitter.feed("First para") == []
    assert splitter.pending == "First para"
    assert splitter.feed(" ends.\n\n") == []
    assert splitter.feed("S") == ["First para ends."]
    assert splitter.pending == "S"
    # In a list, a line starting like a list item may continue it: wait for the line.
    splitter = BlockSplitter()
    assert splitter.feed("- a\n\n1") == []
    assert splitter.feed("0. b\n") == []
    assert splitter.finish() == ["- a\n\n10. b"]


_PIECES = st.sampled_from([
    "word", " ", "\n", "\n\n", "\r\n", "```", "~~~", "```py\n", "- ", "1. ", "10) ", "  ",
    "\t", "| a | b |\n", "|---|---|\n", "> ", "#", "`", "한국어", "[x](http://e.example)",
])


@given(st.lists(_PIECES, max_size=60), st.lists(st.integers(0, 400), max_size=12))
def test_the_blocks_do_not_depend_on_how_the_text_was_chunked(
        pieces: list[str], cuts: list[int]) -> None:
    text = "".join(pieces)
    splitter = BlockSplitter()
    streamed: list[str] = []
    last = 0
    for cut in sorted(c for c in cuts if c <= len(text)):
        streamed += splitter.feed(text[last:cut])
        last = cut
    streamed += splitter.feed(text[last:])
    streamed += splitter.finish()
    assert streamed == split_blocks(text)
    # Nothing is lost but the blank lines between blocks.
    assert "".join(streamed).replace("\n", "").replace("\r", "").replace(" ", "").replace(
        "\t", "") == text.replace("\n", "").replace("\r", "").replace(" ", "").replace("\t", "")


@pytest.fixture
def no_held_collections(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A test that quit mid-reply may have left a hold in this (shared) process."""
    import gc

    from moviechat_tui.tui.runtime import gc_pause

    monkeypatch.setattr(gc_pause, "_holds", 0)
    monkeypatch.setattr(gc_pause, "_saved", None)
    monkeypatch.setattr(gc_pause, "_frozen", True)  # no gc.freeze() from a test
    monkeypatch.setattr(gc_pause, "_held_since", None)
    threshold = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("no_held_collections")
def test_full_collections_are_held_while_replies_stream_and_run_when_asked() -> None:
    import gc

    from moviechat_tui.tui.runtime.gc_pause import (
        collect_held_garbage,
        collection_waiting,
        full_collections_held,
        hold_full_collections,
        release_full_collections,
    )

    before = gc.get_threshold()
    hold_full_collections()
    hold_full_collections()  # two replies (another window's merge) nest
    assert full_collections_held() and gc.get_threshold()[:2] == before[:2]
    assert gc.get_threshold()[2] > before[2]
    release_full_collections()
    assert full_collections_held() and not collect_held_garbage()  # one still streams
    release_full_collections()
    release_full_collections()  # an extra release is harmless
    assert not full_collections_held() and collection_waiting()
    assert gc.get_threshold()[2] > before[2]  # still held: the user may be typing
    assert collect_held_garbage()
    assert not collection_waiting() and gc.get_threshold() == before
    assert not collect_held_garbage()


@pytest.mark.usefixtures("no_held_collections")
async def test_the_held_collection_waits_until_the_user_stops_typing(
        tmp_path: Path, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full collection takes 30–150 ms: after a reply it runs when no key has been pressed
    for a moment, not while the user is still typing."""
    from moviechat_tui.tui.runtime import gc_pause
    from moviechat_tui.tui.runtime.keystrokes import Keystrokes

    typing = [True]
    monkeypatch.setattr(Keystrokes, "seconds_since_key",
                        property(lambda self: 0.0 if typing[0] else 60.0))
    collections: list[int] = []
    real_collect = gc_pause.gc.collect
    monkeypatch.setattr(gc_pause.gc, "collect", lambda *a: collections.append(1) or real_collect())
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        loopback.push(Reply(text="Short."))
        await send(pilot, "Hi")
        await until(pilot, lambda: app.controller.history_complete and not app.controller.busy
                    and len(app.controller.conversation.messages) == 2, what="the reply")
        await pilot.pause(1.3)
        assert gc_pause.collection_waiting() and not collections
        typing[0] = False
        await until(pilot, lambda: not gc_pause.collection_waiting(),
                    what="the held collection, once typing stopped")
        assert collections == [1]


@pytest.mark.usefixtures("no_held_collections")
async def test_the_held_collection_runs_after_a_while_even_if_typing_never_stops(
        tmp_path: Path, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """Chatting without a pause must not hold back collections for ever (memory grew by
    ~0.5 MB a turn): after LONGEST_COLLECTION_HOLD seconds the collection runs anyway."""
    from moviechat_tui.tui.runtime import gc_pause
    from moviechat_tui.tui.runtime.keystrokes import Keystrokes

    monkeypatch.setattr(Keystrokes, "seconds_since_key", property(lambda self: 0.0))
    monkeypatch.setattr(gc_pause, "LONGEST_COLLECTION_HOLD", 0.5)
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        loopback.push(Reply(text="Short."))
        await send(pilot, "Hi")
        await until(pilot, lambda: not app.controller.busy
                    and len(app.controller.conversation.messages) == 2, what="the reply")
        await until(pilot, lambda: not gc_pause.collection_waiting(),
                    what="the held collection, although the user never stopped typing")


# ------------------------------------------------------------------- in the app

REPLY = """## Why *Memories of Murder* matters

Bong Joon-ho's second feature follows **two detectives** in rural Gyeonggi Province who chase \
a serial killer with little more than instinct and intimidation; see [the trailer](http://films.example/t).

| Film | Director | Year |
|------|----------|------|
| Oldboy | Park Chan-wook | 2003 |
| Burning | Lee Chang-dong | 2018 |

```python
for title in ["Oldboy", "Burning"]:

    print(title)
```

1. First
2. Second

> A quote with [@click=app.quit]markup[/] and [b]tags[/b] that stay literal.

```sh
echo done
```

봉준호 감독은 이 영화에서 장르의 규칙을 비틀어 관객의 기대를 배반합니다."""


def body(view: AssistantMessageView) -> RenderedMarkdown:
    return view.query_one(RenderedMarkdown)


def last_reply(app: object) -> AssistantMessageView:
    return list(app.chat_screen.query(AssistantMessageView))[-1]  # type: ignore[attr-defined]


async def stream_reply(pilot: object, loopback: object, text: str = REPLY,
                       delay: float = 0.002) -> AssistantMessageView:
    loopback.push(Reply(text=text, delay=delay))  # type: ignore[attr-defined]
    await send(pilot, "Tell me about it")  # type: ignore[arg-type]
    await wait_idle(pilot)  # type: ignore[arg-type]
    return last_reply(pilot.app)  # type: ignore[attr-defined]


async def test_streamed_reply_ends_identical_to_the_reopened_one(tmp_path: Path,
                                                                 loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(100, 60)) as pilot:
        view = await stream_reply(pilot, loopback)
        assert view.shown_text == REPLY
        assert body(view).blocks == tuple(split_blocks(REPLY))
        streamed = body(view).rendered_text()
        assert not view.query_one(".message-tail").display
    reopened_app = make_app(settings, continue_latest=True)
    async with reopened_app.run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        reopened = body(last_reply(reopened_app)).rendered_text()
    assert streamed == reopened
    shown = "\n".join(streamed)
    # It is rendered Markdown, not the source: no fences, pipes or emphasis marks.
    assert "```" not in shown and "|---" not in shown and "**" not in shown
    assert "Why Memories of Murder matters" in shown
    assert "print(title)" in shown and "1. First" in shown
    assert "Oldboy" in shown and "Park Chan-wook" in shown


async def test_while_streaming_only_the_open_block_is_plain_text(tmp_path: Path,
                                                                 loopback) -> None:
    text = "First block.\n\nSecond block.\n\n" + " ".join(f"w{i}" for i in range(300))
    loopback.push(Reply(text=text, delay=0.01))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Go")
        await until(pilot, lambda: "w20" in app.chat_screen.query_one(
            AssistantMessageView).shown_text, what="the third block under way")
        await pilot.pause(0.15)
        view = app.chat_screen.query_one(AssistantMessageView)
        assert body(view).rendered_blocks == ("First block.", "Second block.")
        tail = view.query_one(".message-tail")
        assert tail.display and str(tail.content).startswith("w0 w1")  # type: ignore[attr-defined]
        app.controller.cancel()
        await wait_idle(pilot)
        assert body(view).blocks[-1].startswith("w0 w1")
        assert not tail.display


async def test_while_the_user_types_finished_blocks_wait_in_the_plain_tail(
        tmp_path: Path, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """A block render (tens of ms for a table) would delay the echo of the next key: while
    keys keep coming, finished blocks stay plain text, and are rendered once typing pauses —
    also the ones still waiting when the reply ends."""
    from moviechat_tui.tui.runtime.keystrokes import Keystrokes

    typing = [True]  # the user types without a pause until we say otherwise
    monkeypatch.setattr(Keystrokes, "seconds_since_key",
                        property(lambda self: 0.0 if typing[0] else 60.0))
    text = "First block.\n\nSecond block.\n\n" + " ".join(f"w{i}" for i in range(3000))
    loopback.push(Reply(text=text, delay=0.01))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Go")
        view = app.chat_screen.query_one(AssistantMessageView)
        await until(pilot, lambda: "w20" in view.shown_text, what="the third block under way")
        await pilot.pause(0.3)
        assert body(view).rendered_blocks == ()  # nothing rendered while typing ...
        assert body(view).rendered_text()[:3] == ["First block.", "", "Second block."]
        tail = view.query_one(".message-tail")
        assert str(tail.content).startswith("w0 w1")  # type: ignore[attr-defined]
        app.controller.cancel()
        await until(pilot, lambda: not app.controller.busy, what="the reply stopped")
        await pilot.pause(0.3)
        assert body(view).rendered_blocks == ()  # ... nor when the reply ends meanwhile ...
        assert body(view).blocks[-1].startswith("w0 w1") and not tail.display
        typing[0] = False
        await until(pilot, lambda: len(body(view).rendered_blocks) == 3,
                    what="the blocks rendered after the pause")  # ... until typing pauses
        await wait_idle(pilot)


async def test_while_the_user_types_the_reply_refreshes_right_after_a_key_is_shown(
        tmp_path: Path, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """A refresh of the arriving reply repaints the pane (~15 ms); landing on a key press it
    delays that key's echo. While the user types, a due refresh waits for the next key,
    and runs right after that key is on screen. (The wait for a key that never comes is made
    endless here, so only a key can let the refresh through.)"""
    from moviechat_tui.tui.widgets import message_view

    monkeypatch.setattr(message_view, "TYPING_PAUSE", 600.0)
    text = " ".join(f"w{i}" for i in range(2000))
    loopback.push(Reply(text=text, delay=0.02))
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        await send(pilot, "Go")  # keys were just pressed: the user counts as typing
        await until(pilot, lambda: bool(app.chat_screen.query(AssistantMessageView)),
                    what="the reply's view")
        view = last_reply(app)
        await until(pilot, lambda: len(view.message.content) > 200, what="the reply under way")
        await pilot.pause(0.3)
        assert view.shown_text == ""  # the refresh waits for a key ...
        arrived = len(view.message.content)
        await pilot.press("a")
        await until(pilot, lambda: len(view.shown_text) >= arrived,
                    what="the refresh after the key")  # ... and comes right after it
        prompt = app.chat_screen.query_one("#prompt", TextArea)
        assert prompt.text == "a"
        # Backspace and the arrows are TextArea bindings, applied after the key's handler:
        # the refresh still waits until their effect is on screen.
        await pilot.pause(0.8)  # the next refresh is due, and waits
        shown = view.shown_text
        assert len(view.message.content) > len(shown)
        arrived = len(view.message.content)
        await pilot.press("backspace")
        await until(pilot, lambda: len(view.shown_text) >= arrived,
                    what="the refresh after backspace")
        assert prompt.text == ""
        assert app.controller.busy  # (all of it while the reply was still arriving)
        app.controller.cancel()
        await until(pilot, lambda: not app.controller.busy, what="the reply stopped")
        await pilot.pause(0.1)
        assert view.shown_text == view.message.content  # what came last is shown at the end
        assert not app.keystrokes.waiting_for_echo


async def test_resizing_rewraps_the_rendered_reply(tmp_path: Path, loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        view = await stream_reply(pilot, loopback)
        wide = body(view).rendered_text()
        await pilot.resize_terminal(60, 40)
        await pilot.pause()
        await pilot.pause()
        narrow = body(view).rendered_text()
        assert len(narrow) > len(wide)
        assert max(len(line) for line in narrow) <= body(view).size.width <= 60
        assert body(view).virtual_size.height == len(narrow) or body(view).size.height == len(
            narrow)
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.pause()
        assert body(view).rendered_text() == wide


async def test_code_blocks_copy_raw_after_streaming(tmp_path: Path, loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 40)) as pilot:
        view = await stream_reply(pilot, loopback)
        view.focus()
        await pilot.press("1")
        assert app.clipboard == 'for title in ["Oldboy", "Burning"]:\n\n    print(title)\n'
        await pilot.press("2")
        assert app.clipboard == "echo done\n"
        await pilot.press("c")
        assert app.clipboard == REPLY


async def test_markup_in_a_reply_stays_literal_and_links_ask_first(
        tmp_path: Path, loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    app = make_app(make_settings(tmp_path, loopback.base_url))
    monkeypatch.setattr(app, "open_url", lambda url, **kw: opened.append(url))
    async with app.run_test(size=(100, 60)) as pilot:
        view = await stream_reply(pilot, loopback)
        lines = body(view).rendered_text()
        shown = "\n".join(lines)
        assert "[@click=app.quit]markup[/]" in shown and "[b]tags[/b]" in shown
        # Click the link text: a dialog shows the real address; nothing is opened.
        row = next(i for i, line in enumerate(lines) if "the trailer" in line)
        column = lines[row].index("the trailer") + 2
        await pilot.click(body(view), offset=(column, row))
        await pilot.pause()
        assert isinstance(app.screen, LinkScreen)
        assert app.screen.href == "http://films.example/t"
        await pilot.press("escape")
        await pilot.pause()
        assert opened == []
        assert app.is_running
        # No rendered line carries a terminal hyperlink (OSC 8) with a hidden target.
        strips = body(view)._lines
        assert all(not (seg.style and seg.style.link) for strip in strips for seg in strip)


async def test_a_theme_change_recolours_the_rendered_reply(tmp_path: Path, loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 60)) as pilot:
        view = await stream_reply(pilot, loopback)

        def heading_colour() -> object:
            strip = body(view)._lines[0]
            return next(seg.style.color for seg in strip if seg.text.strip() and seg.style)

        before = heading_colour()
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        await pilot.pause()
        assert heading_colour() != before


async def test_text_of_a_reply_can_be_selected_with_the_mouse(tmp_path: Path, loopback) -> None:
    from textual.geometry import Offset
    from textual.selection import Selection

    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 60)) as pilot:
        view = await stream_reply(pilot, loopback)
        markdown = body(view)
        lines = markdown.rendered_text()
        row = next(i for i, line in enumerate(lines) if "Bong Joon-ho" in line)
        column = lines[row].index("Bong")
        await pilot.mouse_down(markdown, offset=(column, row))
        await pilot.hover(markdown, offset=(column + 11, row))
        await pilot.mouse_up(markdown, offset=(column + 11, row))
        await pilot.pause()
        assert app.screen.get_selected_text() == "Bong Joon-ho"
        # What is selected is drawn highlighted.
        highlight = app.screen.get_component_rich_style("screen--selection")
        painted = markdown.render_line(row)
        assert [seg.text for seg in painted if seg.style and seg.style.bgcolor == highlight.bgcolor
                and seg.text.strip()] == ["Bong Joon-ho"]
        selection = Selection(Offset(column, row), Offset(column + 12, row))
        assert markdown.get_selection(selection) == ("Bong Joon-ho", "\n")


async def test_a_focused_reply_is_highlighted_under_its_rendered_text(tmp_path: Path,
                                                                      loopback) -> None:
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 60)) as pilot:
        view = await stream_reply(pilot, loopback)

        def background() -> object:
            return next(iter(body(view).render_line(2))).style.bgcolor  # type: ignore[union-attr]

        before = background()
        view.focus()
        await pilot.pause()
        assert background() != before


async def test_a_removed_reply_is_not_kept_alive(tmp_path: Path, loopback) -> None:
    """Pruned replies must go: a theme-signal subscription once kept every one alive."""
    import gc
    import weakref

    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(100, 60)) as pilot:
        view = await stream_reply(pilot, loopback)
        gone = weakref.ref(body(view))
        app.chat_screen._views.pop(view.message.id, None)
        await view.remove()
        del view
        await stream_reply(pilot, loopback, "Another reply.")  # lays the pane out again
        gc.collect()
        assert gone() is None
