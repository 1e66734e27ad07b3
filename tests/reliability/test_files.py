"""Broken and hostile files, met through the real app: it never crashes, never overwrites or
deletes the original, says what happened, and keeps unsaved text in memory until a save works.

Unit-level checks of the same rules are in tests/unit/test_store.py; here each case is what a user
would do (start with --open/--continue, press ctrl+o, send a message) and what they would see.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.settings.config import Settings
from moviechat_tui.storage import files as store_files
from moviechat_tui.storage.store import ConversationStore
from moviechat_tui.tui.app import MovieChatApp
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    send,
    until,
    wait_idle,
)
from tests.support.loopback_server import LoopbackServer, Reply

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


# --- helpers ---------------------------------------------------------------------------------


def toasts(app: MovieChatApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def prompt_text(app: MovieChatApp) -> str:
    return str(app.chat_screen.query_one("#prompt").text)  # type: ignore[attr-defined]


def conv_dir(settings: Settings) -> Path:
    return settings.paths.conversations_dir


def write_conversation(settings: Settings, conv_id: str, contents: tuple[str, ...],
                       title: str = "Jaws night") -> Path:
    conv = Conversation(id=conv_id, title=title, model="loopback-mini", created=T0, updated=T0)
    for i, text in enumerate(contents):
        conv.messages.append(Message(role="user" if i % 2 == 0 else "assistant", content=text,
                                     created=T0 + timedelta(seconds=i), id=f"{conv_id}-{i}"))
    ConversationStore(conv_dir(settings)).save(conv)
    return conv_dir(settings) / f"{conv_id}.toml"


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file in the folder with its bytes (lock files aside: they are always empty)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.is_file() and not p.is_symlink() and not p.name.endswith(".lock")}


def temporary_files(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(default_reply=Reply(text="Spielberg, 1975.")) as srv:
        yield srv


async def chat_still_works(pilot: Pilot[Any], app: MovieChatApp, question: str) -> None:
    await send(pilot, question)
    await wait_idle(pilot)
    assert messages_on_screen(app)[-1] == ("assistant", "Spielberg, 1975.")


# --- damaged files ---------------------------------------------------------------------------


def _truncated(settings: Settings, conv_id: str) -> bytes:
    data = write_conversation(settings, conv_id, ("q1", "a1", "q2", "a2")).read_bytes()
    return data[: data.rindex(b"\n[[messages]]") + 1]  # still valid TOML, one message short


DAMAGE = {
    "corrupt TOML": (lambda s, i: b'schema_version = 1\ntitle = "unterminated\n', "not valid TOML"),
    "truncated at a [[messages]] boundary": (_truncated, "cut short"),
    "non-UTF-8 bytes": (lambda s, i: b'schema_version = 1\ntitle = "caf\xe9 \xff"\n', "UTF-8"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
async def test_damaged_file_is_moved_aside_with_a_message(
        tmp_path: Path, server: LoopbackServer, damage: str) -> None:
    settings = make_settings(tmp_path, server.base_url)
    make_bytes, reason = DAMAGE[damage]
    data = make_bytes(settings, "broken")
    folder = conv_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "broken.toml").write_bytes(data)

    app = make_app(settings, open_id="broken")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: toasts(app), what="a message about the file")
        [said] = toasts(app)
        assert "broken.toml" in said and "broken.toml.corrupt" in said and reason in said, said
        assert messages_on_screen(app) == []  # not silently shown shorter
        await chat_still_works(pilot, app, "Who directed Jaws?")
    assert (folder / "broken.toml.corrupt").read_bytes() == data  # every byte kept
    assert not (folder / "broken.toml").exists()
    [new] = [p for p in folder.glob("*.toml")]
    assert new.stem == app.controller.conversation.id != "broken"


async def test_damaged_file_met_while_listing_is_reported_and_others_still_listed(
        tmp_path: Path, server: LoopbackServer) -> None:
    settings = make_settings(tmp_path, server.base_url)
    write_conversation(settings, "good", ("Who directed Jaws?", "Spielberg."))
    (conv_dir(settings) / "bad.toml").write_bytes(b"\xff\xfe[[[ not a conversation")
    app = make_app(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        await until(pilot, lambda: toasts(app), what="a message about bad.toml")
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 1  # type: ignore[attr-defined]
        assert "bad.toml" in toasts(app)[0]
        await pilot.press("escape")
    assert (conv_dir(settings) / "bad.toml.corrupt").read_bytes().startswith(b"\xff\xfe[[[")


# --- newer schema ----------------------------------------------------------------------------


async def test_newer_schema_opens_read_only_and_is_never_rewritten(
        tmp_path: Path, server: LoopbackServer) -> None:
    settings = make_settings(tmp_path, server.base_url)
    path = write_conversation(settings, "future", ("Who directed Jaws?", "Spielberg."))
    data = path.read_bytes().replace(b"schema_version = 1", b"schema_version = 99", 1)
    data = data.replace(b"message_count", b'hologram = "yes"\nmessage_count', 1)
    path.write_bytes(data)
    before = snapshot(conv_dir(settings))

    app = make_app(settings, open_id="future")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: messages_on_screen(app), what="the conversation")
        assert [t for _, t in messages_on_screen(app)][1] == "Spielberg."
        assert any("newer version" in t for t in toasts(app)), toasts(app)
        await send(pilot, "and Duel?")
        await pilot.pause()
        assert any("read-only" in t for t in toasts(app)), toasts(app)
        assert prompt_text(app) == "and Duel?"  # refused, not swallowed
        assert len(messages_on_screen(app)) == 2
        await pilot.press("ctrl+q")  # quitting saves: not this file
    assert snapshot(conv_dir(settings)) == before
    assert server.requests == []


# --- a 100 MB file ---------------------------------------------------------------------------


def _huge_file(settings: Settings, conv_id: str) -> Path:
    """A valid conversation of just over 100 MB: the header is ordinary, one message is huge."""
    path = write_conversation(settings, conv_id, ("a long one", "x"), title="Huge")
    data = path.read_bytes()
    head, _, rest = data.rpartition(b'content = "x"')
    with path.open("wb") as f:
        f.write(head + b'content = "')
        block = b"all work and no play " * 50_000
        for _ in range(100 * 1024 * 1024 // len(block) + 1):
            f.write(block)
        f.write(b'"' + rest)
    return path


async def test_100_mb_file_is_listed_but_refused_without_hanging(
        tmp_path: Path, server: LoopbackServer) -> None:
    settings = make_settings(tmp_path, server.base_url)
    path = _huge_file(settings, "huge")
    assert path.stat().st_size > 100 * 1024 * 1024
    before = os.stat(path)
    with path.open("rb") as f:
        head = f.read(4096)

    app = make_app(settings, continue_latest=True)  # it is the latest conversation
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: toasts(app), timeout=15, what="a message about the size")
        [said] = toasts(app)
        assert "huge.toml" in said and "64 MB" in said, said
        assert messages_on_screen(app) == []
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.screen.query("#conversation-table")
                    and app.screen.query_one("#conversation-table").row_count == 1,  # type: ignore[attr-defined]
                    timeout=15, what="the huge conversation in the list")
        await pilot.press("enter")
        await until(pilot, lambda: len(toasts(app)) == 2, timeout=15, what="a second refusal")
        await chat_still_works(pilot, app, "Still there?")
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (
        before.st_ino, before.st_size, before.st_mtime_ns)
    with path.open("rb") as f:
        assert f.read(4096) == head
    assert not list(conv_dir(settings).glob("huge.toml.corrupt*"))
    path.unlink()  # pytest keeps recent temporary directories: do not keep 100 MB in each


# --- links and other strangers ----------------------------------------------------------------


async def test_symlink_leading_outside_is_neither_listed_nor_opened_nor_changed(
        tmp_path: Path, server: LoopbackServer) -> None:
    settings = make_settings(tmp_path, server.base_url)
    write_conversation(settings, "good", ("Who directed Jaws?", "Spielberg."))
    outside = tmp_path / "private" / "diary.toml"
    outside.parent.mkdir()
    # A perfectly valid conversation, so only the link's destination can stop it being read.
    outside.write_bytes((conv_dir(settings) / "good.toml").read_bytes()
                        .replace(b"Spielberg.", b"my secret diary"))
    secret = outside.read_bytes()
    (conv_dir(settings) / "diary.toml").symlink_to(outside)
    (conv_dir(settings) / "loop.toml").symlink_to(conv_dir(settings) / "loop.toml")

    app = make_app(settings, open_id="diary")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: toasts(app), what="a message about the link")
        assert "outside the conversations folder" in toasts(app)[0], toasts(app)
        assert messages_on_screen(app) == []
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 1  # type: ignore[attr-defined]  # only "good"
        await pilot.press("enter")
        await wait_idle(pilot)
        await chat_still_works(pilot, app, "Who wrote it?")
    assert outside.read_bytes() == secret
    assert (conv_dir(settings) / "diary.toml").is_symlink()
    assert not list(conv_dir(settings).glob("*.corrupt*"))


async def test_fifo_named_like_a_conversation_does_not_hang_the_app(
        tmp_path: Path, server: LoopbackServer) -> None:
    settings = make_settings(tmp_path, server.base_url)
    conv_dir(settings).mkdir(parents=True)
    fifo = conv_dir(settings) / "pipe.toml"
    os.mkfifo(fifo)
    hung = threading.Event()

    def release() -> None:
        """A writer coming and going frees a reader stuck opening the FIFO, so a regression
        fails this test instead of hanging the test run."""
        hung.set()
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    timer = threading.Timer(10, release)
    timer.start()
    try:
        app = make_app(settings, open_id="pipe")
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: toasts(app) or hung.is_set(), timeout=15,
                        what="a message about pipe.toml")
            assert not hung.is_set(), "the app hung opening a FIFO"
            assert "pipe.toml" in toasts(app)[0] and "not a regular file" in toasts(app)[0]
            await chat_still_works(pilot, app, "Still there?")
    finally:
        timer.cancel()
    assert not hung.is_set(), "the app hung opening a FIFO"


# --- saving fails: read-only directory, full disk ---------------------------------------------


@dataclass
class BrokenDisk:
    """Makes the store's writes fail the way the kernel would, until `repair()`."""

    folder: Path
    error: int
    broken: bool = True

    def repair(self) -> None:
        self.broken = False
        os.chmod(self.folder, 0o700)


