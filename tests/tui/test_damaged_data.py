"""Hostile or damaged data met in everyday use, through the real app and the CLI: the app
stays up, says what happened in one line, and loses no message."""

from __future__ import annotations

import errno
import subprocess
import sys
import textwrap
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.storage import files
from moviechat_tui.storage.store import ConversationStore
from tests.support.apphelpers import (
    make_app,
    make_settings,
    messages_on_screen,
    send,
    until,
    wait_idle,
)
from tests.support.loopback_server import Reply

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
EDGE = "9999-12-31 23:59:59.999999-23:59"


def _save(folder: Path, conv_id: str, title: str, *texts: str, hours: int = 0) -> None:
    conv = Conversation(id=conv_id, title=title, created=T0,
                        updated=T0 + timedelta(hours=hours))
    for n, text in enumerate(texts):
        conv.messages.append(Message(role="user" if n % 2 == 0 else "assistant", content=text,
                                     created=T0 + timedelta(minutes=n), id=f"{conv_id}-{n}"))
    ConversationStore(folder).save(conv)


def _toasts(app: Any) -> list[str]:
    return [str(n.message) for n in app._notifications]


def _with_edge_time(folder: Path, conv_id: str) -> Path:
    path = folder / f"{conv_id}.toml"
    text = path.read_text("utf-8")
    updated = next(line for line in text.splitlines() if line.startswith("updated = "))
    path.write_text(text.replace(updated, f"updated = {EDGE}"), encoding="utf-8")
    return path


