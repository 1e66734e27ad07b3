"""Crash safety: kill -9 the real app while a reply streams, then check what is on disk.

One trial:

1. start `python -m moviechat_tui --base-url ... ` in a pseudo-terminal (tests/support/terminal.py)
   against an in-process loopback server that streams a long reply slowly and records *when*
   it sent each piece;
2. type a question, press Enter;
3. at a random moment while the reply streams, `kill -9` the app (no chance to save);
4. check the data directory: every conversation file parses (strictly, as the app would load
   it), the question is there, and the saved part of the reply covers everything the server
   had sent up to at most `LAG_LIMIT` seconds before the kill.

The *lag* of a trial is how long before the kill the server sent the first piece that is
missing from the file (0 when the file has everything that was sent). The controller saves a
streaming reply every 0.5 s, so the lag should stay well under a second.

    python -m tests.support.crash_harness --count 200          # figures for docs/reliability.md
    python -m tests.support.crash_harness --count 5 --verbose  # one line per trial

`tests/reliability/test_crash_safety.py` runs a few trials in the default test run.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

from tests.support.loopback_server import LoopbackServer, Reply, _Handler  # noqa: E402
from tests.support.terminal import Terminal  # noqa: E402

QUESTION = "Tell me everything about the making of Jaws"
PIECES = 400
PIECE_DELAY = 0.025  # 40 pieces a second: a 10 s reply
KILL_WINDOW = (0.0, 6.0)  # seconds after the first piece was sent
LAG_LIMIT = 1.0
START_TIMEOUT = 40.0


def reply_pieces() -> list[str]:
    """Numbered words, so a saved prefix says exactly which pieces made it to disk."""
    return [f"w{n:04d} " for n in range(PIECES)]


class _TimedHandler(_Handler):
    """The loopback server's handler, also recording (time, text) of every content piece."""

    def _event(self, payload: Any, event: str | None = None) -> None:
        super()._event(payload, event)
        if isinstance(payload, dict):
            choices = payload.get("choices") or []
            piece = (choices[0].get("delta") or {}).get("content") if choices else None
            if piece:
                self.server.owner.sent.append((time.monotonic(), piece))  # type: ignore[attr-defined]


@contextmanager
def timed_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer(default_reply=Reply(chunks=reply_pieces(), delay=PIECE_DELAY))
    server.sent = []  # type: ignore[attr-defined]
    server.start()
    assert server._httpd is not None
    server._httpd.RequestHandlerClass = _TimedHandler  # each request builds a handler anew
    try:
        yield server
    finally:
        server.stop()


def app_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "MOVIECHAT_", "XDG_"))}
    env.update(HOME=str(home), MOVIECHAT_DATA_DIR=str(home / "data"),
               MOVIECHAT_LOG_DIR=str(home / "logs"),
               MOVIECHAT_CONFIG=str(home / "no-config" / "config.toml"),
               LANGUAGE="en", LC_ALL="C.UTF-8")
    return env


@dataclass
class Trial:
    seed: int
    kill_after: float = 0.0
    """Seconds between the first piece sent and the kill."""
    files: int = 0
    files_parse: bool = False
    user_message: bool = False
    reply_saved: bool = False
    reply_is_prefix: bool = False
    pieces_sent: int = 0
    pieces_saved: int = 0
    lag: float = 0.0
    leftover_tmp: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        state = "ok " if self.ok else "BAD"
        return (f"{state} seed={self.seed:<6} kill_after={self.kill_after:5.2f}s "
                f"sent={self.pieces_sent:3d} saved={self.pieces_saved:3d} lag={self.lag:4.2f}s "
                f"tmp={self.leftover_tmp}" + ("  " + "; ".join(self.problems)
                                             if self.problems else ""))


