"""Run a program in a real pseudo-terminal and read its screen with pyte.

End-to-end tests use this to drive `moviechat` the way a person does: keys go in as the bytes
an xterm would send, and assertions read the emulated screen, not widget state.

    with Terminal([sys.executable, "-m", "moviechat_tui"], cols=80, rows=24) as term:
        term.wait_for("Lights down", timeout=10)
        term.send("Who directed Alien?")
        term.press("enter")
        term.wait_for("Ridley Scott", timeout=10)
        term.press("ctrl+q")
        assert term.wait_exit(10) == 0

Design notes:
- `os.openpty` + `subprocess.Popen(start_new_session=True)`: the program leads its own
  session and process group, so `close()` can kill everything it started in that group. A
  tiny trampoline makes the pty its *controlling* terminal (as a terminal emulator would)
  before it execs the real command; that costs one short interpreter start-up, and avoids a
  `preexec_fn`, which is unsafe when the test process runs threads (the loopback server does).
- Reading is non-blocking (`select` + `os.read`) and happens only inside `wait_for`,
  `wait_exit`, `pump` and `display`; every byte read is kept in `output` so tests can check
  what the program sent to the terminal, escape sequences included.
- Some terminal queries (device attributes, cursor position) are answered by pyte through
  `write_process_input`, which is wired back to the pty so the program is never left waiting.
- Like most modern terminals, it supports synchronized output (mode 2026): it answers
  Textual's query for it, and then shows a frame only once it is complete (the bytes between
  `ESC[?2026h` and `ESC[?2026l` are applied together). Without this, a read can land in the
  middle of a repaint, and the screen briefly shows half of the old frame and half of the new.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType

import pyte

KEYS: dict[str, str] = {
    "enter": "\r",
    "ctrl+j": "\n",
    "tab": "\t",
    "shift+tab": "\x1b[Z",
    "escape": "\x1b",
    "backspace": "\x7f",
    "up": "\x1b[A",
    "down": "\x1b[B",
    "right": "\x1b[C",
    "left": "\x1b[D",
    "home": "\x1b[H",
    "end": "\x1b[F",
    "pageup": "\x1b[5~",
    "pagedown": "\x1b[6~",
    "f1": "\x1bOP",
    "f2": "\x1bOQ",
    "f3": "\x1bOR",
    "f4": "\x1bOS",
    "f5": "\x1b[15~",
    "f6": "\x1b[17~",
    "f7": "\x1b[18~",
    "f8": "\x1b[19~",
    "f9": "\x1b[20~",
    **{f"ctrl+{c}": chr(ord(c) - ord("a") + 1) for c in "abcdefghiklnopqrstuvwxyz"},
}
"""What xterm sends for each named key (ctrl+j stays a line feed, ctrl+m would be enter)."""

# Runs as the session leader the Popen made: take the pty (fd 0) as controlling terminal,
# then become the real program. -S -I: no site, no user env, so it starts in ~15 ms.
_CTTY_TRAMPOLINE = (
    "import fcntl, os, sys, termios; "
    "fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execvp(sys.argv[1], sys.argv[1:])"
)

Predicate = Callable[[str], bool]

SYNC_START = b"\x1b[?2026h"
SYNC_END = b"\x1b[?2026l"
# Queries pyte does not answer, with the reply of a terminal that supports the mode.
_QUERY_REPLIES = {
    b"\x1b[?2026$p": b"\x1b[?2026;2$y",  # DECRQM synchronized output: supported, now off
}
_LONGEST_QUERY = max(len(q) for q in _QUERY_REPLIES)
_MAX_HELD_FRAME = 8 * 1024 * 1024  # a frame that never ends is shown anyway past this


class Terminal:
    """One program in one pty, with a pyte screen of `cols` x `rows`."""

    def __init__(self, argv: Sequence[str], *, cols: int = 120, rows: int = 40,
                 env: Mapping[str, str] | None = None,
                 cwd: str | os.PathLike[str] | None = None,
                 sync_output: bool = True) -> None:
        self.argv = list(argv)
        self.cols = cols
        self.rows = rows
        self.env = dict(os.environ if env is None else env)
        self.cwd = cwd
        self.screen = pyte.Screen(cols, rows)
        self.screen.write_process_input = self._answer_terminal_query  # type: ignore[method-assign]
        self.stream = pyte.ByteStream(self.screen)
        self.output = bytearray()
        """Every byte the program wrote to the terminal, in order."""
        self._master: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._eof = False
        self.sync_output = sync_output
        self._held = bytearray()  # read but not yet shown: an unfinished frame or escape
        self._in_frame = False
        self._scanned = 0  # how far `output` was searched for queries

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Terminal:
        if self._proc is not None:
            raise RuntimeError("already started")
        master, slave = os.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ,
                        struct.pack("HHHH", self.rows, self.cols, 0, 0))
            env = dict(self.env)
            env["TERM"] = "xterm-256color"
            for name in ("COLUMNS", "LINES", "TERM_PROGRAM", "TMUX", "STY"):
                env.pop(name, None)
            self._proc = subprocess.Popen(
                [sys.executable, "-S", "-I", "-c", _CTTY_TRAMPOLINE, *self.argv],
                stdin=slave, stdout=slave, stderr=slave, env=env, cwd=self.cwd,
                start_new_session=True, close_fds=True,
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        return self

    def close(self) -> None:
        """Kill the program's process group if it is still running; release the pty."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.close(self._master)
            self._master = None

    def __enter__(self) -> Terminal:
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("not started")
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send `sig` to the program itself (not its group)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Wait for the program to end, reading its output meanwhile; returns the exit code."""
        assert self._proc is not None, "not started"
        deadline = time.monotonic() + timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                self.pump(0)  # whatever it wrote last
                return code
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.argv[0]} still running after {timeout} s; screen:\n"
                    + self.dump())
            self.pump(min(remaining, 0.05))

    # ------------------------------------------------------------------ input
    def send(self, data: str | bytes) -> None:
        """Write to the program as if typed (str is UTF-8 encoded)."""
        raw = data.encode() if isinstance(data, str) else bytes(data)
        master = self._require_master()
        while raw:
            try:
                written = os.write(master, raw)
            except BlockingIOError:
                self.pump(0.01)  # the program is busy writing; drain so it can read
                continue
            raw = raw[written:]

    def press(self, *keys: str) -> None:
        """Press named keys in order: "enter", "escape", "f3", "ctrl+q", ..."""
        for key in keys:
            try:
                self.send(KEYS[key.lower()])
            except KeyError:
                raise ValueError(f"unknown key {key!r}; known: {', '.join(KEYS)}") from None

    # ------------------------------------------------------------------ output
    def pump(self, timeout: float = 0.0) -> bool:
        """Read what is available within `timeout` seconds into the screen; True if any."""
        if self._master is None or self._eof:
            return False
        got = False
        wait = timeout
        while True:
            try:
                ready, _w, _x = select.select([self._master], [], [], wait)
            except InterruptedError:
                continue
            if not ready:
                return got
            try:
                chunk = os.read(self._master, 65536)
            except BlockingIOError:
                return got
            except OSError as error:
                if error.errno == errno.EIO:  # every slave fd closed: the program is gone
                    self._end_of_output()
                    return got
                raise
            if not chunk:
                self._end_of_output()
                return got
            got = True
            self.output.extend(chunk)
            self._answer_queries()
            self._show(chunk)
            wait = 0  # keep draining what is already there, then return

    def display(self) -> str:
        """The screen as text, one line per row (trailing spaces removed)."""
        self.pump(0)
        return "\n".join(line.rstrip() for line in self.screen.display)

    def lines(self) -> list[str]:
        return self.display().splitlines()

    def dump(self) -> str:
        """The screen framed for an assertion message."""
        rule = "+" + "-" * self.cols + "+"
        body = "\n".join(f"|{line.ljust(self.cols)}|" for line in self.screen.display)
        return f"{rule}\n{body}\n{rule}"

    def wait_for(self, expected: str | Predicate, timeout: float = 10.0,
                 *, interval: float = 0.05) -> str:
        """Read until the screen contains `expected` (or `expected(screen_text)` is true).

        Returns the matching screen text; raises AssertionError with the screen on timeout or
        if the program exits first without the screen matching.
        """
        if isinstance(expected, str):
            needle = expected

            def matches(text: str) -> bool:
                return needle in text

            what = repr(needle)
        else:
            matches = expected
            what = getattr(expected, "__name__", "predicate")
        deadline = time.monotonic() + timeout
        while True:
            self.pump(0)
            text = "\n".join(line.rstrip() for line in self.screen.display)
            if matches(text):
                return text
            if self._eof or (self._proc is not None and self._proc.poll() is not None):
                self.pump(0)
                text = self.display()
                if matches(text):
                    return text
                raise AssertionError(
                    f"program exited (code {self.returncode}) before the screen showed {what};"
                    f" screen:\n{self.dump()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"screen did not show {what} within {timeout} s; screen:\n{self.dump()}")
            self.pump(min(remaining, interval))

    # ------------------------------------------------------------------ internals
    def _require_master(self) -> int:
        if self._master is None:
            raise RuntimeError("terminal not started or already closed")
        return self._master

    def _show(self, chunk: bytes) -> None:
        """Feed pyte, holding back an unfinished synchronized frame until it is complete."""
        if not self.sync_output:
            self.stream.feed(chunk)
            return
        held = self._held
        held.extend(chunk)
        while held:
            if self._in_frame:
                end = held.find(SYNC_END)
                if end < 0:
                    if len(held) > _MAX_HELD_FRAME:
                        self.stream.feed(bytes(held))
                        held.clear()
                    return
                cut = end + len(SYNC_END)
                self._in_frame = False
            else:
                start = held.find(SYNC_START)
                if start >= 0:
                    cut = start + len(SYNC_START)
                    self._in_frame = True
                else:
                    # Keep a tail that might be the first bytes of SYNC_START.
                    escape = held.rfind(b"\x1b", max(0, len(held) - len(SYNC_START) + 1))
                    cut = escape if escape >= 0 and SYNC_START.startswith(held[escape:]) \
                        else len(held)
                    if cut == 0:
                        return
            self.stream.feed(bytes(held[:cut]))
            del held[:cut]

    def _end_of_output(self) -> None:
        self._eof = True
        if self._held:
            self.stream.feed(bytes(self._held))
            self._held.clear()
        self._in_frame = False

    def _answer_queries(self) -> None:
        if not self.sync_output:
            return
        start = max(0, self._scanned - _LONGEST_QUERY + 1)
        for query, reply in _QUERY_REPLIES.items():
            at = self.output.find(query, start)
            while at >= 0:
                if at + len(query) > self._scanned:  # not answered by an earlier scan
                    self._answer_terminal_query(reply.decode())
                at = self.output.find(query, at + len(query))
        self._scanned = len(self.output)

    def _answer_terminal_query(self, data: str) -> None:
        """pyte's hook for replies to queries (DA, DSR): send them to the program.

        Called from inside `stream.feed`, so it must not read (and feed) again: a reply is a
        few bytes, which fit the pty's input buffer unless the program stopped reading."""
        if self._master is not None and not self._eof:
            with contextlib.suppress(OSError):
                os.write(self._master, data.encode())


def process_alive(pid: int) -> bool:
    """True if `pid` is running (a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    # The state follows the parenthesised command name, which may itself contain ')'.
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in ("Z", "X")
