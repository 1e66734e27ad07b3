"""Helpers for driving the real app with Pilot against the loopback server."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from moviechat_tui.core.endpoint import Endpoint
from moviechat_tui.settings.config import Overrides, RequestOptions, Settings, load_settings
from moviechat_tui.settings.paths import Paths
from moviechat_tui.tui.app import MovieChatApp, StartupAction
from moviechat_tui.tui.widgets.message_view import AssistantMessageView, MessageView, NoticeView


def make_settings(tmp_path: Path, base_url: str | None, *, config: str = "",
                  env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    config_file = tmp_path / "config.toml"
    config_file.write_text(config, encoding="utf-8")
    paths = Paths(tmp_path / "data", config_file, tmp_path / "logs")
    settings = load_settings(paths, Overrides(base_url=base_url, **overrides), environ=env or {})
    # Tests want fast failures: short timeouts, quick retries.
    from moviechat_tui.core.records import replace

    return replace(settings, request=replace(settings.request, timeout=2.0,
                                             connect_timeout=2.0))


def with_request(settings: Settings, **options: Any) -> Settings:
    """`settings` with some `[request]` options changed (max_attempts=1, timeout=1.0, ...)."""
    from moviechat_tui.core.records import replace

    return replace(settings, request=replace(settings.request, **options))


def make_app(settings: Settings, **startup: Any) -> MovieChatApp:
    from moviechat_tui.llm.backend import OpenAIBackend

    def factory(endpoint: Endpoint, request: RequestOptions) -> OpenAIBackend:
        return OpenAIBackend(endpoint.base_url, endpoint.api_key, timeout=request.timeout,
                             connect_timeout=request.connect_timeout,
                             max_attempts=request.max_attempts, backoff_base=0.05,
                             headers=endpoint.headers or None,
                             include_usage=bool(request.include_usage),
                             url_source=endpoint.url_source,
                             key_source=endpoint.key_source)

    return MovieChatApp(settings, startup=StartupAction(**startup), backend_factory=factory)


async def wait_idle(pilot: Pilot[Any], timeout: float = 10.0) -> None:
    """Wait until no reply is streaming, every finished block is rendered and the UI has
    drained its queue."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()

    def rendering() -> bool:
        return any(view.rendering for view in app.screen.query(AssistantMessageView))

    while app.controller.busy or rendering():  # type: ignore[attr-defined]
        if loop.time() > deadline:
            raise TimeoutError("reply still streaming" if app.controller.busy  # type: ignore
                               else "reply blocks still waiting to be rendered")
        await pilot.pause(0.02)
    await pilot.pause()
    await pilot.pause()


async def until(pilot: Pilot[Any], condition: Any, timeout: float = 10.0, what: str = "") -> None:
    """Wait (without sleeping blindly) until `condition()` is true, or fail saying `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


async def send(pilot: Pilot[Any], text: str) -> None:
    prompt = pilot.app.screen.query_one("#prompt")
    prompt.focus()
    prompt.text = text  # type: ignore[attr-defined]
    await pilot.press("enter")


def visible_text(view: MessageView) -> str:
    """The text a message shows (Markdown source for replies, the literal text otherwise)."""
    if isinstance(view, AssistantMessageView):
        return view.shown_text
    return "\n".join(str(s.content) for s in view.query(Static))


def messages_on_screen(app: MovieChatApp) -> list[tuple[str, str]]:
    return [(v.message.role, visible_text(v)) for v in app.chat_screen.query(MessageView)]


def notices_on_screen(app: MovieChatApp) -> list[str]:
    return [visible_text(v) for v in app.chat_screen.query(NoticeView)]


def saved_conversations(settings: Settings) -> list[dict[str, Any]]:
    folder = settings.paths.conversations_dir
    return [tomllib.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.toml"))]


def screen_lines(app: MovieChatApp) -> list[str]:
    """Each row of the top screen as the terminal shows it, docked and overlapping widgets
    composed (a dialog's own rows; the screen under it is not included)."""
    return [strip.text for strip in app.screen._compositor.render_strips()]
