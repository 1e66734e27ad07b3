"""Time to first frame and resident memory at that moment.

A run starts the program in a fresh 120x40 pty and stops the clock at the read that puts the
expected text on the emulated screen: moviechat's greeting ("Lights down, phones off.") for a
new chat, the newest message's last words for `--continue`. The clock starts just before
fork/exec, so interpreter start-up and every import are included, as a user would feel them.
The baseline (`benchmarks.bare_app`) shows the same greeting from a one-widget Textual app,
started the same way, interleaved with the app's runs so that machine noise hits both alike.

With a film catalogue in the data dir (the largest one `python -m benchmarks.films` kept, a
gigabyte at the issue's scale; else a small one imported for the purpose) the first frame
must be the fresh data dir's: the catalogue is opened lazily, after it. That row is compared
with the fresh data dir's, measured in the same rounds.

The start-up rows come twice: from the checkout (`python -m moviechat_tui`, the dev venv) and
from the installed copy (benchmarks/installed.py: the `moviechat` console script of a wheel in
a fresh virtualenv, started as a user's shell starts it), each against the bare app started
the same way — `python -m benchmarks.bare_app`, or its own console script in the same venv.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks import datasets, installed
from benchmarks import films as films_bench
from benchmarks.apps import GREETING, Sandbox, bare_app_argv, moviechat_argv, running
from benchmarks.config import Config, progress
from benchmarks.results import Metric, median

INSTALLED = "installed `moviechat`"
"""Start of the installed copy's row names."""


@dataclass
class Variant:
    key: str
    label: str
    argv: Callable[[Sandbox], list[str]]
    marker: str
    samples: list[tuple[float, float, float]]
    as_user: bool = False
    """Started as the installed copy is (see apps.running)."""


def first_frame(argv: list[str], marker: str, sandbox: Sandbox,
                timeout: float = 60.0, *, as_user: bool = False) -> tuple[float, float, float]:
    """(seconds from exec to `marker` on screen, RSS in MB then, CPU seconds used by then)."""
    with running(argv, sandbox, as_user=as_user) as term:
        seen = term.wait_for_text(marker, timeout)
        return seen.at - term.started, seen.rss_mb, seen.cpu_s


def run(cfg: Config, *, startup: bool = True, resume: bool = True) -> list[Metric]:
    many_label = f"{cfg.conversations:,} conversations"
    long_label = f"--continue, {cfg.long_messages:,} messages"
    variants = [Variant("bare", "bare Textual app", lambda box: bare_app_argv(), GREETING, [])]
    not_installed = ""
    installed_note = ""
    if startup:
        many = datasets.many_conversations(cfg.conversations)
        variants.append(Variant("fresh", "fresh data dir", moviechat_argv, GREETING, []))
        variants.append(Variant("many", many_label,
                                lambda box: moviechat_argv(box, data_dir=many), GREETING, []))
        catalogue = films_bench.catalogue_for_startup()
        if catalogue is not None:
            catalogue_label = (f"fresh data dir + film catalogue "
                               f"({catalogue.stat().st_size / 1e6:,.0f} MB)")

            def with_catalogue(box: Sandbox, source: Path = catalogue) -> list[str]:
                films_dir = box.root / "data" / "films"
                films_dir.mkdir(parents=True)
                (films_dir / "catalogue.sqlite3").symlink_to(source)
                return moviechat_argv(box)

            variants.append(Variant("films", catalogue_label, with_catalogue, GREETING, []))
        if cfg.installed == "no":
            not_installed = "not asked for (--no-installed)"
        else:
            try:
                copy = installed.installed_copy(lambda text: progress("first-frame", text),
                                                build=cfg.installed == "yes")
            except installed.NotCached:
                not_installed = ("--quick builds no installed copy (15–20 s); it measures one "
                                 "cached by an earlier run, or builds one with --installed")
            except installed.InstallError as exc:
                not_installed = str(exc)
                progress("first-frame", f"installed copy not measured: {exc}")
            else:
                progress("first-frame", f"installed copy: {copy.venv} ("
                         + ("reused" if copy.reused else f"built in {copy.seconds:.0f} s") + ")")
                script = (str(copy.moviechat),)
                versions = copy.versions()
                installed_note = (f"venv {copy.venv}; " + ", ".join(
                    f"{name} {versions[name]}" for name in ("textual", "rich", "platformdirs")
                    if name in versions))
                variants += [
                    Variant("inst-bare", "bare Textual app, installed",
                            lambda box: [str(copy.bare_app)], GREETING, [], as_user=True),
                    Variant("inst-fresh", f"{INSTALLED}, fresh data dir",
                            lambda box: moviechat_argv(box, command=script), GREETING, [],
                            as_user=True),
                    Variant("inst-many", f"{INSTALLED}, {many_label}",
                            lambda box: moviechat_argv(box, data_dir=many, command=script),
                            GREETING, [], as_user=True),
                ]
    kept_dir: Path | None = None
    if resume:
        long_dir = datasets.long_conversation(cfg.long_messages)
        kept_dir = with_kept_view(long_dir)

        def resume_argv(source: Path) -> Callable[[Sandbox], list[str]]:
            def argv(box: Sandbox) -> list[str]:
                # A private copy: quitting saves the open conversation, and the cache must
                # not change under later runs.
                shutil.copytree(source, box.root / "data")
                os.sync()  # the copy's writeback must not land inside the timed launch
                return moviechat_argv(box, "--continue")
            return argv

        variants.append(Variant("continue", long_label, resume_argv(kept_dir),
                                datasets.NEWEST_MARKER, []))
        variants.append(Variant("continue-cold", f"{long_label}, no view kept",
                                resume_argv(long_dir), datasets.NEWEST_MARKER, []))

    # One untimed launch of each (bytecode compiled, files in the page cache), then rounds in
    # a rotating order.
    try:
        _rounds(cfg, variants)
    finally:
        if kept_dir is not None:
            shutil.rmtree(kept_dir.parent, ignore_errors=True)
    return _metrics(variants, startup=startup, resume=resume, many_label=many_label,
                    long_label=long_label, not_installed=not_installed,
                    installed_note=installed_note)


