"""`moviechat serve`: the same app in a browser tab, private by default.

    moviechat serve [--host 127.0.0.1] [--port 8000] [--open] [--no-token] [moviechat's flags]

Every tab runs its own `moviechat` process with the user's flags and config, on the same data
folder (two windows on one conversation are already merged safely by the store). `serve`
itself never imports Textual or openai: it is a small aiohttp server (textual-serve) that
starts tab processes and relays their screens. What it adds to textual-serve — the token, the
offline page, quitting like a terminal, one shared `--local` server — is described in
docs/web.md; the pieces live in access.py, server.py, tab_process.py and handoff.py.

The command line hands over here through `run(ServeOptions)`; the user's app flags have been
checked by the CLI's own parser before (a broken config is one line, not one per tab).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import importlib.util
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.records import Record
from moviechat_tui.web.handoff import tab_arguments, tab_environment

if TYPE_CHECKING:
    from moviechat_tui.llm.local_server import LocalServer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
"""The CLI's defaults (cli/serve.py) for ServeFlags."""
_ANY_ADDRESS = {"0.0.0.0", "::", ""}


class ServeFlags(Record):
    """`serve`'s own flags (the app's flags are passed on to every tab as they are)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    open_browser: bool = False
    token: bool = True


class ServeOptions(Record):
    flags: ServeFlags
    app_arguments: tuple[str, ...]
    """The user's moviechat flags, given to each tab's app unchanged."""
    log_dir: Path
    local_model: Path | None = None
    """`--local`: the model `serve` runs once, in llama.cpp's server, for every tab."""


def _fail(message: str, code: int) -> int:
    print(f"moviechat serve: {message}", file=sys.stderr)
    return code


def web_extra_installed() -> bool:
    """textual-serve and aiohttp, found without importing them (this module and the CLI
    import neither, so a missing extra is one line, not a traceback)."""
    return all(importlib.util.find_spec(name) is not None
               for name in ("textual_serve", "aiohttp", "aiohttp_jinja2"))


def run(options: ServeOptions) -> int:
    """Serve until ctrl+c (or SIGTERM, SIGHUP); every tab's app saves and ends first.
    Exit codes: 0 stopped, 1 could not serve, 2 usage."""
    flags = options.flags
    if not web_extra_installed():
        return _fail(_("the browser mode needs the [web] extra: "
                       "pip install 'moviechat-tui[web]'"), 2)
    from moviechat_tui.web.access import is_loopback_host

    if not 0 <= flags.port <= 65535:
        return _fail(_("--port must be between 0 and 65535."), 2)
    loopback = is_loopback_host(flags.host)
    if not loopback:
        if not flags.token:
            return _fail(_("--no-token is refused on {host}: anyone who can reach it could "
                           "use moviechat, your API key and your conversations. Serve on "
                           "127.0.0.1, or keep the token.").format(host=flags.host), 2)
        print(_("Warning: serving on {host}, which other machines can reach. Anyone with the "
                "link can use moviechat, your API key and every conversation, and the "
                "connection is not encrypted (http): people on the same network can read "
                "it, token included. Use this only on a network you trust; see "
                "docs/web.md.").format(host=flags.host), file=sys.stderr)
    elif not flags.token:
        print(_("Warning: no token. Every program and user on this machine can use "
                "moviechat, your API key and your conversations through this port."),
              file=sys.stderr)
    logging.basicConfig(level=logging.WARNING, format="moviechat serve: %(message)s")

    try:
        listening = _listen(flags.host, flags.port)
    except OSError as error:
        return _fail(_bind_problem(flags.host, flags.port, error), 1)
    with listening:
        local: LocalServer | None = None
        try:
            if options.local_model is not None:
                local = _start_local(options.local_model, options.log_dir)
            return asyncio.run(_serve(options, listening, local))
        except _LocalFailed as failure:
            return _fail(failure.message, 1)
        except KeyboardInterrupt:  # ctrl+c while the --local model was loading
            return 130
        finally:
            if local is not None:
                local.stop()


class _LocalFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _start_local(model: Path, log_dir: Path) -> LocalServer:
    """One llama.cpp server for every tab, owned by `serve` (stopped when it stops)."""
    from moviechat_tui.llm.local_server import LocalServer, LocalServerError

    log_dir.mkdir(parents=True, exist_ok=True)
    server = LocalServer(model, log_path=log_dir / f"llama-server-serve-{os.getpid()}.log")
    try:
        server.start(lambda line: print(line, file=sys.stderr, flush=True))
    except LocalServerError as error:
        raise _LocalFailed(error.message) from None
    return server


