"""The Korean catalogue: complete, compiled, and actually shown by the running UI.

Screen classes evaluate `_()` in their BINDINGS when they are imported (here: at collection,
in English), so the UI checks below look only at text built at runtime: the greeting, the
header, notices, the help sections, the conversation list and the persona names.
"""

from __future__ import annotations

import gettext
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Message as Entry
from babel.messages.pofile import read_po
from textual.widgets import DataTable, Input, OptionList, Static

import moviechat_tui.tui
from moviechat_tui.core import i18n
from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.settings.personas import BUILTIN_PERSONAS
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.tui.screens.conversations import ConversationsScreen
from moviechat_tui.tui.screens.help import HelpScreen
from tests.support.apphelpers import make_app, make_settings, notices_on_screen, screen_lines

# Import every screen and widget now, in English: a module first imported while a test below
# has Korean switched on would keep Korean BINDINGS for the rest of the test session.
for _module in pkgutil.walk_packages(moviechat_tui.tui.__path__, "moviechat_tui.tui."):
    importlib.import_module(_module.name)

LOCALE = i18n.LOCALE_DIR
PO = LOCALE / "ko" / "LC_MESSAGES" / "moviechat.po"
POT = LOCALE / "moviechat.pot"
HOW_TO_FIX = (
    "run scripts/update-catalogue, translate the new entries in "
    "moviechat_tui/locale/ko/LC_MESSAGES/moviechat.po, then run scripts/update-catalogue "
    "again to compile it"
)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
PLACEHOLDER = re.compile(r"\{[^{}]*\}")

KOREAN_PERSONA_NAMES = {
    "expert": "영화 전문가",
    "critic": "영화 평론가",
    "korean-cinema": "한국 영화 가이드",
}


@pytest.fixture
def korean() -> Iterator[None]:
    assert i18n.set_language("ko") == "ko", "the Korean catalogue (moviechat.mo) is missing"
    try:
        yield
    finally:
        i18n.set_language("en")


def _text(widget: Static) -> str:
    return str(widget.content)


def _catalogue() -> list[Entry]:
    with PO.open("rb") as handle:
        return [m for m in read_po(handle) if m.id]


def _key(message: Entry) -> str:
    return str(message.id[0] if isinstance(message.id, tuple) else message.id)


def _strings(message: Entry) -> tuple[str, ...]:
    if isinstance(message.string, tuple | list):
        return tuple(str(s) for s in message.string)
    return (str(message.string or ""),)


# ----------------------------------------------------------------- catalogue
def test_every_message_is_translated() -> None:
    with POT.open("rb") as handle:
        template = {_key(m) for m in read_po(handle) if m.id}
    catalogue = _catalogue()
    missing = sorted(template - {_key(m) for m in catalogue})
    untranslated = sorted(_key(m) for m in catalogue
                          if not all(s.strip() for s in _strings(m)) or m.fuzzy)
    assert not missing, (
        f"{len(missing)} strings are not in the Korean catalogue yet; {HOW_TO_FIX}: "
        f"{missing[:5]}"
    )
    assert not untranslated, (
        f"{len(untranslated)} Korean msgstr are empty or fuzzy; {HOW_TO_FIX}: "
        f"{untranslated[:5]}"
    )


def test_translations_keep_their_placeholders() -> None:
    wrong = []
    for message in _catalogue():
        ids = [str(i) for i in message.id] if isinstance(message.id, tuple) else [_key(message)]
        allowed = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        required = set(PLACEHOLDER.findall(ids[0]))
        for string in _strings(message):
            found = set(PLACEHOLDER.findall(string))
            if string and (found - allowed or required - found):
                wrong.append((_key(message), string))
    assert not wrong, f"placeholders differ from the English (keep {{name}} exactly): {wrong[:3]}"


def test_compiled_catalogue_matches_the_po_file() -> None:
    with (PO.parent / "moviechat.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = [_key(m) for m in _catalogue() if not isinstance(m.id, tuple)
             and _strings(m)[0] and compiled.gettext(_key(m)) != _strings(m)[0]]
    assert not stale, f"moviechat.mo is out of date; {HOW_TO_FIX}: {stale[:5]}"


