"""IMDb's non-commercial dataset files: their names, their columns, and a streaming reader.

The format (developer.imdb.com, "IMDb Non-Commercial Datasets"): UTF-8, a header line,
fields separated by tabs, `\\N` for a missing value, and **no quoting of any kind** —
`title.principals.characters` holds raw JSON such as `["Brooke"]`, and titles may contain
`"` freely. So rows are split on tabs and nothing else; a quoting CSV reader would mangle
them. CRLF line ends are tolerated, and either the gzipped file (`name.tsv.gz`, as published)
or a plain `name.tsv` is read.

The files are big (the principals alone ~90 million rows), so the reader yields the raw
lines of each ~1 MB block as a list of `bytes`: the importer filters the big files on their
first column before it decodes or splits anything, and never holds more than one block.

Problems with a *row* (a wrong number of columns, a bad number) are the importer's to count
(`MalformedRows`) and never stop an import. Problems with a *file* — a truncated or damaged
`.gz`, a header that is not the expected one — raise `DatasetError` with the file and the line
being read: importing on would silently drop the rest of it.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.core.text import sanitize
from moviechat_tui.films.errors import DatasetError

NULL = "\\N"
"""How the files write a missing value."""

READ_SIZE = 256 * 1024
"""Bytes read from disk at a time (~1 MB once decompressed): big enough that per-block
overhead vanishes, small enough that memory stays flat."""


class Dataset(Record):
    """One of the six files: its base name and the columns its header must start with."""

    name: str
    columns: tuple[str, ...]

    @property
    def file_name(self) -> str:
        """The name it is published under (`title.basics.tsv.gz`)."""
        return f"{self.name}.tsv.gz"


TITLE_BASICS = Dataset("title.basics", (
    "tconst", "titleType", "primaryTitle", "originalTitle", "isAdult", "startYear",
    "endYear", "runtimeMinutes", "genres"))
TITLE_AKAS = Dataset("title.akas", (
    "titleId", "ordering", "title", "region", "language", "types", "attributes",
    "isOriginalTitle"))
TITLE_CREW = Dataset("title.crew", ("tconst", "directors", "writers"))
TITLE_PRINCIPALS = Dataset("title.principals", (
    "tconst", "ordering", "nconst", "category", "job", "characters"))
TITLE_RATINGS = Dataset("title.ratings", ("tconst", "averageRating", "numVotes"))
NAME_BASICS = Dataset("name.basics", (
    "nconst", "primaryName", "birthYear", "deathYear", "primaryProfession", "knownForTitles"))

DATASETS: tuple[Dataset, ...] = (
    TITLE_BASICS, TITLE_AKAS, TITLE_CREW, TITLE_PRINCIPALS, TITLE_RATINGS, NAME_BASICS)
"""All six, in the order IMDb's documentation lists them."""
REQUIRED = TITLE_BASICS
"""Without title.basics there is nothing to import; every other file is optional."""


def locate(folder: Path, dataset: Dataset) -> Path | None:
    """The file for `dataset` in `folder`: `name.tsv.gz`, else `name.tsv`, else None."""
    for name in (dataset.file_name, f"{dataset.name}.tsv"):
        path = folder / name
        if path.is_file():
            return path
    return None


