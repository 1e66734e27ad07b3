"""Child processes that never outlive the app: the `--local` model server and MCP servers.

However the app ends — ctrl+q, ctrl+c, SIGTERM, SIGHUP, even `kill -9` — a server it started
must end too. Three layers guard that:

1. A *watchdog* process (this module, run with ``python -c``) is the server's parent and leads
   its own session and process group. It watches a pipe whose write end only the app holds:
   when the app exits or is killed, the kernel closes the write end and the watchdog stops
   the server. Which pipe depends on the server:

   - ``--local`` (`watch` = a file descriptor): a pipe made for the purpose, passed to the
     watchdog; it reads EOF. The server's output goes to its log.
   - MCP servers (`watch` = ``"stdio"``): the app talks to the server over its standard input
     and output, so the server inherits the watchdog's; the watchdog watches that same stdin
     for a hang-up (`poll` reports POLLHUP on a pipe with no writer left) without reading
     from it — the input is the server's. The app closing the pipe is the MCP way of saying
     "stop": the server gets `grace` seconds to leave on its own before it is stopped.

2. The watchdog gives the server ``PR_SET_PDEATHSIG = SIGKILL`` (Linux): if the watchdog itself
   is killed, the server dies with it. The watchdog is single-threaded, so the `preexec_fn`
   that sets it is safe there.
3. When the app starts the watchdog from its main thread, the watchdog also sets
   ``PR_SET_PDEATHSIG = SIGTERM`` on itself right after exec. The kernel sends that signal when
   the *thread* that forked the watchdog exits, so it is skipped from worker threads (it would
   kill the server as soon as the worker returned). It is set inside the watchdog, not in a
   `preexec_fn` in the app, because `preexec_fn` is unsafe in a multi-threaded parent and
   Textual runs threads.

The watchdog runs with nothing of the app but this module (stdlib only), so it starts in a few
tens of milliseconds whatever the environment it is given.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

STDIO = "stdio"
"""`watch` for a server the app talks to over its stdin and stdout (MCP)."""
_PR_SET_PDEATHSIG = 1
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from moviechat_tui.llm.watchdog import main as _watchdog_main; "
    "raise SystemExit(_watchdog_main(sys.argv[2:]))"
)
"""What `python -c` runs: the package is put on the path explicitly (`-P` keeps the current
directory off it), whatever environment the watchdog gets."""
NOT_STARTED = 127
"""The watchdog's exit code when the server's command could not be run at all."""
CANNOT_RUN_MARK = "moviechat-watchdog: cannot run "
EXIT_MARK = "moviechat-watchdog: server exit status "
"""Starts the last line of a STDIO server's log: its exit status follows (negative: the
signal that ended it)."""


def watched_command(command: Sequence[str], *, watch: int | str, grace: float) -> list[str]:
    """The command line that runs `command` under a watchdog of this process. `watch` is the
    read end of the app's pipe (passed to the child, e.g. with `pass_fds`) or `STDIO`;
    `grace` the seconds a server gets to stop before it is killed. Call it on the thread
    that starts the process (see 3. above)."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    package_root = str(Path(__file__).resolve().parents[2])
    return [sys.executable, "-P", "-c", BOOT, package_root, str(os.getpid()), str(watch),
            "1" if on_main_thread else "0", str(grace), "--", *command]


def log_tail(log_path: Path | None, count: int = 6) -> list[str]:
    """The last lines of a server's log that say something: no traceback frames, blanks or
    carets; each one line of at most 300 characters."""
    from moviechat_tui.core.text import one_line  # not in the watchdog: it never needs it

    if log_path is None:
        return []
    try:
        with open(log_path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16384))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    lines = []
    for raw in text.splitlines():
        line = one_line(raw, limit=300)
        if (not line or raw[:1].isspace() or line.startswith("Traceback (most recent call")
                or set(line) <= set("^~ ")):
            continue
        lines.append(line)
    return lines[-count:]


def set_parent_death_signal(signum: int) -> bool:
    """Ask Linux to send `signum` to this process when the thread that forked it exits."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        result: int = libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
        return result == 0
    except (OSError, AttributeError):
        return False


def _server_preexec() -> None:
    # Runs in the forked server before exec. Safe because the watchdog has one thread.
    set_parent_death_signal(signal.SIGKILL)


def main(argv: list[str]) -> int:
    """Start the server, then stop it when the app's pipe closes or a signal arrives.

    argv: PARENT_PID WATCH PDEATHSIG(0|1) GRACE -- SERVER_COMMAND...
    With a pipe to watch, prints the server pid as the first line on stdout, then stays
    quiet; with STDIO the server has stdin and stdout. Signals only set a flag (no exception
    can land half-way through `Popen`); a wakeup fd interrupts `poll`, and SIGCHLD wakes it
    when the server exits.
    """
    separator = argv.index("--")
    parent_pid, watch = int(argv[0]), argv[1]
    want_pdeathsig, grace, command = argv[2] == "1", float(argv[3]), argv[separator + 1:]
    stdio = watch == STDIO

    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, request_stop)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    if want_pdeathsig:
        set_parent_death_signal(signal.SIGTERM)
    if os.getppid() != parent_pid:  # the app died before we could watch it
        return 1

    try:
        if stdio:
            server = subprocess.Popen(command, preexec_fn=_server_preexec)
        else:
            server = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=2, stderr=2,
                                      preexec_fn=_server_preexec)
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        os.write(2, f"{CANNOT_RUN_MARK}{command[0]}: {reason}\n".encode())
        return NOT_STARTED
    app_gone = False
    try:
        if not stdio:
            os.write(1, f"{server.pid}\n".encode())
        # Our copy of stdout goes: the app reads the end of it (EOF) when the server is gone.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
        watched = 0 if stdio else int(watch)
        poller = select.poll()
        poller.register(wake_read, select.POLLIN)
        # STDIO: hang-ups only (they are always reported); the data is the server's to read.
        poller.register(watched, 0 if stdio else select.POLLIN)
        while not stopping and not app_gone:
            if server.poll() is not None:
                break
            for fd, mask in poller.poll(1000):
                if fd == wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(wake_read, 512)
                elif stdio:
                    app_gone = bool(mask & (select.POLLHUP | select.POLLERR))
                elif not os.read(watched, 64):
                    app_gone = True  # EOF: the app closed the pipe or is gone
    finally:
        if server.poll() is None and app_gone and stdio:
            # It read EOF too: the MCP way to stop. Time to leave on its own first.
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(grace)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(grace)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    code = server.returncode
    if stdio:
        # How it ended, after its own last words: the app reads this when the server
        # stopped without being asked to, to say why.
        with contextlib.suppress(OSError):
            os.write(2, f"{EXIT_MARK}{code}\n".encode())
    return 128 - code if code < 0 else code
