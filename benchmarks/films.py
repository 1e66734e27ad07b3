"""Film catalogue figures (issue 15): import throughput and peak memory, catalogue size,
title search and film card latency at a million titles, recognising the films of a reply;
and (issue 17) the catalogue facts for a question, for models that cannot call tools.

    python -m benchmarks.films                # full scale: ~21 M input rows, ~1 M films
    python -m benchmarks.films --quick        # CI smoke test: ~0.4 M rows, seconds
    python -m benchmarks.films --catalogue PATH   # skip the import, measure lookups only
    python -m benchmarks.films --json out.json
    python -m benchmarks.films --wait-quiet 300   # on a shared machine: start the import
                                                  # when other programs go quiet

The data is synthetic, in IMDb's exact format (benchmarks/films_data.py), generated once and
cached under $TMPDIR/moviechat-bench-cache/, and so is the catalogue the last import built
(`kept_catalogue`: the suite's start-up row opens the app with it). `python -m benchmarks`
runs the same as its `films` group (`--only films`; `--quick` at the small scale). The
import runs in a child process, so its peak RSS and CPU time are its own (`os.wait4`);
lookups run in this process against the catalogue it built, the way the app would call
them. The full dataset is about 180 million input rows: its import time is extrapolated from
the measured throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.config import Config, MachineLoad, progress, wait_for_quiet
from benchmarks.films_data import (
    CACHE_ROOT,
    FULL,
    GENERATOR_VERSION,
    QUICK,
    Scale,
    datasets,
    input_rows,
)
from benchmarks.results import Metric, percentile, table, write_json

FULL_DATASET_ROWS = 180_000_000
"""Input rows of IMDb's six files today (about 12 M titles, 50 M akas, 90 M principals,
15 M names, crew and ratings), for the extrapolation."""
ROOT = Path(__file__).resolve().parent.parent
_FILLER = ("the film builds its tension slowly and the camera stays with the characters while "
           "the score keeps quiet until the last act where everything")


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB (from /proc)."""
    total = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        pending += [int(child) for child in children.split()]
    return total / 1024


