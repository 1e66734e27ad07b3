"""One MCP server over stdio: started, asked for its tools, called, stopped — and why it
stopped, in words.

The only module that imports the `mcp` SDK (the `[mcp]` extra), and only once a server is
started: `mcp.client.stdio.stdio_client` runs the command and speaks JSON-RPC on its stdin
and stdout, `ClientSession` the protocol. The command runs under the app's watchdog
(llm/watchdog.py, `STDIO`), so the server ends with the app however the app ends; the
watchdog writes how a server that ended by itself ended to the end of its log (the server's
standard error), which is where the reason shown to the user comes from.

The SDK's contexts (anyio task groups) must be entered and left by one task, so each server
has a task of its own (`_run`) that holds them until the server is stopped or its output
ends; calls come from the tool loop's task through the session. What the rest of the app gets
is plain: `ToolSpec`s, result text, and one-line reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.core.text import one_line, sanitize
from moviechat_tui.llm.watchdog import CANNOT_RUN_MARK, EXIT_MARK, log_tail

log = logging.getLogger(__name__)

START_TIMEOUT = 15.0
"""Seconds a server has to answer `initialize` and list its tools."""
CONTENT_LIMIT = 20_000
"""Characters of a result kept before the registry cuts it to what the model is sent."""


class ToolSpec(Record):
    """A tool as its server describes it (`tools/list`)."""

    name: str
    description: str
    parameters: dict[str, Any]
    read_only: bool
    """The server marks it `readOnlyHint`: it changes nothing, and runs without asking."""


class CallResult(Record):
    text: str
    is_error: bool = False


class StartFailed(Exception):
    """The server did not start; `reason` says why in one line (translated)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CallFailed(Exception):
    """A call that got no result; the message is for the model (English)."""


class _NotMcp(Exception):
    """What the server printed while starting was not JSON-RPC."""


