"""Small IMDb-format dataset files written by hand, for the film catalogue's tests.

No row comes from IMDb's files (they are licensed for personal use only): the films below
are invented, or well-known facts written down here, with made-up ids (tt00000NN,
nm00000NN), ratings and vote counts. They are shaped to exercise what the real files have:
`\\N` everywhere a value can be missing, raw (unquoted) JSON with quotes in `characters`, a
title with raw double quotes, accents, Hangul, Japanese and Cyrillic alternative titles, two
films sharing a title and a year ("Coco", 2017), a title that contains a year ("Blade Runner
2049"), kinds the import leaves out, an adult title, shorts below and above the vote
threshold, and two malformed rows (a short akas row, a bad year).

    folder = write_datasets(tmp_path / "imdb")                  # the six .tsv.gz files
    write_datasets(dir, gzipped=False, crlf=True)               # plain .tsv with CRLF
    write_datasets(dir, omit={"name.basics"})                   # a file missing
    truncate(dir / "title.principals.tsv.gz")                   # an interrupted download
    install_catalogue(data_dir)        # imported where the app looks: data_dir/films/…
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

N = "\\N"

BASICS_HEADER = ("tconst", "titleType", "primaryTitle", "originalTitle", "isAdult",
                 "startYear", "endYear", "runtimeMinutes", "genres")
BASICS = [
    ("tt0000001", "movie", "Parasite", "Gisaengchung", "0", "2019", N, "132", "Drama,Thriller"),
    ("tt0000002", "movie", "Parasite", "Parasite", "0", "1982", N, "85", "Horror,Sci-Fi"),
    ("tt0000003", "movie", "Memories of Murder", "Salinui chueok", "0", "2003", N, "131",
     "Crime,Drama,Mystery"),
    ("tt0000004", "movie", "Coco", "Coco", "0", "2017", N, "105", "Animation,Family"),
    ("tt0000005", "movie", "Coco", "Coco", "0", "2017", N, "74", "Documentary"),
    ("tt0000006", "movie", "Amélie", "Le fabuleux destin d'Amélie Poulain", "0", "2001", N,
     "122", "Comedy,Romance"),
    ("tt0000007", "movie", "Spirited Away", "Sen to Chihiro no kamikakushi", "0", "2001", N,
     "125", "Animation,Adventure,Family"),
    ("tt0000008", "short", "A Tiny Short", "A Tiny Short", "0", "2010", N, "7", "Short"),
    ("tt0000009", "short", "The Paper Boat", "The Paper Boat", "0", "2012", N, "12",
     "Animation,Short"),
    ("tt0000010", "tvEpisode", "Parasite Returns", "Parasite Returns", "0", "2020", N, "45",
     "Drama"),
    ("tt0000011", "videoGame", "Coco Quest", "Coco Quest", "0", "2018", N, N, "Adventure"),
    ("tt0000012", "movie", "Hidden Adult Title", "Hidden Adult Title", "1", "2005", N, "80",
     "Adult"),
    ("tt0000013", "movie", "The Quiet Orchard", "The Quiet Orchard", "0", N, N, N, N),
    ("tt0000014", "movie", 'The "Lost" Reel', 'The "Lost" Reel', "0", "1999", N, "90",
     "Mystery"),
    ("tt0000015", "tvSeries", "Night Harbor", "Night Harbor", "0", "2015", "2019", "50",
     "Crime,Drama"),
    ("tt0000016", "movie", "Blade Runner 2049", "Blade Runner 2049", "0", "2017", N, "164",
     "Action,Drama,Sci-Fi"),
    ("tt0000017", "movie", "Blade Runner", "Blade Runner", "0", "1982", N, "117",
     "Action,Drama,Sci-Fi"),
    ("tt0000018", "movie", "The Godfather", "The Godfather", "0", "1972", N, "175",
     "Crime,Drama"),
    ("tt0000019", "movie", "Godfather", "Godfather", "0", "2007", N, "95", "Comedy"),
    ("tt0000020", "movie", "Broken Year", "Broken Year", "0", "19x9", N, "90", "Drama"),
    ("tt0000021", "tvMiniSeries", "Parasitic Hearts", "Parasitic Hearts", "0", "2021", "2021",
     "60", "Drama"),
    ("tt0000022", "movie", "Memories", "Memories", "0", "2015", N, "88", "Drama"),
]

RATINGS_HEADER = ("tconst", "averageRating", "numVotes")
RATINGS = [
    ("tt0000001", "8.5", "950000"),
    ("tt0000002", "4.1", "1200"),
    ("tt0000003", "8.1", "210000"),
    ("tt0000004", "8.4", "600000"),
    ("tt0000005", "6.9", "40"),
    ("tt0000006", "8.3", "800000"),
    ("tt0000007", "8.6", "880000"),
    ("tt0000008", "6.0", "5"),
    ("tt0000009", "7.2", "500"),
    ("tt0000014", "5.5", "300"),
    ("tt0000015", "7.8", "15000"),
    ("tt0000016", "8.0", "700000"),
    ("tt0000017", "8.1", "820000"),
    ("tt0000018", "9.2", "2000000"),
    ("tt0000019", "3.9", "150"),
    ("tt0000021", "6.4", "900"),
    ("tt0000022", "5.0", "40"),
]

AKAS_HEADER = ("titleId", "ordering", "title", "region", "language", "types", "attributes",
               "isOriginalTitle")
AKAS = [
    ("tt0000001", "1", "Gisaengchung", N, N, "original", N, "1"),
    ("tt0000001", "2", "기생충", "KR", "ko", "imdbDisplay", N, "0"),
    ("tt0000001", "3", "Parasite", "US", N, "imdbDisplay", N, "0"),
    ("tt0000001", "4", "パラサイト 半地下の家族", "JP", "ja", "imdbDisplay", N, "0"),
    ("tt0000001", "5", "Паразиты", "RU", N, "imdbDisplay", N, "0"),
    ("tt0000001", "6", "PARASITE", "FR", N, "imdbDisplay", N, "0"),
    ("tt0000003", "1", "Salinui chueok", N, N, "original", N, "1"),
    ("tt0000003", "2", "살인의 추억", "KR", "ko", "imdbDisplay", N, "0"),
    ("tt0000003", "3", "Memories of Murder", "GB", N, "imdbDisplay", N, "0"),
    ("tt0000006", "1", "Le fabuleux destin d'Amélie Poulain", N, N, "original", N, "1"),
    ("tt0000006", "2", "Amélie", "US", N, "imdbDisplay", N, "0"),
    ("tt0000006", "3", "아멜리에", "KR", "ko", "imdbDisplay", N, "0"),
    ("tt0000007", "1", "Sen to Chihiro no kamikakushi", N, N, "original", N, "1"),
    ("tt0000007", "2", "千と千尋の神隠し", "JP", "ja", "imdbDisplay", N, "0"),
    ("tt0000007", "3", "센과 치히로의 행방불명", "KR", "ko", "imdbDisplay", N, "0"),
    ("tt0000007", "4", "Unterwegs", "DE"),  # malformed: 4 columns instead of 8
    ("tt0000010", "1", "Parasite Returns", "US", N, N, N, "0"),
    ("tt0000018", "1", "Il padrino", "IT", "it", "imdbDisplay", N, "0"),
    ("tt0000018", "2", "Крёстный отец", "RU", N, "imdbDisplay", N, "0"),
]

CREW_HEADER = ("tconst", "directors", "writers")
CREW = [
    ("tt0000001", "nm0000001", "nm0000001,nm0000002"),
    ("tt0000003", "nm0000001", "nm0000001,nm0000006"),
    ("tt0000004", "nm0000007", N),
    ("tt0000007", "nm0000008", "nm0000008"),
    ("tt0000010", "nm0000001", N),
    ("tt0000013", N, N),
    ("tt0000018", "nm0000009", "nm0000010,nm0000009"),
]

PRINCIPALS_HEADER = ("tconst", "ordering", "nconst", "category", "job", "characters")
PRINCIPALS = [
    ("tt0000001", "1", "nm0000003", "actor", N, '["Kim Ki-taek"]'),
    ("tt0000001", "2", "nm0000004", "actor", N, '["Kim Ki-woo"]'),
    ("tt0000001", "3", "nm0000005", "actress", N, '["Kim Ki-jung","Jessica"]'),
    ("tt0000001", "4", "nm0000001", "director", N, N),
    ("tt0000001", "5", "nm0000011", "composer", N, N),
    ("tt0000003", "1", "nm0000003", "actor", N, '["Detective Park Doo-man"]'),
    ("tt0000007", "1", "nm0000012", "actress", N, '["Chihiro \\"Sen\\" Ogino"]'),
    ("tt0000010", "1", "nm0000013", "actor", N, '["Someone"]'),
    ("tt0000014", "1", "nm0000014", "self", N, '["Himself - \\"The Host\\""]'),
    ("tt0000018", "1", "nm0000015", "actor", N, '["Don Vito Corleone"]'),
    ("tt0000018", "2", "nm0000010", "writer", "novel", N),
]

NAMES_HEADER = ("nconst", "primaryName", "birthYear", "deathYear", "primaryProfession",
                "knownForTitles")
NAMES = [
    ("nm0000001", "Bong Joon Ho", "1969", N, "director,writer", "tt0000001,tt0000003"),
    ("nm0000002", "Han Jin-won", N, N, "writer", "tt0000001"),
    ("nm0000003", "Song Kang-ho", "1967", N, "actor", "tt0000001,tt0000003"),
    ("nm0000004", "Choi Woo-shik", "1990", N, "actor", "tt0000001"),
    ("nm0000005", "Park So-dam", "1991", N, "actress", "tt0000001"),
    ("nm0000006", "Shim Sung-bo", N, N, "writer", "tt0000003"),
    ("nm0000007", "Lee Unkrich", "1967", N, "director", "tt0000004"),
    ("nm0000008", "Hayao Miyazaki", "1941", N, "director,writer", "tt0000007"),
    ("nm0000009", "Francis Ford Coppola", "1939", N, "director", "tt0000018"),
    ("nm0000010", "Mario Puzo", "1920", "1999", "writer", "tt0000018"),
    ("nm0000011", "Jung Jae-il", "1982", N, "composer", "tt0000001"),
    ("nm0000012", "Rumi Hiiragi", "1987", N, "actress", "tt0000007"),
    ("nm0000013", "Nobody Credited", N, N, "actor", N),
    ("nm0000014", "Émile Dupont", "1950", "2010", "self", N),
    ("nm0000015", "Marlon Brando", "1924", "2004", "actor", "tt0000018"),
    ("nm0000016", "Unreferenced Person", N, N, N, N),
]

FILES: dict[str, tuple[tuple[str, ...], list[tuple[str, ...]]]] = {
    "title.basics": (BASICS_HEADER, BASICS),
    "title.akas": (AKAS_HEADER, AKAS),
    "title.crew": (CREW_HEADER, CREW),
    "title.principals": (PRINCIPALS_HEADER, PRINCIPALS),
    "title.ratings": (RATINGS_HEADER, RATINGS),
    "name.basics": (NAMES_HEADER, NAMES),
}


def dataset_bytes(name: str, *, crlf: bool = False,
                  extra: Iterable[tuple[str, ...]] = ()) -> bytes:
    """One file's content, uncompressed."""
    header, rows = FILES[name]
    end = "\r\n" if crlf else "\n"
    lines = ["\t".join(header), *("\t".join(row) for row in [*rows, *extra])]
    return (end.join(lines) + end).encode("utf-8")


