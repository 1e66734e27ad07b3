"""SIGTERM and SIGHUP quit the app the way ctrl+q does.

`kill`, a closed terminal window or a system shutdown would otherwise end the process
mid-reply, with the reply unsaved and the terminal left in the app's modes. Instead the app
stops and saves everything (its `_shut_down`), gives the terminal back and exits with
128 + the signal's number, as a shell reports a program ended by it. After SIGHUP the
terminal is gone: the process ends without Textual's teardown, whose writes to it would block
forever. Whatever happens, a watchdog ends the process SIGNAL_EXIT_GRACE seconds after the
signal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable

QUIT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                     if hasattr(signal, name))
"""Signals that quit like ctrl+q (reply saved, terminal restored)."""

SIGNAL_EXIT_GRACE = 10.0
"""Seconds after such a signal before the process ends even if quitting has not finished
(stopping a --local server alone may take 5)."""

log = logging.getLogger(__name__)


def exit_now(code: int) -> None:
    """End the process at once (everything is saved): logs flushed, no terminal teardown."""
    logging.shutdown()
    os._exit(code)


def install(on_signal: Callable[[int], None]) -> None:
    """Call `on_signal(signum)` on the running loop when a quit signal arrives. A signal the
    app was started ignoring (`nohup`) stays ignored."""
    loop = asyncio.get_running_loop()
    for signum in QUIT_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_IGN:
            continue
        try:
            loop.add_signal_handler(signum, on_signal, signum)
        except (NotImplementedError, RuntimeError, ValueError):  # no signals here
            return


async def quit_for_signal(signum: int, shut_down: Callable[[], Awaitable[object]],
                          exit_app: Callable[[int], None]) -> None:
    """Quit after `signum`: `shut_down()` (stop and save), then `exit_app(128 + signum)`,
    or after SIGHUP end the process at once; the watchdog ends it if any of that hangs."""
    log.info("quitting on signal %d", signum)
    code = 128 + signum
    # Textual's teardown writes to the terminal; with the terminal gone that write waits
    # forever (seen after SIGHUP). Whatever happens below, the process ends.
    watchdog = threading.Timer(SIGNAL_EXIT_GRACE, exit_now, args=(code,))
    watchdog.daemon = True
    watchdog.start()
    try:
        await shut_down()
    except Exception:  # the conversation is saved before the view, and the log says
        log.exception("quitting on signal %d", signum)
    finally:
        if signum == getattr(signal, "SIGHUP", None):
            exit_now(code)  # the terminal is gone: there is nothing to restore
        exit_app(code)