async def test_a_time_at_the_edge_of_the_calendar_neither_stops_continue_nor_the_list(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    folder = settings.paths.conversations_dir
    _save(folder, "fine", "Fine chat", "Who directed Alien?", "Ridley Scott.")
    _save(folder, "edge", "Edited by hand", "question", "answer", hours=1)
    edited = _with_edge_time(folder, "edge")
    app = make_app(settings, continue_latest=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_idle(pilot)
        assert app.controller.conversation.id == "fine"
        assert any("outside the dates" in t and "edge.toml" in t for t in _toasts(app))
        await pilot.press("ctrl+o")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        table = app.screen.query_one("#conversation-table")
        assert table.row_count == 1  # type: ignore[attr-defined]
    assert not edited.exists() and edited.with_name("edge.toml.corrupt").exists()


async def test_a_view_cache_of_nested_brackets_is_ignored(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _save(settings.paths.conversations_dir, "kept", "Kept", "Who directed Alien?",
          "**Ridley Scott**, in 1979.")
    views = settings.paths.data_dir / "cache" / "views"
    views.mkdir(parents=True)
    (views / "kept.json").write_bytes(b"[" * 100_000)
    app = make_app(settings, open_id="kept")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        shown = messages_on_screen(app)
        assert [role for role, _ in shown] == ["user", "assistant"]
        assert shown[0][1].endswith("Who directed Alien?")
        assert shown[1][1] == "**Ridley Scott**, in 1979."


async def test_an_export_that_cannot_be_written_is_one_line_and_the_app_stays(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    _save(settings.paths.conversations_dir, "c1", "Alien", "Who directed Alien?",
          "Ridley Scott.")
    exports = settings.paths.data_dir / "exports"
    real_mkstemp = files.tempfile.mkstemp

    def full_disk_for_exports(*args: Any, **kwargs: Any) -> Any:
        if Path(kwargs.get("dir", "")) == exports:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(files.tempfile, "mkstemp", full_disk_for_exports)
    app = make_app(settings, open_id="c1")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("export" in t for t in _toasts(app)), what="a notice")
        [toast] = [t for t in _toasts(app) if "export" in t]
        assert toast.startswith("Could not export to ") and toast.endswith(
            ": the disk is full.")
        assert app.is_running
        assert messages_on_screen(app)[0][1].endswith("Who directed Alien?")


async def test_messages_sharing_an_id_are_all_kept_after_the_next_save(
        tmp_path: Path, loopback) -> None:
    loopback.push(Reply(text="Sigourney Weaver."))
    settings = make_settings(tmp_path, loopback.base_url)
    folder = settings.paths.conversations_dir
    folder.mkdir(parents=True)
    tables = "".join(textwrap.dedent(f"""
        [[messages]]
        id = "same"
        role = "{role}"
        created = 2025-01-01T00:00:0{n}Z
        content = "{text}"
        """) for n, (role, text) in enumerate([("user", "Who directed Alien?"),
                                                ("assistant", "Ridley Scott.")]))
    (folder / "dup.toml").write_text(textwrap.dedent("""\
        schema_version = 1
        id = "dup"
        title = "Copied by hand"
        created = 2025-01-01T00:00:00Z
        updated = 2025-01-01T00:00:01Z
        persona = "expert"
        model = "m"
        message_count = 2
        """) + tables, encoding="utf-8")
    app = make_app(settings, open_id="dup")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        assert any("given new ids" in t for t in _toasts(app))
        await send(pilot, "Who played Ripley?")
        await wait_idle(pilot)
    saved = tomllib.loads((folder / "dup.toml").read_text("utf-8"))
    assert [m["content"] for m in saved["messages"]] == [
        "Who directed Alien?", "Ridley Scott.", "Who played Ripley?", "Sigourney Weaver."]
    assert len({m["id"] for m in saved["messages"]}) == 4


async def test_open_a_conversation_by_the_start_of_its_id(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    folder = settings.paths.conversations_dir
    _save(folder, "806f3c00aa11", "Alien", "Who directed Alien?", "Ridley Scott.")
    _save(folder, "12ab9f", "Aliens", "And Aliens?", "James Cameron.")
    _save(folder, "12ab00", "Alien 3", "And Alien 3?", "David Fincher.")
    app = make_app(settings, open_id="806f")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        assert app.controller.conversation.id == "806f3c00aa11"
    app = make_app(settings, open_id="12ab")
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_idle(pilot)
        assert app.controller.conversation.messages == []  # a new chat, and why
        [toast] = [t for t in _toasts(app) if "12ab" in t]
        assert toast.splitlines() == [
            "2 conversations have an id starting with 12ab; give more of it, one of:",
            "  12ab00  Alien 3", "  12ab9f  Aliens"]


# --- the CLI -------------------------------------------------------------------------------------


def _cli(*args: str, data: Path, tz: str = "UTC") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "moviechat_tui", "--data-dir", str(data),
                           "--config", str(data / "none.toml"), "--lang", "en", *args],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "TZ": tz, "LANGUAGE": "en",
                               "LC_ALL": "C.UTF-8", "HOME": str(data)})


@pytest.mark.parametrize("tz", ["UTC", "Asia/Seoul"])
def test_cli_list_search_export_survive_an_edge_time(tmp_path: Path, tz: str) -> None:
    folder = tmp_path / "conversations"
    _save(folder, "fine", "Fine chat", "Who directed Alien?", "Ridley Scott.")
    _save(folder, "edge", "Edited", "Alien question", "Alien answer", hours=1)
    path = folder / "edge.toml"
    path.write_text(path.read_text("utf-8").replace(
        "updated = 2025-03-01 13:00:00+00:00",
        "updated = 9999-12-31 23:59:59Z" if tz != "UTC" else f"updated = {EDGE}"),
        encoding="utf-8")
    exported = _cli("export", "edge", data=tmp_path, tz=tz)  # before the list moves it aside
    assert exported.returncode == 1 and "Traceback" not in exported.stderr
    assert exported.stderr.count("\n") == 1 and "outside the dates" in exported.stderr
    listed = _cli("list", data=tmp_path, tz=tz)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["fine"]
    searched = _cli("search", "Alien", data=tmp_path, tz=tz)
    assert searched.returncode == 0 and "Traceback" not in searched.stderr


def test_cli_export_to_a_folder_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    _save(tmp_path / "conversations", "c1", "Alien", "Who directed Alien?", "Ridley Scott.")
    done = _cli("export", "c1", "-o", "/nonexistent/dir/x.md", data=tmp_path)
    assert done.returncode == 1
    assert done.stderr == ("moviechat: Could not export to /nonexistent/dir/x.md: the folder "
                           "does not exist.\n")


def test_cli_export_by_the_start_of_an_id(tmp_path: Path) -> None:
    folder = tmp_path / "conversations"
    _save(folder, "806f3c00aa11", "Alien", "Who directed Alien?", "Ridley Scott.")
    _save(folder, "806e00", "Aliens", "And Aliens?", "James Cameron.")
    done = _cli("export", "806f", data=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("# Alien\n")
    ambiguous = _cli("export", "806", data=tmp_path)
    assert ambiguous.returncode == 1 and ambiguous.stdout == ""
    assert ambiguous.stderr.splitlines() == [
        "moviechat: 2 conversations have an id starting with 806; give more of it, one of:",
        "  806e00  Aliens", "  806f3c00aa11  Alien"]
