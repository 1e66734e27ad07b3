"""The connection a chat session talks through: which backend, to which endpoint.

One place decides what the next request goes to — the configured endpoint, an endpoint
profile picked in the palette, or llama.cpp's server started for `--local` — and one place
makes sure the backend exists before it is used (`backend()`), so a request, the warm-up after
the first frame and the model picker all wait for a `--local` server in the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from moviechat_tui.core import events as ev
from moviechat_tui.core.capabilities import capabilities_for
from moviechat_tui.core.endpoint import Endpoint
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import replace
from moviechat_tui.core.secret import redact_everywhere
from moviechat_tui.llm.types import BackendError, ErrorKind
from moviechat_tui.settings.config import RequestOptions, Settings

if TYPE_CHECKING:
    from moviechat_tui.llm.backend import ChatBackend
    from moviechat_tui.llm.local_server import LocalServer

log = logging.getLogger(__name__)

READY_LINGER = 3.0
"""Seconds the `--local` server's "Ready on …" line stays before it goes."""

BackendFactory = Callable[[Endpoint, RequestOptions], "ChatBackend"]
Emit = Callable[[ev.ControllerEvent], None]


def default_backend_factory(endpoint: Endpoint, request: RequestOptions) -> ChatBackend:
    from moviechat_tui.llm.backend import OpenAIBackend

    include_usage = request.include_usage
    if include_usage is None:
        include_usage = endpoint.is_openai and capabilities_for(endpoint.model).reports_usage
    return OpenAIBackend(
        endpoint.base_url,
        endpoint.api_key,
        timeout=request.timeout,
        connect_timeout=request.connect_timeout,
        max_attempts=request.max_attempts,
        include_usage=include_usage,
        headers=endpoint.headers or None,
        url_source=endpoint.url_source,
        key_source=endpoint.key_source,
    )


class Connection:
    """The backend for the current endpoint, built on first use and rebuilt after a profile
    switch; with `--local`, the llama.cpp server behind it."""

    def __init__(self, settings: Settings, emit: Emit,
                 backend_factory: BackendFactory = default_backend_factory) -> None:
        self.settings = settings
        self._emit = emit
        self._factory = backend_factory
        self._backend: ChatBackend | None = None
        self._models: list[str] | None = None
        self._local: LocalServer | None = None
        self._ready: asyncio.Future[None] | None = None
        """Set while `--local` is starting its server; whatever needs the backend waits."""
        self._starting: asyncio.Task[None] | None = None

    @property
    def endpoint(self) -> Endpoint:
        return self.settings.endpoint

    @property
    def local_server(self) -> LocalServer | None:
        return self._local

    async def backend(self) -> ChatBackend:
        """The backend, once the endpoint is ready (the `--local` server started)."""
        if self._ready is not None:
            await asyncio.shield(self._ready)
        if self._backend is None:
            self._backend = self._factory(self.settings.endpoint, self.settings.request)
        return self._backend

    async def prepare(self) -> None:
        """Get the backend ready before the first request (for the OpenAI backend: import
        `openai` in a thread and build the client), so the first reply does not wait for it.
        Optional: a request does the same. Problems are left for that request to report."""
        try:
            backend = await self.backend()
            prepare = getattr(backend, "prepare", None)
            if prepare is not None:
                await prepare()
        except Exception:  # e.g. no API key: the first request says so
            log.debug("backend warm-up failed", exc_info=True)

    async def list_models(self) -> list[str]:
        """The endpoint's models (GET /v1/models), fetched once per endpoint and cached."""
        if self._models is None:
            self._models = await (await self.backend()).list_models()
        return self._models

    async def use(self, settings: Settings) -> None:
        """Talk to `settings.endpoint` from the next request on (a profile switch)."""
        old, self._backend = self._backend, None
        if old is not None:
            await old.aclose()
        self.settings = settings
        redact_everywhere(settings.endpoint.api_key)
        self._models = None

    def explain(self, error: BackendError) -> BackendError:
        """`error` as the user should read it: with `--local`, a server that is no longer
        running is said to have stopped (with where its log is), instead of "could not
        connect … check the address"."""
        local = self._local
        if local is None or local.running or error.kind not in (
                ErrorKind.CONNECTION, ErrorKind.PROTOCOL, ErrorKind.STREAM_CUT):
            return error
        return BackendError(error.kind, _(
            "The local model server has stopped (it may have crashed); its log is {log}. "
            "Quit and start moviechat --local again; if it happens again, see "
            "docs/offline.md.").format(log=local.log_path))

    def api_problem(self) -> BackendError | None:
        """A first-run problem we can report before the first request (no key for OpenAI)."""
        endpoint = self.settings.endpoint
        if endpoint.is_openai and not endpoint.api_key:
            from moviechat_tui.llm.backend import no_api_key_error

            return no_api_key_error(endpoint.base_url)
        return None

    # ------------------------------------------------------------ --local mode
    def start_local(self, on_failure: Callable[[str], None]) -> None:
        """Start llama.cpp's server for `endpoint.local_model` in the background.

        The first frame does not wait: the user can type at once, and whatever needs the
        backend waits for the server. Progress arrives as `Progress` events (a line the UI
        shows until the server is ready); once ready, requests
        go through the same OpenAI backend as any endpoint. `on_failure(message)` is called
        if it cannot start."""
        endpoint = self.settings.endpoint
        if (endpoint.local_model is None or endpoint.local_server_shared
                or self._ready is not None):
            return
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._ready.add_done_callback(lambda f: f.exception() if not f.cancelled() else None)
        self._starting = loop.create_task(self._start_local(loop, on_failure),
                                          name="moviechat-local-server")

    async def _start_local(self, loop: asyncio.AbstractEventLoop,
                           on_failure: Callable[[str], None]) -> None:
        from moviechat_tui.llm.local_server import LocalServer, LocalServerError

        model = self.settings.endpoint.local_model
        assert model is not None and self._ready is not None
        log_path = self.settings.paths.log_dir / f"llama-server-{os.getpid()}.log"
        server = LocalServer(model, log_path=log_path)
        self._local = server

        def progress(line: str) -> None:
            loop.call_soon_threadsafe(self._emit, ev.Progress(line))

        try:
            url = await asyncio.to_thread(server.start, progress)
        except LocalServerError as exc:
            self._ready.set_exception(BackendError(ErrorKind.CONNECTION, exc.message))
            self._emit(ev.Progress(None))
            on_failure(exc.message)
            return
        # Ready: its last line ("Ready on …") stays a moment, then goes.
        self._emit(ev.Progress(None, linger=READY_LINGER))
        redact_everywhere(server.api_key)
        self.settings = replace(self.settings, endpoint=replace(
            self.settings.endpoint, base_url=url, api_key=server.api_key,
            url_source=_("the local model server (moviechat --local)")))
        self._ready.set_result(None)

    @property
    def runs_bundled_model(self) -> bool:
        """`--local` with the tiny model the [local] extra ships (its film facts are
        unreliable, and the app says so)."""
        model = self.settings.endpoint.local_model
        if model is None:
            return False
        from moviechat_tui.llm.local_server import is_bundled_model

        return is_bundled_model(model)

    async def close(self) -> None:
        """Close the HTTP client and stop the `--local` server (quit)."""
        if self._backend is not None:
            try:
                await self._backend.aclose()
            except Exception:  # closing must never block quitting
                log.debug("backend close failed", exc_info=True)
        if self._local is not None:
            await asyncio.to_thread(self._local.stop)
