"""Profiles behind the figures, taken on the real launch in the same pty harness.

    python -m benchmarks.profile imports [--continue]   # -X importtime up to the first frame
    python -m benchmarks.profile imports --installed    # …and the installed console script's
    python -m benchmarks.profile startup [--continue]   # pyinstrument, launch → first frame
    python -m benchmarks.profile stream                 # pyinstrument over one long reply

`imports` lists what moviechat imports that the bare Textual app does not (cumulative and
self time, microseconds from `-X importtime`; the import tree is written to stderr, which is
the pty here, so it is picked out of the raw bytes); with `--installed` it also compares the
modules the installed copy's console script imports (benchmarks/installed.py) with the
checkout's `python -m`. `startup`/`stream` need pyinstrument:
it is put on PYTHONPATH from `--pyinstrument-dir` (default /tmp/pyinst; install it with
`pip install --target /tmp/pyinst pyinstrument`), so the app's venv stays untouched. The
profiled program exits right after the measured moment and pyinstrument prints a text
report (`--out` to keep the full one).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path

from benchmarks import datasets
from benchmarks.apps import (
    GREETING,
    PLACEHOLDER,
    REPO,
    PacedServer,
    Sandbox,
    bare_app_argv,
    moviechat_argv,
)
from benchmarks.replies import long_markdown
from benchmarks.streaming import MARKER, wait_idle
from benchmarks.terminal import Terminal

_IMPORT_LINE = re.compile(rb"import time:\s+(\d+) \|\s+(\d+) \| ( *)([^\r\n\x1b]+)")


def _launch(argv: list[str], box: Sandbox, marker: str, *, python_flags: list[str],
            env_extra: dict[str, str] | None = None,
            as_user: bool = False) -> tuple[float, bytes]:
    """`as_user`: started as the installed copy is (see apps.running)."""
    argv = [argv[0], *python_flags, *argv[1:]]
    env = {**(box.user_env if as_user else box.env), **(env_extra or {})}
    term = Terminal.start(argv, env=env, cwd=str(box.root if as_user else REPO))
    term.raw = bytearray()
    try:
        seen = term.wait_for_text(marker, 120)
        term.pump(0.5)
    finally:
        term.close(grace=60)
    return seen.at - term.started, bytes(term.raw)


def _imports(raw: bytes) -> list[tuple[int, int, int, str]]:
    """(self µs, cumulative µs, depth, module) for every import line in the output."""
    return [(int(s), int(c), len(indent) // 2, name.decode().strip())
            for s, c, indent, name in _IMPORT_LINE.findall(raw)]


def _app_argv(box: Sandbox, resume: bool,
              command: tuple[str, ...] = (sys.executable, "-m", "moviechat_tui"),
              ) -> tuple[list[str], str]:
    if not resume:
        return moviechat_argv(box, command=command), GREETING
    shutil.copytree(datasets.long_conversation(5_000), box.root / "data")
    return moviechat_argv(box, "--continue", command=command), datasets.NEWEST_MARKER


def imports(resume: bool, with_installed: bool = False) -> None:
    # The first round is untimed: bytecode compiled, files in the page cache.
    for _ in range(2):
        box, bare_box = Sandbox(), Sandbox()
        try:
            bare_t, bare_raw = _launch(bare_app_argv(), bare_box, GREETING,
                                       python_flags=["-X", "importtime"])
            argv, marker = _app_argv(box, resume)
            app_t, app_raw = _launch(argv, box, marker, python_flags=["-X", "importtime"])
        finally:
            box.cleanup()
            bare_box.cleanup()
    bare, app = _imports(bare_raw), _imports(app_raw)
    bare_names = {name for *_, name in bare}
    extra = [row for row in app if row[3] not in bare_names]
    print(f"first frame with -X importtime: moviechat {app_t:.3f} s, bare {bare_t:.3f} s")
    print(f"modules: moviechat {len(app)}, bare {len(bare)}, only in moviechat {len(extra)}")
    print(f"self time of all imports: moviechat {sum(r[0] for r in app) / 1000:.0f} ms, "
          f"bare {sum(r[0] for r in bare) / 1000:.0f} ms, "
          f"only-in-moviechat {sum(r[0] for r in extra) / 1000:.0f} ms")
    print("\nimported by moviechat only, by cumulative time (ms):")
    for self_us, cum_us, depth, name in sorted(extra, key=lambda r: -r[1])[:40]:
        print(f"  {cum_us / 1000:7.1f} cum {self_us / 1000:6.1f} self  {'  ' * depth}{name}")
    print("\nmoviechat's own modules (cumulative ms):")
    for _self_us, cum_us, depth, name in app:
        if name.startswith("moviechat_tui"):
            print(f"  {cum_us / 1000:7.1f}  {'  ' * depth}{name}")
    if with_installed:
        _installed_imports(resume, app)


def _installed_imports(resume: bool, checkout: list[tuple[int, int, int, str]]) -> None:
    """The installed copy's console scripts (PYTHONPROFILEIMPORTTIME: a script takes no -X)
    against the checkout's `python -m`."""
    from benchmarks import installed

    copy = installed.installed_copy(lambda text: print(text, file=sys.stderr))
    importtime = {"PYTHONPROFILEIMPORTTIME": "1"}
    for _ in range(2):  # the first round untimed, as above
        box, bare_box = Sandbox(), Sandbox()
        try:
            bare_t, bare_raw = _launch([str(copy.bare_app)], bare_box, GREETING,
                                       python_flags=[], env_extra=importtime, as_user=True)
            argv, marker = _app_argv(box, resume, command=(str(copy.moviechat),))
            app_t, app_raw = _launch(argv, box, marker, python_flags=[], env_extra=importtime,
                                     as_user=True)
        finally:
            box.cleanup()
            bare_box.cleanup()
    bare, app = _imports(bare_raw), _imports(app_raw)
    names = {row[3] for row in app}
    checkout_names = {row[3] for row in checkout}
    print(f"\ninstalled copy ({copy.venv}), console scripts, with importtime: moviechat "
          f"{app_t:.3f} s, bare {bare_t:.3f} s; modules: moviechat {len(app)}, bare "
          f"{len(bare)}")
    print("imported by the checkout's python -m only:",
          ", ".join(sorted(checkout_names - names)) or "none")
    print("imported by the installed console script only:",
          ", ".join(sorted(names - checkout_names)) or "none")


