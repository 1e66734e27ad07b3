"""What-if for the streaming analysis: the plain Textual chat with its writes batched.

    python -m benchmarks.whatif --flush-ms 0,33,100 [--tokens 4000] [--repeat 3]

Runs the streaming session of `benchmarks.streaming` against `benchmarks.bare_chat` started
with `--flush-ms N` (tokens collected and written to `Markdown.get_stream()` at most every N
ms; 0 = every token, the suite's baseline). It isolates how much of the streaming cost is the
per-token update itself, which is what docs/performance.md's recommendation removes.
"""

from __future__ import annotations

import argparse
import random

from benchmarks import streaming
from benchmarks.apps import bare_chat_argv
from benchmarks.config import Config
from benchmarks.results import median, percentile


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whatif")
    parser.add_argument("--flush-ms", default="0,33,100",
                        help="comma-separated; `50/20` = flush every 50 ms and start a new "
                             "Markdown widget every 20 blocks; `50/plain` = plain text every "
                             "50 ms, Markdown once at the end; `50/log` = finished blocks "
                             "rendered once into a RichLog, tail as plain text")
    parser.add_argument("--tokens", type=int, default=4_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cfg = Config(repeat=args.repeat, stream_tokens=args.tokens)
    rows = []
    for flush in args.flush_ms.split(","):
        session = streaming.Session()
        for rep in range(args.repeat):
            ms, _, blocks = flush.partition("/")
            extra = {"plain": ["--plain-tail"], "log": ["--log-blocks"]}.get(
                blocks, ["--segment-blocks", blocks or "0"])
            streaming.one_session(
                lambda box, url, f=ms, x=extra: [*bare_chat_argv(url), "--flush-ms", f, *x],
                cfg, session,
                f"{rep + 1}/{args.repeat} bare chat, flush {flush} ms", random.Random(rep))
        rows.append((flush, median(session.lag) * 1000, median(session.cpu),
                     percentile(session.echo, 50) * 1000, percentile(session.echo, 95) * 1000,
                     len(session.echo)))
    print(f"\nplain Textual chat, {args.tokens} tokens at {cfg.stream_rate:g} tok/s, "
          f"median of {args.repeat}")
    print("| flush every | last-token lag | CPU | echo p50 | echo p95 | keys |")
    print("|---|---|---|---|---|---|")
    for flush, lag, cpu, p50, p95, keys in rows:
        ms, _, blocks = flush.partition("/")
        label = "every token" if float(ms) == 0 else f"{ms} ms"
        if blocks == "plain":
            label += ", plain text until the end"
        elif blocks == "log":
            label += ", finished blocks into one RichLog"
        elif blocks:
            label += f", new widget every {blocks} blocks"
        print(f"| {label} | {lag:.0f} ms | {cpu:.2f} s | {p50:.0f} ms | {p95:.0f} ms | {keys} |")


if __name__ == "__main__":
    main()
