"""`python -m benchmarks`: moviechat-tui's performance suite (see docs/performance.md).

    python -m benchmarks                 # everything, 5 repetitions, medians
    python -m benchmarks --quick         # CI smoke test: 1 repetition, small data, < 60 s
    python -m benchmarks --only streaming --repeat 3 --json out.json
    python -m benchmarks --peers         # also time Elia and oterm (installed into /tmp)

Every figure comes from the real program (`python -m moviechat_tui`) in a pseudo-terminal
whose screen is emulated by pyte, and is printed next to a baseline measured in the same run.
Exit status: 0 when it ran (goals missed or not), 1 when a benchmark itself failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from pathlib import Path

GROUPS = ("films", "startup", "continue", "streaming", "memory", "peers")
"""`films` (the catalogue: import, search, card, a reply's films; benchmarks/films.py) runs
first: the start-up group opens the app with the catalogue it kept."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="moviechat-tui's performance suite: the real app in a pseudo-terminal, "
                    "each figure next to a baseline measured in the same run "
                    "(see docs/performance.md).")
    parser.add_argument("--quick", action="store_true",
                        help="1 repetition and small data sizes (a smoke test for CI)")
    parser.add_argument("--repeat", type=int, metavar="N",
                        help="repetitions per measurement, median reported (default 5; "
                             "1 with --quick)")
    parser.add_argument("--only", metavar="NAME", action="append", choices=GROUPS,
                        help="run only this group (repeatable): " + ", ".join(GROUPS))
    parser.add_argument("--peers", action="store_true",
                        help="also measure Elia and oterm (pip-installed into /tmp/peers-*)")
    parser.add_argument("--installed", action=argparse.BooleanOptionalAction, default=None,
                        help="also time start-up as a user gets it: the `moviechat` console "
                             "script of a wheel of this working tree in a fresh virtualenv "
                             "(built once, ~15-20 s, cached under "
                             "$TMPDIR/moviechat-bench-cache/venvs). Default: on; with --quick "
                             "only if a copy of this working tree is cached already")
    parser.add_argument("--json", metavar="PATH", type=Path, help="write the results here")
    parser.add_argument("--wait-quiet", metavar="SECONDS", type=float, default=0.0,
                        help="before each group, wait up to this long for a moment when other "
                             "programs use < 0.25 CPU cores (for shared machines)")
    args = parser.parse_args(argv)

    # Run from the repository root so `-m benchmarks.*` and `-m moviechat_tui` resolve.
    os.chdir(Path(__file__).resolve().parent.parent)
    from benchmarks import films, first_frame, memory, peers, streaming
    from benchmarks.config import Config, MachineLoad, progress, wait_for_quiet
    from benchmarks.results import Metric, table, write_json

    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    installed = {True: "yes", False: "no", None: "if-cached" if args.quick else "yes"}[
        args.installed]
    cfg = (Config.smoke(args.repeat or 1, installed=installed) if args.quick
           else Config.full(args.repeat or 5, installed=installed))
    groups = set(args.only or [g for g in GROUPS if g != "peers" or args.peers])
    if args.peers:
        groups.add("peers")

    metrics: list[Metric] = []
    failed: list[str] = []
    started = time.monotonic()
    load = MachineLoad()
    git_at_start = _git_state()

    def attempt(name: str, action) -> None:  # type: ignore[no-untyped-def]
        if args.wait_quiet > 0:
            used = wait_for_quiet(args.wait_quiet)
            progress(name, f"starting; other programs use {used:.2f} CPU cores")
        try:
            metrics.extend(action())
        except Exception:
            failed.append(name)
            progress(name, "FAILED\n" + traceback.format_exc())

    if "films" in groups:
        attempt("films", lambda: films.run(cfg))
    if groups & {"startup", "continue"}:
        attempt("first-frame", lambda: first_frame.run(
            cfg, startup="startup" in groups, resume="continue" in groups))
    if "streaming" in groups:
        attempt("streaming", lambda: streaming.run(cfg))
    if "memory" in groups:
        attempt("memory", lambda: memory.run(cfg))
    if "peers" in groups:
        attempt("peers", lambda: peers.run(cfg))

    elapsed = time.monotonic() - started
    machine = load.summary()
    print()
    print(f"moviechat-tui benchmarks — {'quick' if cfg.quick else 'full'}, "
          f"{cfg.repeat} repetition(s), median; {os.cpu_count()} CPUs; {elapsed:.0f} s")
    print(f"Other programs used {machine['other_cpu_cores']:.2f} CPU cores on average during "
          f"the run (load average {machine['loadavg_start']:.2f} → "
          f"{machine['loadavg_end']:.2f}).")
    if machine["other_cpu_cores"] > 0.25 * (os.cpu_count() or 1):
        print("WARNING: the machine was busy with other work; timings are inflated and noisy. "
              "Re-run on a quiet machine before comparing with other runs.")
    print()
    print(table(metrics))
    missed = [m.name for m in metrics if m.met is False]
    if missed:
        print(f"\nGoals missed ({len(missed)}): " + "; ".join(missed))
    if failed:
        print("\nBenchmarks that failed to run: " + ", ".join(failed))
    if args.json:
        write_json(args.json, metrics, {
            "quick": cfg.quick, "repeat": cfg.repeat, "groups": sorted(groups),
            "conversations": cfg.conversations, "long_messages": cfg.long_messages,
            "stream_tokens": cfg.stream_tokens, "stream_rate": cfg.stream_rate,
            "turns": cfg.turns, "checkpoints": list(cfg.checkpoints),
            "installed": cfg.installed,
            "elapsed_seconds": elapsed, "failed": failed, "machine_load": machine,
            "git": {"start": git_at_start, "end": _git_state()},
        })
        print(f"\nJSON written to {args.json}")
    return 1 if failed else 0


def _git_state() -> dict[str, object]:
    """The commit measured, and whether the app's code differed from it (others may be
    editing the working tree while the suite runs)."""
    import subprocess

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    try:
        return {"commit": git("rev-parse", "HEAD"),
                "app_changes": git("status", "--short", "--", "moviechat_tui").splitlines()}
    except (OSError, subprocess.SubprocessError):
        return {}


if __name__ == "__main__":
    sys.exit(main())