class MalformedRows:
    """Rows that could not be used, counted per file, with the first few located exactly
    (`title.akas.tsv.gz:1234: 7 columns instead of 8`) so the user can look."""

    EXAMPLES = 20

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.examples: list[str] = []

    def add(self, path: Path, line: int, reason: str) -> None:
        self.counts[path.name] = self.counts.get(path.name, 0) + 1
        if len(self.examples) < self.EXAMPLES:
            self.examples.append(f"{path.name}:{line}: {reason}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _decompressed(raw: BinaryIO) -> Iterator[bytes]:
    """The file's bytes, gunzipped if it is gzipped (several members allowed), in blocks.
    Everything decompressed is yielded before a truncation raises `EOFError`, so the lines
    before the cut are read and the error names the right line."""
    chunk = raw.read(READ_SIZE)
    if not chunk.startswith(b"\x1f\x8b"):
        while chunk:
            yield chunk
            chunk = raw.read(READ_SIZE)
        return
    inflater = zlib.decompressobj(wbits=31)
    while True:
        if not chunk:
            if not inflater.eof:
                raise EOFError("compressed file ended before the end-of-stream marker")
            return
        data = inflater.decompress(chunk)
        if data:
            yield data
        if inflater.eof:  # another gzip member may follow
            chunk = inflater.unused_data
            if chunk:
                inflater = zlib.decompressobj(wbits=31)
                continue
        chunk = raw.read(READ_SIZE)


def wrong_columns(found: int, expected: int) -> str:
    return _("{found} columns instead of {expected}").format(found=found, expected=expected)


def not_a_number() -> str:
    return _("not a number where one is expected")


# -- fields ---------------------------------------------------------------------------------

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clean_text(text: str) -> str:
    """A title or a name as it may be stored and shown: control and escape sequences and
    bidi overrides removed (core.text.sanitize), checked first with one regex search so the
    millions of clean fields cost almost nothing."""
    return sanitize(text) if _UNSAFE.search(text) else text


def optional_int(text: str) -> int | None:
    """`\\N` → None, a number → int (ValueError for anything else)."""
    return None if text == NULL else int(text)


def id_number(ident: bytes | str) -> int:
    """`tt0111161` / `nm0000001` → 111161 / 1 (ValueError for anything else)."""
    if len(ident) < 3 or ident[1:2] not in ("t", "m", b"t", b"m"):
        raise ValueError(ident)
    return int(ident[2:])


class DatasetReader:
    """Streams one dataset file as blocks of raw lines (bytes, without line ends).

    Usage:

        reader = DatasetReader(path, TITLE_PRINCIPALS)
        for first_line, lines in reader.blocks():   # first_line: number of lines[0]
            for line in lines:
                ...

    The header is checked before the first block: it must start with the dataset's columns
    (IMDb could add columns at the end; those are counted in `column_count` and ignored).
    `position` is how much of the file on disk has been consumed, for progress bars.
    """

    def __init__(self, path: Path, dataset: Dataset) -> None:
        self.path = path
        self.dataset = dataset
        self.size = path.stat().st_size
        self.column_count = len(dataset.columns)
        self._raw: BinaryIO | None = None

    @property
    def position(self) -> int:
        raw = self._raw
        if raw is None or raw.closed:
            return 0
        try:
            return raw.tell()
        except (OSError, ValueError):
            return 0

    def blocks(self) -> Iterator[tuple[int, list[bytes]]]:
        line = 1  # the line being read, for errors
        try:
            with open(self.path, "rb") as raw:
                self._raw = raw
                tail = b""
                header_done = False
                for data in _decompressed(raw):
                    data = tail + data
                    if b"\r" in data:
                        data = data.replace(b"\r\n", b"\n")
                    lines = data.split(b"\n")
                    tail = lines.pop()
                    if not header_done and lines:
                        self._check_header(lines[0])
                        del lines[0]
                        header_done = True
                        line = 2
                    if lines:
                        first = line
                        line += len(lines)
                        yield first, lines
                if tail.endswith(b"\r"):
                    tail = tail[:-1]
                if not header_done:
                    self._check_header(tail)
                elif tail:
                    yield line, [tail]
        except EOFError as err:
            raise DatasetError(self.path, line, _(
                "the file ends too early (an interrupted download?); download it again"
            )) from err
        except zlib.error as err:
            raise DatasetError(self.path, line, _(
                "the compressed file is damaged ({error}); download it again"
            ).format(error=err)) from err
        except OSError as err:
            raise DatasetError(self.path, line, os.strerror(err.errno) if err.errno
                               else str(err)) from err
        finally:
            self._raw = None

    def _check_header(self, first_line: bytes) -> None:
        header = first_line.decode("utf-8", "replace").lstrip("\ufeff").split("\t")
        expected = list(self.dataset.columns)
        if header[:len(expected)] != expected:
            raise DatasetError(self.path, 1, _(
                "this is not {name}: its header should start with the columns {columns}"
            ).format(name=self.dataset.name, columns=" ".join(expected)))
        self.column_count = len(header)
