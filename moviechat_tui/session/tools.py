"""The tools a model may call, and running one call safely.

A `Tool` is anything with a name, a description, a JSON-schema for its arguments, a
read-only flag and an async `run`: the film tools (session/film_tools.py) and, later, the
tools of MCP servers. The `ToolRegistry` holds the tools offered in this session, turns them
into the request's `tools` list, and runs a call the model asked for so that nothing the
model sends can break the turn: an unknown tool, arguments that are not JSON or do not fit
the schema, a tool that raises or takes too long — each becomes a result that says what was
wrong (`ToolOutcome.failed`), which goes back to the model like any other result.

A tool that is not read-only (an MCP server's tool that may change things) runs only once
the `approve` hook has said yes — the session asks the user (session/mcp/servers.py); a tool
whose server stopped is `retire`d: a call of it is answered with the reason.

Every result is untrusted text (an MCP server's answer, a title from the catalogue): it is
sanitised (core/text.py) and cut to `RESULT_LIMIT` characters before it is stored, shown or
sent. Results and the problems of a call are written for the model, in English like the
persona prompts it is given (they are not interface text, so they are not translated); the
chat's line for a call (`describe`) is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.core.text import one_line, sanitize
from moviechat_tui.core.tools import ToolCall

log = logging.getLogger(__name__)

RESULT_LIMIT = 6_000
"""Characters of one result sent to the model (about 1,500 tokens): a search, a film card
or a filmography fits; a runaway MCP tool cannot fill the context window."""
CALL_TIMEOUT = 20.0
"""Seconds one call may take before it is given up (the model is told so)."""


class ToolError(Exception):
    """A tool's own, readable failure ("the film catalogue is not installed"): the message
    is what the model is told (and what the expanded line shows)."""


class Tool(Protocol):
    """What the registry needs of a tool."""

    @property
    def name(self) -> str:
        """The function name the model calls (letters, digits, `_` and `-`, ≤ 64)."""
        ...

    @property
    def description(self) -> str:
        """When to use it, for the model: what it finds, and what to pass."""
        ...

    @property
    def parameters(self) -> dict[str, Any]:
        """The JSON schema of the arguments (an object)."""
        ...

    @property
    def read_only(self) -> bool:
        """True if running it changes nothing (a tool that writes asks first: MCP)."""
        ...

    async def run(self, arguments: dict[str, Any]) -> str:
        """The result for the model (compact JSON or text). Raises ToolError."""
        ...

    def describe(self, arguments: Mapping[str, Any], result: str | None,
                 failed: bool) -> str:
        """One line for the chat: what was done, and (once `result` is in) what came of it."""
        ...


Approver = Callable[[Tool, dict[str, Any]], Awaitable[str | None]]
"""Asked before a tool that is not read-only runs: None to run it, or the result to send the
model instead (the user declined). May wait for the user; cancelled with the reply."""
NO_APPROVER = ("This tool may change things and needs the user's approval, which cannot be "
               "asked for here, so it was not run.")


class ToolOutcome(Record):
    result: str
    failed: bool = False


def cap(text: str, limit: int = RESULT_LIMIT) -> str:
    """`text` sanitised and cut to `limit` characters, saying how much was left out."""
    clean = sanitize(text)
    if len(clean) <= limit:
        return clean
    return clean[:limit] + f"\n[cut: {len(clean) - limit} more characters]"


class ToolRegistry:
    """The tools offered in this session, by name (the film tools, MCP servers' tools)."""

    def __init__(self, tools: tuple[Tool, ...] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        self._retired: dict[str, tuple[Tool, str]] = {}
        self.approve: Approver | None = None
        """Asked before a tool that is not read-only runs (None: such tools do not run)."""
        for tool in tools:
            self.add(tool)

    def add(self, tool: Tool) -> None:
        self._tools[tool.name] = tool
        self._retired.pop(tool.name, None)

    def remove(self, name: str) -> None:
        self._tools.pop(name, None)

    def retire(self, name: str, reason: str) -> None:
        """Offer `name` no more: a call of it (the model may still have it from an earlier
        request) is answered with `reason`, and its line still reads as its tool's."""
        tool = self._tools.pop(name, None)
        if tool is not None:
            self._retired[name] = (tool, reason)

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tools)

    def __len__(self) -> int:
        return len(self._tools)

    def specs(self) -> tuple[dict[str, Any], ...]:
        """The request's `tools`: one function per tool."""
        return tuple({"type": "function", "function": {
            "name": tool.name, "description": tool.description,
            "parameters": tool.parameters}} for tool in self._tools.values())

    async def call(self, name: str, arguments: str, *,
                   timeout: float = CALL_TIMEOUT) -> ToolOutcome:
        """Run one call as the model wrote it. Never raises (but cancellation): a problem
        is an outcome with `failed` set and a result saying what was wrong."""
        tool = self._tools.get(name)
        if tool is None and name in self._retired:
            return ToolOutcome(cap(self._retired[name][1]), failed=True)
        if tool is None:
            known = ", ".join(self._tools) or "none"
            return ToolOutcome(cap(f"There is no tool named “{one_line(name, 80)}”. The "
                                   f"tools are: {known}."), failed=True)
        parsed, problem = parse_arguments(arguments, tool.parameters)
        if problem is not None:
            return ToolOutcome(cap(problem), failed=True)
        if not tool.read_only:
            # Before the time limit starts: the user may take a while to answer.
            refusal = NO_APPROVER if self.approve is None else await self.approve(tool, parsed)
            if refusal is not None:
                return ToolOutcome(cap(refusal), failed=True)
        try:
            result = await asyncio.wait_for(tool.run(parsed), timeout)
        except ToolError as exc:
            return ToolOutcome(cap(str(exc)), failed=True)
        except TimeoutError:
            return ToolOutcome(cap(f"The tool took longer than {timeout:g} s and was "
                                   "stopped."), failed=True)
        except Exception as exc:  # a tool's bug must not end the turn
            log.warning("tool %s failed", name, exc_info=True)
            error = one_line(f"{type(exc).__name__}: {exc}", 300)
            return ToolOutcome(cap(f"The tool failed: {error}"), failed=True)
        return ToolOutcome(cap(result))

    def describe(self, call: ToolCall, *, running: bool = False) -> str:
        """The chat's line for `call` (its tool's own words, or a generic line)."""
        arguments = arguments_of(call.arguments)
        result = None if running else call.result
        tool = self._tools.get(call.name) or self._retired.get(call.name, (None, ""))[0]
        if tool is not None and arguments is not None:
            try:
                return one_line(tool.describe(arguments, result, call.failed), 200)
            except Exception:  # describing is cosmetic: fall back to the generic line
                log.debug("describe failed", exc_info=True)
        return generic_description(call, running=running)


def generic_description(call: ToolCall, *, running: bool = False) -> str:
    """`🔧 name(arguments) → start of the result`, for a tool that says nothing better."""
    head = f"🔧 {one_line(call.name, 60)}({one_line(call.arguments, 60)})"
    if running:
        return head + " …"
    if call.failed:
        return head + " → " + _("failed: {why}").format(why=one_line(call.result, 80))
    return head + " → " + one_line(call.result, 60)


def arguments_of(text: str) -> dict[str, Any] | None:
    """The arguments as a JSON object, or None when they are not one."""
    try:
        value = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def parse_arguments(text: str, schema: Mapping[str, Any]
                    ) -> tuple[dict[str, Any], str | None]:
    """(arguments, None), or ({}, what is wrong) in words the model can act on."""
    try:
        value = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError) as exc:
        return {}, (f"The arguments are not valid JSON ({one_line(str(exc), 120)}). Send a "
                    f"JSON object such as {_example(schema)}.")
    if not isinstance(value, dict):
        return {}, f"The arguments must be a JSON object such as {_example(schema)}."
    problem = check_arguments(schema, value)
    if problem is not None:
        return {}, f"Invalid arguments: {problem}."
    return value, None