def with_kept_view(long_dir: Path) -> Path:
    """A copy of `long_dir` as a user has it after quitting: with the view the app keeps of
    the conversation on screen (`view_cache`), made by one launch and quit in the same
    120x40 terminal."""
    copy = Path(tempfile.mkdtemp(prefix="mc-bench-kept-")) / "data"
    shutil.copytree(long_dir, copy)
    box = Sandbox()
    try:
        with running(moviechat_argv(box, "--continue", data_dir=copy), box) as term:
            term.wait_for_text(datasets.NEWEST_MARKER, 60)
            term.pump(0.5)
        # running() quits with ctrl+q, which keeps the view
    finally:
        box.cleanup()
    if not any((copy / "cache" / "views").glob("*.json")):
        raise RuntimeError("the app kept no view of the conversation when it quit")
    return copy


def _rounds(cfg: Config, variants: list[Variant]) -> None:
    for rep in range(-1, cfg.repeat):
        shift = max(rep, 0) % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            box = Sandbox()
            try:
                sample = first_frame(variant.argv(box), variant.marker, box,
                                     as_user=variant.as_user)
            finally:
                box.cleanup()
            if rep >= 0:
                variant.samples.append(sample)
                progress("first-frame", f"{rep + 1}/{cfg.repeat} {variant.label}: "
                         f"{sample[0]:.3f} s, {sample[1]:.1f} MB, CPU {sample[2]:.3f} s")


