"""One browser tab's app: a `moviechat` process driven through textual-serve's web driver.

textual-serve's `AppService` runs the command, relays its screen to the websocket and the
websocket's keys to it. Three things change here, because a tab must end the way a terminal
window does (the reply saved, no process left behind):

- The process is started from an argument list in a session of its own (not through a shell
  in ours): a ctrl+c in the terminal that runs `serve` reaches `serve` alone, which then stops
  each tab in order, instead of every app dying at once from the same keypress.
- It is stopped with SIGTERM, the app's "the terminal went away" signal: the app stops a
  streaming reply, saves, and exits (moviechat_tui/tui/app.py, QUIT_SIGNALS). textual-serve
  sends a "quit" message instead, which ends a Textual app without that save.
- `stop()` waits for the process to end, and kills it if it has not after `STOP_GRACE`
  seconds (the app gives itself 10), so no tab outlives `serve`.

Each tab's environment may carry extra variables (the shared `--local` server, see
shared_local.py); they go to that process only, never on its command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from asyncio.subprocess import PIPE, Process
from collections.abc import Mapping, Sequence

from textual_serve.app_service import AppService

log = logging.getLogger(__name__)

STOP_GRACE = 15.0
"""Seconds a tab's app has to save and exit after SIGTERM before it is killed."""


class TabProcess(AppService):
    """An `AppService` that runs `argv` in its own session and stops it like a closed
    terminal. Relies on textual-serve 1.1's `_build_environment`/`_open_app_process`."""

    def __init__(self, argv: Sequence[str], extra_env: Mapping[str, str], **kwargs: object
                 ) -> None:
        import shlex

        super().__init__(shlex.join(argv), **kwargs)  # type: ignore[arg-type]
        self._argv = list(argv)
        self._extra_env = dict(extra_env)
        self._stopping: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width=width, height=height)
        environment.update(self._extra_env)
        return environment

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        process = await asyncio.create_subprocess_exec(
            *self._argv, stdin=PIPE, stdout=PIPE, stderr=PIPE,
            env=self._build_environment(width=width, height=height), start_new_session=True)
        assert process.stdin is not None
        self._process, self._stdin = process, process.stdin
        return process

    async def stop(self) -> None:
        """End the app as a closed terminal would; safe to call again, or concurrently (the
        websocket's end and `serve` stopping can both ask)."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        await self._download_manager.cancel_app_downloads(app_service_id=self.app_service_id)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                log.warning("tab app %s did not quit within %.0f s: killed", process.pid,
                            STOP_GRACE)
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._task is not None:  # relays the last of its output, then sees the end
            await self._task
            self._task = None
