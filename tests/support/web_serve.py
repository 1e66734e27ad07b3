"""Drive a real `moviechat serve` the way a browser does, without a browser.

`Serve` runs the command in a subprocess on a free loopback port and reads the address it
prints. `Tab` speaks textual-serve's websocket protocol with aiohttp: keys go in as
`["stdin", text]` messages (the bytes an xterm would send), and the app's screen — raw
terminal output relayed as binary messages — is read through pyte, like tests/support/
terminal.py does for a pty. Text messages (a download offered, a link to open) are kept.

    with Serve(["--base-url", loopback.base_url], env=env) as serve:
        async with Tab(serve) as tab:
            await tab.wait_for("Ask about a film")
            await tab.send("Who directed Alien?")
            await tab.press("enter")
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import pyte

from tests.support.terminal import KEYS, process_alive

MOVIECHAT = [sys.executable, "-m", "moviechat_tui"]
URL_LINE = re.compile(r"^\s+(http://\S+)$")


def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc), zombies left out."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} after {timeout} s")
        time.sleep(0.05)


def app_env(tmp_path: Path) -> dict[str, str]:
    """The user's environment minus anything that points at real settings or keys."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MOVIECHAT_", "XDG_"))}
    env.update(HOME=str(tmp_path), MOVIECHAT_DATA_DIR=str(tmp_path / "data"),
               MOVIECHAT_LOG_DIR=str(tmp_path / "logs"),
               MOVIECHAT_CONFIG=str(tmp_path / "no-such-dir" / "config.toml"),
               LANGUAGE="en", LC_ALL="C.UTF-8")
    return env


def conversations(data_dir: Path) -> list[dict[str, Any]]:
    """Every saved conversation, parsed (the files a user's next run would read)."""
    folder = data_dir / "conversations"
    return [tomllib.loads(p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.toml"))] if folder.is_dir() else []


class Serve:
    """`moviechat serve --port 0 ARGS` in a subprocess; `url` is the address it printed."""

    def __init__(self, args: Sequence[str], *, env: dict[str, str], cwd: Path | None = None,
                 serve_flags: Sequence[str] = ()) -> None:
        self.command = [*MOVIECHAT, "serve", "--port", "0", *serve_flags, *args]
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.printed = b""
        self.seen_tabs: set[int] = set()

    def __enter__(self) -> Serve:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=self.env, cwd=self.cwd)
        assert self.process.stdout is not None
        deadline = time.monotonic() + 60
        while not self.url:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__(None, None, None)
                raise RuntimeError(f"serve printed no address: {self.printed!r}")
            ready, _, _ = select.select([self.process.stdout], [], [], 0.1)
            if ready:
                self.printed += os.read(self.process.stdout.fileno(), 4096)
                for line in self.printed.decode().splitlines():
                    if match := URL_LINE.match(line):
                        self.url = match.group(1)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        process = self.process
        if process is None:
            return
        tabs = self.seen_tabs | set(children_of(process.pid))
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pid in tabs:  # never leave a tab behind, whatever the test did
            if process_alive(pid) and f"--web-tab\0{process.pid}".encode() in _cmdline(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def base(self) -> str:
        return self.url.split("/?", 1)[0]

    @property
    def port(self) -> int:
        return int(self.base.rsplit(":", 1)[1])

    @property
    def token(self) -> str:
        return self.url.split("token=", 1)[1]

    @property
    def cookie(self) -> dict[str, str]:
        return {f"moviechat-serve-{self.port}": self.token}

    def tabs(self) -> list[int]:
        """The app processes of open tabs (serve's children)."""
        found = children_of(self.pid)
        self.seen_tabs.update(found)
        return found

    def stop(self, signum: int = signal.SIGINT, timeout: float = 30) -> tuple[int, str, str]:
        """Send `signum`; the exit code and everything serve printed."""
        assert self.process is not None
        self.process.send_signal(signum)
        out, err = self.process.communicate(timeout=timeout)
        return (self.process.returncode, (self.printed + out).decode(), err.decode())


class Tab:
    """One browser tab's websocket to `serve`, with the screen it shows (pyte)."""

    def __init__(self, serve: Serve, *, cookies: dict[str, str] | None = None,
                 origin: str | None = None, cols: int = 100, rows: int = 30) -> None:
        self.serve = serve
        self.cookies = serve.cookie if cookies is None else cookies
        self.origin = serve.base if origin is None else origin
        self.cols, self.rows = cols, rows
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.messages: list[list[Any]] = []
        self.received = bytearray()  # everything the page was sent, screen bytes included
        self.session: aiohttp.ClientSession | None = None
        self.socket: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Tab:
        self.session = aiohttp.ClientSession(cookies=self.cookies)
        url = f"{self.serve.base.replace('http', 'ws', 1)}/ws?width={self.cols}&height={self.rows}"
        try:
            self.socket = await self.session.ws_connect(url, origin=self.origin)
        except BaseException:
            await self.session.close()
            raise
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _read(self) -> None:
        assert self.socket is not None
        async for message in self.socket:
            if message.type == aiohttp.WSMsgType.BINARY:
                self.received += message.data
                self.stream.feed(message.data)
            elif message.type == aiohttp.WSMsgType.TEXT:
                self.received += message.data.encode()
                self.messages.append(json.loads(message.data))

    @property
    def closed(self) -> bool:
        return self._reader is not None and self._reader.done()

    def display(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    async def wait_for(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while text not in (screen := self.display()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{text!r} not on screen after {timeout} s:\n{screen}")
            if self.closed:
                raise AssertionError(f"the tab closed before {text!r} appeared:\n{screen}")
            await asyncio.sleep(0.05)
        return screen

    async def wait_until(self, condition: Callable[[], bool], timeout: float, what: str
                         ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} after {timeout} s:\n{self.display()}")
            await asyncio.sleep(0.05)

    async def send(self, text: str) -> None:
        assert self.socket is not None
        await self.socket.send_str(json.dumps(["stdin", text]))

    async def press(self, key: str) -> None:
        await self.send(KEYS[key])

    async def click(self, column: int, row: int) -> None:
        """A left click on a cell (0-based), in the SGR mouse encoding xterm.js sends."""
        await self.send(f"\x1b[<0;{column + 1};{row + 1}M\x1b[<0;{column + 1};{row + 1}m")

    async def close(self) -> None:
        """Close the tab, as a browser does when its tab is closed."""
        if self.socket is not None:
            await self.socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await self._reader
        if self.session is not None:
            await self.session.close()


__all__ = ["Serve", "Tab", "app_env", "children_of", "conversations", "process_alive", "wait_until"]
