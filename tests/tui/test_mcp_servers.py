"""MCP servers in the app, driven with Pilot: a real MCP server written with the SDK
(tests/support/mcp_server.py) run over stdio from `[[mcp_servers]]`, and the loopback
server playing a model that calls its tools. What a user notices: the server's tools reach
the model, a read-only tool runs at once, a tool that may change things asks first (allow
once, always, deny), a server that fails or dies is one line and the chat goes on, and no
server process outlives the app."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from moviechat_tui.tui.screens.tool_approval import ToolApprovalScreen
from moviechat_tui.tui.widgets.tool_calls import ToolCallLine
from tests.support.apphelpers import (
    make_app,
    make_settings,
    notices_on_screen,
    screen_lines,
    send,
    until,
    wait_idle,
)
from tests.support.loopback_server import LoopbackServer, Reply, ToolCall
from tests.support.mcp_server import server_config, started_pids, started_processes
from tests.support.terminal import process_alive

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")

QUESTION = "How much did Alien make?"
ANSWER = "About $263 million worldwide."
BOX_OFFICE = ToolCall("boxoffice__box_office", '{"title": "Alien"}')
ADD_NOTE = ToolCall("boxoffice__add_note", '{"text": "[bold]watch Alien[/] again"}')


def app_with_server(tmp_path: Path, loopback: LoopbackServer, **entry: Any) -> Any:
    notes = tmp_path / "notes.txt"
    settings = make_settings(tmp_path, loopback.base_url,
                             config=server_config(notes, **entry))
    return make_app(settings), notes


def tool_results(request: dict[str, Any]) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


async def servers_ready(pilot: Any) -> None:
    def listed() -> bool:
        servers = pilot.app.controller.mcp_servers
        return servers is not None and bool(servers.tool_names)

    await until(pilot, listed, timeout=30, what="the MCP server's tools")


async def test_its_tools_are_offered_and_a_read_only_one_runs_without_asking(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply.calling(BOX_OFFICE), Reply(text=ANSWER))
    app, notes = app_with_server(tmp_path, loopback)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, QUESTION)
        await wait_idle(pilot, timeout=30)
        first, second = loopback.wait_for_requests(2)
        offered = {tool["function"]["name"] for tool in first["tools"]}
        assert {"boxoffice__box_office", "boxoffice__add_note",
                "boxoffice__slow_count"} <= offered
        assert tool_results(second) == ["Alien: $263.1 million worldwide (test data)"]
        assert [line.shown_text for line in app.screen.query(ToolCallLine)] == [
            '▸ 🔌 boxoffice: box_office("title": "Alien") → Alien: $263.1 million worldwide '
            '(test data)']
        assert not isinstance(app.screen, ToolApprovalScreen)
        assert started_pids(notes)


@pytest.mark.parametrize(("key", "runs"), [("y", True), ("n", False)])
async def test_a_tool_that_may_change_things_asks_first(
        tmp_path: Path, loopback: LoopbackServer, key: str, runs: bool) -> None:
    loopback.push(Reply.calling(ADD_NOTE), Reply(text="Noted."))
    app, notes = app_with_server(tmp_path, loopback)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Remind me to watch Alien again.")
        await until(pilot, lambda: isinstance(app.screen, ToolApprovalScreen)
                    and "add_note" in "\n".join(screen_lines(app)),
                    timeout=30, what="the approval dialog")
        shown = "\n".join(screen_lines(app))
        assert "boxoffice" in shown and "add_note" in shown
        assert '"text": "[bold]watch Alien[/] again"' in shown  # as text, not markup
        assert not notes.exists()  # nothing ran before the answer
        focused = app.screen.focused
        assert focused is not None and focused.id == "approve-deny"  # Enter by habit: no
        await pilot.press(key)
        await wait_idle(pilot, timeout=30)
        _first, second = loopback.wait_for_requests(2)
        if runs:
            assert notes.read_text(encoding="utf-8") == "[bold]watch Alien[/] again\n"
            assert tool_results(second) == ["Noted: [bold]watch Alien[/] again"]
        else:
            assert not notes.exists()
            assert "declined" in tool_results(second)[0]
            line = app.screen.query(ToolCallLine).first().shown_text
            assert line.endswith("→ declined")


async def test_always_is_remembered_and_the_allow_list_skips_the_question(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply.calling(ADD_NOTE), Reply(text="Noted."),
                  Reply.calling(ADD_NOTE), Reply(text="Noted again."))
    app, notes = app_with_server(tmp_path, loopback)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Note it.")
        await until(pilot, lambda: isinstance(app.screen, ToolApprovalScreen),
                    timeout=30, what="the approval dialog")
        await pilot.press("a")
        await wait_idle(pilot, timeout=30)
        await send(pilot, "Note it again.")
        await wait_idle(pilot, timeout=30)
        assert not isinstance(app.screen, ToolApprovalScreen)
    assert len(notes.read_text(encoding="utf-8").splitlines()) == 2
    state = (tmp_path / "data" / "state.toml").read_text(encoding="utf-8")
    assert "boxoffice add_note" in state

    loopback.push(Reply.calling(ADD_NOTE), Reply(text="Noted."))
    (tmp_path / "other").mkdir()
    allowed, notes = app_with_server(tmp_path / "other", loopback, allow=("add_note",))
    async with allowed.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Note it.")
        await wait_idle(pilot, timeout=30)
        assert not isinstance(allowed.screen, ToolApprovalScreen)
    assert notes.read_text(encoding="utf-8") == "[bold]watch Alien[/] again\n"


async def test_a_server_that_cannot_start_is_one_line_and_the_chat_goes_on(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply(text=ANSWER))
    app, _notes = app_with_server(tmp_path, loopback, args=("--fail-start",))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: notices_on_screen(app), timeout=30, what="the notice")
        assert notices_on_screen(app) == [
            "⚠ MCP server “boxoffice” could not start: it exited with code 3 (“box office "
            "database is locked”); its tools are left out."]
        await send(pilot, QUESTION)
        await wait_idle(pilot, timeout=30)
        assert "tools" not in loopback.last_request or not any(
            t["function"]["name"].startswith("boxoffice__")
            for t in loopback.last_request["tools"])
        assert len(notices_on_screen(app)) == 1


async def test_a_server_killed_mid_call_is_one_line_and_the_reply_goes_on(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply.calling(ToolCall("boxoffice__slow_count", '{"seconds": 60}')),
                  Reply(text=ANSWER), Reply(text="Anything else?"))
    app, notes = app_with_server(tmp_path, loopback)
    async with app.run_test(size=(100, 30)) as pilot:
        await servers_ready(pilot)
        await send(pilot, QUESTION)
        await until(pilot, lambda: app.screen.query(ToolCallLine), timeout=30,
                    what="the running call's line")
        [pid] = started_pids(notes)
        os.kill(pid, signal.SIGKILL)
        await wait_idle(pilot, timeout=30)
        assert notices_on_screen(app) == [
            "⚠ MCP server “boxoffice” stopped: it was ended by a signal (SIGKILL); its tools "
            "are left out."]
        _first, second = loopback.wait_for_requests(2)
        assert "stopped" in tool_results(second)[0]
        assert app.screen.query(ToolCallLine).first().shown_text.startswith(
            "▸ 🔌 boxoffice: slow_count")
        await send(pilot, "And Aliens?")  # the chat goes on, without the server's tools
        await wait_idle(pilot, timeout=30)
        assert "boxoffice__" not in json.dumps(loopback.last_request.get("tools"))
        assert len(notices_on_screen(app)) == 1


async def test_quitting_leaves_no_server_process(tmp_path: Path,
                                                 loopback: LoopbackServer) -> None:
    app, notes = app_with_server(tmp_path, loopback)
    async with app.run_test(size=(100, 30)) as pilot:
        await servers_ready(pilot)
        processes = started_processes(notes)
        await pilot.press("ctrl+q")
    assert processes and not [pid for pid in processes if process_alive(pid)]


async def test_quitting_while_the_question_is_open_runs_nothing(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    loopback.push(Reply.calling(ADD_NOTE), Reply(text="Noted."))
    app, notes = app_with_server(tmp_path, loopback)
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, "Note it.")
        await until(pilot, lambda: isinstance(app.screen, ToolApprovalScreen),
                    timeout=30, what="the approval dialog")
        processes = started_processes(notes)
        await pilot.press("ctrl+q")  # the reply is stopped (and saved), the question goes
    assert not notes.exists()
    assert processes and not [pid for pid in processes if process_alive(pid)]


async def test_without_the_mcp_package_one_line_says_how_to_install_it(
        tmp_path: Path, loopback: LoopbackServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from moviechat_tui.session.mcp import servers

    monkeypatch.setattr(servers, "SDK_PACKAGE", "no_such_mcp_package")
    loopback.push(Reply(text=ANSWER))
    app, notes = app_with_server(tmp_path, loopback)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: notices_on_screen(app), timeout=30, what="the notice")
        assert notices_on_screen(app) == [
            "⚠ MCP servers are configured, but the mcp package is not installed: pip install "
            "'moviechat-tui[mcp]'. Their tools are left out."]
        await send(pilot, QUESTION)
        await wait_idle(pilot)
        assert not started_pids(notes)


async def test_grounding_off_still_offers_the_servers_tools(
        tmp_path: Path, loopback: LoopbackServer) -> None:
    """`[films] grounding` is about the film catalogue: MCP tools are offered either way."""
    loopback.push(Reply(text=ANSWER))
    app, _notes = app_with_server(tmp_path, loopback, extra='[films]\ngrounding = "off"')
    async with app.run_test(size=(100, 30)) as pilot:
        await send(pilot, QUESTION)
        await wait_idle(pilot, timeout=30)
        offered = [tool["function"]["name"] for tool in loopback.last_request["tools"]]
        assert offered == ["boxoffice__box_office", "boxoffice__add_note",
                           "boxoffice__slow_count"]
