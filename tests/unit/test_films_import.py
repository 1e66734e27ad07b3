"""Importing the datasets: what is kept, malformed rows counted, missing files, and every way
an import can fail — truncated .gz, ctrl+c, kill -9, a full disk, a second import — leaving
the previous catalogue answering."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from moviechat_tui.films import importer
from moviechat_tui.films.catalogue import Catalogue
from moviechat_tui.films.errors import (
    DatasetError,
    ImportBusy,
    ImportFailed,
    ImportInterrupted,
)
from moviechat_tui.films.importer import (
    ImportOptions,
    ImportProgress,
    import_catalogue,
    needs_import,
)
from tests.support.imdb_fixtures import AKAS_HEADER, truncate, write_datasets

REPO = Path(__file__).resolve().parents[2]
NEW_FILM = ("tt0000099", "movie", "The Second Catalogue", "The Second Catalogue", "0",
            "2024", "\\N", "100", "Drama")


@pytest.fixture
def imdb(tmp_path: Path) -> Path:
    return write_datasets(tmp_path / "imdb")


@pytest.fixture
def catalogue_path(tmp_path: Path) -> Path:
    return tmp_path / "films" / "catalogue.sqlite3"


@pytest.fixture(params=["in process", "beside"])
def titles_pass(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the titles pass in the importer's process, or in a child process beside it
    (what a full-size title.akas gets)."""
    if request.param == "beside":
        monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", 0)
    return str(request.param)


def _ids(catalogue: Catalogue, query: str) -> list[str]:
    return [film.id for film in catalogue.search(query)]


def test_import_keeps_films_of_the_chosen_kinds(imdb: Path, catalogue_path: Path,
                                                titles_pass: str) -> None:
    report = import_catalogue(imdb, catalogue_path, source="fixture")

    catalogue = Catalogue(catalogue_path)
    assert report.counts["films"] == 17
    assert report.counts["films.movie"] == 14
    assert catalogue.film("tt0000015") is not None  # a series
    assert catalogue.film("tt0000021") is not None  # a mini-series
    assert catalogue.film("tt0000009") is not None  # a short with 500 votes
    assert catalogue.film("tt0000008") is None  # a short with 5 votes
    assert catalogue.film("tt0000010") is None  # an episode
    assert catalogue.film("tt0000011") is None  # a video game
    assert catalogue.film("tt0000012") is None  # an adult title
    assert report.missing == ()
    status = catalogue.status()
    assert status.source == "fixture"
    assert status.counts["films"] == 17
    assert status.size_bytes == catalogue_path.stat().st_size


def test_missing_values_are_absent_not_invented(imdb: Path, catalogue_path: Path) -> None:
    import_catalogue(imdb, catalogue_path)
    orchard = Catalogue(catalogue_path).film("tt0000013")
    assert orchard is not None
    film = orchard.film
    assert (film.year, film.runtime_minutes, film.genres, film.rating, film.votes) == (
        None, None, (), None, None)
    assert orchard.cast == () and film.directors == ()


def test_malformed_rows_are_counted_with_file_and_line_never_fatal(
        imdb: Path, catalogue_path: Path, titles_pass: str) -> None:
    report = import_catalogue(imdb, catalogue_path)

    assert report.malformed == {"title.basics.tsv.gz": 1, "title.akas.tsv.gz": 1}
    assert "title.basics.tsv.gz:21: not a number where one is expected" in \
        report.malformed_examples
    assert "title.akas.tsv.gz:17: 4 columns instead of 8" in report.malformed_examples
    assert Catalogue(catalogue_path).status().malformed == report.malformed
    # the rest of that film's rows were still read
    spirited = Catalogue(catalogue_path).film("tt0000007")
    assert spirited is not None
    assert "千と千尋の神隠し" in [aka.title for aka in spirited.akas]