def write_datasets(folder: Path, *, gzipped: bool = True, crlf: bool = False,
                   omit: Iterable[str] = (),
                   extra: dict[str, list[tuple[str, ...]]] | None = None) -> Path:
    """Write the fixture files into `folder` (created); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    skip = set(omit)
    for name in FILES:
        if name in skip:
            continue
        data = dataset_bytes(name, crlf=crlf, extra=(extra or {}).get(name, ()))
        if gzipped:
            (folder / f"{name}.tsv.gz").write_bytes(gzip.compress(data, mtime=0))
        else:
            (folder / f"{name}.tsv").write_bytes(data)
    return folder


def truncate(path: Path, keep: float = 0.6) -> None:
    """Cut a file to `keep` of its size, like a download that stopped."""
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def install_catalogue(data_dir: Path) -> Path:
    """Import the fixture files into the catalogue the app uses for `data_dir` (a few tens
    of milliseconds); returns the catalogue's path."""
    from moviechat_tui.core.data_layout import DataLayout
    from moviechat_tui.films.importer import import_catalogue
    from moviechat_tui.films.locations import FilmLocations

    where = FilmLocations.in_folder(DataLayout(data_dir).films)
    folder = write_datasets(where.downloads_dir)
    import_catalogue(folder, where.catalogue)
    return where.catalogue
