"""The session's MCP servers: started in the background, their tools in the registry, a line
in the chat when one fails, and the user asked before a tool that may change things runs.

Start-up costs nothing: the app calls `start()` once the first frame is up and the user is
idle (or the first question does), the SDK is imported in a thread, and the servers start
side by side. A question asked meanwhile waits a little for them (`ready`). A server that
cannot start or stops later is one notice — "MCP server “x” stopped: …; its tools are left
out." — and its tools are retired from the registry (a call of one still in the model's
hands is answered with that reason); the chat goes on.

Approval (`approve`, the registry's hook): a tool its server does not mark read-only runs
only if the config's `allow` lists it, the user chose "always" for it before (remembered in
state.toml, `Preferences.mcp_always`), or the user says yes now. The question goes to the UI
as a `ToolApprovalRequested` event carrying a future; this waits for it. When the reply is
stopped first, the wait is cancelled and so is the future — the UI closes its dialog.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from moviechat_tui.core import events as ev
from moviechat_tui.core.conversation import Message
from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import sanitize
from moviechat_tui.llm.watchdog import STDIO, watched_command
from moviechat_tui.session.mcp.connection import McpConnection, StartFailed, ToolSpec
from moviechat_tui.session.mcp.tools import DECLINED, McpTool, function_names
from moviechat_tui.session.tools import Tool, ToolRegistry
from moviechat_tui.settings.mcp_servers import McpServerConfig, MissingVariable, expand_env
from moviechat_tui.storage.errors import StoreError
from moviechat_tui.storage.preferences import load_preferences, update_preferences

log = logging.getLogger(__name__)

STOP_GRACE = 1.0
"""Seconds a server gets to leave on its own once its input closes, then again after
SIGTERM, before the watchdog kills it."""
QUESTION_WAITS = 5.0
"""Seconds a question waits for servers still starting; one that is later joins the next."""
SDK_PACKAGE = "mcp"
"""The `[mcp]` extra's package: without it, one notice says how to install it."""
SDK = "mcp.client.stdio"


def install_hint() -> str:
    return _("MCP servers are configured, but the mcp package is not installed: pip install "
             "'moviechat-tui[mcp]'. Their tools are left out.")


