"""The footer, F1 and the command palette at the sizes people use: at 80 columns the footer
shows whole labels and ends with the palette key (no stray characters), F1 wraps its
descriptions on words in the width it has and lists the library's keys, and the palette
lists each command once, in the interface's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from moviechat_tui.core import i18n
from moviechat_tui.tui.app import MovieChatApp
from moviechat_tui.tui.widgets.key_footer import KeyFooter
from tests.support.apphelpers import make_app, make_settings, screen_lines
from tests.tui.test_snapshots import _seed


@pytest.fixture
def korean() -> Iterator[None]:
    """The interface in Korean for this test (the catalogue is read when a string is
    looked up; bindings' descriptions were translated when their module was imported, so
    this covers what is looked up at run time)."""
    i18n.set_language("ko")
    try:
        yield
    finally:
        i18n.set_language("en")


def _app(tmp_path: Path) -> MovieChatApp:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _seed(settings.paths.conversations_dir)
    return make_app(settings, open_id="a1")


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(4):
        await pilot.pause()


def _footer_row(app: MovieChatApp) -> tuple[KeyFooter, str]:
    footer = app.screen.query_one(KeyFooter)
    return footer, screen_lines(app)[footer.region.y]


def _assert_whole(app: MovieChatApp) -> None:
    """Every key in the footer is shown whole, inside the row and clear of the palette key,
    and the row ends with the palette key."""
    footer, row = _footer_row(app)
    keys = list(footer.query(FooterKey))
    palette = [key for key in keys if key.has_class("-command-palette")]
    assert len(palette) == 1
    palette_key = palette[0]
    assert palette_key.region.right == footer.region.right, row
    assert row.rstrip().endswith(f"{palette_key.key_display} {palette_key.description}"), row
    for key in keys:
        if key is palette_key:
            continue
        assert key.region.right <= palette_key.region.x, (key.description, row)
        assert f"{key.key_display} {key.description}" in row, (key.description, row)
    assert cell_len(row) == footer.region.width


@pytest.mark.parametrize("width", [80, 100, 120])
async def test_the_footer_shows_whole_labels_and_ends_with_the_palette_key(
        tmp_path: Path, width: int) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(width, 24)) as pilot:
        await _settle(pilot)
        _assert_whole(app)
        await pilot.press("up")  # a reply has the focus: its keys come first
        await _settle(pilot)
        _footer, row = _footer_row(app)
        assert "Copy" in row
        _assert_whole(app)
        # Nothing is cut: what does not fit is left out, and F1 is kept.
        assert "f1 Help" in row


async def test_the_footer_chooses_again_when_the_terminal_narrows(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(140, 24)) as pilot:
        await pilot.press("up")
        await _settle(pilot)
        wide = len(app.screen.query_one(KeyFooter).query(FooterKey))
        await pilot.resize_terminal(60, 24)
        await _settle(pilot)
        assert len(app.screen.query_one(KeyFooter).query(FooterKey)) < wide
        _assert_whole(app)


async def test_the_korean_footer_shows_whole_labels(tmp_path: Path, korean: None) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        _assert_whole(app)
        _footer, row = _footer_row(app)
        assert "팔레트" in row  # the palette key speaks Korean too
        await pilot.press("up")
        await _settle(pilot)
        _assert_whole(app)


def _dialog_text(app: MovieChatApp) -> tuple[str, list[str]]:
    """The help dialog's rows (inside its border) and their words joined with single spaces,
    so a description wrapped over two rows reads as one."""
    dialog = app.screen.query_one("#help-dialog")
    region = dialog.region
    rows = [line[region.x:region.right] for line in screen_lines(app)[region.y:region.bottom]]
    return " ".join(" ".join(row.strip(" │╭╮╰╯─").split()) for row in rows), rows


@pytest.mark.parametrize("width", [80, 120])
async def test_help_wraps_descriptions_on_words_in_the_width_it_has(tmp_path: Path,
                                                                    width: int) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(width, 130)) as pilot:  # tall: every row on screen at once
        await _settle(pilot)
        await pilot.press("f1")
        await _settle(pilot)
        dialog = app.screen.query_one("#help-dialog")
        assert dialog.region.width >= width * 9 // 10
        text, rows = _dialog_text(app)
        for _title, section in app.screen.sections:  # type: ignore[attr-defined]
            for _key, description in section:
                assert " ".join(description.split()) in text, description
        assert any("(in the data folder's exports/)" in row for row in rows) == (width >= 100)


async def test_help_lists_the_library_keys(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(120, 90)) as pilot:
        await _settle(pilot)
        await pilot.press("f1")
        await _settle(pilot)
        sections = dict(app.screen.sections)  # type: ignore[attr-defined]
        library = dict(sections["Library (ctrl+o)"])
        assert {"ctrl+f", "ctrl+t", "ctrl+r", "ctrl+d", "enter", "escape"} <= set(library)
        text, _rows = _dialog_text(app)
        assert "Library (ctrl+o)" in text
        assert "Ctrl+F Search the text of every message" in text


def _palette_titles(app: MovieChatApp) -> list[str]:
    return [str(command.title) for command in app.get_system_commands(app.screen)]


async def test_the_palette_lists_keys_once(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        titles = _palette_titles(app)
        assert [t for t in titles if t.startswith("Keys")] == ["Keys (f1)"]
        assert {"Theme", "Quit", "Screenshot"} <= set(titles)


async def test_the_palette_speaks_korean(tmp_path: Path, korean: None) -> None:
    from textual.command import CommandInput

    app = _app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        titles = _palette_titles(app)
        assert {"테마", "종료", "스크린샷"} <= set(titles), titles
        assert not {"Theme", "Quit", "Keys", "Screenshot", "Maximize"} & set(titles)
        await pilot.press("ctrl+p")
        await _settle(pilot)
        assert app.screen.query_one(CommandInput).placeholder == "명령 검색…"
        await pilot.press("escape")
        await _settle(pilot)
        app.search_themes()
        await _settle(pilot)
        assert app.screen.query_one(CommandInput).placeholder == "테마 검색…"


async def test_the_footer_offers_esc_only_when_it_does_something(
        tmp_path: Path, loopback) -> None:
    """Esc stops a reply or cancels an edit: with neither, the footer does not offer it."""
    from tests.support.apphelpers import send, until, wait_idle
    from tests.support.loopback_server import Reply

    def footer_text(app: MovieChatApp) -> str:
        return _footer_row(app)[1]

    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        assert "Stop" not in footer_text(app)
        loopback.push(Reply(text="word " * 400, delay=0.02))
        await send(pilot, "Tell me about Jaws")
        await until(pilot, lambda: "Stop" in footer_text(app), what="Stop while streaming")
        await pilot.press("escape")
        await wait_idle(pilot)
        await until(pilot, lambda: "Stop" not in footer_text(app), what="Stop gone")
        await pilot.press("ctrl+g")
        await until(pilot, lambda: "Stop" in footer_text(app), what="Esc offered in an edit")


async def test_the_footer_lets_go_of_the_keys_it_no_longer_shows(tmp_path: Path) -> None:
    """Every change of what the footer offers (each reply, each focus change) builds its keys
    anew. Each old key stayed referenced by the footer (bound to its `compact` setting) with
    its whole widget tree: RSS grew ~0.5 MB a turn, 177 → 231 MB from turn 100 to 200
    (`python -m benchmarks --only memory`)."""
    app = make_app(make_settings(tmp_path, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        footer = app.screen.query_one(KeyFooter)

        def held() -> int:
            watchers = getattr(footer, "__watchers", {})
            return sum(len(found) for found in watchers.values())

        before = held()
        for _ in range(20):
            app.screen.refresh_bindings()
            await pilot.pause(0.02)
        assert len(footer.query(FooterKey)) > 3  # the keys are shown
        assert held() <= before + 1
