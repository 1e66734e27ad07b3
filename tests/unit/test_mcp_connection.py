"""One MCP server over stdio (session/mcp/connection.py) with the real test server: why a
server did not start, said in one line a user can act on, and what a call returns."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from moviechat_tui.llm.watchdog import STDIO, watched_command
from moviechat_tui.session.mcp.connection import McpConnection, StartFailed, result_text
from tests.support.mcp_server import ROOT, SCRIPT

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")


def connection(tmp_path: Path, *args: str, timeout: float = 15.0) -> McpConnection:
    command = watched_command([sys.executable, str(SCRIPT), str(tmp_path / "notes"), *args],
                              watch=STDIO, grace=0.5)
    return McpConnection("boxoffice", command, {"PYTHONPATH": str(ROOT)},
                         tmp_path / "server.log", start_timeout=timeout)


async def test_a_call_returns_the_tools_text_and_a_clean_stop_leaves_no_log(
        tmp_path: Path) -> None:
    server = connection(tmp_path)
    specs = await server.start(lambda reason: None)
    assert {(s.name, s.read_only) for s in specs} == {
        ("box_office", True), ("add_note", False), ("slow_count", True)}
    result = await server.call("box_office", {"title": "Alien"})
    assert (result.text, result.is_error) == ("Alien: $263.1 million worldwide (test data)",
                                              False)
    await server.stop()
    assert not server.running and not (tmp_path / "server.log").exists()


@pytest.mark.parametrize(("args", "reason"), [
    (("--fail-start",), "it exited with code 3 (“box office database is locked”)"),
    (("--not-mcp",), "it does not speak MCP (what it printed was not JSON-RPC)"),
])
async def test_why_a_server_did_not_start_is_one_line(tmp_path: Path, args: tuple[str, ...],
                                                      reason: str) -> None:
    server = connection(tmp_path, *args)
    with pytest.raises(StartFailed) as failed:
        await server.start(lambda reason: None)
    assert failed.value.reason == reason


def test_a_result_is_its_text_blocks_and_names_what_is_not_text() -> None:
    data = {"content": [{"type": "text", "text": "one"},
                        {"type": "image", "mimeType": "image/png", "data": "…"},
                        {"type": "text", "text": "two"}]}
    assert result_text(data) == "one\n[image image/png, not shown]\ntwo"
    assert result_text({"content": [], "structuredContent": {"gross": 1}}) == '{"gross": 1}'
