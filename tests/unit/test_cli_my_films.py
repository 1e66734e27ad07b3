"""`moviechat films letterboxd import|export` and `moviechat films mine` as a user types them:
what they print, the JSON a script reads, the exit codes of docs/scripting.md."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviechat_tui.cli import main
from moviechat_tui.core.i18n import set_language
from moviechat_tui.films.importer import import_catalogue
from tests.support.imdb_fixtures import write_datasets
from tests.support.letterboxd_fixtures import zip_export


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    set_language("en")


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """A data folder with the fixture catalogue where the app looks for it."""
    folder = tmp_path / "data"
    import_catalogue(write_datasets(tmp_path / "imdb"), folder / "films" / "catalogue.sqlite3",
                     source="test")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str, lang: str = "en"
        ) -> tuple[int, str, str]:
    try:
        code = main(["--lang", lang, *argv])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_import_prints_what_was_read_matched_kept_and_skipped(
        capsys: pytest.CaptureFixture[str], data: Path, tmp_path: Path) -> None:
    export = zip_export(tmp_path / "export.zip")
    code, out, err = run(capsys, "films", "letterboxd", "import", str(export),
                         "--data-dir", str(data))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Read 23 rows from export.zip:diary.csv")
    assert lines[1] == ("Matched to the catalogue: 17; kept with title and year only: 3; "
                        "skipped: 3.")
    assert lines[2] == ("Added: watchlist 4, diary 10, ratings 4. Updated: diary 1. "
                        "Already in your lists: 1.")
    assert "  export.zip:diary.csv:4  Love, Rosie (2014) — not in the catalogue" in lines
    assert ("  export.zip:ratings.csv:6  the rating '7' is not 0.5 to 5 in half steps"
            in lines)
    code, out, _err = run(capsys, "films", "letterboxd", "import", str(export),
                          "--data-dir", str(data), "--json")
    summary = json.loads(out)
    assert code == 0 and summary["added"] == {"watchlist": 0, "diary": 0, "ratings": 0}
    assert summary["unchanged"] == 20 and summary["matched"] == 17
    assert summary["unmatched"][0] == {"file": "export.zip:diary.csv", "line": 4,
                                       "title": "Love, Rosie", "year": 2014,
                                       "reason": "not in the catalogue"}


def test_mine_lists_each_list_and_its_json_has_the_documented_keys(
        capsys: pytest.CaptureFixture[str], data: Path, tmp_path: Path) -> None:
    run(capsys, "films", "letterboxd", "import", str(zip_export(tmp_path / "e.zip")),
        "--data-dir", str(data))
    code, out, _err = run(capsys, "films", "mine", "--data-dir", str(data))
    assert code == 0
    assert out.splitlines()[0] == "Watchlist (4)"
    assert "2024-03-09  5.0  Parasite (2019)  tt0000001  rewatch" in out
    assert "2024-03-01  4.5  Parasite (2019)  tt0000001  #cinema #with Min-ji" in out
    assert "\nRatings (7)\n" in out
    code, out, _err = run(capsys, "films", "mine", "diary", "--sort", "rating", "--json",
                          "--data-dir", str(data))
    entries = json.loads(out)
    assert code == 0 and len(entries) == 10
    assert entries[0] == {"list": "diary", "title": "Parasite", "year": 2019,
                          "id": "tt0000001", "date": "2024-03-10",
                          "watched_date": "2024-03-09", "rating": 5.0, "rewatch": True,
                          "tags": [], "note": None}
    code, out, _err = run(capsys, "films", "mine", "--json", "--data-dir", str(data))
    assert sorted(json.loads(out)) == ["diary", "ratings", "watchlist"]


def test_export_writes_a_file_and_says_where_the_watchlist_goes(
        capsys: pytest.CaptureFixture[str], data: Path, tmp_path: Path) -> None:
    run(capsys, "films", "letterboxd", "import", str(zip_export(tmp_path / "e.zip")),
        "--data-dir", str(data))
    target = tmp_path / "films.csv"
    code, out, err = run(capsys, "films", "letterboxd", "export", str(target),
                         "--data-dir", str(data))
    assert (code, out) == (0, "")
    assert f"Wrote 12 rows to {target}." in err
    assert "Your watchlist (4 films) is not in this file" in err
    assert target.read_text(encoding="utf-8").startswith("imdbID,Title,Year,WatchedDate")
    code, out, err = run(capsys, "films", "letterboxd", "export", "-", "--watchlist",
                         "--data-dir", str(data))
    assert (code, err) == (0, "")
    assert out.splitlines()[1] == "tt0000018,The Godfather,1972"


def test_failures_are_one_line_and_exit_1_usage_errors_exit_2(
        capsys: pytest.CaptureFixture[str], data: Path, tmp_path: Path) -> None:
    code, out, err = run(capsys, "films", "letterboxd", "import", str(tmp_path / "nope.zip"),
                         "--data-dir", str(data))
    assert (code, out) == (1, "")
    assert err == f"moviechat: {tmp_path / 'nope.zip'} does not exist.\n"
    code, _out, err = run(capsys, "films", "letterboxd", "export",
                          str(tmp_path / "missing" / "x.csv"), "--data-dir", str(data))
    assert code == 1 and err.startswith("moviechat: Could not save") and err.count("\n") == 1
    assert run(capsys, "films", "--data-dir", str(data))[0] == 2
    assert run(capsys, "films", "letterboxd", "import", "--data-dir", str(data))[0] == 2
    code, _out, err = run(capsys, "films", "mine", "favourites", "--data-dir", str(data))
    assert code == 2 and "invalid choice" in err


def test_a_damaged_list_is_reported_on_standard_error(
        capsys: pytest.CaptureFixture[str], data: Path) -> None:
    folder = data / "my-films"
    folder.mkdir(parents=True)
    (folder / "diary.toml").write_text("schema_version = 1\ncount = [\n", encoding="utf-8")
    code, out, err = run(capsys, "films", "mine", "diary", "--data-dir", str(data))
    assert (code, out) == (0, "")
    assert "diary.toml is damaged" in err and "diary.toml.corrupt" in err


def test_the_summary_is_korean_in_korean(capsys: pytest.CaptureFixture[str], data: Path,
                                         tmp_path: Path) -> None:
    code, out, _err = run(capsys, "films", "letterboxd", "import",
                          str(zip_export(tmp_path / "e.zip")), "--data-dir", str(data),
                          lang="ko")
    assert code == 0
    assert "카탈로그" in out.splitlines()[1]
