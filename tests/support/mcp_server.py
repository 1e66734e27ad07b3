"""A real MCP server for the tests, written with the SDK's server API and run over stdio.

    python tests/support/mcp_server.py NOTES_FILE

Its tools: `box_office(title)` (read-only: a made-up gross), `add_note(text)` (writes a line
to NOTES_FILE, so a test can see whether it ran; not marked read-only, so the app asks),
and `slow_count(seconds)` (read-only; sleeps, for killing the server mid-call). Each run
writes a line "started <pid> <parent pid>" to NOTES_FILE + ".pids", so a test knows
the server's and its watchdog's pids.

`--fail-start` exits at once with a message on stderr; `--not-mcp` answers every line with
something that is not JSON-RPC (a program that does not speak MCP); `--stubborn` ignores
SIGTERM and stays after its input ends (only SIGKILL ends it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import sys
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parents[2]


def server_config(notes: Path, *, name: str = "boxoffice", args: tuple[str, ...] = (),
                  allow: tuple[str, ...] = (), extra: str = "") -> str:
    """A `[[mcp_servers]]` entry that runs this server (with the Python running the tests,
    which can import `mcp`, wherever it is installed)."""
    spec = importlib.util.find_spec("mcp")
    assert spec is not None and spec.origin, "the [mcp] extra is not installed"
    python_path = os.pathsep.join([str(Path(spec.origin).parents[1]), str(ROOT)])
    lines = ["[[mcp_servers]]", f"name = {json.dumps(name)}",
             f"command = {json.dumps(sys.executable)}",
             f"args = {json.dumps([str(SCRIPT), str(notes), *args])}",
             f"env = {{ PYTHONPATH = {json.dumps(python_path)} }}",
             f"allow = {json.dumps(list(allow))}"]
    return "\n".join(lines) + "\n" + extra + "\n"


def started_pids(notes: Path) -> list[int]:
    """The pids of the servers started with `notes`, in order."""
    return [pid for pid, _parent in _started(notes)]


def started_processes(notes: Path) -> list[int]:
    """Every process started for the servers of `notes`: each server and its parent (the
    app's watchdog), which must all be gone once the app is."""
    return [pid for pair in _started(notes) for pid in pair]


def _started(notes: Path) -> list[tuple[int, int]]:
    try:
        text = Path(f"{notes}.pids").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [(int(line.split()[1]), int(line.split()[2])) for line in text.splitlines()
            if line.startswith("started ")]


def main(argv: list[str]) -> int:
    if "--fail-start" in argv[1:]:
        print("box office database is locked", file=sys.stderr, flush=True)
        return 3
    if "--not-mcp" in argv[1:]:
        for line in sys.stdin:
            print(f"hello, I am not MCP ({len(line)} bytes)", flush=True)
        return 0
    notes = Path(argv[0])
    with open(f"{notes}.pids", "a", encoding="utf-8") as pids:
        pids.write(f"started {os.getpid()} {os.getppid()}\n")

    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer("boxoffice")

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def box_office(title: str) -> str:
        """The worldwide box-office gross of a film, in US dollars."""
        return f"{title}: $263.1 million worldwide (test data)"

    @server.tool()
    def add_note(text: str) -> str:
        """Add a line to the user's film notes."""
        with notes.open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
        return f"Noted: {text}"

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def slow_count(seconds: float) -> str:
        """Count slowly (a tool that takes a while)."""
        time.sleep(seconds)
        return f"counted to {seconds:g}"

    if "--stubborn" in argv[1:]:
        # A badly behaved server: it ignores SIGTERM and stays once its input ends, so only
        # the app's watchdog (SIGKILL after the grace periods) can end it.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    server.run("stdio")
    if "--stubborn" in argv[1:]:
        time.sleep(3600)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
