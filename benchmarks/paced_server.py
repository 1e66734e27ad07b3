"""The test suite's loopback server, run in its own process, streaming at an exact rate.

    python -m benchmarks.paced_server --text-file reply.md --rate 2000

`tests/support/loopback_server.py` sleeps a fixed `delay` between chunks; at 2,000 tokens/s (0.5 ms)
the per-chunk overhead would make the real rate drift below the target. Here each reply is
paced against an absolute schedule instead: token *i* leaves no earlier than
`start + i / rate`, so the achieved rate is the nominal one as long as the server keeps up
(it reports the achieved rate, so the suite can check). `--rate 0` sends as fast as possible.

It runs in a separate process so that neither the harness (reading the pty, emulating the
screen) nor the app can starve it of the GIL. `{n}` in the reply text becomes the request's
index (000, 001, ...), which gives every reply of a multi-turn session a unique last word.

Protocol on stdout, one line each: `URL <base_url>` once listening, then for every streamed
reply `SENT <index> <first_token_time> <last_token_time> <tokens>`, times from
`time.monotonic()` (CLOCK_MONOTONIC, shared by every process on the machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

from tests.support import loopback_server as lb


class PacedHandler(lb._Handler):
    """`_Handler` with absolute pacing and a report of when the last token left."""

    rate: float = 0.0
    first_text: str | None = None

    def _answer(self, index: int, body: dict[str, Any], reply: lb.Reply) -> None:
        self._index = index
        self._sent = 0
        self._first: float | None = None
        self._last: float | None = None
        self._start: float | None = None
        text = self.first_text if index == 0 and self.first_text is not None else reply.text
        reply = dataclasses.replace(reply, text=text.replace("{n}", f"{index:03d}"))
        super()._answer(index, body, reply)
        if self._first is not None and self._last is not None:
            print(f"SENT {index} {self._first:.6f} {self._last:.6f} {self._sent}", flush=True)

    def _wait(self, seconds: float) -> None:
        # Called between two content chunks: wait for the next slot of the schedule.
        if not self.rate or self._start is None:
            return
        due = self._start + self._sent / self.rate
        remaining = due - time.monotonic()
        if remaining > 0.05:
            super()._wait(remaining)  # long waits notice a client that leaves
        elif remaining > 0:
            # The schedule is absolute, so oversleeping one slot (~0.1 ms of timer slack) is
            # made up by the next ones instead of accumulating.
            time.sleep(remaining)

    def _event(self, payload: Any, event: str | None = None) -> None:
        content = None
        if isinstance(payload, dict) and payload.get("choices"):
            content = payload["choices"][0].get("delta", {}).get("content")
        super()._event(payload, event)
        if content:
            now = time.monotonic()
            if self._start is None:
                self._start = now
                self._first = now
            self._sent += 1
            self._last = now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--text-file", required=True, help="reply text; {n} = request index")
    parser.add_argument("--rate", type=float, default=0.0, help="tokens per second (0: max)")
    parser.add_argument("--first-text", help="reply to the first request only (a warm-up)")
    args = parser.parse_args(argv)
    text = Path(args.text_file).read_text(encoding="utf-8")
    PacedHandler.rate = args.rate
    PacedHandler.first_text = args.first_text
    lb._Handler = PacedHandler  # type: ignore[misc]  # `_Server` builds its handler from this
    # A tiny delay makes the base class call `_wait` between chunks; the pacing ignores it.
    reply = lb.Reply(text=text, delay=1e-9 if args.rate else 0.0)
    server = lb.LoopbackServer("127.0.0.1", args.port, default_reply=reply)
    server.start()
    print(f"URL {server.base_url}", flush=True)
    try:
        sys.stdin.read()  # run until the harness closes our stdin
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