def _pyinstrument_flags(out: Path | None, pyinstrument_dir: str) -> tuple[list[str], dict]:
    flags = ["-m", "pyinstrument", "-i", "0.001", "-r", "text", "--show-all"]
    if out is not None:
        flags += ["-o", str(out)]
    return flags, {"PYTHONPATH": pyinstrument_dir}


def startup(resume: bool, out: Path | None, pyinstrument_dir: str) -> None:
    box = Sandbox()
    try:
        argv, marker = _app_argv(box, resume)
        flags, env = _pyinstrument_flags(out, pyinstrument_dir)
        # argv is [python, -m, moviechat_tui, ...]: pyinstrument takes the `-m` itself.
        seconds, _ = _launch(argv, box, marker, python_flags=flags, env_extra=env)
    finally:
        box.cleanup()
    print(f"first frame under pyinstrument: {seconds:.3f} s; report: {out or 'on the pty'}")


def stream(out: Path | None, pyinstrument_dir: str, tokens: int, rate: float) -> None:
    text = long_markdown(tokens, MARKER)
    with PacedServer(text, rate, first_text="Ready. WARMUP{n}") as server:
        box = Sandbox()
        try:
            argv = moviechat_argv(box, base_url=server.base_url)
            flags, env = _pyinstrument_flags(out, pyinstrument_dir)
            argv = [argv[0], *flags, *argv[1:]]
            term = Terminal.start(argv, env={**box.env, **env}, cwd=str(REPO))
            try:
                term.wait_for_text(PLACEHOLDER, 60)
                term.send("Hello\r")
                term.wait_for_text("WARMUP000", 60)
                wait_idle(term)
                term.send("Tell me about Memories of Murder.\r")
                seen = term.wait_for_text(MARKER.replace("{n}", "001"), 600)
                _, last, _ = server.wait_sent(1)
                wait_idle(term)
                print(f"lag under pyinstrument: {seen.at - last:.3f} s")
            finally:
                term.close(grace=120)
        finally:
            box.cleanup()
    print(f"report: {out}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("what", choices=("imports", "startup", "stream"))
    parser.add_argument("--continue", dest="resume", action="store_true",
                        help="profile `--continue` on the 5,000-message conversation")
    parser.add_argument("--installed", action="store_true",
                        help="imports: also compare the installed copy's console script")
    parser.add_argument("--out", type=Path, help="write the pyinstrument report here")
    parser.add_argument("--pyinstrument-dir", default="/tmp/pyinst")
    parser.add_argument("--tokens", type=int, default=4_000)
    parser.add_argument("--rate", type=float, default=2_000.0)
    args = parser.parse_args()
    if args.what != "imports" and not Path(args.pyinstrument_dir, "pyinstrument").is_dir():
        sys.exit(f"pyinstrument not found in {args.pyinstrument_dir}: "
                 f"pip install --target {args.pyinstrument_dir} pyinstrument")
    if args.what == "imports":
        imports(args.resume, args.installed)
    elif args.what == "startup":
        startup(args.resume, args.out, args.pyinstrument_dir)
    else:
        stream(args.out, args.pyinstrument_dir, args.tokens, args.rate)


if __name__ == "__main__":
    main()