class McpConnection:
    """One server: `start()` it, `call()` its tools, `stop()` it."""

    def __init__(self, name: str, command: Sequence[str], env: Mapping[str, str],
                 log_path: Path, *, start_timeout: float = START_TIMEOUT) -> None:
        self.name = name
        self._command = list(command)
        self._env = dict(env)
        self.log_path = log_path
        self._start_timeout = start_timeout
        self._session: Any = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._output_ended = False
        self._garbled = 0
        """Lines of its output that were not JSON-RPC (a program that does not speak MCP)."""
        self._on_stopped: Callable[[str], None] = lambda reason: None
        self._starting: Any = None
        """The anyio cancel scope of `initialize`, while it runs."""

    def __repr__(self) -> str:  # never the environment: it may hold a token
        return f"McpConnection({self.name!r})"

    @property
    def running(self) -> bool:
        return self._session is not None and not self._output_ended

    async def start(self, on_stopped: Callable[[str], None]) -> tuple[ToolSpec, ...]:
        """Run the server and return its tools once it answered. Raises StartFailed.
        `on_stopped(reason)` is called if it stops later without being asked to."""
        self._on_stopped = on_stopped
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[tuple[ToolSpec, ...]] = loop.create_future()
        self._task = loop.create_task(self._run(ready), name=f"moviechat-mcp-{self.name}")

        def ended(task: asyncio.Task[None]) -> None:
            # `_run` answers `ready` itself; this is for what it did not foresee.
            problem = None if task.cancelled() else task.exception()
            if problem is not None:
                log.error("MCP server %s", self.name, exc_info=problem)
            if not ready.done():
                ready.set_exception(StartFailed(
                    _describe(problem) if problem is not None else _("it did not start")))

        self._task.add_done_callback(ended)
        try:
            return await ready
        except asyncio.CancelledError:
            self._task.cancel()  # the SDK still stops the process (its shutdown is shielded)
            raise

    async def stop(self, timeout: float = 8.0) -> None:
        """Stop the server: its stdin closes (the MCP way), then it is stopped if it does
        not leave (the SDK, and the watchdog too). Waits at most `timeout` seconds."""
        self._stopping = True
        self._wake.set()
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=timeout)

    async def call(self, tool: str, arguments: dict[str, Any]) -> CallResult:
        """Call `tool`; raises CallFailed when no result came back."""
        session = self._session
        if session is None or self._output_ended:
            raise CallFailed(f"The MCP server “{self.name}” is not running, so its tools "
                             "cannot be used now.")
        try:
            result = await session.call_tool(tool, arguments)
        except Exception as exc:
            await asyncio.sleep(0)  # let the output's end be seen first, if that was it
            if self._output_ended:
                raise CallFailed(f"The MCP server “{self.name}” stopped during the call, "
                                 "so there is no result.") from None
            detail = one_line(getattr(exc, "message", None) or str(exc) or
                              type(exc).__name__, 300)
            raise CallFailed(f"The MCP server “{self.name}” could not run the tool: "
                             f"{detail}") from None
        data = result.model_dump(mode="json", by_alias=True, exclude_none=True)
        return CallResult(result_text(data), bool(data.get("isError")))

    # -- the server's task --------------------------------------------------------------

    async def _run(self, ready: asyncio.Future[tuple[ToolSpec, ...]]) -> None:
        import anyio
        from mcp import ClientSession
        from mcp.client.stdio import StdioServerParameters, stdio_client

        _sdk_logs_to_ours()
        params = StdioServerParameters(command=self._command[0], args=self._command[1:],
                                       env=self._env)
        problem: Exception | None = None
        started = False
        with _log_file(self.log_path) as errlog:
            try:
                async with stdio_client(params, errlog=errlog) as (read, write):
                    send, receive = anyio.create_memory_object_stream[Any](0)
                    async with anyio.create_task_group() as group:
                        group.start_soon(self._relay, read, send)
                        async with ClientSession(receive, write) as session:
                            tools: tuple[ToolSpec, ...] = ()
                            # Cancelled by the relay at the first line that is not JSON-RPC.
                            with anyio.CancelScope() as self._starting:
                                with anyio.fail_after(self._start_timeout):
                                    await session.initialize()
                                    tools = await _list_tools(session)
                                started = True
                            self._starting = None
                            if not started:
                                raise _NotMcp
                            self._session = session
                            if not ready.done():
                                ready.set_result(tools)
                            await self._wake.wait()
                        group.cancel_scope.cancel()
            except Exception as exc:  # whatever went wrong is said in one line below
                problem = exc
                log.info("MCP server %s: %s", self.name, _describe(exc))
            finally:
                self._session = None
        if not started:
            if not ready.done():
                ready.set_exception(StartFailed(self._start_failure(problem)))
        elif not self._stopping:
            self._on_stopped(self._end_reason())
        else:
            with contextlib.suppress(OSError):  # a clean run leaves no log behind
                self.log_path.unlink()

    async def _relay(self, read: Any, send: Any) -> None:
        """Pass the server's messages on to the session, noticing when its output ends
        (it exited or closed stdout: the connection is over) and what was not JSON-RPC."""
        import anyio

        try:
            async with send:
                async for item in read:
                    if isinstance(item, Exception):
                        self._garbled += 1
                        if self._starting is not None:  # not an MCP server: why wait?
                            self._starting.cancel()
                    await send.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass
        finally:
            self._output_ended = True
            self._wake.set()

    # -- the reasons ------------------------------------------------------------------------

    def _start_failure(self, problem: Exception | None) -> str:
        status, cannot_run, words = self._last_words()
        if cannot_run:
            return _("its command could not be run ({reason})").format(reason=cannot_run)
        if self._garbled:
            return _("it does not speak MCP (what it printed was not JSON-RPC)")
        if _is_timeout(problem) and not self._output_ended:
            return _("it did not answer within {seconds:g} s, so it was stopped").format(
                seconds=self._start_timeout)
        if status is not None or self._output_ended:
            return self._exit_words(status, words) + (
                " " + _("before it was ready") if status is None else "")
        return _describe(problem) if problem is not None else _("it did not start")

    def _end_reason(self) -> str:
        status, _cannot_run, words = self._last_words()
        return self._exit_words(status, words)

    def _exit_words(self, status: int | None, words: str) -> str:
        if status is None:
            text = _("it closed its output")
        elif status < 0:
            try:
                name = signal.Signals(-status).name
            except ValueError:
                name = str(-status)
            text = _("it was ended by a signal ({signal})").format(signal=name)
        else:
            text = _("it exited with code {code}").format(code=status)
        if words and (status is None or status > 0):
            text += " (“" + words + "”)"
        return text

    def _last_words(self) -> tuple[int | None, str | None, str]:
        """From the end of its log: its exit status (from the watchdog), a command that
        could not be run, and its own last line."""
        lines = log_tail(self.log_path, 8)
        status: int | None = None
        cannot_run: str | None = None
        own: list[str] = []
        for line in lines:
            if line.startswith(EXIT_MARK):
                with contextlib.suppress(ValueError):
                    status = int(line[len(EXIT_MARK):].strip())
            elif line.startswith(CANNOT_RUN_MARK):
                cannot_run = one_line(line[len(CANNOT_RUN_MARK):], 120)
            else:
                own.append(line)
        return status, cannot_run, one_line(own[-1], 120) if own else ""


