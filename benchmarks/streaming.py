"""A long Markdown reply streamed at a fixed rate: lag, CPU, and keypress echo while it streams.

One session per repetition, against a fresh `benchmarks.paced_server` process:

0. Start the app; send a first message whose reply is one short line. That first request
   imports `openai` and opens the connection; it is reported on its own ("first reply") and
   kept out of the figures below.
1. Send a message; the server streams the long reply (`Config.stream_tokens` tokens of
   Markdown at `Config.stream_rate` tokens/s) whose last token is a unique word.
   *lag* = time that word is first on the emulated screen − time the server wrote it.
   *CPU* = the app process's utime+stime (all threads) from just before Enter until it is
   idle again after the reply (no 10 ms tick of CPU over 0.3 s), so the end-of-reply save and
   re-render are included.
2. Type 25 letters with nothing streaming (the echo floor of this machine and app), erase
   them, then send another message and, while its reply streams, type letters into the
   prompt one at a time (a human-like 30–80 ms pause after each echo). *Echo latency* = the
   read that shows the new letter in the prompt row − the write of the key. Typing stops
   when the reply's last word is on screen (or after 80 letters, or 3× the nominal streaming
   time + 2 s).

The same session runs against `benchmarks.bare_chat` (a plain Textual chat: TextArea,
`Markdown.get_stream()`, the same openai client) as the baseline.
"""

from __future__ import annotations

import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from benchmarks.apps import (
    PLACEHOLDER,
    PacedServer,
    Sandbox,
    bare_chat_argv,
    moviechat_argv,
    running,
)
from benchmarks.config import Config, progress
from benchmarks.replies import long_markdown
from benchmarks.results import Metric, median, percentile
from benchmarks.terminal import ScreenTimeout, Terminal

MARKER = "ZQXEND{n}"
FIRST_REPLY = "Ready when you are: ask me about any film. WARMUP{n}"
MAX_TYPED = 80
"""Letters typed per reply (the prompt row is ~110 cells wide: no wrapping)."""
IDLE_TYPED = 25
"""Letters typed with no reply streaming, for the echo floor of the machine."""


@dataclass
class Session:
    first_reply: list[float] = field(default_factory=list)
    lag: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    echo: list[float] = field(default_factory=list)
    echo_idle: list[float] = field(default_factory=list)
    lag_typing: list[float] = field(default_factory=list)


def wait_idle(term: Terminal, quiet: float = 0.3, timeout: float = 30.0) -> float:
    """Pump the pty until the program used < 1 clock tick of CPU over `quiet` s; returns its
    CPU seconds then."""
    deadline = time.monotonic() + timeout
    history = [(time.monotonic(), term.cpu_seconds())]
    while time.monotonic() < deadline:
        term.pump(0.05)
        now, cpu = time.monotonic(), term.cpu_seconds()
        history.append((now, cpu))
        old = [h for h in history if h[0] <= now - quiet]
        if old and cpu - old[-1][1] < 0.011:
            return cpu
    return term.cpu_seconds()


def prompt_shows(row: str, typed: str) -> bool:
    """True if the prompt row holds exactly `typed` (and no placeholder)."""
    if PLACEHOLDER in row:
        return False
    content = row.strip().strip("▊▎▏▍▌▋█│┃").strip()
    return content == typed


def type_letters(term: Terminal, row: int, count: int, rng: random.Random) -> list[float]:
    """Type `count` letters into an empty prompt like the streaming test does; their echo
    latencies (seconds)."""
    typed, echoes = "", []
    for index in range(count):
        typed += string.ascii_lowercase[index % 26]
        at = term.send(typed[-1])
        shown = term.wait_for_row(row, lambda r, w=typed: prompt_shows(r, w), 120)
        echoes.append(shown - at)
        term.pump(rng.uniform(0.03, 0.08))
    return echoes


def _send_message(term: Terminal, text: str) -> float:
    term.send(text)
    term.pump(0.05)
    return term.send("\r")