def test_builtin_persona_names_and_descriptions_are_translated(korean: None) -> None:
    for persona in BUILTIN_PERSONAS:
        assert HANGUL.search(persona.display_name), persona.name
        assert HANGUL.search(i18n._(persona.description)), persona.description
    names = {p.id: p.display_name for p in BUILTIN_PERSONAS}
    for pid, name in KOREAN_PERSONA_NAMES.items():
        assert names[pid] == name


# ------------------------------------------------------------------------ UI
async def test_chat_screen_greets_in_korean(tmp_path: Path, korean: None) -> None:
    # No base URL and no key: the app also shows the "no API key" notice.
    app = make_app(make_settings(tmp_path, None))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # the example list is mounted just after the first frame
        chat = app.chat_screen
        assert "조명은 끄고" in _text(chat.query_one("#greeting-title", Static))
        greeting = _text(chat.query_one("#greeting-text", Static))
        assert "영화 전문가 페르소나" in greeting
        assert "F2–F9" in greeting and "ctrl+t" in greeting
        examples = chat.query_one("#examples", OptionList)
        assert all(HANGUL.search(str(examples.get_option_at_index(i).prompt))
                   for i in range(examples.option_count))
        assert _text(chat.query_one("#header-title", Static)) == "새 대화"
        assert "영화 전문가" in _text(chat.query_one("#header-persona", Static))
        assert "영화에 대해 물어보세요" in chat.query_one("#prompt").placeholder  # type: ignore[attr-defined]
        [notice] = notices_on_screen(app)
        assert "API 키" in notice and "OPENAI_API_KEY" in notice
        assert "`moviechat config init`" in notice

        await pilot.press("f3")
        await pilot.pause()
        assert "영화 평론가" in _text(chat.query_one("#header-persona", Static))
        assert "영화 평론가 페르소나" in _text(chat.query_one("#greeting-text", Static))


async def test_help_screen_in_korean(tmp_path: Path, korean: None) -> None:
    app = make_app(make_settings(tmp_path, None))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert _text(help_screen.query_one("#help-title", Static)) == "moviechat — 단축키"
        sections = [_text(s) for s in help_screen.query(".help-section").results(Static)]
        assert sections[0] == "대화" and sections[-1] == "페르소나"
        assert all(HANGUL.search(title) for title in sections), sections
        rows = [description for _title, section in help_screen.sections
                for _key, description in section]
        shown = " ".join(" ".join(line.split()) for line in screen_lines(app))
        assert "메시지 보내기" in shown and "대화 목록 (ctrl+o)" in sections
        assert "메시지 보내기" in rows
        assert "새 대화" in rows
        assert all(HANGUL.search(row) for row in rows), [r for r in rows
                                                       if not HANGUL.search(r)]
        assert any(row.startswith("영화 평론가 — ") for row in rows)
        assert any(row.startswith("한국 영화 가이드 — ") for row in rows)
        assert "Esc" in _text(help_screen.query_one("#help-footnote", Static))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_conversation_list_in_korean(tmp_path: Path, korean: None) -> None:
    settings = make_settings(tmp_path, None)
    ConversationStore(settings.paths.conversations_dir).save(Conversation(
        title="살인의 추억 리뷰", persona="critic", model="gpt-4o-mini",
        messages=[Message(role="user", content="살인의 추억 리뷰해 줘"),
                  Message(role="assistant", content="걸작이에요.", persona="critic",
                          model="gpt-4o-mini", finish_reason="stop")],
    ))
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+o")
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        table = screen.query_one(DataTable)
        for _ in range(50):
            await pilot.pause(0.02)
            if table.row_count:
                break
        assert _text(screen.query_one("#conversations-title", Static)).startswith("대화 목록")
        assert screen.query_one("#filter", Input).placeholder.startswith("제목, 페르소나")
        labels = [str(column.label) for column in table.columns.values()]
        assert labels[:2] == ["제목", "페르소나"]
        assert "최근 수정" in labels
        row = [str(cell) for cell in table.get_row_at(0)]
        assert row[:2] == ["살인의 추억 리뷰", "영화 평론가"]

        screen.query_one("#filter", Input).value = "zzz"
        await pilot.pause()
        assert _text(screen.query_one("#conversations-empty", Static)) == "일치하는 대화가 없어요."