def read_only(monkeypatch: pytest.MonkeyPatch, folder: Path) -> BrokenDisk:
    """chmod 0500 (enough for a normal user); root ignores it, so also refuse to create the
    temporary file, which is the first thing a save creates in the directory."""
    disk = BrokenDisk(folder, errno.EACCES)
    os.chmod(folder, 0o500)
    real = store_files.tempfile.mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        if disk.broken and Path(kwargs.get("dir", "")) == folder:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))
        return real(*args, **kwargs)

    monkeypatch.setattr(store_files.tempfile, "mkstemp", mkstemp)
    return disk


def disk_full(monkeypatch: pytest.MonkeyPatch, folder: Path) -> BrokenDisk:
    """The temporary file gets half of the data, then ENOSPC (as a real full disk does)."""
    disk = BrokenDisk(folder, errno.ENOSPC)
    real = store_files.os.fdopen

    class HalfWriter:
        def __init__(self, f: Any) -> None:
            self._f = f

        def write(self, data: bytes) -> int:
            self._f.write(data[: len(data) // 2])
            self._f.flush()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name: str) -> Any:
            return getattr(self._f, name)

        def __enter__(self) -> HalfWriter:
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        f = real(fd, *args, **kwargs)
        return HalfWriter(f) if disk.broken else f

    monkeypatch.setattr(store_files.os, "fdopen", fdopen)
    return disk


@pytest.mark.parametrize(("breakage", "why"), [(read_only, "permission denied"),
                                              (disk_full, "disk is full")])
async def test_failed_saves_keep_the_original_and_the_new_words_are_saved_later(
        tmp_path: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch,
        breakage: Any, why: str) -> None:
    settings = make_settings(tmp_path, server.base_url)
    folder = conv_dir(settings)
    write_conversation(settings, "jaws", ("Who directed Jaws?", "Spielberg."))
    before = snapshot(folder)
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: len(messages_on_screen(app)) == 2, what="the conversation")
        disk = breakage(monkeypatch, folder)
        server.default_reply = Reply(text="In 1975, from Peter Benchley's novel.")
        await send(pilot, "When was it released?")
        await wait_idle(pilot)
        errors = [t for t in toasts(app) if why in t]
        assert errors and "jaws.toml" in errors[0] and "kept in memory" in errors[0], toasts(app)
        # Nothing on screen is lost, nothing on disk changed, no debris.
        assert [t for _, t in messages_on_screen(app)][-1] == (
            "In 1975, from Peter Benchley's novel.")
        assert snapshot(folder) == before
        assert temporary_files(folder) == []

        disk.repair()
        server.default_reply = Reply(text="Yes, Jaws 2 (1978).")
        await send(pilot, "Was there a sequel?")
        await wait_idle(pilot)
    saved = ConversationStore(folder).load("jaws").conversation
    assert [m.content for m in saved.messages] == [
        "Who directed Jaws?", "Spielberg.", "When was it released?",
        "In 1975, from Peter Benchley's novel.", "Was there a sequel?", "Yes, Jaws 2 (1978)."]


