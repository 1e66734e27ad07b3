"""Letterboxd in and out: a hand-written export (tests/support/letterboxd_fixtures.py) imported
against the hand-written catalogue (tests/support/imdb_fixtures.py) — what a user would see
in their lists afterwards, and in the summary."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest

from moviechat_tui.films.catalogue import Catalogue
from moviechat_tui.films.importer import import_catalogue
from moviechat_tui.films.letterboxd import (
    LetterboxdError,
    import_letterboxd,
    plain_text,
)
from moviechat_tui.films.letterboxd_export import FILMS_COLUMNS, films_csv, watchlist_csv
from moviechat_tui.films.my_lists import Entry, MyLists
from moviechat_tui.films.my_store import MyFilmsStore
from tests.support.imdb_fixtures import write_datasets
from tests.support.letterboxd_fixtures import DIARY, write_export, zip_export


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    root = tmp_path_factory.mktemp("films")
    import_catalogue(write_datasets(root / "imdb"), root / "catalogue.sqlite3", source="test")
    return Catalogue(root / "catalogue.sqlite3")


def _files(store: MyFilmsStore) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(store.folder.glob("*.toml"))}


def _by_title(entries: tuple[Entry, ...]) -> dict[tuple[str, int | None], list[Entry]]:
    found: dict[tuple[str, int | None], list[Entry]] = {}
    for entry in entries:
        found.setdefault((entry.title, entry.year), []).append(entry)
    return found


def _identity(lists: MyLists, *, dates: bool = False) -> dict[str, list[tuple[object, ...]]]:
    """What a round trip keeps: the film (its id, or its title when it has none: a diary
    row may spell a title another file spells with an accent), the year, the day watched,
    rating, rewatch, tags and note — and, with `dates`, the day it was logged (Letterboxd's
    import format has no column for that)."""
    return {name: sorted(((e.film_id or e.title, e.year, e.watched, e.rating, e.rewatch,
                           e.tags, e.note, e.date if dates else None) for e in lists.of(name)),
                         key=repr)
            for name in ("watchlist", "diary", "ratings")}


def test_the_export_zip_lands_in_the_right_lists_matched_by_title_and_year(
        tmp_path: Path, catalogue: Catalogue) -> None:
    store = MyFilmsStore(tmp_path / "my")
    summary = import_letterboxd(zip_export(tmp_path / "export.zip"), store, catalogue)
    lists = store.load()
    diary = _by_title(lists.diary)
    ratings = _by_title(lists.ratings)
    # Two diary entries of Parasite (2019): the 2019 film, not the 1982 one, with the
    # rewatch, the tags split at ", " and the review as a plain-text note.
    first, second = diary[("Parasite", 2019)]
    assert (first.film_id, first.watched.isoformat() if first.watched else "",
            first.rating, first.tags) == ("tt0000001", "2024-03-01", 4.5,
                                          ("cinema", "with Min-ji"))
    assert first.note == ('The stairs.\nSo many stairs & one "peach".\n\n'
                          "Second paragraph, still text.")
    assert (second.rewatch, second.rating) == (True, 5.0)
    # A title shared by two films of different years: the year picks.
    assert ratings[("Parasite", 1982)][0].film_id == "tt0000002"
    # Quotes, commas, accents, an empty year (the one film of that title, its year filled in).
    assert diary[('The "Lost" Reel', 1999)][0].film_id == "tt0000014"
    assert diary[("Amelie", 2001)][0].film_id == "tt0000006"
    assert diary[("Memories of Murder", None)][0].film_id == "tt0000003"
    # Not in the catalogue, or ambiguous without a year: kept with title and year.
    assert diary[("Love, Rosie", 2014)][0].film_id is None
    assert diary[("The Kingkrapers", 2018)][0].film_id is None
    assert diary[("Parasite", None)][0].film_id is None
    # watched.csv: "seen, date unknown" unless the diary has the film already.
    assert [e.watched for e in diary[("Spirited Away", 2001)]] == [None]
    assert len(diary[("Parasite", 2019)]) == 2
    # ratings.csv is the film's rating; a diary rating fills a film without one.
    assert ratings[("Parasite", 2019)][0].rating == 5.0
    assert ratings[("The Kingkrapers", 2018)][0].rating == 2.0
    assert [(e.title, e.film_id) for e in lists.watchlist] == [
        ("The Godfather", "tt0000018"), ("Night Harbor", "tt0000015"),
        ("Blade Runner 2049", "tt0000016"), ("Memories", "tt0000022")]
    # deleted/, orphaned/, likes/ and lists/ are not the user's lists.
    titles = {e.title for name in ("watchlist", "diary", "ratings") for e in lists.of(name)}
    assert not titles & {"Deleted Film", "Orphaned Film"}
    # The summary: every row accounted for, with file and line.
    assert summary.rows == 23
    assert summary.matched + len(summary.unmatched) + len(summary.skipped) == summary.rows
    assert [(u.file, u.line, u.title) for u in summary.unmatched] == [
        ("export.zip:diary.csv", 4, "Love, Rosie"),
        ("export.zip:diary.csv", 7, "The Kingkrapers"),
        ("export.zip:diary.csv", 9, "Parasite")]
    assert "several films" in summary.unmatched[2].reason
    assert [(s.file, s.line) for s in summary.skipped] == [
        ("export.zip:ratings.csv", 6), ("export.zip:ratings.csv", 7),
        ("export.zip:watched.csv", 5)]
    assert ["rating '7'" in summary.skipped[0].reason, "no film title" in
            summary.skipped[1].reason, "2020-13-45" in summary.skipped[2].reason] == [
        True, True, True]


def test_importing_the_same_export_twice_adds_nothing(tmp_path: Path,
                                                      catalogue: Catalogue) -> None:
    store = MyFilmsStore(tmp_path / "my")
    export = zip_export(tmp_path / "export.zip")
    import_letterboxd(export, store, catalogue)
    before = _files(store)
    again = import_letterboxd(export, MyFilmsStore(tmp_path / "my"), catalogue)
    assert again.added == {"watchlist": 0, "diary": 0, "ratings": 0}
    assert again.updated == {"watchlist": 0, "diary": 0, "ratings": 0}
    assert again.unchanged == again.rows - len(again.skipped)
    assert _files(store) == before


@pytest.mark.parametrize("form", ["zip", "zip-in-folder", "folder", "crlf-folder", "files"])
def test_zip_folder_or_single_files_lf_or_crlf_give_the_same_lists(
        tmp_path: Path, catalogue: Catalogue, form: str) -> None:
    reference = MyFilmsStore(tmp_path / "reference")
    import_letterboxd(write_export(tmp_path / "plain"), reference, catalogue)
    store = MyFilmsStore(tmp_path / "my")
    if form == "zip":
        import_letterboxd(zip_export(tmp_path / "e.zip"), store, catalogue)
    elif form == "zip-in-folder":
        import_letterboxd(zip_export(tmp_path / "e.zip", inside="letterboxd-x-2026/"), store,
                          catalogue)
    elif form == "folder":
        import_letterboxd(tmp_path / "plain", store, catalogue)
    elif form == "crlf-folder":
        import_letterboxd(write_export(tmp_path / "crlf", crlf=True), store, catalogue)
    else:  # one file at a time, in the order a user might pick them
        for name in ("diary", "reviews", "ratings", "watched", "watchlist"):
            import_letterboxd(tmp_path / "plain" / f"{name}.csv", store, catalogue)
    assert _identity(store.load(), dates=True) == _identity(reference.load(), dates=True)


def test_without_a_catalogue_rows_are_kept_and_matched_by_a_later_import(
        tmp_path: Path, catalogue: Catalogue) -> None:
    store = MyFilmsStore(tmp_path / "my")
    export = zip_export(tmp_path / "export.zip")
    first = import_letterboxd(export, store, Catalogue(tmp_path / "none.sqlite3"))
    assert first.matched == 0 and first.catalogue_note and "films update" in first.catalogue_note
    assert all(u.reason == "no catalogue" for u in first.unmatched)
    counts = {name: len(store.load().of(name)) for name in ("watchlist", "diary", "ratings")}
    second = import_letterboxd(export, store, catalogue)
    assert second.added == {"watchlist": 0, "diary": 0, "ratings": 0}
    assert sum(second.updated.values()) > 0
    assert {name: len(store.load().of(name)) for name in counts} == counts
    assert [e.film_id for e in store.load().watchlist] == [
        "tt0000018", "tt0000015", "tt0000016", "tt0000022"]


def test_export_then_import_gives_the_same_lists_and_adds_nothing_to_them(
        tmp_path: Path, catalogue: Catalogue) -> None:
    store = MyFilmsStore(tmp_path / "my")
    import_letterboxd(zip_export(tmp_path / "export.zip"), store, catalogue)
    store.rate("Coco", 2017, "tt0000004", 3.5)  # rated again today: a rating-only row
    lists = store.load()
    (tmp_path / "films.csv").write_text(films_csv(lists), encoding="utf-8", newline="")
    (tmp_path / "watchlist.csv").write_text(watchlist_csv(lists), encoding="utf-8",
                                            newline="")
    fresh = MyFilmsStore(tmp_path / "fresh")
    for name in ("films.csv", "watchlist.csv"):
        summary = import_letterboxd(tmp_path / name, fresh, catalogue)
        assert summary.skipped == ()
    assert _identity(fresh.load()) == _identity(lists)
    before = _files(store)
    for name in ("films.csv", "watchlist.csv"):
        again = import_letterboxd(tmp_path / name, store, catalogue)
        assert sum(again.added.values()) == 0
    assert _files(store) == before


def test_the_export_is_in_letterboxds_import_format_with_imdb_ids(
        tmp_path: Path, catalogue: Catalogue) -> None:
    store = MyFilmsStore(tmp_path / "my")
    import_letterboxd(zip_export(tmp_path / "export.zip"), store, catalogue)
    text = films_csv(store.load())
    assert text.startswith(",".join(FILMS_COLUMNS) + "\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    parasite = [r for r in rows if r["Title"] == "Parasite" and r["WatchedDate"] == "2024-03-01"]
    assert parasite == [{"imdbID": "tt0000001", "Title": "Parasite", "Year": "2019",
                         "WatchedDate": "2024-03-01", "Rating": "4.5", "Rewatch": "false",
                         "Tags": "cinema, with Min-ji",
                         "Review": 'The stairs.\nSo many stairs & one "peach".\n\n'
                                   "Second paragraph, still text."}]
    seen = [r for r in rows if r["Title"] == "Spirited Away"]
    assert seen == [{"imdbID": "tt0000007", "Title": "Spirited Away", "Year": "2001",
                     "WatchedDate": "", "Rating": "", "Rewatch": "", "Tags": "",
                     "Review": ""}]
    assert {r["Title"] for r in rows if not r["imdbID"]} == {
        "Love, Rosie", "The Kingkrapers", "Parasite"}
    assert watchlist_csv(store.load()).splitlines()[:2] == [
        "imdbID,Title,Year", "tt0000018,The Godfather,1972"]


def test_reviews_are_kept_as_plain_text_never_html() -> None:
    assert plain_text("<p>One <b>two</b><br/>three &amp; <a href='x'>four</a></p>"
                      "<ul><li>a</li><li>b</li></ul><style>p{}</style>") == (
        "One two\nthree & four\n\n- a\n- b")
    assert plain_text("less < more & heart <3") == "less < more & heart <3"


def test_what_cannot_be_imported_says_why(tmp_path: Path) -> None:
    store = MyFilmsStore(tmp_path / "my")
    with pytest.raises(LetterboxdError, match="does not exist"):
        import_letterboxd(tmp_path / "nope.zip", store, None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LetterboxdError, match="none of a Letterboxd export"):
        import_letterboxd(tmp_path / "empty", store, None)
    odd = tmp_path / "mine.csv"
    odd.write_text("Date,Name,Year,Letterboxd URI\n2024-01-01,Coco,2017,x\n", encoding="utf-8")
    with pytest.raises(LetterboxdError, match=r"watched\.csv or watchlist\.csv"):
        import_letterboxd(odd, store, None)
    other = tmp_path / "diary.csv"
    other.write_text("When,What\n2024-01-01,Coco\n", encoding="utf-8")
    with pytest.raises(LetterboxdError, match="no Name column"):
        import_letterboxd(other, store, None)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LetterboxdError):
        import_letterboxd(broken, store, None)
    assert not store.folder.exists()  # nothing written


def test_a_zip_with_only_other_files_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "likes.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("likes/films.csv", "Date,Name,Year,Letterboxd URI\n")
        archive.writestr("deleted/diary.csv", DIARY)
    with pytest.raises(LetterboxdError, match="none of a Letterboxd export"):
        import_letterboxd(path, MyFilmsStore(tmp_path / "my"), None)


def test_an_unknown_csv_name_is_read_by_its_header(tmp_path: Path,
                                                   catalogue: Catalogue) -> None:
    path = tmp_path / "my-diary-2024.csv"
    path.write_text(DIARY, encoding="utf-8")
    store = MyFilmsStore(tmp_path / "my")
    summary = import_letterboxd(path, store, catalogue)
    assert summary.added["diary"] == 8 and len(store.load().diary) == 8