@pytest.mark.parametrize("gzipped, crlf", [(False, True), (False, False), (True, True)])
def test_plain_tsv_and_crlf_import_the_same(tmp_path: Path, gzipped: bool, crlf: bool) -> None:
    reference = import_catalogue(write_datasets(tmp_path / "a"), tmp_path / "a.sqlite3")
    other = import_catalogue(write_datasets(tmp_path / "b", gzipped=gzipped, crlf=crlf),
                             tmp_path / "b.sqlite3")
    assert other.counts == reference.counts
    parasite = Catalogue(tmp_path / "b.sqlite3").film("tt0000001")
    assert parasite is not None
    assert parasite.cast[2].characters == ("Kim Ki-jung", "Jessica")


def test_alternative_titles_are_deduplicated_per_film(imdb: Path, catalogue_path: Path,
                                                      titles_pass: str) -> None:
    import_catalogue(imdb, catalogue_path)
    parasite = Catalogue(catalogue_path).film("tt0000001")
    assert parasite is not None
    # "Parasite" (US) and "PARASITE" (FR) are the title itself; "Gisaengchung" the original
    assert [a.title for a in parasite.akas] == ["기생충", "パラサイト 半地下の家族", "Паразиты"]
    assert parasite.akas[0].region == "KR" and parasite.akas[0].language == "ko"


def test_aka_regions_narrow_the_alternative_titles(imdb: Path, catalogue_path: Path,
                                                   titles_pass: str) -> None:
    import_catalogue(imdb, catalogue_path, options=ImportOptions(aka_regions=frozenset({"KR"})))
    catalogue = Catalogue(catalogue_path)
    parasite = catalogue.film("tt0000001")
    assert parasite is not None
    assert [a.title for a in parasite.akas] == ["기생충"]
    assert _ids(catalogue, "기생충") == ["tt0000001"]
    assert _ids(catalogue, "паразиты") == []


def test_options_change_what_is_kept(imdb: Path, catalogue_path: Path) -> None:
    import_catalogue(imdb, catalogue_path, options=ImportOptions(
        kinds=frozenset({"movie", "short"}), short_min_votes=0, include_adult=True))
    catalogue = Catalogue(catalogue_path)
    assert catalogue.film("tt0000008") is not None  # the 5-vote short
    assert catalogue.film("tt0000012") is not None  # adult
    assert catalogue.film("tt0000015") is None  # series left out


def test_a_folder_with_some_files_imports_what_is_there(tmp_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb", omit={"name.basics", "title.akas",
                                                     "title.ratings"})
    report = import_catalogue(folder, tmp_path / "c.sqlite3")

    assert set(report.missing) == {"name.basics", "title.akas", "title.ratings"}
    catalogue = Catalogue(tmp_path / "c.sqlite3")
    parasite = catalogue.film("tt0000001")
    assert parasite is not None
    assert parasite.film.rating is None and parasite.film.votes is None
    assert parasite.film.directors == () and parasite.akas == ()
    # without ratings there is no vote count to hold shorts to
    assert catalogue.film("tt0000008") is not None
    assert catalogue.status().files == ("title.basics.tsv.gz", "title.crew.tsv.gz",
                                        "title.principals.tsv.gz")


