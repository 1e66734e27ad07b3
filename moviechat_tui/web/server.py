"""The web server: textual-serve's aiohttp app, with access control and moviechat's own page.

textual-serve (`Server._make_app`) provides the routes — `/` the page, `/ws` the websocket
that starts one app process per tab, `/download/{key}` files the app delivers, `/static` its
JavaScript, styles and fonts — and the websocket protocol. On top of it:

- `Access.middleware` runs before every route (the token; see access.py), and
  `Access.add_headers` adds the security headers to every answer;
- `/` renders templates/page.html: the same page without anything from the internet;
- `/ws` runs each tab as a `TabProcess` (own session, stopped like a closed terminal), and
  the server keeps the running tabs so that stopping `serve` stops every one of them;
- `/download/{key}` always answers as an attachment (never rendered as a page of this
  origin) with the file name spelled for every browser (RFC 6266, non-ASCII titles).

Relies on textual-serve 1.1's `Server._make_app`, `_process_messages` and `download_manager`;
the version is pinned below 2 in pyproject.toml and the protocol tests cover them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import socket
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import hdrs, web
from textual_serve.server import Server

from moviechat_tui.core.i18n import _, current_language
from moviechat_tui.web.access import Access
from moviechat_tui.web.tab_process import TabProcess

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).with_name("templates")
HEARTBEAT = 15.0
"""Seconds between websocket pings: a tab whose browser vanished (a laptop lid closed, the
network gone) is noticed and its app stopped, as if the tab had been closed."""
_SIZE_LIMITS = {"width": (10, 1000, 80), "height": (5, 500, 24), "fontsize": (6, 64, 16)}


def _number(query: Mapping[str, str], name: str) -> int:
    low, high, default = _SIZE_LIMITS[name]
    try:
        return max(low, min(high, int(query.get(name, default))))
    except ValueError:
        return default


def content_disposition(file_name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact UTF-8 one (RFC 6266/5987)."""
    name = Path(file_name).name or "download"
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_"
                       for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


class WebServer(Server):
    """Serves `tab_argv` (one process per websocket) to browsers that pass `access`."""

    def __init__(self, tab_argv: Sequence[str], *, access: Access,
                 tab_env: Mapping[str, str] | None = None, title: str = "moviechat") -> None:
        super().__init__(shlex.join(tab_argv), title=title, templates_path=TEMPLATES)
        self.tab_argv = list(tab_argv)
        self.tab_env = dict(tab_env or {})
        self.access = access
        self.tabs: set[TabProcess] = set()
        self._runner: web.AppRunner | None = None

    # -- lifecycle --------------------------------------------------------------------------

    async def make_app(self) -> web.Application:
        app = await self._make_app()
        app.middlewares.insert(0, self.access.middleware)
        app.on_response_prepare.append(self.access.add_headers)
        return app

    async def start(self, listening: socket.socket) -> None:
        """Serve on an already bound socket (so the port is known before the first request)."""
        self.access.port = listening.getsockname()[1]
        self._runner = web.AppRunner(await self.make_app(), handle_signals=False,
                                     access_log=None, shutdown_timeout=5.0)
        await self._runner.setup()
        await web.SockSite(self._runner, listening).start()

    async def stop(self) -> None:
        """Stop every tab (each saves and exits), then the server."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()  # runs on_shutdown first

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints its logo here; `serve` prints its own lines."""

    async def on_shutdown(self, app: web.Application) -> None:
        await self.stop_tabs()

    async def stop_tabs(self) -> None:
        tabs = list(self.tabs)
        if tabs:
            await asyncio.gather(*(tab.stop() for tab in tabs), return_exceptions=True)

    # -- routes -----------------------------------------------------------------------------

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        context: dict[str, Any] = {
            "lang": current_language(),
            "title": self.title,
            "font_size": _number(request.query, "fontsize"),
            "starting": _("Starting moviechat…"),
            "ended": _("This tab's moviechat has ended."),
            "start_again": _("Start again"),
        }
        return aiohttp_jinja2.render_template("page.html", request, context)

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=HEARTBEAT)
        await websocket.prepare(request)
        tab = TabProcess(self.tab_argv, self.tab_env, write_bytes=websocket.send_bytes,
                         write_str=websocket.send_str, close=websocket.close,
                         download_manager=self.download_manager)
        self.tabs.add(tab)
        try:
            await tab.start(_number(request.query, "width"), _number(request.query, "height"))
            log.info("tab opened: app process %s", tab.pid)
            await self._process_messages(websocket, tab)
        except asyncio.CancelledError:
            pass
        except Exception:  # a malformed message from the page: end this tab, not the server
            log.exception("tab %s", tab.pid)
        finally:
            # The tab was closed (or the page left, or `serve` is stopping): the app saves
            # and exits like a closed terminal's.
            await tab.stop()
            self.tabs.discard(tab)
            log.info("tab closed: app process %s ended", tab.pid)
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def handle_download(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info["key"]
        try:
            meta = await self.download_manager.get_download_metadata(key)
        except KeyError:
            raise web.HTTPNotFound(
                text=_("This download has expired: export the conversation again.")) from None
        content_type = meta.mime_type or "application/octet-stream"
        if meta.encoding:
            content_type += f"; charset={meta.encoding}"
        response = web.StreamResponse(headers={
            hdrs.CONTENT_TYPE: content_type,
            hdrs.CONTENT_DISPOSITION: content_disposition(meta.file_name),
        })
        await response.prepare(request)
        async for chunk in self.download_manager.download(key):
            await response.write(chunk)
        await response.write_eof()
        return response
