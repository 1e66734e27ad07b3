"""`moviechat films …` as a user or a script runs it: in its own process, against the fixture
datasets on disk and the loopback file server (tests/support/file_server.py) for `update`.

What a user notices: the one line that says how to get a catalogue (exit 2), what each
command prints and its exit code, JSON whose numbers are numbers, `--data-dir` and
`[films]` honoured, a failed or interrupted update that leaves the catalogue answering.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.file_server import FileServer
from tests.support.imdb_fixtures import write_datasets

ROOT = Path(__file__).resolve().parents[2]


def films(data: Path, *argv: str, config: Path | None = None,
          lang: str = "en") -> subprocess.CompletedProcess[str]:
    """`moviechat --data-dir DATA films ARGV` in its own process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MOVIECHAT_"))}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [sys.executable, "-m", "moviechat_tui", "--lang", lang, "--data-dir", str(data),
           "--config", str(config or data / "none.toml"), "films", *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                          encoding="utf-8")


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose catalogue was imported from the fixture folder (by the CLI)."""
    root = tmp_path_factory.mktemp("films-cli")
    folder = write_datasets(root / "imdb")
    done = films(root / "data", "import", str(folder))
    assert done.returncode == 0, done.stderr
    return root / "data"


@pytest.mark.parametrize("argv", [["search", "parasite"], ["show", "tt0000001"], ["status"],
                                  ["search", "x", "--json"], ["status", "--json"]])
def test_without_a_catalogue_every_films_command_says_how_to_get_one(
        tmp_path: Path, argv: list[str]) -> None:
    done = films(tmp_path, *argv)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "moviechat films update" in done.stderr and "moviechat films import DIR" in done.stderr
    assert "Traceback" not in done.stderr


def test_import_says_what_it_kept_and_what_it_skipped(tmp_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb", gzipped=False, crlf=True)
    done = films(tmp_path / "data", "import", str(folder))
    assert done.returncode == 0, done.stderr
    assert "Imported 17 films" in done.stdout
    assert "Skipped 2 malformed rows" in done.stdout
    assert "title.akas.tsv:17: 4 columns instead of 8" in done.stdout
    assert (tmp_path / "data" / "films" / "catalogue.sqlite3").is_file()


def test_import_of_a_folder_without_title_basics_fails_in_one_line(tmp_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb", omit={"title.basics"})
    done = films(tmp_path / "data", "import", str(folder))
    assert done.returncode == 1
    assert "title.basics.tsv.gz" in done.stderr and done.stderr.count("\n") == 1
    missing = films(tmp_path / "data", "import", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_search_prints_one_line_per_film_best_first(imported: Path) -> None:
    done = films(imported, "search", "parasite")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("tt0000001  Parasite (Gisaengchung)  2019 · film · Bong Joon Ho")
    assert lines[1].startswith("tt0000002  Parasite  1982")
    assert films(imported, "search", "parasite", "--year", "1982").stdout.startswith(
        "tt0000002")
    nothing = films(imported, "search", "kingkrapers")
    assert nothing.returncode == 1 and nothing.stdout == ""


def test_search_json_has_the_documented_keys_with_numbers_as_numbers(imported: Path) -> None:
    done = films(imported, "search", "기생충", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    first = found[0]
    for key in ("id", "title", "original_title", "year", "kind", "runtime_minutes", "genres",
                "directors", "rating", "votes"):
        assert key in first
    assert first["id"] == "tt0000001" and first["matched_title"] == "기생충"
    assert first["year"] == 2019 and first["runtime_minutes"] == 132
    assert first["rating"] == 8.5 and first["votes"] == 950000
    assert first["genres"] == ["Drama", "Thriller"] and first["directors"] == ["Bong Joon Ho"]
    assert json.loads(films(imported, "search", "zzzz", "--json").stdout) == []


def test_show_prints_the_card_with_imdbs_attribution(imported: Path) -> None:
    done = films(imported, "show", "https://www.imdb.com/title/tt0000001/")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for text in ("Title:          Parasite", "Original title: Gisaengchung", "Year:",
                 "132 min", "Drama, Thriller", "Directed by:    Bong Joon Ho",
                 "Bong Joon Ho, Han Jin-won", "Song Kang-ho — Kim Ki-taek",
                 "Park So-dam — Kim Ki-jung / Jessica", "8.5/10 from 950,000 votes",
                 "기생충 (KR, ko)", "https://www.imdb.com/title/tt0000001/"):
        assert text in out, text
    assert out.rstrip().endswith(
        "Information courtesy of IMDb (https://www.imdb.com). Used with permission.")


def test_show_json_adds_writers_cast_and_akas(imported: Path) -> None:
    card = json.loads(films(imported, "show", "tt0000007", "--json").stdout)
    assert card["writers"] == ["Hayao Miyazaki"]
    assert card["cast"][0]["name"] == "Rumi Hiiragi"
    assert card["cast"][0]["characters"] == ['Chihiro "Sen" Ogino']  # raw quotes kept
    assert {"title": "千と千尋の神隠し", "region": "JP", "language": "ja"} in card["akas"]
    assert card["attribution"].startswith("Information courtesy of IMDb")


def test_show_of_an_unknown_or_malformed_id(imported: Path) -> None:
    unknown = films(imported, "show", "tt0999999")
    assert unknown.returncode == 1 and "has no film tt0999999" in unknown.stderr
    malformed = films(imported, "show", "parasite")
    assert malformed.returncode == 2 and "not an IMDb title id" in malformed.stderr


def test_status_in_text_and_json(imported: Path) -> None:
    text = films(imported, "status")
    assert text.returncode == 0, text.stderr
    assert "Films:" in text.stdout and "17 (film 14" in text.stdout
    assert "Malformed rows skipped: title.akas.tsv.gz 1, title.basics.tsv.gz 1" in text.stdout
    status = json.loads(films(imported, "status", "--json").stdout)
    assert status["counts"]["films"] == 17 and isinstance(status["size_bytes"], int)
    assert status["path"] == str(imported / "films" / "catalogue.sqlite3")


def test_korean_card_labels_line_up(imported: Path) -> None:
    """Hangul labels take two cells each: the values still start in one column."""
    out = films(imported, "show", "tt0000001", lang="ko").stdout
    lines = [line for line in out.splitlines() if "Bong Joon Ho" in line or "132" in line]
    import unicodedata

    def column(line: str) -> int:
        value = line.index("Bong") if "Bong" in line else line.index("132")
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[:value])

    assert len({column(line) for line in lines}) == 1, lines


def test_films_config_narrows_the_import(tmp_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb")
    config = tmp_path / "config.toml"
    config.write_text('[films]\nkinds = ["tvSeries"]\n', encoding="utf-8")
    assert films(tmp_path / "data", "import", str(folder), config=config).returncode == 0
    status = json.loads(films(tmp_path / "data", "status", "--json").stdout)
    assert status["counts"]["films"] == 1
    config.write_text('[films]\nkinds = ["films"]\n', encoding="utf-8")
    broken = films(tmp_path / "data", "import", str(folder), config=config)
    assert broken.returncode == 2 and f"{config}:2: films.kinds" in broken.stderr


def _serve(folder: Path) -> FileServer:
    server = FileServer()
    for path in sorted(folder.iterdir()):
        server.put(path.name, path.read_bytes())
    return server


def test_update_downloads_imports_then_skips_what_did_not_change(tmp_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb")
    data = tmp_path / "data"
    with _serve(folder) as server:
        first = films(data, "update", "--source", server.base_url)
        assert first.returncode == 0, first.stderr
        assert "title.basics.tsv.gz: downloaded" in first.stdout
        assert "Imported 17 films" in first.stdout
        again = films(data, "update", "--source", server.base_url)
        assert again.returncode == 0, again.stderr
        assert "title.basics.tsv.gz: unchanged" in again.stdout
        assert "up to date" in again.stdout and "Imported" not in again.stdout
    status = json.loads(films(data, "status", "--json").stdout)
    assert status["source"] == server.base_url


def test_update_takes_its_source_from_the_config(tmp_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb")
    with _serve(folder) as server:
        config = tmp_path / "config.toml"
        config.write_text(f'[films]\nsource_url = "{server.base_url}"\n', encoding="utf-8")
        done = films(tmp_path / "data", "update", config=config)
        assert done.returncode == 0, done.stderr
        assert server.requests_for("title.basics.tsv.gz")


def test_a_failed_update_leaves_the_catalogue_answering(tmp_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb")
    data = tmp_path / "data"
    assert films(data, "import", str(folder)).returncode == 0
    with _serve(folder) as server:
        server.status["title.crew.tsv.gz"] = 404
        failed = films(data, "update", "--source", server.base_url)
    assert failed.returncode == 1
    assert "404" in failed.stderr and failed.stderr.count("\n") == 1
    assert films(data, "search", "parasite").returncode == 0
    bad = films(data, "update", "--source", "datasets.imdbws.com")
    assert bad.returncode == 2 and "--source: 'datasets.imdbws.com'" in bad.stderr


def test_ctrl_c_during_an_update_ends_quietly_with_130_and_the_next_run_resumes(
        tmp_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb")
    data = tmp_path / "data"
    assert films(data, "import", str(folder)).returncode == 0
    catalogue = data / "films" / "catalogue.sqlite3"
    before = catalogue.read_bytes()
    big = os.urandom(400_000)  # incompressible: the body takes a while to stream
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MOVIECHAT_"))}
    env["PYTHONPATH"] = str(ROOT)
    with _serve(folder) as server:
        server.put("title.akas.tsv.gz", big)
        server.stall_after["title.akas.tsv.gz"] = 100_000
        child = subprocess.Popen(
            [sys.executable, "-m", "moviechat_tui", "--lang", "en", "--data-dir", str(data),
             "--config", str(data / "none.toml"), "films", "update", "--source",
             server.base_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        part = data / "films" / "downloads" / "title.akas.tsv.gz.part"
        deadline = time.monotonic() + 30
        while not (part.exists() and part.stat().st_size >= 64 * 1024):  # a block written
            assert time.monotonic() < deadline, "the download never reached the stall"
            time.sleep(0.05)
        child.send_signal(signal.SIGINT)
        _out, err = child.communicate(timeout=30)
        assert child.returncode == 130, err
        assert "Traceback" not in err and err.count("\n") == 1
        assert "interrupted" in err
        assert catalogue.read_bytes() == before
        server.stall_after.clear()
        server.put("title.akas.tsv.gz", big)  # the same file: resumed, not restarted
        resumed = films(data, "update", "--source", server.base_url)
        assert "title.akas.tsv.gz: downloaded (resumed)" in resumed.stdout
        ranges = [h.get("Range") for h in server.requests_for("title.akas.tsv.gz")]
        assert ranges[-1] == f"bytes={64 * 1024}-"
