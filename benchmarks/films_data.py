"""Synthetic IMDb-format datasets at real scale, generated once and cached.

Invented rows in IMDb's exact format (gzipped TSV, header line, `\\N`, raw JSON characters,
no quoting), never IMDb's own data. Sizes follow the issue: a million titles, three million
people, ten million principals rows, five million akas — plus ratings and crew for every
title, about 20 million input rows in all. What the import cares about is shaped like the
real files: ids with gaps, kinds the import drops (episodes, videos, video games), a long
tail of vote counts (most titles a handful, a few millions), shorts mostly below the vote
threshold, titles from a Zipf vocabulary (so common words like "love" match thousands of
titles), akas in Latin with accents, Cyrillic, Hangul and Japanese, `\\N` runtimes and years.

The full set takes a few minutes to write (two processes in parallel) and ~1 GB under
`$TMPDIR/moviechat-bench-cache/films-…/`; it is built in a sibling directory and renamed into
place, so an interrupted build is never mistaken for a finished one.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import random
import shutil
import tempfile
from pathlib import Path

from moviechat_tui.core.records import Record

GENERATOR_VERSION = 1
CACHE_ROOT = Path(tempfile.gettempdir()) / "moviechat-bench-cache"
N = "\\N"


class Scale(Record):
    titles: int
    people: int
    principals: int
    akas: int

    @property
    def name(self) -> str:
        return f"films-{self.titles}-{self.people}-{self.principals}-{self.akas}"


FULL = Scale(1_300_000, 3_000_000, 10_000_000, 5_000_000)
"""1.3 million title.basics rows: after the kinds, adult titles and shorts below the vote
threshold are left out, about a million films remain in the catalogue — the size the
search goals are set at."""
QUICK = Scale(20_000, 60_000, 200_000, 100_000)



def _words(text: str) -> list[str]:
    return text.split()


_COMMON = _words(
    "the of a and in to love night man last day my story life house dark world girl city war "
    "king black time blood dead home for with little from one two big american red lost "
    "secret return great woman boy summer game road heart death island moon fire sea white "
    "sun kill sky star dream your new good old wild death long devil ghost murder rose "
    "winter angel eye money family")
_SYLLABLES = _words("ka ri mo na to sa el an ver lo tra mi des por ge ul bar ten sil ro qua "
                    "zen fa lu dor pe kin hal vo nes ta gri mar bel cor den")
_ACCENTED = _words("é è à ç ñ ö ü å ø ł ß ô")
_HANGUL = [chr(c) for c in range(0xAC00, 0xAC00 + 11172, 37)]
_KANA = [chr(c) for c in range(0x3042, 0x3093)] + [chr(c) for c in range(0x4E00, 0x4F00, 3)]
_CYRILLIC = [chr(c) for c in range(0x0430, 0x0450)]
_FIRST = _words("John Mary James Anna Robert Linda Michael Sarah David Laura Peter Emma Paul "
                "Julia Mark Alice Tom Nina Jean Marie Luca Sofia Ji-woo Min-jun Seo-yeon Hana "
                "Yuki Kenji Olga Ivan Pierre Chloe Carlos Lucia")
_KINDS = (("movie", 0.55), ("short", 0.12), ("tvSeries", 0.12), ("tvMovie", 0.07),
          ("tvMiniSeries", 0.03), ("tvEpisode", 0.06), ("video", 0.03), ("videoGame", 0.02))
_CATEGORIES = (("actor", 0.33), ("actress", 0.25), ("self", 0.06), ("director", 0.08),
               ("writer", 0.10), ("producer", 0.08), ("composer", 0.04),
               ("cinematographer", 0.03), ("editor", 0.03))
_GENRES = _words("Drama Comedy Thriller Horror Romance Action Crime Documentary Animation "
                 "Family Mystery Sci-Fi Fantasy Adventure Biography History War Western Music")
_REGIONS = _words("US GB FR DE KR JP RU IT ES BR IN CA AU MX SE XWW")


def tconst_of(index: int) -> int:
    """Title number `index` (0-based) → its id number: gaps, as in the real files."""
    return 1 + index * 9 + (index * 7919) % 9


def nconst_of(index: int) -> int:
    return 1 + index * 5 + (index * 104729) % 5


class _Words:
    """A Zipf vocabulary: a few common words, ~30,000 invented ones."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        invented = {"".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
                    for _ in range(40_000)}
        shuffled = sorted(invented)
        rng.shuffle(shuffled)
        self.words = list(_COMMON) + shuffled
        weights = [1 / (rank + 8) ** 1.05 for rank in range(len(self.words))]
        total = sum(weights)
        acc = 0.0
        self.cumulative = []
        for w in weights:
            acc += w / total
            self.cumulative.append(acc)

    def word(self) -> str:
        from bisect import bisect_left

        return self.words[min(bisect_left(self.cumulative, self.rng.random()),
                              len(self.words) - 1)]

    def title(self) -> str:
        words = [self.word() for _ in range(self.rng.choice((1, 2, 2, 3, 3, 3, 4, 5)))]
        return " ".join(w.capitalize() if i == 0 or len(w) > 3 else w
                        for i, w in enumerate(words))

    def foreign(self) -> tuple[str, str | None, str | None]:
        """An alternative title in another script or with accents: (title, region, lang)."""
        roll = self.rng.random()
        rng = self.rng
        if roll < 0.15:
            return "".join(rng.choice(_HANGUL) for _ in range(rng.randint(2, 6))), "KR", "ko"
        if roll < 0.27:
            return "".join(rng.choice(_KANA) for _ in range(rng.randint(3, 8))), "JP", "ja"
        if roll < 0.40:
            return (" ".join("".join(rng.choice(_CYRILLIC) for _ in range(rng.randint(3, 8)))
                             for _ in range(rng.randint(1, 3))).capitalize(), "RU", None)
        title = self.title()
        if roll < 0.70:
            title = title.replace(rng.choice("aeiou"), rng.choice(_ACCENTED), 1)
        return title, rng.choice(_REGIONS), rng.choice((None, None, "en", "fr", "de", "es"))


