"""MCP servers: `[[mcp_servers]]` in config.toml, the programs whose tools a model may call.

Each entry names a program that speaks the Model Context Protocol over its standard input and
output (session/mcp/ runs it). Its tools are offered to models that can call tools, named
`<server>__<tool>`; a tool the server does not mark read-only asks the user before it runs,
unless `allow` lists it.

`env` gives the server environment variables on top of the few it always gets (HOME, PATH,
…). A value may name variables of moviechat's own environment — `"$GITHUB_TOKEN"`,
`"Bearer ${TOKEN}"` — so that a secret stays in the environment, not in the file; they are
expanded when the server starts (`expand_env`), never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record, field

_NAME = re.compile(r"^[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*$")
NAME_LIMIT = 24
"""Characters of a server's name: it starts each of its tools' function names, which may
have 64 (OpenAI's limit), so a tool keeps at least 38."""
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))")
"""`${NAME}`, `$NAME`, or `$$` (a dollar sign) in an `env` value."""
_KEYS = {"name", "command", "args", "env", "enabled", "allow"}
ALLOW_ALL = "*"


class McpServerError(UserFacingError):
    """An invalid `[[mcp_servers]]` entry; the message names the file and the key."""


class McpServerConfig(Record):
    """One `[[mcp_servers]]` entry."""

    name: str
    """Letters, digits, and single `-` or `_` between them: the prefix of its tools."""
    command: str
    """The program (looked up on PATH) that speaks MCP on its stdin and stdout."""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    """Variables for the server, as written (`$NAME` not yet expanded)."""
    enabled: bool = True
    allow: tuple[str, ...] = ()
    """Tools (as the server names them) that run without asking; `"*"`: all of them."""

    def allows(self, tool: str) -> bool:
        return ALLOW_ALL in self.allow or tool in self.allow


def parse_mcp_servers(entries: Any, source: str) -> tuple[McpServerConfig, ...]:
    """The entries of `[[mcp_servers]]`, checked; McpServerError names the first problem as
    "FILE: mcp_servers[INDEX].KEY: what is wrong" (config.py adds the line)."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise McpServerError(_("{source}: mcp_servers: use [[mcp_servers]] tables").format(
            source=source))
    servers: list[McpServerConfig] = []
    for index, raw in enumerate(entries):
        def bad(key: str, problem: str, index: int = index) -> McpServerError:
            return McpServerError(_("{source}: mcp_servers[{index}].{key}: {problem}").format(
                source=source, index=index, key=key, problem=problem))

        if not isinstance(raw, dict):
            raise bad("", _("each [[mcp_servers]] entry must be a table"))
        for key in raw:
            if key not in _KEYS:
                raise bad(str(key), _("unknown key (known: {known})").format(
                    known=", ".join(sorted(_KEYS))))
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME.match(name) or len(name) > NAME_LIMIT:
            raise bad("name", _("is required: up to {limit} letters and digits, with single "
                                "'-' or '_' between them").format(limit=NAME_LIMIT))
        if any(s.name == name for s in servers):
            raise bad("name", _("another MCP server already has this name"))
        command = raw.get("command")
        if not isinstance(command, str) or not command.strip() or "\0" in command:
            raise bad("command", _("is required: the program that runs the server"))
        args = raw.get("args", [])
        if not isinstance(args, list) or not all(
                isinstance(a, str) and "\0" not in a for a in args):
            raise bad("args", _("must be a list of strings"))
        env = raw.get("env", {})
        if not isinstance(env, dict) or not all(
                isinstance(k, str) and _ENV_NAME.match(k) and isinstance(v, str)
                and "\0" not in v for k, v in env.items()):
            raise bad("env", _("must be a table of variable names to strings"))
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise bad("enabled", _("must be true or false"))
        allow = raw.get("allow", [])
        if not isinstance(allow, list) or not all(isinstance(t, str) and t for t in allow):
            raise bad("allow", _("must be a list of tool names (or [\"*\"] for all)"))
        servers.append(McpServerConfig(name=name, command=command, args=tuple(args),
                                       env=dict(env), enabled=enabled, allow=tuple(allow)))
    return tuple(servers)


class MissingVariable(Exception):
    """An `env` value names a variable that moviechat's environment does not have."""

    def __init__(self, variable: str, key: str) -> None:
        super().__init__(variable)
        self.variable = variable
        self.key = key


def expand_env(env: Mapping[str, str], environ: Mapping[str, str]) -> dict[str, str]:
    """`env` with `$NAME` and `${NAME}` replaced by `environ`'s values (`$$` is a `$`).
    Raises MissingVariable for a variable that is not set: a server started without its
    token fails later, in words about something else."""
    expanded: dict[str, str] = {}
    for key, value in env.items():
        def substitute(match: re.Match[str], key: str = key) -> str:
            if match.group(3):
                return "$"
            variable = match.group(1) or match.group(2)
            if variable not in environ:
                raise MissingVariable(variable, key)
            return environ[variable]

        expanded[key] = _REFERENCE.sub(substitute, value)
    return expanded
