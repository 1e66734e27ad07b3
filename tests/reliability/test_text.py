"""Hostile text is inert wherever it comes from: model output, titles, persona names, config
values, server error messages and conversation files edited by hand.

Inert means: Textual markup is shown as the characters it is made of (a `[@click=app.quit]`
does not quit), escape sequences (CSI, OSC 52 clipboard writes, OSC 8 links), C1 controls and
bidirectional overrides are removed before anything is stored or shown, zero-width characters
stay as harmless text, a 1 MB line does not take the app down, and — checked on the raw bytes
of a real pseudo-terminal — nothing of it reaches the terminal.

Property-based tests (Hypothesis) cover the sanitiser and the store's round trip of arbitrary
Unicode; tests/unit/test_text.py and tests/unit/test_store.py have the basic cases.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.widgets import Static

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.text import StreamSanitizer, one_line, sanitize
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.tui.app import MovieChatApp
from moviechat_tui.tui.widgets.message_view import AssistantMessageView
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    send,
    wait_idle,
    with_request,
)
from tests.support.loopback_server import LoopbackServer, Reply
from tests.support.terminal import Terminal

HOSTILE = {
    "markup action": "[@click=app.quit]quit[/]",
    "markup unbalanced": "a lone [/ bracket",
    "markup style": "[b]bold?[/b] [link=http://evil.example/m]markup link[/link]",
    "CSI": "\x1b[2J\x1b[31mred\x1b[0m\x1b[?1049l",
    "OSC 52": "\x1b]52;c;T1NDNTI=\x07",
    "OSC 8": "\x1b]8;;http://evil.example/o\x1b\\click me\x1b]8;;\x1b\\",
    "C1": "\x9b2J \x9d52;c;QzFPU0M=\x9c \x85nel \x90dcs\x9c",
    "bidi": "\u202eevil\u202c \u2066isolated\u2069",
    "zero-width": "zero\u200bwidth\u200c\u200d\u2060\ufeff joiners",
}
HOSTILE_TEXT = " | ".join(HOSTILE.values())
PAYLOADS = ("T1NDNTI", "QzFPU0M", "evil.example/o")
"""What must never appear anywhere: the OSC payloads and the hidden OSC 8 target."""
LITERAL = ("[@click=app.quit]quit[/]", "a lone [/ bracket", "[b]bold?[/b]", "click me",
           "isolated", "zero\u200bwidth")
"""What must be shown as plain characters."""
FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_inert(shown: str) -> None:
    assert not FORBIDDEN.search(shown), repr(FORBIDDEN.search(shown))
    for payload in PAYLOADS:
        assert payload not in shown, payload


def toasts(app: MovieChatApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def header(app: MovieChatApp) -> str:
    return " ".join(str(s.content) for s in app.chat_screen.query("#chat-header Static")
                    if isinstance(s, Static))


def app_env(home: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MOVIECHAT_", "XDG_"))}
    env.update(HOME=str(home), MOVIECHAT_DATA_DIR=str(home / "data"),
               MOVIECHAT_LOG_DIR=str(home / "logs"), MOVIECHAT_CONFIG=str(config),
               LANGUAGE="en", LC_ALL="C.UTF-8")
    return env


def hand_edited_file(folder: Path, conv_id: str) -> None:
    """A conversation written by hand (tomli-w escapes the controls the way an editor user
    would type them as \\u001b): hostile text in every field that is shown."""
    when = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    folder.mkdir(parents=True, exist_ok=True)
    header = {"schema_version": 1, "id": conv_id, "title": "Title " + HOSTILE_TEXT,
              "created": when, "updated": when, "persona": "expert " + HOSTILE["OSC 52"],
              "model": "model " + HOSTILE["OSC 8"], "message_count": 2}
    messages = [
        {"id": "u1", "role": "user", "content": "Question " + HOSTILE_TEXT, "created": when},
        {"id": "a1", "role": "assistant", "content": "Answer " + HOSTILE_TEXT,
         "created": when, "persona": "ghost " + HOSTILE["C1"],
         "model": "m " + HOSTILE["CSI"], "finish_reason": "stop"},
    ]
    text = tomli_w.dumps(header) + "".join(
        "\n[[messages]]\n" + tomli_w.dumps(m) for m in messages)
    (folder / f"{conv_id}.toml").write_text(text, encoding="utf-8")


# --- through the app (Pilot) ----------------------------------------------------------------


async def test_hostile_model_output_and_question_are_inert(tmp_path: Path, loopback) -> None:
    # Three characters per chunk: every escape sequence arrives split across chunks.
    loopback.push(Reply(text=HOSTILE_TEXT, chunk_size=3))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(160, 50)) as pilot:
        await send(pilot, "Q: " + HOSTILE_TEXT)  # as if pasted
        await wait_idle(pilot)
        (_, question), (_, answer) = messages_on_screen(app)
        assert answer == sanitize(HOSTILE_TEXT)
        for text in (question, answer, header(app)):
            assert_inert(text)
        for literal in LITERAL:
            assert literal in answer and literal in question
        assert "[@click=app.quit]" in header(app)  # the title is the question, literally
        await pilot.click(AssistantMessageView, offset=(4, 2))  # click the would-be action
        await pilot.pause()
        assert app.is_running
    saved = ConversationStore(settings.paths.conversations_dir).load(
        app.controller.conversation.id).conversation
    assert saved.messages[1].content == sanitize(HOSTILE_TEXT)
    assert_inert(saved.messages[0].content)  # (the prompt turns NEL into a line break)
    assert saved.messages[0].content.startswith("Q: [@click=app.quit]quit[/]")


async def test_hostile_server_error_message_is_inert(tmp_path: Path, loopback) -> None:
    loopback.default_reply = Reply.error(500, message=HOSTILE_TEXT)
    settings = with_request(make_settings(tmp_path, loopback.base_url), max_attempts=1)
    app = make_app(settings)
    async with app.run_test(size=(160, 50)) as pilot:
        await send(pilot, "Anything?")
        await wait_idle(pilot)
        notice = messages_on_screen(app)[-1][1]
        assert "500" in notice and "[@click=app.quit]quit[/]" in notice
        assert_inert(notice)
        await pilot.click("NoticeView", offset=(4, 0))
        await pilot.pause()
        assert app.is_running


async def test_one_megabyte_single_line_reply(tmp_path: Path, loopback) -> None:
    line = ("Jaws [b]1975[/b] \x1b[31m " * 50_000)[:1_000_000]
    loopback.push(Reply(text=line, chunk_size=250_000))
    settings = make_settings(tmp_path, loopback.base_url)
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await send(pilot, "Say it all")
        await wait_idle(pilot, timeout=120)
        assert messages_on_screen(app)[-1] == ("assistant", sanitize(line))
        await pilot.press(*"still typing")  # the app still answers keys
        assert app.chat_screen.query_one("#prompt").text == "still typing"  # type: ignore[attr-defined]
    [conv] = ConversationStore(settings.paths.conversations_dir).list_summaries()
    saved = ConversationStore(settings.paths.conversations_dir).load(conv.id).conversation
    assert saved.messages[1].content == sanitize(line)
    assert saved.messages[1].finish_reason == "stop"


async def test_hand_edited_conversation_file_is_sanitised_on_load(
        tmp_path: Path, loopback) -> None:
    settings = make_settings(tmp_path, loopback.base_url)
    hand_edited_file(settings.paths.conversations_dir, "edited")
    app = make_app(settings, open_id="edited")
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_idle(pilot)
        (_, question), (_, answer) = messages_on_screen(app)
        assert answer == "Answer " + sanitize(HOSTILE_TEXT)
        for text in (question, answer, header(app)):
            assert_inert(text)
        assert "[@click=app.quit]quit[/]" in header(app)
        meta = " ".join(str(s.content) for s in app.chat_screen.query(".message-meta"))
        assert "ghost" in meta and "m " in meta
        assert_inert(meta)
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        table = app.screen.query_one("#conversation-table")
        row = " ".join(str(cell) for cell in table.get_row_at(0))  # type: ignore[attr-defined]
        assert "[@click=app.quit]quit[/]" in row
        assert_inert(row)
        await pilot.press("escape")
        assert app.is_running


async def test_hostile_persona_name_from_config_is_inert(tmp_path: Path, loopback) -> None:
    config = ("persona = \"noir\"\n[[personas]]\nid = \"noir\"\n"
              f"name = {tomli_w.dumps({'x': HOSTILE['OSC 52'] + '[@click=app.quit]Noir[/]'})[4:]}"
              f"description = {tomli_w.dumps({'x': HOSTILE['OSC 8'] + HOSTILE['bidi']})[4:]}"
              "system_prompt = \"You love film noir.\"\n")
    settings = make_settings(tmp_path, loopback.base_url, config=config)
    app = make_app(settings)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert "[@click=app.quit]Noir[/]" in header(app)
        assert_inert(header(app))
        await pilot.press("f1")  # the help screen lists personas with their descriptions
        await pilot.pause()
        await pilot.press("escape")
        await pilot.press("ctrl+p")  # so does the command palette
        await pilot.press(*"Noir")
        await pilot.pause(0.5)
        await pilot.press("escape")
        await send(pilot, "Hello")
        await wait_idle(pilot)
        assert messages_on_screen(app)[-1][0] == "assistant"
        assert app.is_running


async def test_hostile_model_name_from_config_is_inert(tmp_path: Path, loopback) -> None:
    config = f"model = {tomli_w.dumps({'x': 'gpt ' + HOSTILE['OSC 52']})[4:]}"
    settings = make_settings(tmp_path, loopback.base_url, config=config)
    app = make_app(settings)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        assert "gpt" in header(app)
        assert_inert(header(app))


async def test_hostile_model_ids_from_the_server_are_inert(tmp_path: Path, loopback) -> None:
    # A hostile (or broken) server: escapes in an id, ids that are not even strings.
    loopback.models = ["gpt-4o-mini", "evil " + HOSTILE["OSC 52"] + HOSTILE["markup action"],
                       5, None]
    app = make_app(make_settings(tmp_path, loopback.base_url))
    async with app.run_test(size=(160, 50)) as pilot:
        app.action_choose_model()
        await pilot.pause(0.5)
        options = app.screen.query_one("#model-list")
        for _ in range(100):
            if options.option_count == 2 or not app.is_running:  # type: ignore[attr-defined]
                break
            await pilot.pause(0.05)
        assert app.is_running, "a model list the app cannot read must not crash it"
        prompts = [str(options.get_option_at_index(i).prompt)  # type: ignore[attr-defined]
                   for i in range(options.option_count)]  # type: ignore[attr-defined]
        assert any("[@click=app.quit]quit[/]" in p for p in prompts), prompts
        for prompt in prompts:
            assert_inert(prompt)
        assert app.is_running


# --- in a real terminal: the raw bytes ---------------------------------------------------------


def run_hostile_session(tmp_path: Path, *, with_file: bool) -> bytes:
    """The real program in a pty with a hostile persona name in the config, a hostile model
    reply and a hostile server error (and, `with_file`, a hostile hand-edited conversation
    opened with --open). Returns every byte it wrote to the terminal — early, as soon as an
    escape sequence got through (a leaked one garbles the screen the session waits for)."""
    config = tmp_path / "config.toml"
    config.write_text(
        "persona = \"noir\"\n[request]\nmax_attempts = 1\n"
        "[[personas]]\nid = \"noir\"\n"
        f"name = {tomli_w.dumps({'x': HOSTILE['OSC 52'] + 'Noir [b]buff'})[4:]}"
        "system_prompt = \"You love film noir.\"\n", encoding="utf-8")
    if with_file:
        hand_edited_file(tmp_path / "data" / "conversations", "edited")
    with LoopbackServer() as server:
        # (Markers first: pyte, the emulator, drops what follows a zero-width character on a
        # line, which real terminals show.)
        server.push(Reply(text="REPLY " + HOSTILE_TEXT, chunk_size=5),
                    Reply.error(500, message="ERR " + HOSTILE_TEXT))
        argv = [sys.executable, "-m", "moviechat_tui", "--base-url", server.base_url]
        if with_file:
            argv += ["--open", "edited"]
        with Terminal(argv, cols=160, rows=50, env=app_env(tmp_path, config),
                      cwd=tmp_path) as term:

            def leaked() -> bool:
                return b"\x1b]52" in term.output or b"T1NDNTI" in term.output

            def shown(predicate: Callable[[str], bool], timeout: float) -> str:
                return term.wait_for(lambda s: leaked() or predicate(s), timeout=timeout)

            for step in range(3):
                if step == 0:
                    screen = shown(lambda s: ("Answer" in s or not with_file)
                                   and "Ask about a film" in s, 40)
                elif step == 1:
                    term.send("Tell me more")
                    term.press("enter")
                    screen = shown(lambda s: "REPLY" in s and "isolated" in s.split("REPLY")[-1]
                                   and "●" not in s.splitlines()[0], 30)  # ● = still busy
                else:
                    term.send("Again")
                    term.press("enter")
                    screen = shown(lambda s: "ERR" in s and "isolated" in s.split("ERR")[-1], 30)
                if leaked():
                    return bytes(term.output)
            assert "[@click=app.quit]quit[/]" in screen and "Noir [b]buff" in screen, screen
            assert term.returncode is None
            term.press("ctrl+q")
            assert term.wait_exit(15) == 0
        return bytes(term.output)


def assert_raw_output_inert(output: bytes) -> None:
    assert b"\x1b]52" not in output
    assert b"\x1b]8;" not in output
    text = output.decode("utf-8", errors="replace")
    for ch in "\x85\x90\x9b\x9c\x9d\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069":
        assert ch not in text, repr(ch)
    for payload in PAYLOADS:
        assert payload not in text, payload


def test_nothing_hostile_reaches_a_real_terminal(tmp_path: Path) -> None:
    """Config persona, model reply and server error, all hostile, in the real program in a
    pty: the raw output has no OSC 52/8, no C1, no bidi control, no payload."""
    assert_raw_output_inert(run_hostile_session(tmp_path, with_file=False))


def test_nothing_from_a_hostile_file_reaches_a_real_terminal(tmp_path: Path) -> None:
    assert_raw_output_inert(run_hostile_session(tmp_path, with_file=True))


def test_hostile_model_name_never_reaches_a_real_terminal(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"model = {tomli_w.dumps({'x': 'gpt ' + HOSTILE['OSC 52']})[4:]}",
                      encoding="utf-8")
    with LoopbackServer() as server:
        argv = [sys.executable, "-m", "moviechat_tui", "--base-url", server.base_url]
        with Terminal(argv, cols=120, rows=30, env=app_env(tmp_path, config),
                      cwd=tmp_path) as term:
            term.wait_for("gpt", timeout=40)
            term.pump(1.0)
            term.press("ctrl+q")
            term.wait_exit(15)
        output = bytes(term.output)
    assert b"\x1b]52" not in output and b"T1NDNTI" not in output


# --- properties of the sanitiser ------------------------------------------------------------

# Characters that start or end escape sequences, C0/C1 controls, bidi and zero-width marks,
# markup brackets, mixed with ordinary text: where sanitiser bugs live.
_NASTY = st.sampled_from(
    ["\x1b", "[", "]", "\\", "P", "X", "^", "_", "\x07", "\x9b", "\x9c", "\x9d", "\x90",
     "\x98", "\x9e", "\x9f", "\x85", "\r", "\n", "\t", "\x00", "\x7f", ";", "5", "2", "8",
     "m", "?", " ", "\u202e", "\u2066", "\u2069", "\u200b", "\u200d", "\ufeff", "\ud800",
     "@", "/", "a", "é", "기", "🎬"])
nasty_text = st.lists(st.one_of(_NASTY, st.characters()), max_size=60).map("".join)
printable = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"),
                                  exclude_characters="\u202a\u202b\u202c\u202d\u202e"
                                                     "\u2066\u2067\u2068\u2069"), max_size=20)


@given(nasty_text)
def test_sanitize_is_idempotent_and_leaves_nothing_that_acts_on_a_terminal(text: str) -> None:
    clean = sanitize(text)
    assert sanitize(clean) == clean
    assert not FORBIDDEN.search(clean), repr(clean)
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in clean)
    assert len(clean) <= len(text)


SEQUENCES = [
    lambda p: f"\x1b]52;c;{p}\x07",                  # OSC 52, BEL-terminated
    lambda p: f"\x1b]8;;http://{p}\x1b\\",           # OSC 8, ST-terminated
    lambda p: f"\x1bP{p}\x1b\\",                     # DCS
    lambda p: f"\x1b_{p}\x1b\\",                     # APC
    lambda p: f"\x9d52;c;{p}\x9c",                   # 8-bit OSC
    lambda p: f"\x90{p}\x9c",                        # 8-bit DCS
]


@pytest.mark.parametrize("which", range(len(SEQUENCES)))
@given(printable, printable, st.text("abc=/:.;0123456789", min_size=1, max_size=20))
def test_a_whole_escape_sequence_goes_with_its_payload(
        which: int, before: str, after: str, payload: str) -> None:
    assert sanitize(before + SEQUENCES[which](payload) + after) == before + after


@given(nasty_text, st.lists(st.integers(0, 60), max_size=8))
def test_stream_sanitizer_equals_whole_text_for_any_chunking(text: str, cuts: list[int]) -> None:
    points = sorted({min(c, len(text)) for c in cuts})
    pieces = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    stream = StreamSanitizer()
    assert "".join(stream.feed(p) for p in pieces) + stream.flush() == sanitize(text)


@given(nasty_text, st.integers(2, 80))
def test_one_line_is_one_sanitised_line_within_the_limit(text: str, limit: int) -> None:
    line = one_line(text, limit)
    assert "\n" not in line and "\t" not in line
    assert len(line) <= limit
    assert not FORBIDDEN.search(line)


# --- properties of the store: arbitrary Unicode round-trips ----------------------------------


def _store_form(text: str) -> str:
    """What any text becomes in the store: lone surrogates (which UTF-8 cannot encode) are
    written as U+FFFD, and what is read back is sanitised."""
    return sanitize(re.sub("[\ud800-\udfff]", "\ufffd", text))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.text(max_size=200), title=st.text(max_size=60), model=st.text(max_size=30))
def test_any_unicode_saves_and_loads_back_in_store_form(
        tmp_path: Path, content: str, title: str, model: str) -> None:
    """Any string (controls, escapes, lone surrogates included) can be saved, the file is
    valid UTF-8 TOML, and what loads is the sanitised text; sanitised text is a fixed point."""
    folder = tmp_path / "prop"
    conv = Conversation(id="prop", title=title, model=model,
                        messages=[Message(role="user", content=content, id="m1"),
                                  Message(role="assistant", content=content + "!", id="m2",
                                          model=model, finish_reason="stop")])
    ConversationStore(folder).save(conv)
    tomllib.loads((folder / "prop.toml").read_bytes().decode("utf-8"))
    loaded = ConversationStore(folder).load("prop").conversation
    assert loaded.title == _store_form(title)
    assert loaded.model == _store_form(model)
    assert [m.content for m in loaded.messages] == [_store_form(content),
                                                    _store_form(content + "!")]
    # A second save of what was loaded changes nothing.
    ConversationStore(folder).save(loaded)
    again = ConversationStore(folder).load("prop").conversation
    assert again == loaded
