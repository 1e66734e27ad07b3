"""A program running in a pseudo-terminal, with its screen emulated by pyte.

`Terminal.start(argv)` forks the program onto the slave side of a fresh pty (120x40, the
program's controlling terminal, like a real terminal window) and the harness reads the master
side. Every read is time-stamped with `time.monotonic()` (CLOCK_MONOTONIC: the same clock in
every process on the machine, so times taken in the loopback server are comparable) and fed to
a `pyte` screen. `wait_for_text` / `watch` report when a string first appears on the emulated
screen: after each read only the rows pyte marks dirty are searched, so polling stays cheap
while a reply streams.

/proc gives the process's resident memory (`rss_mb`) and CPU time (`cpu_seconds`; at a `Seen`
moment the finer `cpu_seconds_fine`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import pyte

COLUMNS = 120
LINES = 40
_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


class ScreenTimeout(TimeoutError):
    """The text did not appear in time; the message carries the screen for diagnosis."""


@dataclass(frozen=True)
class Seen:
    at: float
    """`time.monotonic()` of the read that put the text on the screen."""
    rss_mb: float
    """Resident memory of the program at that moment (read right after the read)."""
    cpu_s: float = 0.0
    """CPU seconds (user + system) the program had used by then (`cpu_seconds_fine`)."""


class _AnsweringScreen(pyte.Screen):
    """A pyte screen that answers the queries a real terminal answers (device attributes,
    cursor position, window and cell size in pixels), so programs that wait for a reply
    (oterm's image-support probe waits ~3 s for `CSI 16 t`) behave as in a terminal window."""

    answer_to: int | None = None
    CELL_PIXELS = (20, 10)  # height, width

    def write_process_input(self, data: str) -> None:
        if self.answer_to is not None:
            with contextlib.suppress(OSError):
                os.write(self.answer_to, data.encode())

    def window_manipulation(self, *params: int, private: bool = False) -> None:
        """XTWINOPS reports: 14 (text area in pixels), 16 (cell size), 18 (size in cells)."""
        if private or not params:
            return
        height, width = self.CELL_PIXELS
        if params[0] == 14:
            self.write_process_input(f"\x1b[4;{self.lines * height};{self.columns * width}t")
        elif params[0] == 16:
            self.write_process_input(f"\x1b[6;{height};{width}t")
        elif params[0] == 18:
            self.write_process_input(f"\x1b[8;{self.lines};{self.columns}t")


class _Stream(pyte.ByteStream):
    csi = {**pyte.ByteStream.csi, "t": "window_manipulation"}


def _make_controlling_tty() -> None:  # runs in the child between fork and exec
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, proc: subprocess.Popen[bytes], master: int, started: float) -> None:
        self.proc = proc
        self.master = master
        self.started = started
        self.screen = _AnsweringScreen(COLUMNS, LINES)
        self.screen.answer_to = master
        self.stream = _Stream(self.screen)
        self.bytes_read = 0
        self.raw: bytearray | None = None
        """Everything the program wrote, if set to a bytearray before reading."""
        self.changed_rows: set[int] = set()
        self._watches: dict[str, Seen | None] = {}
        self._closed = False

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def start(cls, argv: Sequence[str], *, env: Mapping[str, str], cwd: str | None = None,
              size: tuple[int, int] = (COLUMNS, LINES)) -> Terminal:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        started = time.monotonic()
        proc = subprocess.Popen(
            list(argv), stdin=slave, stdout=slave, stderr=slave, env=dict(env), cwd=cwd,
            start_new_session=True, preexec_fn=_make_controlling_tty, close_fds=True,
        )
        os.close(slave)
        os.set_blocking(master, False)
        term = cls(proc, master, started)
        term.screen.resize(size[1], size[0])
        return term

    def close(self, quit_keys: bytes | None = b"\x11", grace: float = 5.0) -> None:
        """Quit politely (ctrl+q by default), then SIGTERM, then SIGKILL; drain the pty."""
        if self._closed:
            return
        self._closed = True
        if self.proc.poll() is None and quit_keys:
            with contextlib.suppress(OSError):
                os.write(self.master, quit_keys)
            self._drain_until(lambda: self.proc.poll() is not None, grace)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            self._drain_until(lambda: self.proc.poll() is not None, 2.0)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        with contextlib.suppress(OSError):
            os.close(self.master)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------- reading
    def _read_once(self, timeout: float) -> float | None:
        """Feed whatever is available within `timeout`; returns the read's time or None.

        After each read, the screen rows pyte marks dirty are searched for every watched
        string not seen yet (see `watch`)."""
        try:
            ready, _, _ = select.select([self.master], [], [], max(timeout, 0.0))
        except InterruptedError:
            return None
        if not ready:
            return None
        at = time.monotonic()
        chunks = []
        while True:
            try:
                data = os.read(self.master, 1 << 16)
            except BlockingIOError:
                break
            except OSError:  # EIO: the program exited and closed the slave
                break
            if not data:
                break
            chunks.append(data)
        if not chunks:
            if self.proc.poll() is not None:
                raise ScreenTimeout(f"the program exited with {self.proc.returncode}\n"
                                    + self.text())
            return None
        data = b"".join(chunks)
        self.bytes_read += len(data)
        if self.raw is not None:
            self.raw += data
        self.stream.feed(data)
        screen = self.screen
        self.changed_rows = {row for row in screen.dirty if row < screen.lines}
        screen.dirty.clear()
        pending = [text for text, seen in self._watches.items() if seen is None]
        if pending and self.changed_rows:
            rows = [self.row(y) for y in self.changed_rows]
            for text in pending:
                if any(text in row for row in rows):
                    self._watches[text] = self._seen(at)
        return at

    def _drain_until(self, done: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self._read_once(min(left, 0.05))
            except ScreenTimeout:
                return done()
        return True

    def pump(self, seconds: float) -> None:
        """Keep reading (so the program never blocks on a full pty) for `seconds`."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._read_once(min(left, 0.05))

    # ----------------------------------------------------------------- the screen
    def row(self, y: int) -> str:
        line = self.screen.buffer[y]
        return "".join(line[x].data for x in range(self.screen.columns))

    def find_row(self, text: str) -> int | None:
        for y in range(self.screen.lines):
            if text in self.row(y):
                return y
        return None

    def has_text(self, text: str) -> bool:
        return self.find_row(text) is not None

    def watch(self, text: str) -> None:
        """Note the first time `text` appears on the screen from now on (see `seen`)."""
        self._watches.setdefault(text, None)

    def _seen(self, at: float) -> Seen:
        try:
            cpu = cpu_seconds_fine(self.proc.pid)
        except OSError:
            cpu = float("nan")
        return Seen(at, self.rss_mb(), cpu)

    def seen(self, text: str) -> Seen | None:
        return self._watches.get(text)

    def wait_for_text(self, text: str, timeout: float = 30.0) -> Seen:
        """Read until `text` is on the screen; returns when (and the RSS at that moment)."""
        self.watch(text)
        if self._watches[text] is None and self.has_text(text):
            self._watches[text] = self._seen(time.monotonic())
        deadline = time.monotonic() + timeout
        while (seen := self._watches[text]) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ScreenTimeout(f"{text!r} not on screen after {timeout:.0f} s\n"
                                    + self.text())
            self._read_once(min(left, 0.05))
        return seen

    def wait_for_row(self, y: int, test: Callable[[str], bool], timeout: float = 10.0) -> float:
        """Read until row `y` passes `test`; returns the time of the read that did it."""
        if test(self.row(y)):
            return time.monotonic()
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            at = self._read_once(min(left, 0.05))
            if at is not None and y in self.changed_rows and test(self.row(y)):
                return at
        raise ScreenTimeout(f"row {y} did not change as expected in {timeout:.0f} s\n"
                            + self.text())

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    # ------------------------------------------------------------------- writing
    def send(self, data: bytes | str) -> float:
        """Write keys to the program; returns the time just before the write."""
        raw = data.encode() if isinstance(data, str) else data
        at = time.monotonic()
        os.write(self.master, raw)
        return at

    # ---------------------------------------------------------------------- /proc
    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)


def rss_mb(pid: int) -> float:
    """VmRSS of `pid` in MiB (0.0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` (all its threads) in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    # After "pid (comm) ": state is field 3, so utime (14) and stime (15) are at 11 and 12.
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK


def _ticks(stat_path: str) -> int:
    with open(stat_path, encoding="ascii") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def cpu_seconds_fine(pid: int) -> float:
    """CPU seconds of `pid` like `cpu_seconds`, but to the nanosecond for its live threads.

    /proc/PID/stat counts clock ticks (10 ms): a 0.15 s start-up is 15 of them, so the ratio
    of two start-ups moves by several percent from rounding alone. The scheduler's own account,
    /proc/PID/task/TID/schedstat (user + system), is in nanoseconds but covers only threads
    still alive; threads that already ended are added from the ticks (the process's minus
    its live threads'). Falls back to `cpu_seconds` if a thread ends while being read."""
    try:
        live_ns = live_ticks = 0
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/schedstat", encoding="ascii") as f:
                live_ns += int(f.read().split()[0])
            live_ticks += _ticks(f"/proc/{pid}/task/{tid}/stat")
        ended = max(_ticks(f"/proc/{pid}/stat") - live_ticks, 0)
    except (OSError, ValueError, IndexError):
        return cpu_seconds(pid)
    return live_ns / 1e9 + ended / _CLK_TCK
