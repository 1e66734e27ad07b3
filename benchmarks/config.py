"""What one run of the suite measures, and how big its data is."""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    repeat: int = 5
    conversations: int = 10_000
    """Conversations in the big data dir (~20 messages each)."""
    long_messages: int = 5_000
    """Messages in the conversation `--continue` reopens."""
    stream_tokens: int = 4_000
    stream_rate: float = 2_000.0
    """Tokens per second the loopback server sends."""
    turns: int = 200
    checkpoints: tuple[int, ...] = (10, 100, 200)
    """Turns after which the memory benchmark reads the RSS."""
    installed: str = "yes"
    """Also time the installed console script (benchmarks/installed.py: a wheel of the
    working tree in a fresh virtualenv, cached between runs): "yes", "no", or "if-cached"
    (--quick's default: building the copy takes 15–20 s, a third of the smoke pass)."""
    quick: bool = False

    @classmethod
    def full(cls, repeat: int = 5, installed: str = "yes") -> Config:
        return cls(repeat=repeat, installed=installed)

    @classmethod
    def smoke(cls, repeat: int = 1, installed: str = "if-cached") -> Config:
        """`--quick`: small data, for CI (the whole suite in well under a minute)."""
        return cls(repeat=repeat, conversations=1_000, long_messages=1_000, stream_tokens=1_000,
                   turns=20, checkpoints=(5, 10, 20), installed=installed, quick=True)


_T0 = time.monotonic()


def progress(group: str, text: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"[{time.monotonic() - _T0:6.1f}s] {group}: {text}", file=sys.stderr, flush=True)


class MachineLoad:
    """How busy the rest of the machine was while the suite ran.

    /proc/stat gives the CPU time of every process; subtracting this process and its waited-for
    children (the apps and servers under test) leaves what other programs used. On a shared
    2-core machine that is the main source of noise, so it is printed with the results."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._busy0 = self._busy()
        self._ours0 = self._ours()
        self.loadavg_start = os.getloadavg()[0]

    @staticmethod
    def _busy() -> float:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _ours() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def summary(self) -> dict[str, float]:
        elapsed = time.monotonic() - self.started
        other = (self._busy() - self._busy0) - (self._ours() - self._ours0)
        return {"elapsed_s": elapsed, "other_cpu_cores": max(other, 0.0) / elapsed,
                "loadavg_start": self.loadavg_start, "loadavg_end": os.getloadavg()[0]}


def wait_for_quiet(max_wait: float, threshold: float = 0.25, window: float = 3.0) -> float:
    """Wait (up to `max_wait` s) for `window` s in which other programs use < `threshold`
    CPU cores; returns the last window's figure. The suite is idle meanwhile, so all the CPU
    time counted is someone else's."""
    deadline = time.monotonic() + max_wait
    busy = MachineLoad._busy
    while True:
        start = busy()
        time.sleep(window)
        used = (busy() - start) / window
        if used < threshold or time.monotonic() >= deadline:
            return used