def _example(schema: Mapping[str, Any]) -> str:
    required = schema.get("required") or []
    properties = schema.get("properties") or {}
    example = {name: "…" if (properties.get(name) or {}).get("type") == "string" else 1
               for name in required}
    return json.dumps(example, ensure_ascii=False)


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
    "object": (dict,), "array": (list,), "null": (type(None),),
}


def check_arguments(schema: Mapping[str, Any], value: Any, where: str = "") -> str | None:
    """What is wrong with `value` for the JSON-schema subset tools use (type, properties,
    required, additionalProperties false, enum, minimum/maximum, minLength/maxLength,
    items), or None. Keywords outside the subset are not checked: the tool checks again."""
    kind = schema.get("type")
    kinds = [kind] if isinstance(kind, str) else list(kind) if isinstance(kind, list) else []
    label = where or "the arguments"
    if kinds and not any(_is(value, k) for k in kinds):
        return f"{label} should be {' or '.join(kinds)}"
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        values = ", ".join(json.dumps(v, ensure_ascii=False) for v in enum)
        return f"{label} should be one of {values}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, int | float) and value < low:
            return f"{label} should be at least {low}"
        if isinstance(high, int | float) and value > high:
            return f"{label} should be at most {high}"
    if isinstance(value, str):
        shortest, longest = schema.get("minLength"), schema.get("maxLength")
        if isinstance(shortest, int) and len(value) < shortest:
            return f"{label} should have at least {shortest} characters"
        if isinstance(longest, int) and len(value) > longest:
            return f"{label} should have at most {longest} characters"
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name in schema.get("required") or ():
            if name not in value:
                return f"“{name}” is required"
        for name, item in value.items():
            sub = properties.get(name)
            if sub is None:
                if schema.get("additionalProperties") is False:
                    allowed = ", ".join(properties) or "none"
                    return (f"there is no argument “{one_line(str(name), 60)}” "
                            f"(arguments: {allowed})")
                continue
            if isinstance(sub, Mapping):
                problem = check_arguments(sub, item, f"“{name}”")
                if problem is not None:
                    return problem
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            problem = check_arguments(schema["items"], item, f"{label}[{index}]")
            if problem is not None:
                return problem
    return None


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return math.isfinite(value) and value.is_integer()
    return isinstance(value, _TYPES.get(kind, (object,)))
