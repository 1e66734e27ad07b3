"""A Letterboxd account export written by hand, for My films' tests.

Not anyone's real export: the rows are invented, written from the headers Letterboxd uses
(docs/user-guide.md, "My films") with the quirks real exports have — quoting only where
needed (`"Love, Rosie"`), doubled quotes inside a quoted title, a multi-line review holding
HTML, an empty Year and an empty Rating, Rewatch `Yes` or empty, tags in one field separated
by ", ", URIs that are the diary entry's own. The titles are chosen against the catalogue of
tests/support/imdb_fixtures.py: "Parasite" is two films (2019 and 1982), "Amelie" lacks
the accent of "Amélie", "The Kingkrapers" and "Love, Rosie" are not in it at all.

    write_export(folder)                      # the CSV files, LF line ends
    write_export(folder, crlf=True)           # the same with CRLF
    zip_export(tmp / "export.zip")            # a ZIP as downloaded, with the extra files
"""

from __future__ import annotations

import zipfile
from pathlib import Path

DIARY = """\
Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date
2024-03-02,Parasite,2019,https://boxd.it/dA01,4.5,,"cinema, with Min-ji",2024-03-01
2024-03-10,Parasite,2019,https://boxd.it/dA02,5,Yes,,2024-03-09
2023-11-05,"Love, Rosie",2014,https://boxd.it/dA03,,,,2023-11-04
2023-06-01,"The ""Lost"" Reel",1999,https://boxd.it/dA04,3,,,2023-05-31
2022-01-16,Amelie,2001,https://boxd.it/dA05,4,,paris,2022-01-15
2021-12-24,The Kingkrapers,2018,https://boxd.it/dA06,2,,,2021-12-24
2021-08-08,Memories of Murder,,https://boxd.it/dA07,4.5,,,2021-08-08
2020-02-02,Parasite,,https://boxd.it/dA08,,,,2020-02-02
"""

REVIEWS = """\
Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date
2024-03-02,Parasite,2019,https://boxd.it/dA01,4.5,,"<p>The <i>stairs</i>.<br />So many \
stairs &amp; one ""peach"".</p>
<p>Second paragraph, <script>alert(1)</script>still text.</p>","cinema, with Min-ji",2024-03-01
"""

RATINGS = """\
Date,Name,Year,Letterboxd URI,Rating
2024-03-10,Parasite,2019,https://boxd.it/f001,5
2022-01-16,Amélie,2001,https://boxd.it/f002,4
2019-05-05,Parasite,1982,https://boxd.it/f003,2.5
2018-01-01,Coco,2017,https://boxd.it/f004,4
2018-01-02,Blade Runner,1982,https://boxd.it/f005,7
2018-01-03,,2001,https://boxd.it/f006,3
"""

WATCHED = """\
Date,Name,Year,Letterboxd URI
2024-03-10,Parasite,2019,https://boxd.it/f001
2020-01-01,Spirited Away,2001,https://boxd.it/f007
2020-01-01,Blade Runner,1982,https://boxd.it/f005
2020-13-45,Broken Date Film,2001,https://boxd.it/f008
"""

WATCHLIST = """\
Date,Name,Year,Letterboxd URI
2024-04-01,The Godfather,1972,https://boxd.it/f009
2024-04-02,Night Harbor,2015,https://boxd.it/f010
2024-04-03,Blade Runner 2049,2017,https://boxd.it/f011
2024-04-04,Memories,2016,https://boxd.it/f012
"""

FILES = {"diary.csv": DIARY, "reviews.csv": REVIEWS, "ratings.csv": RATINGS,
         "watched.csv": WATCHED, "watchlist.csv": WATCHLIST}

EXTRA = {
    "profile.csv": "Date Joined,Username,Given Name\n2019-01-01,someone,Some One\n",
    "comments.csv": "Date,Content,Comment\n2024-01-01,https://boxd.it/x,Nice\n",
    "likes/films.csv": "Date,Name,Year,Letterboxd URI\n2024-01-01,Coco,2017,https://boxd.it/f004\n",
    "lists/favourites.csv": "Letterboxd list export v7\nDate,Name,Tags,URL,Description\n",
    "deleted/diary.csv": ("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
                          "2020-05-05,Deleted Film,2010,https://boxd.it/del1,1,,,2020-05-05\n"),
    "orphaned/diary.csv": ("Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n"
                           "2020-05-06,Orphaned Film,2011,https://boxd.it/orp1,1,,,2020-05-06\n"),
}
"""Files of a real export that are not the user's current lists: never imported."""

def _bytes(text: str, crlf: bool) -> bytes:
    return (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")


def write_export(folder: Path, *, crlf: bool = False, extra: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in FILES.items():
        (folder / name).write_bytes(_bytes(text, crlf))
    if extra:
        for name, text in EXTRA.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def zip_export(path: Path, *, inside: str = "", crlf: bool = True) -> Path:
    """The export as Letterboxd hands it out: a ZIP with the CSVs at the top (or under
    `inside/`) and the extra files and folders beside them."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in {**FILES, **EXTRA}.items():
            data = _bytes(text, crlf) if name in FILES else text.encode("utf-8")
            archive.writestr(f"{inside}{name}", data)
    return path