def _votes(rng: random.Random) -> int:
    return min(3_000_000, int(5 * (1 / (1 - rng.random())) ** 1.6))


def _write(path: Path, header: tuple[str, ...], rows: object) -> None:
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1, newline="\n") as f:
        f.write("\t".join(header) + "\n")
        batch: list[str] = []
        for row in rows:  # type: ignore[attr-defined]
            batch.append(row)
            if len(batch) >= 10_000:
                f.write("\n".join(batch) + "\n")
                batch.clear()
        if batch:
            f.write("\n".join(batch) + "\n")


def _titles_files(scale: Scale, folder: Path) -> None:
    """title.basics, title.ratings, title.akas, title.crew (one process)."""
    rng = random.Random(1)
    words = _Words(rng)
    kinds = [k for k, _ in _KINDS]
    kind_weights = [w for _, w in _KINDS]
    titles: list[str] = []
    kind_of: list[str] = []

    def basics() -> object:
        for i in range(scale.titles):
            kind = rng.choices(kinds, kind_weights)[0]
            title = words.title()
            titles.append(title)
            kind_of.append(kind)
            year = N if rng.random() < 0.05 else str(rng.randint(1900, 2025))
            end = str(rng.randint(int(year), 2026)) if kind == "tvSeries" and year != N else N
            runtime = N if rng.random() < 0.25 else str(rng.randint(5, 200))
            genres = ",".join(rng.sample(_GENRES, rng.randint(1, 3))) \
                if rng.random() > 0.05 else N
            adult = "1" if rng.random() < 0.01 else "0"
            original = title if rng.random() < 0.8 else words.foreign()[0]
            yield (f"tt{tconst_of(i):07d}\t{kind}\t{title}\t{original}\t{adult}\t{year}\t{end}"
                   f"\t{runtime}\t{genres}")

    _write(folder / "title.basics.tsv.gz", ("tconst", "titleType", "primaryTitle",
           "originalTitle", "isAdult", "startYear", "endYear", "runtimeMinutes", "genres"),
           basics())
    _write(folder / "title.ratings.tsv.gz", ("tconst", "averageRating", "numVotes"),
           (f"tt{tconst_of(i):07d}\t{rng.randint(10, 99) / 10}\t{_votes(rng)}"
            for i in range(scale.titles) if rng.random() < 0.7))

    def akas() -> object:
        per_title = scale.akas / scale.titles
        for i in range(scale.titles):
            count = int(rng.expovariate(1 / per_title) + 0.5)
            for ordering in range(1, count + 1):
                if ordering == 1:
                    title, region, lang = titles[i], rng.choice(_REGIONS), None
                else:
                    title, region, lang = words.foreign()
                yield (f"tt{tconst_of(i):07d}\t{ordering}\t{title}\t{region or N}\t{lang or N}"
                       f"\timdbDisplay\t{N}\t{int(ordering == 1 and rng.random() < 0.3)}")

    _write(folder / "title.akas.tsv.gz", ("titleId", "ordering", "title", "region",
           "language", "types", "attributes", "isOriginalTitle"), akas())

    def person() -> str:
        return f"nm{nconst_of(int(scale.people * rng.random() ** 2)):07d}"

    _write(folder / "title.crew.tsv.gz", ("tconst", "directors", "writers"),
           (f"tt{tconst_of(i):07d}\t{','.join(person() for _ in range(rng.randint(1, 2)))}\t"
            f"{','.join(person() for _ in range(rng.randint(0, 3))) or N}"
            for i in range(scale.titles)))