def one_session(argv: Callable[[Sandbox, str], list[str]], cfg: Config, result: Session,
                label: str, rng: random.Random) -> None:
    text = long_markdown(cfg.stream_tokens, MARKER)
    with PacedServer(text, cfg.stream_rate, first_text=FIRST_REPLY) as server:
        box = Sandbox()
        try:
            with running(argv(box, server.base_url), box) as term:
                term.wait_for_text(PLACEHOLDER, 60)
                wait_idle(term)
                # 0. the first reply (imports openai)
                sent = _send_message(term, "Hello!")
                seen = term.wait_for_text(FIRST_REPLY.replace("{n}", "000"), 60)
                result.first_reply.append(seen.at - sent)
                cpu0 = wait_idle(term)
                # 1. lag and CPU
                marker = MARKER.replace("{n}", "001")
                _send_message(term, "Tell me about Memories of Murder.")
                seen = term.wait_for_text(marker, 600)
                first, last, tokens = server.wait_sent(1)
                cpu1 = wait_idle(term)
                result.lag.append(seen.at - last)
                result.cpu.append(cpu1 - cpu0)
                result.rate.append((tokens - 1) / (last - first) if last > first else 0.0)
                progress("streaming", f"{label}: lag {1000 * (seen.at - last):.0f} ms, "
                         f"CPU {cpu1 - cpu0:.2f} s, server {result.rate[-1]:.0f} tok/s")
                # 2. typing while the next reply streams
                row = term.find_row(PLACEHOLDER)
                if row is None:
                    raise ScreenTimeout("no prompt row on screen\n" + term.text())
                # ... after the same typing with nothing streaming: this machine's floor
                result.echo_idle.extend(type_letters(term, row, IDLE_TYPED, rng))
                for _ in range(IDLE_TYPED):
                    term.send("\x7f")  # backspace
                term.wait_for_row(row, lambda r: PLACEHOLDER in r, 30)
                wait_idle(term)
                marker = MARKER.replace("{n}", "002")
                term.watch(marker)
                _send_message(term, "And Oldboy?")
                term.wait_for_row(row, lambda r: PLACEHOLDER in r, 30)
                term.pump(0.2)  # the reply is under way
                typed = ""
                echoes = []
                # Type until the reply is on screen, but at most 80 letters and for at most
                # three times the nominal streaming time (+2 s): a slow app must not make the
                # smoke test slow.
                stop_at = time.monotonic() + 3 * cfg.stream_tokens / cfg.stream_rate + 2
                while (term.seen(marker) is None and len(typed) < MAX_TYPED
                       and time.monotonic() < stop_at):
                    letter = string.ascii_lowercase[len(typed) % 26]
                    typed += letter
                    wanted = typed
                    at = term.send(letter)
                    shown = term.wait_for_row(
                        row, lambda r, w=wanted: prompt_shows(r, w), 120)
                    echoes.append(shown - at)
                    term.pump(rng.uniform(0.03, 0.08))
                seen = term.wait_for_text(marker, 600)
                first, last, tokens = server.wait_sent(2)
                result.lag_typing.append(seen.at - last)
                result.echo.extend(echoes)
                if echoes:
                    progress("streaming", f"{label}: {len(echoes)} keys, echo p50 "
                             f"{1000 * percentile(echoes, 50):.0f} ms, p95 "
                             f"{1000 * percentile(echoes, 95):.0f} ms")
                wait_idle(term)
        finally:
            box.cleanup()


def run(cfg: Config) -> list[Metric]:
    app, bare = Session(), Session()
    rng = random.Random(2000)
    for rep in range(cfg.repeat):
        one_session(lambda box, url: moviechat_argv(box, base_url=url), cfg, app,
                    f"{rep + 1}/{cfg.repeat} moviechat", rng)
        one_session(lambda box, url: bare_chat_argv(url), cfg, bare,
                    f"{rep + 1}/{cfg.repeat} bare chat", rng)
    tokens = f"{cfg.stream_tokens:,}"
    base = "plain Textual chat (Markdown.get_stream), same run"
    ms = 1000.0
    return [
        Metric(f"stream {tokens} tok: last token on screen after sent", median(app.lag) * ms,
               "ms", median(bare.lag) * ms, base, max_value=100.0,
               samples=[x * ms for x in app.lag]),
        Metric(f"stream {tokens} tok: app CPU for the reply", median(app.cpu), "cpu-s",
               median(bare.cpu), base, max_value=2.0, samples=app.cpu),
        Metric("stream: keypress echo p50 while streaming", percentile(app.echo, 50) * ms, "ms",
               percentile(bare.echo, 50) * ms, base, samples=[x * ms for x in app.echo]),
        Metric("stream: keypress echo p95 while streaming", percentile(app.echo, 95) * ms, "ms",
               percentile(bare.echo, 95) * ms, base, max_value=50.0),
        Metric("keypress echo p50, nothing streaming (floor)",
               percentile(app.echo_idle, 50) * ms, "ms", percentile(bare.echo_idle, 50) * ms,
               base, samples=[x * ms for x in app.echo_idle]),
        Metric("keypress echo p95, nothing streaming (floor)",
               percentile(app.echo_idle, 95) * ms, "ms", percentile(bare.echo_idle, 95) * ms,
               base),
        Metric("stream: last token lag while typing", median(app.lag_typing) * ms, "ms",
               median(bare.lag_typing) * ms, base, samples=[x * ms for x in app.lag_typing]),
        Metric("stream: server rate achieved (check)", median(app.rate), "tok/s",
               samples=app.rate, note=f"target {cfg.stream_rate:g} tok/s"),
        Metric("first reply after launch (imports openai): Enter → on screen",
               median(app.first_reply) * ms, "ms", median(bare.first_reply) * ms, base,
               samples=[x * ms for x in app.first_reply]),
    ]
