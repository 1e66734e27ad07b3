"""`films update`'s download half against a real loopback HTTP server (tests/support/
file_server.py): fresh download, unchanged files skipped with a 304, a dropped connection
resumed with Range, 404 and other HTTP errors, a stalled server, ctrl+c then a rerun — and
in every failure, the files downloaded before are untouched."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from moviechat_tui.films.datasets import DATASETS
from moviechat_tui.films.download import (
    DOWNLOADED,
    RESUMED,
    UNCHANGED,
    DownloadProgress,
    download_datasets,
)
from moviechat_tui.films.errors import DownloadFailed, DownloadInterrupted
from tests.support.file_server import FileServer

NAMES = [ds.file_name for ds in DATASETS]


def _content(name: str, size: int = 300_000, version: int = 1) -> bytes:
    return random.Random(f"{name}-{version}").randbytes(size)


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as files:
        for name in NAMES:
            files.put(name, _content(name))
        yield files


def _on_disk(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in NAMES if (folder / name).exists()}


def test_first_download_fetches_every_file_and_reports_progress(
        server: FileServer, tmp_path: Path) -> None:
    seen: list[DownloadProgress] = []
    report = download_datasets(tmp_path, base_url=server.base_url, on_progress=seen.append)

    assert [f.status for f in report.files] == [DOWNLOADED] * 6
    assert report.changed
    assert _on_disk(tmp_path) == server.files
    last = {p.file: p for p in seen}
    assert all(last[name].done == last[name].total == 300_000 for name in NAMES)
    assert {p.count for p in seen} == {6}
    assert not list(tmp_path.glob("*.part"))


def test_unchanged_files_are_not_downloaded_again(server: FileServer, tmp_path: Path) -> None:
    download_datasets(tmp_path, base_url=server.base_url)
    server.requests.clear()

    report = download_datasets(tmp_path, base_url=server.base_url)

    assert [f.status for f in report.files] == [UNCHANGED] * 6
    assert not report.changed
    for name in NAMES:
        (headers,) = server.requests_for(name)
        assert headers["If-None-Match"] == server.etag(name)


def test_a_changed_file_is_downloaded_and_the_others_skipped(
        server: FileServer, tmp_path: Path) -> None:
    download_datasets(tmp_path, base_url=server.base_url)
    server.put("title.ratings.tsv.gz", _content("ratings", 5_000, version=2),
               modified=1_800_000_000.0)

    report = download_datasets(tmp_path, base_url=server.base_url)

    statuses = {f.name: f.status for f in report.files}
    assert statuses.pop("title.ratings.tsv.gz") == DOWNLOADED
    assert set(statuses.values()) == {UNCHANGED}
    assert (tmp_path / "title.ratings.tsv.gz").read_bytes() == server.files[
        "title.ratings.tsv.gz"]


def test_a_dropped_connection_is_resumed_with_a_range_request(
        server: FileServer, tmp_path: Path) -> None:
    server.drop_after["title.akas.tsv.gz"] = 120_000

    report = download_datasets(tmp_path, base_url=server.base_url)

    assert {f.name: f.status for f in report.files}["title.akas.tsv.gz"] == RESUMED
    assert _on_disk(tmp_path) == server.files
    first, second = server.requests_for("title.akas.tsv.gz")
    assert "Range" not in first
    assert second["Range"] == "bytes=120000-"
    assert second["If-Range"] == server.etag("title.akas.tsv.gz")


def test_a_connection_that_keeps_dropping_fails_then_the_rerun_resumes(
        server: FileServer, tmp_path: Path) -> None:
    server.drop_after["title.basics.tsv.gz"] = 50_000

    with pytest.raises(DownloadFailed) as failed:
        download_datasets(tmp_path, base_url=server.base_url, retries=0)

    assert "dropped after" in failed.value.message
    assert not (tmp_path / "title.basics.tsv.gz").exists()  # never a partial file in place
    report = download_datasets(tmp_path, base_url=server.base_url)
    assert {f.name: f.status for f in report.files}["title.basics.tsv.gz"] == RESUMED
    assert _on_disk(tmp_path) == server.files


def test_404_is_one_clear_error_and_leaves_the_previous_files(
        server: FileServer, tmp_path: Path) -> None:
    download_datasets(tmp_path, base_url=server.base_url)
    before = _on_disk(tmp_path)
    server.put("title.basics.tsv.gz", _content("basics", version=2), modified=1_800_000_000.0)
    server.status["name.basics.tsv.gz"] = 404

    with pytest.raises(DownloadFailed) as failed:
        download_datasets(tmp_path, base_url=server.base_url)

    assert "404" in failed.value.message
    assert "name.basics.tsv.gz" in failed.value.message
    assert "\n" not in failed.value.message
    assert _on_disk(tmp_path) == before  # the new title.basics waits until all are complete


def test_a_server_error_is_reported_with_its_status(server: FileServer, tmp_path: Path) -> None:
    server.status["title.crew.tsv.gz"] = 503

    with pytest.raises(DownloadFailed) as failed:
        download_datasets(tmp_path, base_url=server.base_url)

    assert "503" in failed.value.message
    assert _on_disk(tmp_path) == {}


def test_nothing_listening_is_a_connection_error(tmp_path: Path) -> None:
    with FileServer() as stopped:
        url = stopped.base_url
    with pytest.raises(DownloadFailed) as failed:
        download_datasets(tmp_path, base_url=url, timeout=2)
    assert "could not connect" in failed.value.message


def test_a_stalled_server_times_out_and_the_rerun_resumes(
        server: FileServer, tmp_path: Path) -> None:
    server.stall_after["title.principals.tsv.gz"] = 70_000

    with pytest.raises(DownloadFailed) as failed:
        download_datasets(tmp_path, base_url=server.base_url, timeout=0.5)

    assert "sent nothing for 0.5 seconds" in failed.value.message
    assert not (tmp_path / "title.principals.tsv.gz").exists()
    report = download_datasets(tmp_path, base_url=server.base_url)
    statuses = {f.name: f.status for f in report.files}
    assert statuses["title.principals.tsv.gz"] == RESUMED
    assert _on_disk(tmp_path) == server.files


@pytest.mark.parametrize("how", ["ctrl+c", "cancel event"])
def test_interrupted_mid_download_then_rerun_resumes(
        server: FileServer, tmp_path: Path, how: str) -> None:
    download_datasets(tmp_path, base_url=server.base_url)
    before = _on_disk(tmp_path)
    for name in NAMES:  # a new release of every file
        server.put(name, _content(name, version=2), modified=1_800_000_000.0)
    cancel = threading.Event()

    def interrupt(progress: DownloadProgress) -> None:
        if progress.file == "title.crew.tsv.gz" and progress.done >= 100_000:
            if how == "ctrl+c":
                raise KeyboardInterrupt
            cancel.set()

    with pytest.raises(DownloadInterrupted) as interrupted:
        download_datasets(tmp_path, base_url=server.base_url, on_progress=interrupt,
                          cancel=cancel)

    assert "again to resume" in interrupted.value.message
    assert _on_disk(tmp_path) == before
    server.requests.clear()
    report = download_datasets(tmp_path, base_url=server.base_url)
    statuses = {f.name: f.status for f in report.files}
    assert statuses["title.crew.tsv.gz"] == RESUMED
    assert server.requests_for("title.crew.tsv.gz")[0]["Range"].startswith("bytes=")
    # files finished before the interruption are not fetched again
    assert "If-None-Match" in server.requests_for("title.basics.tsv.gz")[0]
    assert _on_disk(tmp_path) == server.files


def test_a_file_changed_on_the_server_while_interrupted_comes_whole(
        server: FileServer, tmp_path: Path) -> None:
    server.drop_after["title.akas.tsv.gz"] = 100_000
    with pytest.raises(DownloadFailed):
        download_datasets(tmp_path, base_url=server.base_url, retries=0)
    server.put("title.akas.tsv.gz", _content("akas", version=3), modified=1_900_000_000.0)

    report = download_datasets(tmp_path, base_url=server.base_url)

    assert {f.name: f.status for f in report.files}["title.akas.tsv.gz"] == DOWNLOADED
    assert _on_disk(tmp_path) == server.files  # never old bytes followed by new ones