def _metrics(variants: list[Variant], *, startup: bool, resume: bool, many_label: str,
             long_label: str, not_installed: str = "",
             installed_note: str = "") -> list[Metric]:
    def med(key: str, index: int) -> tuple[float, list[float]]:
        variant = next(v for v in variants if v.key == key)
        values = [s[index] for s in variant.samples]
        return median(values), values

    bare_t, bare_ts = med("bare", 0)
    bare_m, bare_ms = med("bare", 1)
    bare_c, bare_cs = med("bare", 2)
    metrics = [
        Metric("first frame: bare Textual app (baseline)", bare_t, "s", samples=bare_ts),
        Metric("RSS at first frame: bare Textual app (baseline)", bare_m, "MB",
               samples=bare_ms),
        Metric("CPU to first frame: bare Textual app (baseline)", bare_c, "cpu-s",
               samples=bare_cs),
    ]
    base = "checkout (`python -m`): bare Textual app started the same way, same run"
    cpu_note = "CPU time is less sensitive than wall time to other programs' load"
    if startup:
        for key, label in (("fresh", "fresh data dir"), ("many", many_label)):
            t, ts = med(key, 0)
            m, ms = med(key, 1)
            c, cs = med(key, 2)
            metrics.append(Metric(f"first frame: {label}", t, "s", bare_t, base, max_ratio=1.3,
                                  samples=ts))
            metrics.append(Metric(f"RSS at first frame: {label}", m, "MB", bare_m, base,
                                  max_value=55.0, samples=ms))
            metrics.append(Metric(f"CPU to first frame: {label}", c, "cpu-s", bare_c, base,
                                  samples=cs, note=cpu_note))
        if any(v.key == "films" for v in variants):
            variant = next(v for v in variants if v.key == "films")
            fresh = "fresh data dir without a catalogue, same rounds"
            fresh_t, _fresh_ts = med("fresh", 0)
            fresh_c, _fresh_cs = med("fresh", 2)
            t, ts = med("films", 0)
            m, ms = med("films", 1)
            c, cs = med("films", 2)
            metrics.append(Metric(f"first frame: {variant.label}", t, "s", fresh_t, fresh,
                                  max_ratio=1.15, samples=ts,
                                  note="the catalogue opens lazily, after the first frame"))
            metrics.append(Metric(f"RSS at first frame: {variant.label}", m, "MB", bare_m,
                                  base, max_value=55.0, samples=ms))
            metrics.append(Metric(f"CPU to first frame: {variant.label}", c, "cpu-s", fresh_c,
                                  fresh, samples=cs, note=cpu_note))
        metrics += _installed_metrics(variants, many_label, not_installed, installed_note)
    if resume:
        t, ts = med("continue", 0)
        m, ms = med("continue", 1)
        c, cs = med("continue", 2)
        metrics.append(Metric(f"first frame: {long_label}", t, "s", bare_t, base,
                              max_ratio=1.6, samples=ts,
                              note="first frame = the newest message's text on screen; "
                                   "the view kept when the app last quit"))
        metrics.append(Metric(f"RSS at first frame: {long_label}", m, "MB", bare_m, base,
                              samples=ms))
        metrics.append(Metric(f"CPU to first frame: {long_label}", c, "cpu-s", bare_c, base,
                              samples=cs, note=cpu_note))
        t, ts = med("continue-cold", 0)
        metrics.append(Metric(f"first frame: {long_label}, no view kept", t, "s", bare_t,
                              base, samples=ts,
                              note="as after a resize or a crash: replies rendered anew"))
    return metrics


def _installed_metrics(variants: list[Variant], many_label: str, not_installed: str,
                       note: str) -> list[Metric]:
    """The start-up rows of the installed copy, against the bare app's console script in the
    same virtualenv (or one row saying why they were not measured)."""
    if not_installed:
        return [Metric(f"first frame: {INSTALLED}", float("nan"), "s", max_ratio=1.3,
                       skipped=not_installed)]
    by_key = {v.key: v for v in variants}

    def med(key: str, index: int) -> tuple[float, list[float]]:
        values = [s[index] for s in by_key[key].samples]
        return median(values), values

    bare_t, bare_ts = med("inst-bare", 0)
    bare_m, bare_ms = med("inst-bare", 1)
    bare_c, bare_cs = med("inst-bare", 2)
    label = "bare Textual app, installed console script (baseline)"
    metrics = [
        Metric(f"first frame: {label}", bare_t, "s", samples=bare_ts, note=note),
        Metric(f"RSS at first frame: {label}", bare_m, "MB", samples=bare_ms),
        Metric(f"CPU to first frame: {label}", bare_c, "cpu-s", samples=bare_cs),
    ]
    base = "installed: bare Textual app's console script, same venv, same run"
    for key, what in (("inst-fresh", "fresh data dir"), ("inst-many", many_label)):
        t, ts = med(key, 0)
        m, ms = med(key, 1)
        c, cs = med(key, 2)
        name = f"{INSTALLED}, {what}"
        metrics.append(Metric(f"first frame: {name}", t, "s", bare_t, base, max_ratio=1.3,
                              samples=ts, note="console script of a regular install in a "
                                               "fresh virtualenv, as a user starts it"))
        metrics.append(Metric(f"RSS at first frame: {name}", m, "MB", bare_m, base,
                              max_value=55.0, samples=ms))
        metrics.append(Metric(f"CPU to first frame: {name}", c, "cpu-s", bare_c, base,
                              samples=cs))
    return metrics
