"""An MCP server's tools as the session's `Tool`s, and the names the model calls them by.

A model sees `<server>__<tool>`: the server's name (settings/mcp_servers.py keeps it to
letters, digits and single `-`/`_`, so the first `__` ends it) and the tool's, within
OpenAI's rule for function names (`^[a-zA-Z0-9_-]{1,64}$`): other characters become `_`,
a long name is cut, and two tools that come out the same get `_2`, `_3` … Film tools have
no `__`, so nothing an MCP server lists can take one's name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import one_line
from moviechat_tui.session.mcp.connection import CallFailed, McpConnection, ToolSpec
from moviechat_tui.session.tools import ToolError

SEPARATOR = "__"
NAME_LIMIT = 64
_OUTSIDE_RULE = re.compile(r"[^A-Za-z0-9_-]")
DECLINED = ("The user declined to run this tool. Do not call it again for this question "
            "unless the user asks you to; answer with what you have.")
"""The result a denied call sends the model (written for the model: not translated)."""


def function_names(server: str, tools: Sequence[str]) -> list[str]:
    """The function name of each of `server`'s tools, in order, all different."""
    room = NAME_LIMIT - len(server) - len(SEPARATOR)
    taken: set[str] = set()
    names: list[str] = []
    for tool in tools:
        base = _OUTSIDE_RULE.sub("_", tool)[:room] or "tool"
        name, number = base, 2
        while name in taken:
            suffix = f"_{number}"
            name = base[:room - len(suffix)] + suffix
            number += 1
        taken.add(name)
        names.append(f"{server}{SEPARATOR}{name}")
    return names


class McpTool:
    """One tool of one server, offered to the model under `name`."""

    def __init__(self, server: str, spec: ToolSpec, name: str,
                 connection: McpConnection) -> None:
        self.server = server
        self.spec = spec
        self.name = name
        self._connection = connection

    @property
    def description(self) -> str:
        what = self.spec.description or f"The {self.spec.name} tool."
        return f"{what} (From the MCP server “{self.server}”.)"

    @property
    def parameters(self) -> dict[str, Any]:
        return self.spec.parameters

    @property
    def read_only(self) -> bool:
        return self.spec.read_only

    async def run(self, arguments: dict[str, Any]) -> str:
        try:
            result = await self._connection.call(self.spec.name, arguments)
        except CallFailed as exc:
            raise ToolError(str(exc)) from None
        if result.is_error:
            raise ToolError(result.text or "The tool reported an error and said nothing more.")
        return result.text

    def describe(self, arguments: Mapping[str, Any], result: str | None,
                 failed: bool) -> str:
        """🔌 server: tool(arguments) → the start of the result."""
        return describe_call(self.server, self.spec.name, arguments, result, failed)


def describe_call(server: str, tool: str, arguments: Mapping[str, Any], result: str | None,
                  failed: bool) -> str:
    shown = json.dumps(dict(arguments), ensure_ascii=False)[1:-1] if arguments else ""
    head = f"🔌 {one_line(server, 30)}: {one_line(tool, 50)}({one_line(shown, 50)})"
    if result is None:
        return head + " …"
    if failed and result == DECLINED:
        return head + " → " + _("declined")
    if failed:
        return head + " → " + _("failed: {why}").format(why=one_line(result, 80))
    return head + " → " + one_line(result, 60)
