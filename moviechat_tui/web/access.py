"""Who may use the served app: a per-run token, kept in a cookie, checked on every request.

textual-serve has no authentication: whoever reaches the port gets a live app process, with
the user's API key behind it and every saved conversation in reach. So every request — the
page, its scripts and fonts, the websocket that starts an app process, a download — must carry
the token that `moviechat serve` printed:

- in the URL (`/?token=…`) the first time: the answer sets a cookie and redirects to the same
  address without the token, so it does not stay in the address bar, the history or a
  screenshot;
- in that cookie afterwards. Its name holds the port, because browsers do not keep cookies
  apart by port: two `serve` on one machine must not overwrite each other's.

Anything else gets 403 and a page that says what to do. Tokens are compared in constant time
(`hmac.compare_digest`). Defence in depth besides the token (see docs/web.md for the threat
model): on a loopback address the Host header must name this machine (DNS rebinding), a
websocket from a page of another origin is refused (cross-site websocket hijacking), and every
answer carries headers that keep the page from loading anything from elsewhere (CSP), from
being framed, from leaking its address in a Referer, or from being cached.
"""

from __future__ import annotations

import hmac
import html
import ipaddress
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import hdrs, web

from moviechat_tui.core.i18n import _

TOKEN_PARAMETER = "token"
TOKEN_BYTES = 32
"""256 bits from `secrets`: not guessable, even at millions of tries a second."""
_LOOPBACK_NAMES = {"localhost", "localhost.", "ip6-localhost"}
_HOST_CHARACTERS = re.compile(r"^[A-Za-z0-9.\-:\[\]]+$")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_loopback_host(host: str) -> bool:
    """True for a host name or address that only this machine can reach (127.0.0.0/8, ::1,
    localhost). `0.0.0.0`, `::` and every other name are reachable from the network."""
    name = host.strip().lower().strip("[]")
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def cookie_name(port: int) -> str:
    return f"moviechat-serve-{port}"


def _same(given: str | None, token: str) -> bool:
    """Constant-time comparison (the time taken says nothing about how much matched)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())


def _host_name(host_header: str) -> str:
    """`example:8000` → `example`, `[::1]:8000` → `::1`."""
    try:
        return urlsplit(f"//{host_header}").hostname or ""
    except ValueError:
        return ""


class Access:
    """The token and the rules; `middleware` and `add_headers` plug them into aiohttp.

    `port` is set once the listening socket is bound (`--port 0` picks one), before the first
    request can arrive. `token` None means `--no-token` (allowed on loopback only)."""

    def __init__(self, token: str | None, *, loopback: bool) -> None:
        self.token = token
        self.loopback = loopback
        self.port = 0

    @property
    def cookie(self) -> str:
        return cookie_name(self.port)

    def allows(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        return _same(request.cookies.get(self.cookie), self.token)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.loopback and not is_loopback_host(_host_name(request.host)):
            # A page on another site whose name was made to point at 127.0.0.1 (DNS
            # rebinding) sends its own name here: it is not one of ours.
            return self.refusal(_("This address is not one moviechat serves."))
        if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
            origin = request.headers.get(hdrs.ORIGIN)
            if origin is not None and not self._same_origin(request, origin):
                return self.refusal(_("Another web page tried to use this app."))
        given = request.query.get(TOKEN_PARAMETER)
        if given is not None and self.token is not None:
            if not _same(given, self.token):
                return self.refusal()
            return self._welcome(request)
        if not self.allows(request):
            return self.refusal()
        return await handler(request)

    def _welcome(self, request: web.Request) -> web.StreamResponse:
        """The right token in the URL: keep it in a cookie and show the address without it."""
        assert self.token is not None
        query = [(k, v) for k, v in request.query.items() if k != TOKEN_PARAMETER]
        response = web.Response(status=303, headers={
            hdrs.LOCATION: str(request.rel_url.with_query(query))})
        # HttpOnly: page scripts cannot read it. SameSite=Lax: sent when the user opens the
        # link (even from another site), never with a request another site's page makes.
        # No expiry: it ends with the browser session, and the token with `serve` anyway.
        response.set_cookie(self.cookie, self.token, path="/", httponly=True, samesite="Lax",
                            secure=request.secure)
        return response

    @staticmethod
    def _same_origin(request: web.Request, origin: str) -> bool:
        scheme = "https" if request.secure else "http"
        return origin == f"{scheme}://{request.host}"

    @staticmethod
    def refusal(reason: str | None = None) -> web.Response:
        """403 with a page that says what to do (no script, nothing loaded from anywhere)."""
        lines = [
            _("This moviechat page needs the link that `moviechat serve` printed, with its "
              "token."),
            _("Open that link again; a new run of `moviechat serve` prints a new one."),
        ]
        if reason:
            lines.insert(0, reason)
        title = html.escape(_("moviechat: not allowed"))
        body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
                f"</head><body id='refused'><h1>403</h1>{body}</body></html>")
        return web.Response(status=403, text=page, content_type="text/html", charset="utf-8")

    async def add_headers(self, request: web.Request, response: web.StreamResponse) -> None:
        """On every answer (aiohttp's on_response_prepare), errors and the 403 page included."""
        host = request.host if _HOST_CHARACTERS.match(request.host) else "'none'"
        response.headers[hdrs.CONTENT_SECURITY_POLICY] = "; ".join((
            "default-src 'self'",
            # The page's small inline script; textual.js injects xterm's styles inline.
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            f"connect-src 'self' ws://{host} wss://{host}",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ))
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        response.headers[hdrs.CACHE_CONTROL] = "no-store"