def _people_files(scale: Scale, folder: Path) -> None:
    """title.principals, name.basics (the other process)."""
    rng = random.Random(2)
    words = _Words(rng)
    categories = [c for c, _ in _CATEGORIES]
    weights = [w for _, w in _CATEGORIES]

    def principals() -> object:
        per_title = scale.principals / scale.titles
        whole = int(per_title)
        for i in range(scale.titles):
            count = whole + (rng.random() < per_title - whole)
            for ordering in range(1, count + 1):
                category = rng.choices(categories, weights)[0]
                nconst = nconst_of(int(scale.people * rng.random() ** 2))
                if category in ("actor", "actress", "self"):
                    characters = json.dumps([words.title()], ensure_ascii=False)
                else:
                    characters = N
                job = "novel" if category == "writer" and rng.random() < 0.2 else N
                yield (f"tt{tconst_of(i):07d}\t{ordering}\tnm{nconst:07d}\t{category}\t{job}\t"
                       f"{characters}")

    _write(folder / "title.principals.tsv.gz", ("tconst", "ordering", "nconst", "category",
           "job", "characters"), principals())

    def names() -> object:
        for i in range(scale.people):
            if rng.random() < 0.1:
                name = "".join(rng.choice(_HANGUL) for _ in range(3))
            else:
                name = f"{rng.choice(_FIRST)} {words.word().capitalize()}"
            birth = N if rng.random() < 0.6 else str(rng.randint(1880, 2010))
            death = N if birth == N or rng.random() < 0.8 else str(int(birth) + rng.randint(20, 95))
            yield f"nm{nconst_of(i):07d}\t{name}\t{birth}\t{death}\tactor\t{N}"

    _write(folder / "name.basics.tsv.gz", ("nconst", "primaryName", "birthYear", "deathYear",
           "primaryProfession", "knownForTitles"), names())


def datasets(scale: Scale, *, progress: bool = True) -> Path:
    """The folder of the six files at `scale`, generated first if not cached."""
    final = CACHE_ROOT / f"{scale.name}-g{GENERATOR_VERSION}"
    if (final / "complete").exists():
        return final
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"{scale.name}-", dir=CACHE_ROOT))
    if progress:
        print(f"generating {scale.name} into {work} (once; cached for later runs)…",
              flush=True)
    context = multiprocessing.get_context("fork")
    jobs = [context.Process(target=fn, args=(scale, work))
            for fn in (_titles_files, _people_files)]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    if any(job.exitcode for job in jobs):
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError("generating the film datasets failed")
    (work / "complete").write_text("ok\n")
    try:
        os.rename(work, final)
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
    return final


def input_rows(folder: Path) -> int:
    """Data rows in the six files (headers excluded), counted once and cached."""
    counted = folder / "rows"
    if counted.exists():
        return int(counted.read_text())
    total = 0
    for path in folder.glob("*.tsv.gz"):
        with gzip.open(path, "rb") as f:
            total += sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 20), b"")) - 1
    counted.write_text(str(total))
    return total
