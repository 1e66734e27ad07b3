"""Snapshots of the main screens (pytest-textual-snapshot; Textual is pinned in [dev])."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage.store import ConversationStore
from tests.support.apphelpers import make_app, make_settings


@pytest.fixture(autouse=True)
def utc_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def _at(minute: int) -> datetime:
    return datetime(2025, 3, 14, 20, minute, tzinfo=UTC)


def _seed(settings_dir: Path) -> str:
    store = ConversationStore(settings_dir)
    conv = Conversation(id="a1", title="Who directed Alien?", created=_at(0), updated=_at(5),
                        persona="critic", model="gpt-4o-mini")
    conv.messages = [
        Message(role="user", content="Who directed Alien? [b]not bold[/b]", created=_at(1),
                id="m1"),
        Message(role="assistant", created=_at(2), id="m2", persona="expert",
                model="gpt-4o-mini", finish_reason="stop",
                content="**Ridley Scott** directed *Alien* (1979).\n\n"
                        "| Film | Year |\n|---|---|\n| Alien | 1979 |\n| Aliens | 1986 |"),
        Message(role="notice", content="Film critic", created=_at(3), id="m3",
                persona="critic", notice="persona"),
        Message(role="user", content="Is it his best?", created=_at(4), id="m4"),
        Message(role="assistant", content="Arguably, yes — though *Blade Runner*", id="m5",
                created=_at(5), persona="critic", model="gpt-4o-mini",
                finish_reason="cancelled"),
    ]
    store.save(conv)
    other = Conversation(id="b2", title="Korean thrillers 추천", created=_at(6),
                         updated=_at(7), persona="korean-cinema", model="gpt-4o-mini")
    other.messages = [Message(role="user", content="추천해 주세요", created=_at(7), id="m6")]
    store.save(other)
    return conv.id


async def settled(pilot) -> None:  # type: ignore[no-untyped-def]
    """The footer and the greeting's examples are mounted just after the first frame: wait for
    them so the chat screen under a dialog looks the same on every run."""
    await pilot.pause()
    await pilot.pause()


async def steady(pilot) -> None:  # type: ignore[no-untyped-def]
    """Cursors blink: show them steadily, so the picture does not depend on the moment."""
    for screen in pilot.app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            widget.cursor_blink = False
    await pilot.pause()


async def settled_and_steady(pilot) -> None:  # type: ignore[no-untyped-def]
    await settled(pilot)
    await steady(pilot)


def _settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, "http://127.0.0.1:9/v1")


def test_chat_greeting(tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(_settings(tmp_path)), terminal_size=(120, 40),
                        run_before=settled_and_steady)


def test_chat_conversation_120x40(tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(tmp_path)
    conv_id = _seed(settings.paths.conversations_dir)
    assert snap_compare(make_app(settings, open_id=conv_id), terminal_size=(120, 40),
                        run_before=settled_and_steady)


def test_chat_conversation_80x24(tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(tmp_path)
    conv_id = _seed(settings.paths.conversations_dir)
    assert snap_compare(make_app(settings, open_id=conv_id), terminal_size=(80, 24),
                        run_before=settled_and_steady)


def test_conversation_list(tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(tmp_path)
    _seed(settings.paths.conversations_dir)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settled(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await steady(pilot)

    assert snap_compare(make_app(settings), terminal_size=(120, 40), run_before=run_before)


def test_help_screen(tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settled(pilot)
        await pilot.press("f1")
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(make_app(_settings(tmp_path)), terminal_size=(100, 45),
                        run_before=run_before)


def test_conversation_search_results(tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    settings = _settings(tmp_path)
    _seed(settings.paths.conversations_dir)

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settled(pilot)
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await pilot.press("ctrl+f", *"blade")
        await pilot.pause(0.6)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(make_app(settings), terminal_size=(120, 30), run_before=run_before)


def test_model_picker_without_a_model_list(tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settled(pilot)
        pilot.app.action_choose_model()
        await pilot.pause(0.3)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(make_app(_settings(tmp_path)), terminal_size=(100, 30),
                        run_before=run_before)


def test_tool_approval_dialog_80x24(tmp_path: Path, snap_compare) -> None:  # type: ignore[no-untyped-def]
    from moviechat_tui.tui.screens.tool_approval import ToolApprovalScreen

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settled(pilot)
        arguments = '{\n  "text": "[bold]watch Alien[/] again",\n  "list": "to see"\n}'
        pilot.app.push_screen(ToolApprovalScreen("notes", "add_note", arguments))
        await pilot.pause()
        await steady(pilot)

    assert snap_compare(make_app(_settings(tmp_path)), terminal_size=(80, 24),
                        run_before=run_before)