def _listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket: the port is known (even for --port 0) before the server
    starts, and a port in use is one clear line before anything else starts."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    listening = socket.socket(family, kind, proto)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(128)
        listening.setblocking(False)
    except OSError:
        listening.close()
        raise
    return listening


def _bind_problem(host: str, port: int, error: OSError) -> str:
    if isinstance(error, socket.gaierror):
        return _("cannot listen on {host}: no such address or name.").format(host=host)
    if error.errno == errno.EADDRINUSE:
        return _("port {port} on {host} is already in use: pick another with --port "
                 "(0 picks a free one).").format(port=port, host=host)
    if error.errno == errno.EADDRNOTAVAIL:
        return _("{host} is not an address of this machine.").format(host=host)
    if error.errno == errno.EACCES:
        return _("not allowed to listen on port {port}: pick one above 1023.").format(port=port)
    return _("cannot listen on {host}:{port}: {reason}.").format(
        host=host, port=port, reason=error.strerror or error)


def page_address(host: str, port: int, token: str | None) -> str:
    """The address to open: on a wildcard address, this machine's loopback one."""
    from moviechat_tui.web.access import TOKEN_PARAMETER

    if host in _ANY_ADDRESS:
        host = "::1" if host == "::" else "127.0.0.1"
    shown = f"[{host}]" if ":" in host else host
    query = f"/?{TOKEN_PARAMETER}={token}" if token else "/"
    return f"http://{shown}:{port}{query}"


async def _serve(options: ServeOptions, listening: socket.socket,
                 local: LocalServer | None) -> int:
    from moviechat_tui.web.access import Access, is_loopback_host, new_token
    from moviechat_tui.web.server import WebServer

    flags = options.flags
    token = new_token() if flags.token else None
    tab_argv = [sys.executable, "-P", "-m", "moviechat_tui",
                *tab_arguments(list(options.app_arguments))]
    server = WebServer(tab_argv, access=Access(token, loopback=is_loopback_host(flags.host)),
                       tab_env=tab_environment(local))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stopping.set)
    await server.start(listening)
    port = listening.getsockname()[1]
    url = page_address(flags.host, port, token)
    print(_("moviechat is being served at:"))
    print(f"    {url}")
    if flags.host in _ANY_ADDRESS:
        print(_("From another device, use this machine's network address instead of "
                "{loopback}.").format(loopback=url.split("//")[1].split(":")[0]))
    if token:
        print(_("Keep this link private: whoever has it can use moviechat here."))
    print(_("Each browser tab is its own moviechat. Press Ctrl+C to stop serving."),
          flush=True)
    opener = _BrowserOpener(url) if flags.open_browser else None
    try:
        if opener is not None and not await asyncio.to_thread(opener.open):
            print(_("Could not open a web browser here: open the address above yourself."),
                  file=sys.stderr)
        await stopping.wait()
        tabs = len(server.tabs)
        if tabs:
            print(ngettext("Stopping: {count} tab saves its conversation and quits…",
                           "Stopping: {count} tabs save their conversations and quit…",
                           tabs).format(count=tabs), flush=True)
        await server.stop()
    finally:
        if opener is not None:
            opener.clean_up()
    print(_("Stopped serving."), flush=True)
    return 0


class _BrowserOpener:
    """`--open`, without putting the token on a command line.

    The browser is started with the address as an argument, where `ps` shows it to every user
    of the machine for as long as the browser runs. So it is given a private file instead
    (mode 0600, in a 0700 folder) that forwards to the address, as Jupyter does."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.folder: Path | None = None

    def open(self) -> bool:
        import webbrowser

        self.folder = Path(tempfile.mkdtemp(prefix="moviechat-serve-"))
        page = self.folder / "open.html"
        address = html.escape(self.url, quote=True)
        fd = os.open(page, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"<!DOCTYPE html><meta charset='utf-8'>"
                         f"<meta http-equiv='refresh' content='0;url={address}'>"
                         f"<a href='{address}'>moviechat</a>")
        try:
            return webbrowser.open(page.as_uri())
        except webbrowser.Error:
            return False

    def clean_up(self) -> None:
        if self.folder is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self.folder)
