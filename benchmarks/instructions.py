"""Instructions executed from exec to the first frame, counted by valgrind's callgrind.

    python -m benchmarks.instructions                  # checkout and installed, 5 launches each
    python -m benchmarks.instructions --repeat 3 --no-installed
    python -m benchmarks.instructions --without-bytecode   # + the checkout with no .pyc files

Wall-clock ratios on a shared 2-core virtual machine move by ±0.3× with other programs' load;
the number of instructions a launch executes hardly moves at all, so this is the measure to
confirm what a start-up change saves (or that two ways of starting cost the same). It counts
the suite's start-up programs: moviechat and the bare Textual app, from the checkout
(`python -m`) and from the installed copy (console scripts; benchmarks/installed.py).

Each program starts under `valgrind --tool=callgrind` in the suite's 120x40 pty harness, with
the suite's environment and PYTHONHASHSEED=0 (string hashes change dict and set layouts, and
so the count, a little). When the greeting is on the emulated screen the harness sends
SIGABRT: Python leaves that signal alone, so the program ends at once and callgrind writes its
totals. Counted: everything the process executed until then — interpreter start-up, imports,
the app's start and the first frame — plus what it ran in the moment between the frame and
the signal, which is why a count moves by a few percent between launches (valgrind makes the
program ~50× slower: ~10 s a launch). One untimed launch without valgrind first compiles the
bytecode, as in the suite. `--without-bytecode` adds moviechat from the checkout started as in
a shell that sets PYTHONDONTWRITEBYTECODE (no bytecode prefix either): every launch compiles
moviechat's modules from source, while Textual's bytecode was compiled when pip installed it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import installed
from benchmarks.apps import GREETING, Sandbox, bare_app_argv, moviechat_argv, running

_SUMMARY = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.M)

NO_BYTECODE = ("-u", "PYTHONPYCACHEPREFIX", "PYTHONDONTWRITEBYTECODE=1")
"""`env` arguments for --without-bytecode."""


@dataclass(frozen=True)
class Program:
    label: str
    argv: Callable[[Sandbox], list[str]]
    as_user: bool = False
    """Started as the installed copy is (see apps.running)."""
    env: tuple[str, ...] = ()
    """Arguments for `env` before the program: variables to unset (-u NAME) or set."""

    def launch(self, box: Sandbox, *prefix: str) -> list[str]:
        return ["env", *self.env, *prefix, *self.argv(box)]


def count(program: Program, box: Sandbox) -> int:
    """Instructions `program` executes until GREETING is on screen."""
    out_dir = Path(tempfile.mkdtemp(prefix="mc-bench-callgrind-"))
    out = out_dir / "callgrind.out"
    # `env` execs valgrind, which runs the program in the same process: term.pid is it.
    valgrind = ("PYTHONHASHSEED=0", "valgrind", "--tool=callgrind",
                f"--callgrind-out-file={out}", "--trace-children=no")
    try:
        with running(program.launch(box, *valgrind), box, as_user=program.as_user) as term:
            term.wait_for_text(GREETING, 600)
            os.kill(term.pid, signal.SIGABRT)
            term.proc.wait(timeout=120)
        match = _SUMMARY.search(out.read_bytes())
        if match is None:
            raise RuntimeError(f"no totals in {out}")
        return int(match.group(1))
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def programs(*, with_installed: bool, without_bytecode: bool) -> list[Program]:
    found = [
        Program("bare Textual app, checkout (python -m)", lambda box: bare_app_argv()),
        Program("moviechat, checkout (python -m)", moviechat_argv),
    ]
    if without_bytecode:
        found.append(Program("moviechat, checkout (python -m), no bytecode", moviechat_argv,
                             env=NO_BYTECODE))
    if with_installed:
        copy = installed.installed_copy(lambda text: print(text, file=sys.stderr))
        script = (str(copy.moviechat),)
        found += [
            Program("bare Textual app, installed console script",
                    lambda box: [str(copy.bare_app)], as_user=True),
            Program("moviechat, installed console script",
                    lambda box: moviechat_argv(box, command=script), as_user=True),
        ]
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="launches per program")
    parser.add_argument("--installed", action=argparse.BooleanOptionalAction, default=True,
                        help="also count the installed copy's console scripts")
    parser.add_argument("--without-bytecode", action="store_true",
                        help="also count the checkout started with PYTHONDONTWRITEBYTECODE=1 "
                             "and no bytecode prefix")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    # Run from the repository root so `-m benchmarks.*` and `-m moviechat_tui` resolve.
    os.chdir(Path(__file__).resolve().parent.parent)
    progs = programs(with_installed=args.installed, without_bytecode=args.without_bytecode)
    for program in progs:  # untimed: bytecode compiled, files cached
        box = Sandbox()
        try:
            with running(program.launch(box), box, as_user=program.as_user) as term:
                term.wait_for_text(GREETING, 60)
        finally:
            box.cleanup()
    counts: dict[str, list[int]] = {program.label: [] for program in progs}
    for rep in range(args.repeat):
        for program in progs:
            box = Sandbox()
            try:
                counts[program.label].append(count(program, box))
            finally:
                box.cleanup()
            print(f"{rep + 1}/{args.repeat} {program.label}: "
                  f"{counts[program.label][-1] / 1e6:.1f} M", file=sys.stderr, flush=True)
    print("\n| program | instructions to first frame (median) | range | vs its bare app |")
    print("|---|---|---|---|")
    bare = 0.0
    for label, values in counts.items():
        median = statistics.median(values)
        if label.startswith("bare"):
            bare, ratio = median, "—"
        else:
            ratio = f"{median / bare:.3f}×"
        print(f"| {label} | {median / 1e6:,.1f} M | {min(values) / 1e6:,.1f}–"
              f"{max(values) / 1e6:,.1f} M | {ratio} |")


if __name__ == "__main__":
    main()