def _pump_until(term: Terminal, condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; screen:\n{term.dump()}")
        if term.returncode is not None:
            raise AssertionError(f"the app exited ({term.returncode}) before {what}")
        term.pump(0.01)  # keep reading: an unread pty would stall the app's writes


def run_trial(seed: int, workdir: Path, kill_window: tuple[float, float] = KILL_WINDOW) -> Trial:
    from moviechat_tui.storage.format import FormatError, parse_conversation

    rng = random.Random(seed)
    trial = Trial(seed, kill_after=rng.uniform(*kill_window))
    home = workdir / f"trial-{seed}"
    home.mkdir(parents=True)
    with timed_server() as server, Terminal(
            [sys.executable, "-m", "moviechat_tui", "--base-url", server.base_url],
            cols=100, rows=30, env=app_env(home), cwd=home) as term:
        sent: list[tuple[float, str]] = server.sent  # type: ignore[attr-defined]
        term.wait_for("Ask about a film", timeout=START_TIMEOUT)
        term.send(QUESTION)
        term.press("enter")
        _pump_until(term, lambda: bool(sent), START_TIMEOUT, "the first piece of the reply")
        kill_at = sent[0][0] + trial.kill_after
        _pump_until(term, lambda: time.monotonic() >= kill_at, trial.kill_after + 30,
                    "the moment to kill")
        killed = time.monotonic()
        term.kill(signal.SIGKILL)
        term.wait_exit(10)
        sent_before = [piece for t, piece in list(sent) if t < killed]
        times = [t for t, _ in list(sent)]

    trial.pieces_sent = len(sent_before)
    folder = home / "data" / "conversations"
    tomls = sorted(folder.glob("*.toml")) if folder.exists() else []
    trial.files = len(tomls)
    trial.leftover_tmp = len(list(folder.glob("*.tmp"))) if folder.exists() else 0
    convs = []
    trial.files_parse = True
    for path in tomls:
        data = path.read_bytes()
        try:
            tomllib.loads(data.decode("utf-8"))
            convs.append(parse_conversation(data, path.stem))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, FormatError) as err:
            trial.files_parse = False
            trial.problems.append(f"{path.name} does not parse: {err}")
    if len(convs) != 1:
        trial.problems.append(f"{len(convs)} conversations on disk, expected 1")
        return trial
    messages = convs[0].messages
    trial.user_message = any(m.role == "user" and m.content == QUESTION for m in messages)
    if not trial.user_message:
        trial.problems.append("the question is not on disk")
    replies = [m for m in messages if m.role == "assistant"]
    saved = replies[0].content if replies else ""
    trial.reply_saved = bool(saved)
    full = "".join(reply_pieces())
    trial.reply_is_prefix = full.startswith(saved)
    if not trial.reply_is_prefix:
        trial.problems.append(f"the saved reply is not what was sent: {saved[:60]!r}")
    if replies and replies[0].finish_reason != "streaming":
        trial.problems.append(f"reply marked {replies[0].finish_reason!r}, expected 'streaming'")
    piece_len = len(reply_pieces()[0])
    trial.pieces_saved = len(saved) // piece_len
    if trial.pieces_saved < trial.pieces_sent:
        first_missing = times[trial.pieces_saved]
        trial.lag = max(0.0, killed - first_missing)
    if trial.lag > LAG_LIMIT:
        trial.problems.append(f"lost {trial.pieces_sent - trial.pieces_saved} pieces: the "
                              f"first was sent {trial.lag:.2f} s before the kill")
    return trial


def summarise(trials: list[Trial]) -> str:
    n = len(trials)
    lags = sorted(t.lag for t in trials)
    late = [t for t in trials if t.kill_after >= LAG_LIMIT + 0.5]
    p95 = lags[min(n - 1, int(0.95 * n))] if n else 0.0
    rows = [
        ("trials", f"{n}"),
        ("every conversation file parses", f"{sum(t.files_parse for t in trials)}/{n}"),
        ("question on disk", f"{sum(t.user_message for t in trials)}/{n}"),
        ("saved reply is exactly a prefix of what was sent",
         f"{sum(t.reply_is_prefix for t in trials)}/{n}"),
        (f"partial reply on disk (kills >= {LAG_LIMIT + 0.5:g} s into the reply)",
         f"{sum(t.reply_saved for t in late)}/{len(late)}"),
        ("lag: median / p95 / max",
         f"{statistics.median(lags) if lags else 0:.2f} / {p95:.2f} / "
         f"{max(lags) if lags else 0:.2f} s"),
        (f"trials with lag > {LAG_LIMIT:g} s", f"{sum(t.lag > LAG_LIMIT for t in trials)}"),
        ("leftover .tmp files (safe to delete)", f"{sum(t.leftover_tmp for t in trials)}"),
        ("trials with any problem", f"{sum(not t.ok for t in trials)}"),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=None, help="first seed (default: random)")
    parser.add_argument("--verbose", action="store_true", help="one line per trial")
    args = parser.parse_args(argv)
    first = args.seed if args.seed is not None else random.randrange(1_000_000)
    trials: list[Trial] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="moviechat-crash-") as tmp:
        for n in range(args.count):
            try:
                trial = run_trial(first + n, Path(tmp))
            except AssertionError as err:  # the app did not start or stream: count it as bad
                trial = Trial(first + n, problems=[str(err).splitlines()[0]])
            trials.append(trial)
            if args.verbose or not trial.ok:
                print(trial.line(), flush=True)
    print(f"\nseeds {first}..{first + args.count - 1}, "
          f"{time.monotonic() - started:.0f} s, {threading.active_count()} threads left")
    print(summarise(trials))
    return 0 if all(t.ok for t in trials) else 1


if __name__ == "__main__":
    raise SystemExit(main())