def _import_in_child(folder: Path, catalogue: Path) -> tuple[float, float, float, dict[str, int]]:
    """(wall seconds, CPU seconds, peak RSS in MB, counts) of one import in a child. The
    import runs its titles pass in a process of its own: the RSS is the peak of the two
    together, sampled every 50 ms, and the CPU time counts both."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.films", "--child-import", str(folder),
         str(catalogue)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    peak = 0.0
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not sampling.wait(0.05):
            peak = max(peak, _tree_rss_mb(child.pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output = child.stdout.read()
    sampling.set()
    sampler.join()
    _pid, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"the import failed (exit {child.returncode})")
    counts: dict[str, int] = json.loads(output)
    return wall, usage.ru_utime + usage.ru_stime, max(peak, usage.ru_maxrss / 1024), counts


def _child_import(folder: str, catalogue: str) -> int:
    from moviechat_tui.films.importer import import_catalogue

    report = import_catalogue(Path(folder), Path(catalogue), source="benchmark")
    print(json.dumps(report.counts))
    return 0


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


def _queries(conn: object, films: int, rng: random.Random) -> list[tuple[str, int | None]]:
    """What people type: whole titles (famous and obscure), the first letters of one,
    its first word, a title with its year, titles in Hangul, Japanese and Cyrillic, common
    words, and misses."""
    import sqlite3

    assert isinstance(conn, sqlite3.Connection)

    def sample(count: int, top: int) -> list[tuple[str, int | None]]:
        ranks = [rng.randint(1, max(1, min(top, films))) for _ in range(count)]
        marks = ",".join("?" * len(ranks))
        return conn.execute(f"SELECT title, year FROM films WHERE rank IN ({marks})",
                            ranks).fetchall()

    queries: list[tuple[str, int | None]] = []
    queries += [(title, None) for title, _ in sample(40, 5_000)]
    queries += [(title, None) for title, _ in sample(40, films)]
    queries += [(title[:rng.randint(2, 6)], None) for title, _ in sample(60, films)]
    queries += [(title.split()[0], None) for title, _ in sample(30, films)]
    queries += [(f"{title} {year}", None) for title, year in sample(30, films) if year]
    queries += [(title, year) for title, year in sample(10, films) if year]
    for region in ("KR", "JP", "RU"):
        queries += [(row[0], None) for row in conn.execute(
            "SELECT title FROM titles WHERE region = ? AND id % 7 = 0 LIMIT 10", (region,))]
    queries += [(word, None) for word in ("the", "love", "night", "man", "story", "lo", "a",
                                          "de", "the dark", "love 2019")]
    queries += [("".join(rng.choice("qxzjv") for _ in range(8)), None) for _ in range(10)]
    rng.shuffle(queries)
    return queries


def _reply(conn: object, films: int, rng: random.Random, words: int = 1000) -> str:
    """A ~1,000-word Markdown reply naming ~25 films the way models do: italic and bold
    titles with years (some wrong), list items, a table, and a few made-up titles."""
    import sqlite3

    assert isinstance(conn, sqlite3.Connection)
    ranks = rng.sample(range(1, min(films, 50_000) + 1), 25)
    marks = ",".join("?" * len(ranks))
    named = conn.execute(f"SELECT title, year FROM films WHERE rank IN ({marks})",
                         ranks).fetchall()
    filler = _FILLER.split()
    parts: list[str] = ["## A few films worth your evening", ""]
    count = 0
    for i, (title, year) in enumerate(named):
        year = year or 2000
        if i % 7 == 3:
            year += 2  # a wrong year
        shape = i % 4
        if shape == 0:
            parts.append(f"{i + 1}. *{title}* ({year}) — " + " ".join(rng.choices(filler, k=20)))
        elif shape == 1:
            parts.append(f"- **{title}** ({year}): " + " ".join(rng.choices(filler, k=20)))
        elif shape == 2:
            parts.append(" ".join(rng.choices(filler, k=25)) + f" {title} ({year}) " +
                         " ".join(rng.choices(filler, k=10)) + ".")
        else:
            parts.append(f"| {title} | Someone | {year} |")
        count += 30
    parts += ["*The Kingkrapers* (2018) and *Dirty Minute* (2022) are worth a look too.", ""]
    while count < words:
        parts.append(" ".join(rng.choices(filler, k=40)) + ".")
        count += 40
    return "\n".join(parts)


def _questions(conn: object, films: int, rng: random.Random) -> list[tuple[str, list[str]]]:
    """What people ask a model without tools: titles asked about plainly (capitalised,
    lowercase, with a year, after a first question), people named, and questions that name
    no film at all — each with the turns before it."""
    import sqlite3

    assert isinstance(conn, sqlite3.Connection)
    marks = ",".join(str(rng.randint(1, min(films, 100_000))) for _ in range(40))
    named = conn.execute(f"SELECT title, year FROM films WHERE rank IN ({marks})").fetchall()
    people = [row[0] for row in conn.execute(
        "SELECT p.name FROM credits c JOIN people p ON p.id = c.person "
        f"WHERE c.film IN (SELECT tconst FROM films WHERE rank IN ({marks})) LIMIT 20")]
    questions: list[tuple[str, list[str]]] = []
    for title, year in named:
        questions.append((f"Who directed {title} and when was it released?", []))
        questions.append((f"is {title.lower()} worth watching tonight?", []))
        questions.append((f"Tell me about {title} ({year or 2000}).", []))
        questions.append(("Who starred in it?", [f"I just watched {title}."]))
    questions += [(f"What else has {name} made?", []) for name in people]
    questions += [(text, []) for text in (
        "What's a good horror movie from the 80s for a rainy night with friends?",
        "Recommend me something like the films I love, but lighter.",
        "Why do so many films end with a wedding?")]
    rng.shuffle(questions)
    return questions


def _facts(catalogue: object, conn: object, films: int, rng: random.Random,
           repeat: int) -> list[Metric]:
    from moviechat_tui.session.grounding import FACTS_BUDGET, facts_for

    questions = _questions(conn, films, rng)
    for text, earlier in questions[:10]:  # warm-up
        facts_for(text, earlier, catalogue, FACTS_BUDGET)  # type: ignore[arg-type]
    times = [_timed(lambda t=text, e=earlier: facts_for(  # type: ignore[misc]
                 t, e, catalogue, FACTS_BUDGET))
             for _ in range(repeat) for text, earlier in questions]
    found = statistics.mean(len(facts_for(t, e, catalogue, FACTS_BUDGET)[1])  # type: ignore
                            for t, e in questions)
    return [
        Metric(f"catalogue facts for a question p50 ({len(questions)} questions, "
               f"{films:,} films)", statistics.median(times), "msec", samples=times),
        Metric(f"catalogue facts for a question p95 (~{found:.1f} films or people each)",
               percentile(times, 95), "msec", max_value=30.0),
        Metric("catalogue facts, slowest question", max(times), "msec"),
    ]


def _lookups(path: Path, repeat: int) -> list[Metric]:
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.mentions import find_mentions
    from moviechat_tui.films.records import tconst_text

    catalogue = Catalogue(path)
    rng = random.Random(15)
    first = _timed(lambda: catalogue.search("parasite"))
    conn = catalogue._conn  # the benchmark samples its queries from the catalogue itself
    films = catalogue.status().counts["films"]
    queries = _queries(conn, films, rng)
    for text, year in queries[:20]:  # warm-up: the first lookups read the index pages
        catalogue.search(text, year=year)
    search_ms = [_timed(lambda t=text, y=year: catalogue.search(t, year=y))  # type: ignore[misc]
                 for _ in range(repeat) for text, year in queries]
    tconsts = [row[0] for row in conn.execute(  # type: ignore[union-attr]
        "SELECT tconst FROM films WHERE rank IN (" + ",".join(
            str(rng.randint(1, films)) for _ in range(300)) + ")")]
    card_ms = [_timed(lambda t=t: catalogue.film(tconst_text(t)))  # type: ignore[misc]
               for _ in range(repeat) for t in tconsts]
    replies = [_reply(conn, films, rng) for _ in range(20)]
    find_mentions(replies[0], catalogue)
    mention_ms = [_timed(lambda r=r: find_mentions(r, catalogue))  # type: ignore[misc]
                  for _ in range(repeat) for r in replies]
    found = statistics.mean(len(find_mentions(r, catalogue)) for r in replies)
    at = f"{films:,} films"
    facts = _facts(catalogue, conn, films, rng, repeat)
    return [*facts,
        Metric("first title search (opens the catalogue)", first, "msec"),
        Metric(f"title search p50 ({len(queries)} queries, {at})",
               statistics.median(search_ms), "msec", samples=search_ms),
        Metric(f"title search p95 ({at})", percentile(search_ms, 95), "msec",
               max_value=20.0),
        Metric("title search, slowest query", max(search_ms), "msec"),
        Metric(f"film card p95 ({len(tconsts)} films)", percentile(card_ms, 95), "msec",
               max_value=10.0, samples=card_ms),
        Metric(f"films in a 1,000-word reply p95 (~{found:.0f} found)",
               percentile(mention_ms, 95), "msec", max_value=30.0, samples=mention_ms),
    ]


def kept_catalogue(scale: Scale) -> Path:
    """Where the catalogue imported from `scale`'s data is kept between runs (the suite's
    start-up row opens the app with it). The importer builds beside it and swaps it in, so an
    interrupted run leaves the previous one whole."""
    from moviechat_tui.films.schema import SCHEMA_VERSION

    name = f"{scale.name}-g{GENERATOR_VERSION}-catalogue-s{SCHEMA_VERSION}"
    return CACHE_ROOT / name / "catalogue.sqlite3"


def catalogue_for_startup(build_quick: bool = True) -> Path | None:
    """The largest catalogue an earlier run kept (the full scale's if there is one); else,
    if `build_quick`, the quick scale's, imported now (a few seconds)."""
    for scale in (FULL, QUICK):
        path = kept_catalogue(scale)
        if path.is_file():
            return path
    if not build_quick:
        return None
    from moviechat_tui.films.importer import import_catalogue

    path = kept_catalogue(QUICK)
    import_catalogue(datasets(QUICK), path, source="benchmark")
    return path


def measure(scale: Scale, *, catalogue: Path | None = None, repeat: int = 1,
            wait_quiet: float = 0.0) -> list[Metric]:
    """The import (unless `catalogue` is given: lookups only) and the lookups."""
    metrics: list[Metric] = []
    path = catalogue or kept_catalogue(scale)
    if catalogue is None:
        folder = datasets(scale)
        rows = input_rows(folder)
        if wait_quiet > 0:
            used = wait_for_quiet(wait_quiet)
            print(f"other programs use {used:.2f} CPU cores", file=sys.stderr)
        print(f"importing {rows:,} input rows from {folder} …", file=sys.stderr, flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        wall, cpu, rss, counts = _import_in_child(folder, path)
        throughput = rows / wall
        metrics += [
            Metric(f"import: input rows/s ({rows / 1e6:.1f} M rows, "
                   f"{counts['films']:,} films kept)", throughput, "rows/s",
                   min_value=150_000, samples=[wall]),
            Metric("import: input rows per CPU-second", rows / cpu, "rows/s"),
            Metric("import: peak RSS (importer + its titles process)", rss, "MB",
                   max_value=500.0),
            Metric("import: full dataset (~180 M rows), extrapolated",
                   FULL_DATASET_ROWS / throughput / 60, "min"),
            Metric("catalogue size on disk", path.stat().st_size / 1e6, "MB"),
        ]
    return metrics + _lookups(path, repeat)


def run(cfg: Config) -> list[Metric]:
    """The film catalogue's rows of `python -m benchmarks` (`--only films`): the issue's
    scale, or the quick one with --quick. The catalogue is kept for the start-up row."""
    scale = QUICK if cfg.quick else FULL
    progress("films", f"scale {scale.name}")
    return measure(scale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.films", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small data (~0.4 M rows): a smoke test for CI, in seconds")
    parser.add_argument("--catalogue", type=Path, metavar="PATH",
                        help="measure lookups on this catalogue; skip the import")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="passes over the lookups (default 1)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the results here")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before the import, wait up to this long for a moment when "
                             "other programs use < 0.25 CPU cores")
    parser.add_argument("--child-import", nargs=2, metavar=("DIR", "CATALOGUE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_import:
        return _child_import(*args.child_import)

    os.chdir(ROOT)
    scale = QUICK if args.quick else FULL
    load = MachineLoad()
    started = time.monotonic()
    metrics = measure(scale, catalogue=args.catalogue, repeat=args.repeat,
                      wait_quiet=args.wait_quiet)
    machine = load.summary()
    print()
    print(f"moviechat-tui film catalogue — {'quick' if args.quick else 'full'} scale; "
          f"{os.cpu_count()} CPUs; {time.monotonic() - started:.0f} s")
    print(f"Other programs used {machine['other_cpu_cores']:.2f} CPU cores on average during "
          f"the run (load average {machine['loadavg_start']:.2f} → "
          f"{machine['loadavg_end']:.2f}).")
    if machine["other_cpu_cores"] > 0.25 * (os.cpu_count() or 1):
        print("WARNING: the machine was busy with other work; timings are inflated and noisy. "
              "The rows per CPU-second figure is the steadier one.")
    print()
    print(table(metrics))
    missed = [m.name for m in metrics if m.met is False]
    if missed:
        print(f"\nGoals missed ({len(missed)}): " + "; ".join(missed))
    if args.json:
        write_json(args.json, metrics, {"quick": args.quick, "scale": scale.name,
                                        "machine_load": machine})
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