class McpServers:
    """Every enabled `[[mcp_servers]]` entry of one session."""

    def __init__(self, configs: tuple[McpServerConfig, ...], registry: ToolRegistry,
                 emit: Callable[[ev.ControllerEvent], None], *, log_dir: Path,
                 data_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.configs = tuple(c for c in configs if c.enabled)
        self._registry = registry
        self._emit = emit
        self._log_dir = log_dir
        self._data_dir = data_dir
        self._environ = os.environ if environ is None else environ
        self._connections: dict[str, McpConnection] = {}
        self._tools: dict[str, McpTool] = {}
        self._starting: asyncio.Task[None] | None = None
        self._always: set[str] | None = None
        """"server tool" entries the user always allows (state.toml), read on first use."""
        registry.approve = self.approve

    def start(self) -> None:
        """Start the servers in the background (once; nothing without any)."""
        if self._starting is None and self.configs:
            self._starting = asyncio.get_running_loop().create_task(
                self._start_all(), name="moviechat-mcp-servers")

    async def ready(self, timeout: float = QUESTION_WAITS) -> None:
        """Wait, at most `timeout` seconds, for the servers still starting."""
        self.start()
        if self._starting is not None and not self._starting.done():
            await asyncio.wait({self._starting}, timeout=timeout)

    @property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    async def stop(self) -> None:
        """Stop every server (quitting), side by side."""
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            await asyncio.wait({self._starting})
        await asyncio.gather(*(c.stop() for c in self._connections.values()))

    # -- starting -----------------------------------------------------------------------

    async def _start_all(self) -> None:
        if importlib.util.find_spec(SDK_PACKAGE) is None:
            self._notice(install_hint())
            return
        # ~0.4 s of imports (pydantic models): in a thread, not on the UI's loop.
        await asyncio.to_thread(importlib.import_module, SDK)
        await asyncio.gather(*(self._start_one(c) for c in self.configs))

    async def _start_one(self, config: McpServerConfig) -> None:
        try:
            env = expand_env(config.env, self._environ)
        except MissingVariable as missing:
            self._could_not_start(config, _(
                "the environment variable {variable} named in its env.{key} is not set")
                .format(variable=missing.variable, key=missing.key))
            return
        path = env.get("PATH") or self._environ.get("PATH") or os.defpath
        if shutil.which(config.command, path=path) is None:
            self._could_not_start(config, _("the command “{command}” was not found").format(
                command=config.command))
            return
        command = watched_command([config.command, *config.args], watch=STDIO,
                                  grace=STOP_GRACE)
        log_path = self._log_dir / f"mcp-{config.name}-{os.getpid()}.log"
        connection = McpConnection(config.name, command, env, log_path)
        self._connections[config.name] = connection

        def stopped(reason: str) -> None:
            self._retire(config.name, reason)
            self._notice(_("MCP server “{name}” stopped: {reason}; its tools are left "
                           "out.").format(name=config.name, reason=reason))

        try:
            specs = await connection.start(stopped)
        except StartFailed as failure:
            self._could_not_start(config, failure.reason)
            return
        self._add_tools(config, specs, connection)
        log.info("MCP server %s: %d tools", config.name, len(specs))

    def _add_tools(self, config: McpServerConfig, specs: tuple[ToolSpec, ...],
                   connection: McpConnection) -> None:
        for spec, name in zip(specs, function_names(config.name, [s.name for s in specs]),
                              strict=True):
            tool = McpTool(config.name, spec, name, connection)
            self._tools[name] = tool
            self._registry.add(tool)

    def _retire(self, server: str, reason: str) -> None:
        why = (f"The MCP server “{server}” has stopped, so this tool cannot be used now "
               f"({reason}).")
        for name, tool in list(self._tools.items()):
            if tool.server == server:
                del self._tools[name]
                self._registry.retire(name, why)

    def _could_not_start(self, config: McpServerConfig, reason: str) -> None:
        self._notice(_("MCP server “{name}” could not start: {reason}; its tools are left "
                       "out.").format(name=config.name, reason=reason))

    def _notice(self, text: str) -> None:
        """One line in the chat (not saved with the conversation)."""
        self._emit(ev.MessageAdded(Message(role="notice", content=text, notice="error")))

    # -- approval -----------------------------------------------------------------------

    async def approve(self, tool: Tool, arguments: dict[str, Any]) -> str | None:
        """The registry's hook: None to run `tool`, or what to tell the model instead."""
        mcp = self._tools.get(tool.name)
        if mcp is None:
            return DECLINED
        config = next(c for c in self.configs if c.name == mcp.server)
        key = f"{mcp.server} {mcp.spec.name}"
        if config.allows(mcp.spec.name) or key in await self._always_allowed():
            return None
        answer: asyncio.Future[ev.Approval] = asyncio.get_running_loop().create_future()
        shown = sanitize(json.dumps(arguments, ensure_ascii=False, indent=2))
        self._emit(ev.ToolApprovalRequested(mcp.server, mcp.spec.name, shown, answer))
        try:
            choice = await answer  # Esc on the reply cancels this, and so the future
        finally:
            answer.cancel()  # no-op once answered
        if choice == ev.Approval.ALWAYS:
            await self._remember(key)
        return None if choice in (ev.Approval.ONCE, ev.Approval.ALWAYS) else DECLINED

    async def _always_allowed(self) -> set[str]:
        if self._always is None:
            prefs = await asyncio.to_thread(load_preferences, self._data_dir)
            self._always = set(prefs.mcp_always)
        return self._always

    async def _remember(self, key: str) -> None:
        allowed = await self._always_allowed()
        allowed.add(key)
        try:
            await asyncio.to_thread(self._save_always, key)
        except StoreError as exc:  # allowed for this run at least
            self._emit(ev.Notify(exc.message, ev.Severity.WARNING))

    def _save_always(self, key: str) -> None:
        current = load_preferences(self._data_dir).mcp_always
        if key not in current:
            update_preferences(self._data_dir, mcp_always=(*current, key))