async def _list_tools(session: Any) -> tuple[ToolSpec, ...]:
    """Every tool of the server (following `nextCursor` pages)."""
    from mcp.types import PaginatedRequestParams

    specs: list[ToolSpec] = []
    cursor: str | None = None
    for _page in range(50):
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        listed = await session.list_tools(params=params)
        data = listed.model_dump(mode="json", by_alias=True, exclude_none=True)
        specs += [spec for spec in map(tool_spec, data.get("tools") or []) if spec]
        cursor = data.get("nextCursor")
        if not cursor:
            break
    return tuple(specs)


def tool_spec(data: Any) -> ToolSpec | None:
    """A `tools/list` entry (as JSON) as a ToolSpec; None if it has no usable name."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return None
    name = one_line(data["name"], 128)
    if not name:
        return None
    schema = data.get("inputSchema")
    schema = dict(schema) if isinstance(schema, dict) else {}
    schema.setdefault("type", "object")
    schema.setdefault("properties", {})
    annotations = data.get("annotations")
    read_only = isinstance(annotations, dict) and annotations.get("readOnlyHint") is True
    description = data.get("description")
    title = data.get("title") or (annotations or {}).get("title")
    text = description if isinstance(description, str) else title if isinstance(
        title, str) else ""
    return ToolSpec(name, sanitize(text).strip()[:1000], schema, read_only)


def result_text(data: Mapping[str, Any]) -> str:
    """A `tools/call` result (as JSON) as text for the model: its text blocks in order;
    other blocks named; the structured content when there is no text."""
    parts: list[str] = []
    for block in data.get("content") or []:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text" and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif kind == "resource" and isinstance(block.get("resource"), dict):
            resource = block["resource"]
            parts.append(resource["text"] if isinstance(resource.get("text"), str)
                         else f"[resource {resource.get('uri', '')}]")
        elif kind == "resource_link":
            parts.append(f"[link {block.get('uri', '')}]")
        elif kind in ("image", "audio"):
            parts.append(f"[{kind} {block.get('mimeType', '')}, not shown]")
    if not parts and data.get("structuredContent") is not None:
        parts.append(json.dumps(data["structuredContent"], ensure_ascii=False))
    return "\n".join(parts)[:CONTENT_LIMIT]


def _describe(problem: BaseException) -> str:
    """An exception (or the first of a group) in one line."""
    while isinstance(problem, BaseExceptionGroup) and problem.exceptions:
        problem = problem.exceptions[0]
    return one_line(getattr(problem, "message", None) or str(problem) or
                    type(problem).__name__, 160)


def _is_timeout(problem: BaseException | None) -> bool:
    while isinstance(problem, BaseExceptionGroup) and problem.exceptions:
        problem = problem.exceptions[0]
    return isinstance(problem, TimeoutError)


@contextlib.contextmanager
def _log_file(path: Path) -> Iterator[TextIO]:
    """The server's standard error: a file only the user can read (it may print tokens).
    A log folder that cannot be written is no reason not to start: /dev/null then (like the
    app's own log), and the reasons given are the less detailed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        log.warning("MCP server log %s: %s", path, exc)
        fd = os.open(os.devnull, os.O_WRONLY)
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
        yield handle


def _sdk_logs_to_ours() -> None:
    """The SDK logs under `mcp`: into the app's log file (never onto the terminal, which
    the UI owns), warnings and worse."""
    ours = logging.getLogger("moviechat_tui")
    sdk = logging.getLogger("mcp")
    if ours.handlers and not sdk.handlers:
        sdk.handlers[:] = list(ours.handlers)
        sdk.setLevel(logging.WARNING)
        sdk.propagate = False
