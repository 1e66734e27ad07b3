"""Reading IMDb's dataset files: tab-split with no quoting, `\\N`, CRLF, .tsv or .tsv.gz, and
a truncated or foreign file named with its line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from moviechat_tui.films.datasets import (
    TITLE_BASICS,
    TITLE_PRINCIPALS,
    DatasetReader,
    locate,
)
from moviechat_tui.films.errors import DatasetError
from tests.support.imdb_fixtures import dataset_bytes, truncate, write_datasets


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    reader = DatasetReader(path, TITLE_PRINCIPALS)
    return [(first + i, line.decode().split("\t"))
            for first, lines in reader.blocks() for i, line in enumerate(lines)]


@pytest.mark.parametrize("gzipped", [True, False])
@pytest.mark.parametrize("crlf", [False, True])
def test_rows_are_split_on_tabs_only_with_raw_quotes_kept(
        tmp_path: Path, gzipped: bool, crlf: bool) -> None:
    folder = write_datasets(tmp_path, gzipped=gzipped, crlf=crlf)
    path = locate(folder, TITLE_PRINCIPALS)
    assert path is not None and path.name.endswith(".gz") == gzipped

    rows = _rows(path)

    assert rows[0] == (2, ["tt0000001", "1", "nm0000003", "actor", "\\N", '["Kim Ki-taek"]'])
    by_line = dict(rows)
    # raw JSON with escaped quotes stays exactly as written: no CSV quoting rules applied
    assert by_line[8][5] == '["Chihiro \\"Sen\\" Ogino"]'
    assert all(not field.endswith("\r") for _, row in rows for field in row)
    assert len(rows) == 11


def test_a_file_without_a_final_newline_keeps_its_last_row(tmp_path: Path) -> None:
    path = tmp_path / "title.principals.tsv"
    path.write_bytes(dataset_bytes("title.principals").rstrip(b"\n"))
    assert _rows(path)[-1][1][0] == "tt0000018"


def test_a_truncated_gz_names_the_file_and_the_line(tmp_path: Path) -> None:
    extra = [(f"tt{n:07d}", "1", "nm0000003", "actor", "\\N", '["A"]') for n in range(30, 5000)]
    folder = write_datasets(tmp_path, extra={"title.principals": extra})
    path = folder / "title.principals.tsv.gz"
    truncate(path, keep=0.5)

    with pytest.raises(DatasetError) as failed:
        _rows(path)

    assert failed.value.path == path
    assert failed.value.line > 2
    assert "title.principals.tsv.gz" in failed.value.message
    assert f"line {failed.value.line}" in failed.value.message
    assert "ends too early" in failed.value.message


def test_a_file_with_another_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "title.basics.tsv.gz"
    path.write_bytes(gzip.compress(b"id,title,year\n1,Parasite,2019\n"))

    with pytest.raises(DatasetError) as failed:
        list(DatasetReader(path, TITLE_BASICS).blocks())

    assert failed.value.line == 1
    assert "tconst titleType primaryTitle" in failed.value.message


def test_extra_columns_at_the_end_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "title.basics.tsv"
    header = "tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\tendYear" \
             "\truntimeMinutes\tgenres\tnewColumn\n"
    path.write_text(header + "tt0000001\tmovie\tA\tA\t0\t2000\t\\N\t90\tDrama\tx\n")
    reader = DatasetReader(path, TITLE_BASICS)
    rows = [line for _, lines in reader.blocks() for line in lines]
    assert reader.column_count == 10
    assert len(rows) == 1


def test_locate_prefers_the_published_gz_name(tmp_path: Path) -> None:
    write_datasets(tmp_path, gzipped=False)
    assert locate(tmp_path, TITLE_BASICS) == tmp_path / "title.basics.tsv"
    write_datasets(tmp_path, gzipped=True)
    assert locate(tmp_path, TITLE_BASICS) == tmp_path / "title.basics.tsv.gz"
    assert locate(tmp_path / "nowhere", TITLE_BASICS) is None
