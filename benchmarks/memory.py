"""Resident memory over a long session: 200 turns of short replies from a fast server.

Each turn types a question, presses Enter (again, after 50 ms, if the app refused because the
previous reply was still being finalised), and waits until the reply's unique last word is on
screen. After the checkpoint turns (10, 100, 200) the app is left to go idle, then its VmRSS
is read. The chat pane keeps at most `MAX_MOUNTED_MESSAGES` (60) message widgets, i.e. 30
turns, so a bounded app plateaus in the second half (what still grows is the conversation
itself, which the app holds, and the request it sends): the suite calls it bounded if the RSS
after the last checkpoint is within 10% of the one before it.
"""

from __future__ import annotations

import time

from benchmarks.apps import PLACEHOLDER, PacedServer, Sandbox, moviechat_argv, running
from benchmarks.config import Config, progress
from benchmarks.results import Metric, median
from benchmarks.streaming import wait_idle

REPLY = ("Short answer {n}: *Alien* (1979) was directed by **Ridley Scott**; the ship is the "
         "Nostromo and the score is by Jerry Goldsmith. Done{n}")


def run(cfg: Config) -> list[Metric]:
    rss: dict[int, float] = {}
    turn_times: list[float] = []
    with PacedServer(REPLY, 0.0) as server:
        box = Sandbox()
        try:
            with running(moviechat_argv(box, base_url=server.base_url), box) as term:
                term.wait_for_text(PLACEHOLDER, 60)
                wait_idle(term)
                rss[0] = term.rss_mb()
                row = term.find_row(PLACEHOLDER)
                assert row is not None
                for turn in range(1, cfg.turns + 1):
                    started = time.monotonic()
                    question = f"Question {turn}: who directed Alien?"
                    term.send(question)
                    term.wait_for_row(row, lambda r, q=question: q in r, 30)
                    while True:
                        term.send("\r")
                        try:
                            term.wait_for_row(row, lambda r: PLACEHOLDER in r, 0.05)
                            break
                        except TimeoutError:
                            continue  # still finishing the previous reply: Enter again
                    term.wait_for_text(f"Done{turn - 1:03d}", 60)
                    turn_times.append(time.monotonic() - started)
                    if turn in cfg.checkpoints:
                        wait_idle(term)
                        rss[turn] = term.rss_mb()
                        progress("memory", f"after {turn} turns: {rss[turn]:.1f} MB, last turn "
                                 f"{1000 * turn_times[-1]:.0f} ms")
        finally:
            box.cleanup()
    first = cfg.checkpoints[0]
    metrics = [Metric(f"RSS after {n} turns", rss[n], "MB", rss[first] if n != first else rss[0],
                      f"after {first} turns" if n != first else "at first frame")
               for n in cfg.checkpoints]
    last, before = cfg.checkpoints[-1], cfg.checkpoints[-2]
    metrics[-1].max_ratio = None
    metrics.append(Metric(f"RSS growth, turns {before}→{last} (bounded?)", rss[last], "MB",
                          rss[before], f"after {before} turns", max_ratio=1.1,
                          note="the pane prunes to 60 message widgets (30 turns)"))
    slope_a = (rss[before] - rss[first]) / (before - first)
    slope_b = (rss[last] - rss[before]) / (last - before)
    metrics.append(Metric(f"RSS slope, turns {first}→{before}", slope_a, "MB/turn"))
    metrics.append(Metric(f"RSS slope, turns {before}→{last}", slope_b, "MB/turn"))
    early = median(turn_times[:10]) * 1000
    late = median(turn_times[-10:]) * 1000
    metrics.append(Metric("turn round trip, first 10 turns (median)", early, "ms",
                          note="Enter → the short reply's last word on screen"))
    metrics.append(Metric(f"turn round trip, turns {cfg.turns - 9}–{cfg.turns} (median)", late,
                          "ms", early, "first 10 turns",
                          note="same reply; the growth is the cost of a longer session"))
    return metrics
