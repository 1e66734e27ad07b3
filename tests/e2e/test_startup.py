"""Start-up stays light: no openai import before the first request, no full parse at launch,
and what the first frame does not show is put off until after it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.tui.screens import chat as chat_screen
from moviechat_tui.tui.screens.chat import INITIAL_WINDOW, ChatScreen
from moviechat_tui.tui.widgets.greeting import Greeting
from moviechat_tui.tui.widgets.loader import Loader
from moviechat_tui.tui.widgets.message_view import MessageView
from tests.support.apphelpers import make_app, make_settings, wait_idle

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from moviechat_tui.settings.config import Overrides, load_settings
    from moviechat_tui.settings.paths import Paths
    from moviechat_tui.tui.app import MovieChatApp

    async def main():
        tmp = Path(sys.argv[1])
        settings = load_settings(Paths(tmp / "data", tmp / "none.toml", tmp / "logs"),
                                 Overrides(base_url="http://127.0.0.1:9/v1"), environ={})
        app = MovieChatApp(settings)
        async with app.run_test() as pilot:
            await pilot.pause()
            assert app.chat_screen.query("#greeting"), "no greeting"
            print("openai" in sys.modules, "textual" in sys.modules)

    asyncio.run(main())
    """
)


def test_openai_is_not_imported_by_the_first_frame(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


@pytest.mark.parametrize("argv", [["config", "path"], ["--version"], ["--help"],
                                  ["search", "--help"], ["films", "search", "--help"]])
def test_cli_version_help_and_config_path_are_instant_and_light(
        tmp_path: Path, argv: list[str]) -> None:
    code = ("import sys\nfrom moviechat_tui.cli import main\ntry:\n"
            "    rc = main(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\n"
            "print('textual' in sys.modules, 'openai' in sys.modules)\nraise SystemExit(rc)")
    out = subprocess.run(
        [sys.executable, "-c", code, "--data-dir", str(tmp_path), *argv],
        capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    if argv == ["config", "path"]:
        assert str(tmp_path / "conversations") in out.stdout
    assert len(lines) > 1 and lines[-1] == "False False"


def test_broken_config_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('model = "unterminated\n', encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "moviechat_tui", "--config", str(config)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert f"{config}:1:" in out.stderr and "Traceback" not in out.stderr


def test_config_init_writes_once(tmp_path: Path) -> None:
    config = tmp_path / "c" / "config.toml"
    cmd = [sys.executable, "-m", "moviechat_tui", "--config", str(config), "config", "init"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert first.returncode == 0 and config.exists()
    second = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    assert second.returncode == 1 and "not overwriting" in second.stderr


FIRST_FRAME_SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, json, sys
    from pathlib import Path
    from moviechat_tui import cli
    from moviechat_tui.tui.app import MovieChatApp

    DEFERRED = ["openai", "markdown_it", "rich.markdown", "pygments",
                "textual.widgets._markdown", "moviechat_tui.tui.screens.help",
                "moviechat_tui.session.library_actions", "moviechat_tui.tui.screens.conversations",
                "moviechat_tui.cli.config", "moviechat_tui.cli.conversations",
                "moviechat_tui.cli.films", "sqlite3", "moviechat_tui.films.catalogue",
                "moviechat_tui.films.mentions", "moviechat_tui.session.films",
                "moviechat_tui.tui.widgets.film_marks", "moviechat_tui.tui.screens.film_search",
                "mcp", "moviechat_tui.session.mcp.servers",
                "moviechat_tui.tui.screens.tool_approval"]
    seen = {}
    after_first_frame = MovieChatApp._after_first_frame

    def at_first_frame(self):
        seen["imported"] = sorted(m for m in DEFERRED if m in sys.modules)
        seen["gc_enabled_before"] = gc.isenabled()
        after_first_frame(self)
        seen["gc_enabled_after"] = gc.isenabled()
        seen["frozen"] = gc.get_freeze_count()

    async def run(self):
        async with self.run_test() as pilot:
            await pilot.pause()
            seen["footer_keys"] = len(self.screen.query("Footer FooterKey"))
            examples = self.screen.query("#examples")
            seen["examples"] = examples.first().option_count if examples else None

    MovieChatApp._after_first_frame = at_first_frame
    MovieChatApp.run = lambda self, **kw: asyncio.run(run(self))
    tmp = Path(sys.argv[1])
    code = cli.main(["--data-dir", str(tmp / "data"), "--config", str(tmp / "none.toml"),
                     "--base-url", "http://127.0.0.1:9/v1", *sys.argv[2:]])
    seen["gc_enabled_at_exit"] = gc.isenabled()
    print(json.dumps(seen))
    raise SystemExit(code)
    """
)


def test_the_first_frame_waits_for_nothing_it_does_not_show(tmp_path: Path) -> None:
    """Launched as `moviechat` is: the reply renderer (Markdown, highlighting), the help and
    library screens, the film catalogue (SQLite included), MCP (the SDK, the servers, the
    approval dialog) and openai are not imported by the first frame of an empty chat; the
    garbage collector is off until then and on after; the footer and the example questions
    arrive right after it."""
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME_SCRIPT, str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.splitlines()[-1])
    assert seen["imported"] == []
    assert seen["gc_enabled_before"] is False
    assert seen["gc_enabled_after"] is True and seen["gc_enabled_at_exit"] is True
    assert seen["frozen"] > 10_000  # start-up's objects are never rescanned
    assert seen["footer_keys"] >= 5
    assert seen["examples"] == 4


def test_a_film_catalogue_is_not_opened_for_the_first_frame(tmp_path: Path) -> None:
    """With a catalogue on disk and a conversation whose reply names films (--continue):
    the catalogue's modules are not loaded before the first frame — the reply's films are
    recognised after it, in a worker thread. (--continue itself reads the library index,
    which is SQLite; the empty chat above checks that the catalogue adds no SQLite.)"""
    from moviechat_tui.films.importer import import_catalogue
    from moviechat_tui.films.locations import FilmLocations
    from moviechat_tui.settings.paths import Paths
    from tests.support.imdb_fixtures import write_datasets

    paths = Paths(tmp_path / "data", tmp_path / "none.toml", tmp_path / "logs")
    import_catalogue(write_datasets(tmp_path / "imdb"),
                     FilmLocations.in_folder(paths.films_dir).catalogue)
    conv = Conversation(id="films", title="Thrillers", persona="expert", model="m")
    conv.messages += [Message(role="user", content="Three Korean thrillers?", id="u1"),
                      Message(role="assistant", content="1. *Parasite* (2019) — a family.",
                              id="a1", finish_reason="stop")]
    ConversationStore(paths.conversations_dir).save(conv)
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME_SCRIPT, str(tmp_path),
                          "--continue"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.splitlines()[-1])
    assert [m for m in seen["imported"] if "film" in m] == []
    assert seen["examples"] is None  # the conversation, not the greeting, was shown


def _long_conversation(store_dir: Path, n: int, lines_per_reply: int = 1) -> Conversation:
    base = datetime(2025, 1, 1, tzinfo=UTC)
    conv = Conversation(id="long", title="A long one", persona="expert", model="m",
                        created=base, updated=base + timedelta(hours=1))
    for i in range(n):
        role = "user" if i % 2 == 0 else "assistant"
        text = "\n\n".join(f"Line {j} of message {i}." for j in range(lines_per_reply))
        conv.messages.append(Message(role=role, content=text, id=f"m{i}",
                                     created=base + timedelta(minutes=i)))
    ConversationStore(store_dir).save(conv)
    return conv


async def test_continue_shows_the_conversation_in_the_first_frame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--continue opens the conversation before anything is drawn: the empty chat's greeting
    is never built and the opened conversation is composed once, not shown and replaced."""
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _long_conversation(settings.paths.conversations_dir, 300)
    greetings: list[Greeting] = []
    shown: list[str] = []
    monkeypatch.setattr(Greeting, "on_mount", lambda self: greetings.append(self))
    real_show = ChatScreen.show_conversation

    async def show(self: ChatScreen, conversation: Conversation,
                   scroll_to: str | None = None) -> None:
        shown.append(conversation.id)
        await real_show(self, conversation, scroll_to)

    monkeypatch.setattr(ChatScreen, "show_conversation", show)
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(pilot)
        views = app.chat_screen.query(MessageView)
        assert views.last().message.id == "m299"
        assert len(views) == INITIAL_WINDOW
        assert greetings == [] and shown == []
        # The rest of the history is read after the first frame: the loader counts it all.
        loader = app.chat_screen.query_one(Loader)
        assert f"{300 - INITIAL_WINDOW}" in str(loader.render())


async def test_long_messages_open_with_fewer_mounted(tmp_path: Path) -> None:
    """The opening window stops once the newest messages fill the screen: long
    replies are rendered before the first frame, so no more are mounted than can be seen."""
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _long_conversation(settings.paths.conversations_dir, 40, lines_per_reply=20)
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(pilot)
        views = app.chat_screen.query(MessageView)
        assert 2 <= len(views) < INITIAL_WINDOW
        assert views.last().message.id == "m39"
        assert views.last().region.height > 0  # the newest is on screen
        assert len(app.chat_screen.query(Loader)) == 1


async def test_the_pane_keeps_its_width_when_the_scrollbar_appears(tmp_path: Path) -> None:
    """The scrollbar's column is reserved, so a conversation that grows past the screen is
    not re-wrapped (and every reply re-rendered) when the scrollbar shows up."""
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    app = make_app(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        pane = app.chat_screen.query_one("#messages")
        empty_width = pane.scrollable_content_region.width
        _long_conversation(settings.paths.conversations_dir, 40, lines_per_reply=5)
        await app.open_conversation("long")
        await wait_idle(pilot)
        assert pane.max_scroll_y > 0
        assert pane.scrollable_content_region.width == empty_width


def test_window_constants_are_screenfuls() -> None:
    assert 2 <= INITIAL_WINDOW <= chat_screen.MAX_MOUNTED_MESSAGES


WARM_UP_SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, sys, time
    from pathlib import Path
    from moviechat_tui.settings.config import Overrides, load_settings
    from moviechat_tui.settings.paths import Paths
    from moviechat_tui.tui import app as app_module

    app_module.WARM_UP_DELAY = 0.4

    async def main():
        tmp = Path(sys.argv[1])
        settings = load_settings(Paths(tmp / "data", tmp / "none.toml", tmp / "logs"),
                                 Overrides(base_url="http://127.0.0.1:9/v1"), environ={})
        app = app_module.MovieChatApp(settings)
        async with app.run_test() as pilot:
            await pilot.pause()
            typing_until = time.monotonic() + 1.2
            while time.monotonic() < typing_until:  # a key every 0.1 s: no warm-up yet
                await pilot.press("a")
                await pilot.pause(0.1)
            while_typing = "openai" in sys.modules
            deadline = time.monotonic() + 30
            connection = app.controller.connection
            while connection._backend is None or connection._backend._client is None:
                assert time.monotonic() < deadline, "never warmed up"
                await pilot.pause(0.05)
            print(while_typing, "openai" in sys.modules, app.screen.query_one("#prompt").text,
                  gc.get_freeze_count())

    asyncio.run(main())
    """
)


def test_the_backend_warms_up_once_the_user_pauses(tmp_path: Path) -> None:
    """`openai` is imported (in a thread) after the first frame once no key has been pressed
    for a moment, so the first reply does not wait for it; not while the user is typing,
    because the import slows the interface down while it runs."""
    out = subprocess.run([sys.executable, "-c", WARM_UP_SCRIPT, str(tmp_path)],
                         capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr
    while_typing, after, typed, frozen = out.stdout.split()
    assert (while_typing, after) == ("False", "True")
    assert set(typed) == {"a"}
    assert frozen == "0"  # not started by the `moviechat` command: the host's GC is left alone


async def test_examples_arrive_after_the_first_frame_and_stay_usable(tmp_path: Path) -> None:
    """The example list is mounted just after the first frame; a persona switch updates the
    greeting's text without rebuilding it, and an example still fills the prompt."""
    app = make_app(make_settings(tmp_path, "http://127.0.0.1:9/v1"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        greeting = app.chat_screen.query_one(Greeting)
        assert "Film critic" in str(greeting.query_one("#greeting-text").render())
        examples = greeting.query_one("#examples")
        examples.focus()
        await pilot.press("enter")
        await pilot.pause()
        prompt = app.chat_screen.query_one("#prompt")
        assert prompt.text.startswith("What should I watch")  # type: ignore[attr-defined]
        assert prompt.has_focus


async def test_open_of_a_missing_conversation_starts_an_empty_chat(tmp_path: Path) -> None:
    """--open runs before the first frame; if the conversation cannot be opened, the first
    frame is the empty chat and a notification says why."""
    app = make_app(make_settings(tmp_path, "http://127.0.0.1:9/v1"), open_id="nope")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        assert app.chat_screen.query(Greeting)
        assert not app.chat_screen.query(MessageView)
        assert any("nope" in str(n.message) for n in app._notifications)


async def test_loading_earlier_keeps_what_was_on_screen(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _long_conversation(settings.paths.conversations_dir, 300)
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(pilot)
        app.chat_screen.query_one(Loader).focus()
        await pilot.press("enter")
        await pilot.pause()
        ids = [v.message.id for v in app.chat_screen.query(MessageView)]
        assert ids[-1] == "m299"  # the newest is still there
        assert len(ids) == INITIAL_WINDOW + chat_screen.LOAD_BATCH
        assert len(ids) <= chat_screen.MAX_MOUNTED_MESSAGES