# --- broken config ---------------------------------------------------------------------------


CONFIGS = [  # (config text, what the one line must name)
    ('model = "fine"\nbase_url = 42\n', ["config.toml:2:", "base_url"]),
    ('\n\nmodle = "gpt-4o"\n', ["config.toml:3:", "modle"]),
    ('[request]\n\ntimeout = "soon"\n', ["config.toml:3:", "timeout"]),
    ('persona = "expert"\ntitle = "unterminated\n', ["config.toml:2:", "invalid TOML"]),
    (b'model = "caf\xe9"\n', ["config.toml", "UTF-8"]),
]


@pytest.mark.parametrize(("text", "names"), CONFIGS, ids=[n[1] for _, n in CONFIGS])
def test_broken_config_is_one_line_exit_2_no_traceback(
        tmp_path: Path, text: str | bytes, names: list[str]) -> None:
    config = tmp_path / "config.toml"
    if isinstance(text, bytes):
        config.write_bytes(text)
    else:
        config.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MOVIECHAT_"))}
    out = subprocess.run(
        [sys.executable, "-m", "moviechat_tui", "--config", str(config),
         "--data-dir", str(tmp_path / "data")],
        capture_output=True, text=True, timeout=60, env={**env, "LANGUAGE": "en"})
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and out.stderr.endswith("\n"), out.stderr
    assert "Traceback" not in out.stderr
    assert str(config) in out.stderr
    for name in names:
        assert name in out.stderr, out.stderr
    assert not (tmp_path / "data").exists()

