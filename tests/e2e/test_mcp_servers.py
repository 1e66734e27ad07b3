"""No MCP server outlives the app, however it ends: the real `moviechat` in a pty with a real
MCP server (tests/support/mcp_server.py) from `[[mcp_servers]]`, ended by ctrl+q, SIGTERM,
SIGHUP, SIGINT (what ctrl+c sends to a program that has not taken the terminal's keys) and
kill -9 — afterwards neither the server nor the watchdog it runs under is alive."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.test_tui import app_env
from tests.support.loopback_server import LoopbackServer, Reply
from tests.support.mcp_server import server_config, started_processes
from tests.support.terminal import Terminal, process_alive

pytest.importorskip("mcp", reason="the [mcp] extra is not installed")

MOVIECHAT = [sys.executable, "-m", "moviechat_tui"]


def left_alive(pids: list[int], within: float) -> list[int]:
    deadline = time.monotonic() + within
    while True:
        alive = [pid for pid in pids if process_alive(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.05)


@pytest.mark.parametrize(("ending", "stubborn"), [
    ("ctrl+q", False), ("SIGTERM", False), ("SIGHUP", False), ("SIGINT", False),
    ("SIGKILL", False),
    # A server that stays when its input ends and ignores SIGTERM: the watchdog kills it.
    ("SIGKILL", True), ("ctrl+q", True)])
def test_no_server_process_outlives_the_app(tmp_path: Path, loopback: LoopbackServer,
                                            ending: str, stubborn: bool) -> None:
    notes = tmp_path / "notes.txt"
    config = tmp_path / "config.toml"
    args = ("--stubborn",) if stubborn else ()
    config.write_text(server_config(notes, args=args), encoding="utf-8")
    env = app_env(tmp_path) | {"MOVIECHAT_CONFIG": str(config)}
    loopback.default_reply = Reply(text="Ridley Scott.")
    with Terminal([*MOVIECHAT, "--base-url", loopback.base_url], cols=80, rows=24,
                  env=env, cwd=tmp_path) as term:
        term.wait_for("Lights down", timeout=20)
        deadline = time.monotonic() + 30
        while len(started_processes(notes)) < 2 and time.monotonic() < deadline:
            term.pump(0.1)
        processes = started_processes(notes)
        assert len(processes) == 2, "the MCP server did not start"
        assert left_alive(processes, within=0) == processes  # running until the app ends
        if ending == "ctrl+q":
            term.press("ctrl+q")
        else:
            term.kill(getattr(signal, ending))
        term.wait_exit(20)
    assert left_alive(processes, within=10) == [], f"MCP server left running after {ending}"