def test_title_basics_is_required(tmp_path: Path, catalogue_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb", omit={"title.basics"})
    with pytest.raises(ImportFailed) as failed:
        import_catalogue(folder, catalogue_path)
    assert "title.basics.tsv.gz" in failed.value.message
    assert not catalogue_path.exists()


def _previous_catalogue(imdb: Path, catalogue_path: Path) -> bytes:
    import_catalogue(imdb, catalogue_path)
    return catalogue_path.read_bytes()


def _assert_previous_answers(catalogue_path: Path, before: bytes) -> None:
    assert catalogue_path.read_bytes() == before
    assert _ids(Catalogue(catalogue_path), "parasite 2019") == ["tt0000001"]
    leftovers = [p.name for p in catalogue_path.parent.iterdir()
                 if p.name not in (catalogue_path.name, catalogue_path.name + ".lock")]
    assert leftovers == []


@pytest.mark.parametrize("broken_file", ["title.principals", "title.akas"])
def test_a_truncated_gz_fails_with_file_and_line_and_keeps_the_previous_catalogue(
        tmp_path: Path, imdb: Path, catalogue_path: Path, titles_pass: str,
        broken_file: str) -> None:
    before = _previous_catalogue(imdb, catalogue_path)
    extra = {
        "title.principals": [(f"tt{n:07d}", "1", "nm0000003", "actor", "\\N", '["A"]')
                             for n in range(30, 4000)],
        "title.akas": [(f"tt{n:07d}", "1", f"Title {n}", "US", "\\N", "\\N", "\\N", "0")
                       for n in range(30, 4000)]}
    broken = write_datasets(tmp_path / "broken", extra=extra)
    truncate(broken / f"{broken_file}.tsv.gz", keep=0.5)

    with pytest.raises(DatasetError) as failed:
        import_catalogue(broken, catalogue_path)

    assert f"{broken_file}.tsv.gz, line " in failed.value.message
    assert "previous catalogue is unchanged" in failed.value.message
    _assert_previous_answers(catalogue_path, before)


@pytest.mark.parametrize("how", ["ctrl+c", "cancel event"])
def test_an_interrupted_import_keeps_the_previous_catalogue(
        tmp_path: Path, imdb: Path, catalogue_path: Path, how: str, titles_pass: str) -> None:
    before = _previous_catalogue(imdb, catalogue_path)
    newer = write_datasets(tmp_path / "newer", extra={"title.basics": [NEW_FILM]})
    cancel = threading.Event()

    def interrupt(progress: ImportProgress) -> None:
        if progress.phase == "title.principals":
            if how == "ctrl+c":
                raise KeyboardInterrupt
            cancel.set()

    with pytest.raises(ImportInterrupted):
        import_catalogue(newer, catalogue_path, on_progress=interrupt, cancel=cancel)

    _assert_previous_answers(catalogue_path, before)


def test_import_killed_midway_leaves_the_previous_catalogue_answering(
        tmp_path: Path, imdb: Path, catalogue_path: Path) -> None:
    before = _previous_catalogue(imdb, catalogue_path)
    newer = write_datasets(tmp_path / "newer", extra={"title.basics": [NEW_FILM]})
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from moviechat_tui.films.importer import import_catalogue\n"
        "def pause(progress):\n"
        "    if progress.phase == 'title.principals':\n"
        "        print('IMPORTING', flush=True)\n"
        "        time.sleep(60)\n"
        "import_catalogue(Path(sys.argv[1]), Path(sys.argv[2]), on_progress=pause)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(newer), str(catalogue_path)],
                             cwd=REPO, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "IMPORTING"
        assert catalogue_path.with_name(catalogue_path.name + ".importing").exists()
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()

    assert catalogue_path.read_bytes() == before
    assert _ids(Catalogue(catalogue_path), "parasite 2019") == ["tt0000001"]
    # the next import cleans up after the killed one and succeeds
    import_catalogue(newer, catalogue_path)
    _ids_after = _ids(Catalogue(catalogue_path), "second catalogue")
    assert _ids_after == ["tt0000099"]
    assert not catalogue_path.with_name(catalogue_path.name + ".importing").exists()


def test_a_full_disk_fails_cleanly_and_keeps_the_previous_catalogue(
        tmp_path: Path, imdb: Path, catalogue_path: Path) -> None:
    before = _previous_catalogue(imdb, catalogue_path)
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from moviechat_tui.films.errors import ImportFailed\n"
        "from moviechat_tui.films.importer import import_catalogue\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))\n"
        "try:\n"
        "    import_catalogue(Path(sys.argv[1]), Path(sys.argv[2]))\n"
        "except ImportFailed as err:\n"
        "    print(err.message)\n"
        "    sys.exit(1)\n")
    done = subprocess.run([sys.executable, "-c", script, str(imdb), str(catalogue_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})

    assert done.returncode == 1, done.stderr
    assert "previous catalogue is unchanged" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    _assert_previous_answers(catalogue_path, before)


def test_a_second_import_at_the_same_time_is_refused(imdb: Path, catalogue_path: Path) -> None:
    catalogue_path.parent.mkdir(parents=True)
    lock = catalogue_path.with_name(catalogue_path.name + ".lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(ImportBusy) as busy:
            import_catalogue(imdb, catalogue_path)
        assert "Another import" in busy.value.message
    finally:
        os.close(fd)
    assert not catalogue_path.exists()


def test_an_open_catalogue_sees_a_new_import(tmp_path: Path, imdb: Path,
                                             catalogue_path: Path) -> None:
    import_catalogue(imdb, catalogue_path)
    catalogue = Catalogue(catalogue_path)
    assert _ids(catalogue, "second catalogue") == []

    newer = write_datasets(tmp_path / "newer", extra={"title.basics": [NEW_FILM]})
    import_catalogue(newer, catalogue_path)

    assert _ids(catalogue, "second catalogue") == ["tt0000099"]


def test_the_titles_pass_gives_the_same_catalogue_in_either_process(
        tmp_path: Path, imdb: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inline = import_catalogue(imdb, tmp_path / "inline.sqlite3")
    monkeypatch.setattr(importer, "PARALLEL_FROM_BYTES", 0)
    beside = import_catalogue(imdb, tmp_path / "beside.sqlite3")

    assert beside.counts == inline.counts and beside.input_rows == inline.input_rows
    assert beside.malformed_examples == inline.malformed_examples
    first, second = Catalogue(tmp_path / "inline.sqlite3"), Catalogue(tmp_path / "beside.sqlite3")
    for query in ("parasite", "기생", "神隠し", "godfather 1972"):
        assert first.search(query) == second.search(query)
    assert first.film("tt0000001") == second.film("tt0000001")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_import_takes_its_titles_process_with_it(
        tmp_path: Path, catalogue_path: Path) -> None:
    folder = write_datasets(tmp_path / "imdb")
    akas = folder / "title.akas.tsv.gz"
    akas.unlink()
    with open(folder / "title.akas.tsv", "w", encoding="utf-8") as f:  # ~60 MB, not kept
        f.write("\t".join(AKAS_HEADER) + "\n")
        row = "\t1\tSome Other Title Nobody Keeps\tUS\t\\N\timdbDisplay\t\\N\t0\n"
        for start in range(1_000_000, 2_500_000, 100_000):
            f.write("".join(f"tt{n}{row}" for n in range(start, start + 100_000)))
    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "from moviechat_tui.films.importer import import_catalogue\n"
        "def pause(progress):\n"
        "    if progress.phase == 'title.crew':\n"
        "        print(os.getpid(), flush=True)\n"
        "        time.sleep(60)\n"
        "import_catalogue(Path(sys.argv[1]), Path(sys.argv[2]), on_progress=pause)\n")
    child = subprocess.Popen([sys.executable, "-c", script, str(folder), str(catalogue_path)],
                             cwd=REPO, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert child.stdout is not None
        importer_pid = int(child.stdout.readline())
        workers = _children(importer_pid)
        assert workers, "the titles pass should run in a child process"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()

    for _ in range(200):  # it notices between two blocks of title.akas
        if not any(_alive(pid) for pid in workers):
            break
        threading.Event().wait(0.05)
    assert not any(_alive(pid) for pid in workers)
    assert not catalogue_path.exists()
    import_catalogue(folder, catalogue_path)  # and the next import cleans up after both
    assert sorted(p.name for p in catalogue_path.parent.iterdir()) == [
        catalogue_path.name, catalogue_path.name + ".lock"]


def test_needs_import_until_the_files_are_imported(tmp_path: Path, imdb: Path,
                                                   catalogue_path: Path) -> None:
    assert needs_import(imdb, catalogue_path)  # no catalogue yet
    import_catalogue(imdb, catalogue_path)
    assert not needs_import(imdb, catalogue_path)
    newer = imdb / "title.ratings.tsv.gz"
    os.utime(newer, (catalogue_path.stat().st_mtime + 10,) * 2)  # a new download
    assert needs_import(imdb, catalogue_path)
