"""Importing a Letterboxd account export into My films.

    summary = import_letterboxd(Path("letterboxd-name-2026-01-21.zip"), store, catalogue)

What it reads (docs/user-guide.md, "My films"): the export ZIP as downloaded, the folder it
unzips to, or any one of its CSV files —

    diary.csv      Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date
    reviews.csv    the diary's columns plus Review (multi-line, may hold HTML)
    ratings.csv    Date,Name,Year,Letterboxd URI,Rating
    watched.csv    Date,Name,Year,Letterboxd URI   (seen; the date is when it was marked)
    watchlist.csv  Date,Name,Year,Letterboxd URI

— and a CSV in Letterboxd's *import* format (Title, Year, imdbID, WatchedDate, Rating, …),
which is what `letterboxd_export.py` writes, so an export of moviechat's lists reads back.
Other files of the export (profile.csv, comments.csv, likes/, lists/, and deleted/ and
orphaned/, which hold entries the user deleted) are left alone.

The CSV is RFC 4180 as Python's `csv` module reads it: quoted only where needed, doubled
quotes, multi-line fields, LF or CRLF, a BOM if some tool added one. Empty Year or Rating
are "unknown"; Rewatch is `Yes` or empty; Tags is one field separated by ", ". A diary's URI
names the diary entry, not the film, so it cannot join files: rows are matched to the
catalogue by title and year (title_match.py) and otherwise kept with their title and year.

What goes where: a diary or review row is a diary entry (its rating also becomes the film's
rating when the film has none, and a review becomes its note, as plain text); a ratings row
is the film's rating; a watched row is "seen, date unknown" in the diary unless the diary
already has the film; a watchlist row joins the watchlist. Importing the same export twice
adds nothing: entries are merged by identity (my_lists.py).

Everything is read and matched before the lists are touched; then one transaction of the
store writes them. A file that cannot be read stops the import with nothing written.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, TYPE_CHECKING, Literal

from moviechat_tui.core.errors import UserFacingError
from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.records import Record, field
from moviechat_tui.core.text import one_line, sanitize
from moviechat_tui.films.my_lists import (
    Entry,
    ListEditor,
    ListName,
    Outcome,
    make_entry,
    valid_rating,
)

if TYPE_CHECKING:
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.my_store import MyFilmsStore
    from moviechat_tui.films.title_match import TitleMatch

FileKind = Literal["diary", "reviews", "ratings", "watched", "watchlist", "import"]
ORDER: tuple[FileKind, ...] = ("diary", "reviews", "ratings", "watched", "watchlist", "import")
"""Files are applied in this order: the diary first, so that a watched row finds the film
already logged and a review finds its diary entry."""
KNOWN_NAMES = frozenset(("diary", "reviews", "ratings", "watched", "watchlist"))
LEFT_ALONE = frozenset(("deleted", "orphaned", "likes", "lists"))
"""Folders of an export whose files are not the user's current lists."""
MAX_CSV_BYTES = 256 * 1024 * 1024
"""A CSV larger than this (even inside a ZIP) is refused: a real export is a few MB."""
_TCONST = re.compile(r"tt[0-9]{7,10}")


class LetterboxdError(UserFacingError):
    """The path cannot be imported (missing, not a Letterboxd export, unreadable)."""


class Source(Record):
    """One CSV to read: `name` as the user sees it, `kind`, and how to open it as text."""

    name: str
    kind: FileKind | None
    """None until the header says (a CSV whose file name is not one of the export's)."""
    open: Callable[[], IO[str]]

    @property
    def list_hint(self) -> ListName | None:
        """For the import format: the list a row without a date goes to, from the file
        name (`…watchlist….csv`: the watchlist)."""
        return "watchlist" if "watchlist" in self.name.rsplit("/", 1)[-1].lower() else None


class Skipped(Record):
    file: str
    line: int
    reason: str


class Unmatched(Record):
    file: str
    line: int
    title: str
    year: int | None
    reason: str


class ImportSummary(Record):
    """What an import did, for the CLI and the UI to show (`summary_lines`)."""

    files: tuple[str, ...]
    rows: int
    matched: int
    unmatched: tuple[Unmatched, ...]
    skipped: tuple[Skipped, ...]
    added: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    catalogue_note: str | None = None
    """Why nothing could be matched (no catalogue, or an unreadable one), if so."""


def summary_lines(summary: ImportSummary, *, shown: int, more: str,
                  spaced: bool = False) -> list[str]:
    """What an import did, for a person (`moviechat films letterboxd import` and the app's
    import dialog say the same): the counts, then the first `shown` rows that did not match
    or were skipped, with file:line. `more` words the count of the rest ("… and {count}
    more"); `spaced` puts a blank line before each list (the dialog)."""
    names = {"watchlist": _("watchlist"), "diary": _("diary"), "ratings": _("ratings")}

    def counts(found: dict[str, int]) -> str:
        parts = [f"{names.get(name, name)} {count}" for name, count in found.items() if count]
        return ", ".join(parts) if parts else _("none")

    gap = [""] if spaced else []
    lines = [
        ngettext("Read {rows} row from {files}.", "Read {rows} rows from {files}.",
                 summary.rows).format(rows=summary.rows, files=", ".join(summary.files)),
        _("Matched to the catalogue: {matched}; kept with title and year only: {unmatched}; "
          "skipped: {skipped}.").format(matched=summary.matched,
                                        unmatched=len(summary.unmatched),
                                        skipped=len(summary.skipped)),
        _("Added: {added}. Updated: {updated}. Already in your lists: {unchanged}.").format(
            added=counts(summary.added), updated=counts(summary.updated),
            unchanged=summary.unchanged),
    ]
    if summary.catalogue_note:
        lines.append(summary.catalogue_note)
    if summary.unmatched and not summary.catalogue_note:
        lines += [*gap, _("Not matched (kept with their title and year):")]
        for row in summary.unmatched[:shown]:
            label = f"{row.title} ({row.year})" if row.year else row.title
            lines.append(f"  {row.file}:{row.line}  {one_line(label, 60)} — {row.reason}")
        if len(summary.unmatched) > shown:
            lines.append("  " + more.format(count=len(summary.unmatched) - shown))
    if summary.skipped:
        lines += [*gap, _("Skipped:")]
        for skipped in summary.skipped[:shown]:
            lines.append(f"  {skipped.file}:{skipped.line}  {skipped.reason}")
        if len(summary.skipped) > shown:
            lines.append("  " + more.format(count=len(summary.skipped) - shown))
    return lines


class _Row(Record):
    file: str
    line: int
    kind: FileKind
    title: str
    year: int | None
    on: date | None
    """The row's Date (added, logged, rated); None in the import format, which has none."""
    watched: date | None
    rating: float | None
    rewatch: bool
    tags: tuple[str, ...]
    note: str
    film_id: str | None
    target: ListName


# -- finding the files --------------------------------------------------------------------

def _kind_of_name(name: str) -> FileKind | None:
    stem = name.rsplit("/", 1)[-1].lower().removesuffix(".csv")
    return stem if stem in KNOWN_NAMES else None  # type: ignore[return-value]


def _wanted_member(parts: list[str]) -> bool:
    """A CSV at the top of the export, or one folder down (a ZIP of the unzipped folder)."""
    return (len(parts) <= 2 and parts[-1].lower().endswith(".csv")
            and not any(p.lower() in LEFT_ALONE for p in parts[:-1]))


def find_sources(path: Path) -> list[Source]:
    """The CSV files to read at `path` (a ZIP, a folder or a CSV), in `ORDER`. Raises
    `LetterboxdError` when there is nothing to import there."""
    path = Path(path)
    if not path.exists():
        raise LetterboxdError(_("{path} does not exist.").format(path=path))
    if path.is_dir():
        sources = _folder_sources(path)
    elif zipfile.is_zipfile(path):
        sources = _zip_sources(path)
    else:
        sources = [Source(path.name, _kind_of_name(path.name), _opener(path))]
    if not sources:
        raise LetterboxdError(_(
            "{path} holds none of a Letterboxd export's lists (diary.csv, ratings.csv, "
            "watched.csv, watchlist.csv, reviews.csv)."
        ).format(path=path))
    return sorted(sources, key=lambda s: ORDER.index(s.kind) if s.kind else len(ORDER))


def _opener(path: Path) -> Callable[[], IO[str]]:
    def open_text() -> IO[str]:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise LetterboxdError(_("{path} is too large to be a Letterboxd export.").format(
                path=path))
        return path.open(encoding="utf-8-sig", newline="")
    return open_text


def _folder_sources(folder: Path) -> list[Source]:
    found = [p for p in sorted(folder.glob("*.csv")) if _kind_of_name(p.name)]
    if not found:  # the folder that holds the unzipped folder
        subfolders = [p for p in sorted(folder.iterdir())
                      if p.is_dir() and p.name.lower() not in LEFT_ALONE]
        if len(subfolders) == 1:
            found = [p for p in sorted(subfolders[0].glob("*.csv")) if _kind_of_name(p.name)]
    return [Source(str(p.relative_to(folder)), _kind_of_name(p.name), _opener(p))
            for p in found]


def _zip_sources(path: Path) -> list[Source]:
    try:
        with zipfile.ZipFile(path) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as err:
        raise LetterboxdError(_("{path} cannot be read as a ZIP file ({reason}).").format(
            path=path, reason=one_line(str(err), 120))) from err
    sources = []
    for info in members:
        parts = [p for p in info.filename.split("/") if p]
        if not parts or not _wanted_member(parts) or _kind_of_name(parts[-1]) is None:
            continue
        sources.append(Source(f"{path.name}:{info.filename}", _kind_of_name(parts[-1]),
                              _zip_opener(path, info)))
    return sources


def _zip_opener(path: Path, info: zipfile.ZipInfo) -> Callable[[], IO[str]]:
    def open_text() -> IO[str]:
        if info.file_size > MAX_CSV_BYTES:
            raise LetterboxdError(_("{path} is too large to be a Letterboxd export.").format(
                path=f"{path.name}:{info.filename}"))
        archive = zipfile.ZipFile(path)
        try:
            data = archive.read(info)
        finally:
            archive.close()
        return io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    return open_text


# -- reading the rows ---------------------------------------------------------------------

def _column(name: str) -> str:
    """"Letterboxd URI" → "letterboxduri", "Watched Date" → "watcheddate": the export's and
    the import format's spellings of a column meet."""
    return re.sub(r"[\s_]+", "", name).casefold()


def _kind_from_header(source: Source, columns: set[str]) -> FileKind:
    if "name" not in columns and "title" in columns:
        return "import"
    if source.kind is not None:
        return source.kind
    if "review" in columns:
        return "reviews"
    if "watcheddate" in columns:
        return "diary"
    if "rating" in columns:
        return "ratings"
    raise LetterboxdError(_(
        "{file}: cannot tell whether it lists films you watched or your watchlist; name it "
        "watched.csv or watchlist.csv."
    ).format(file=source.name))


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10]) if text.strip() else None
    except ValueError:
        return None


def _year(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and len(text) == 4 else None


def _yes(text: str) -> bool:
    return text.strip().casefold() in ("yes", "true", "1", "y")


class _PlainText(HTMLParser):
    """A review's HTML as the text a reader sees: paragraphs and line breaks kept, every
    tag dropped, entities decoded. Never rendered as HTML anywhere."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in ("p", "div", "blockquote", "ul", "ol"):
            self.parts.append("\n\n")
        elif tag == "li":
            self.parts.append("\n- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in ("p", "div", "blockquote", "ul", "ol"):
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """`<p>One <i>two</i><br/>three &amp; four</p>` → "One two\\nthree & four"."""
    if "<" not in html and "&" not in html:
        return sanitize(html).strip()
    parser = _PlainText()
    parser.feed(html)
    parser.close()
    text = sanitize("".join(parser.parts))
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _rows(source: Source, today: date, skipped: list[Skipped]) -> Iterator[_Row]:
    try:
        stream = source.open()
    except OSError as err:
        raise LetterboxdError(_("{file} cannot be read ({reason}).").format(
            file=source.name, reason=one_line(err.strerror or str(err), 120))) from err
    with stream:
        reader = csv.reader(stream, strict=False)
        try:
            header = next(reader, None)
            if header is None:
                return
            columns = [_column(c) for c in header]
            kind = _kind_from_header(source, set(columns))
            title_column = "title" if kind == "import" else "name"
            if title_column not in columns:
                raise LetterboxdError(_(
                    "{file} is not a Letterboxd export file (it has no {column} column)."
                ).format(file=source.name, column="Title" if kind == "import" else "Name"))
            start = reader.line_num + 1
            for values in reader:
                line, start = start, reader.line_num + 1
                if not any(v.strip() for v in values):
                    continue
                cells = dict(zip(columns, values, strict=False))
                row = _row(source, kind, line, cells, today, skipped)
                if row is not None:
                    yield row
        except (csv.Error, UnicodeDecodeError) as err:
            raise LetterboxdError(_("{file}, line {line}: {reason}. Nothing was imported.")
                                  .format(file=source.name, line=reader.line_num,
                                          reason=one_line(str(err), 160))) from err


def _row(source: Source, kind: FileKind, line: int, cells: dict[str, str], today: date,
         skipped: list[Skipped]) -> _Row | None:
    def skip(reason: str) -> None:
        skipped.append(Skipped(source.name, line, reason))

    title = one_line(cells.get("title" if kind == "import" else "name", ""), 300)
    if not title:
        skip(_("no film title"))
        return None
    rating_text = cells.get("rating", "").strip()
    rating = None
    if rating_text:
        try:
            rating = valid_rating(float(rating_text))
        except ValueError:
            rating = None
        if rating is None:
            skip(_("the rating {value!r} is not 0.5 to 5 in half steps").format(
                value=one_line(rating_text, 20)))
            return None
    elif cells.get("rating10", "").strip():
        text = cells["rating10"].strip()
        rating = valid_rating(int(text) / 2) if text.isdigit() else None
        if rating is None:
            skip(_("the rating {value!r} is not 1 to 10").format(value=one_line(text, 20)))
            return None
    date_text = cells.get("date", "")
    watched_text = cells.get("watcheddate", "")
    on = _date(date_text)
    watched = _date(watched_text)
    if (date_text.strip() and on is None) or (watched_text.strip() and watched is None):
        bad = watched_text if watched_text.strip() and watched is None else date_text
        skip(_("the date {value!r} is not a date like 2024-03-01").format(
            value=one_line(bad, 30)))
        return None
    target: ListName
    if kind in ("diary", "reviews"):
        watched = watched or on
        if watched is None:
            skip(_("no date"))
            return None
        target = "diary"
    elif kind == "ratings":
        if rating is None:
            skip(_("no rating"))
            return None
        target = "ratings"
    elif kind == "watched":
        target, watched = "diary", None
    elif kind == "watchlist":
        target = "watchlist"
    else:  # the import format: a row is a viewing, a rating, a watchlist line or "seen"
        if watched is not None:
            target = "diary"
        elif source.list_hint == "watchlist":
            target = "watchlist"
        elif rating is not None:
            target = "ratings"
        else:
            target = "diary"
    film_id = cells.get("imdbid", "").strip() or None
    if film_id is not None and not _TCONST.fullmatch(film_id):
        film_id = None
    review = cells.get("review", "")
    return _Row(file=source.name, line=line, kind=kind, title=title,
                year=_year(cells.get("year", "")), on=on,
                watched=watched, rating=rating, rewatch=_yes(cells.get("rewatch", "")),
                tags=tuple(t for t in cells.get("tags", "").split(",") if t.strip()),
                note=plain_text(review) if review.strip() else "", film_id=film_id,
                target=target)


# -- matching and applying ----------------------------------------------------------------

def _match(rows: list[_Row], catalogue: Catalogue | None
           ) -> tuple[list[TitleMatch | None], str | None]:
    """A match per row (None for rows that carry an IMDb id), and why nothing could be
    matched, if so."""
    from moviechat_tui.films.errors import FilmsError
    from moviechat_tui.films.title_match import match_titles

    if catalogue is None or not catalogue.exists():
        return [None] * len(rows), _(
            "There is no film catalogue, so rows were kept with their title and year; after "
            "`moviechat films update`, import again to match them.")
    asked = [i for i, row in enumerate(rows) if row.film_id is None]
    try:
        found = match_titles(catalogue, [(rows[i].title, rows[i].year) for i in asked])
    except FilmsError as err:
        return [None] * len(rows), err.message
    matches: list[TitleMatch | None] = [None] * len(rows)
    for i, match in zip(asked, found, strict=True):
        matches[i] = match
    return matches, None


def _miss_reason(match: TitleMatch | None, note: str | None) -> str:
    from moviechat_tui.films.title_match import Miss

    if match is None or match.miss is None:
        return _("no catalogue") if note else _("not in the catalogue")
    if match.miss is Miss.OTHER_YEARS:
        return _("the catalogue has this title only in other years ({years})").format(
            years=", ".join(str(y) for y in match.other_years[:6]))
    if match.miss is Miss.AMBIGUOUS:
        return _("several films have this title and the row has no year")
    return _("not in the catalogue")


def _entry(row: _Row, film_id: str | None, today: date) -> Entry:
    on = row.on or row.watched or today
    if row.target == "ratings":
        return make_entry(row.title, row.year, film_id, on, rating=row.rating,
                          tags=row.tags, note=row.note)
    if row.target == "watchlist":
        return make_entry(row.title, row.year, film_id, on, tags=row.tags, note=row.note)
    return make_entry(row.title, row.year, film_id, on, watched=row.watched,
                      rating=row.rating, rewatch=row.rewatch, tags=row.tags, note=row.note)


def _film_ratings(entries: list[tuple[_Row, Entry]]
                  ) -> dict[object, tuple[_Row | None, Entry, bool]]:
    """The one rating per film this import sets: (its row, or None for a rating taken from
    a diary row; the entry; whether it is dated). A dated rating row (ratings.csv) wins,
    the newest first; then an undated one (the import format's rating-only rows); then the
    rating of the film's newest viewing in the diary. Only a dated rating may replace one
    already in the list (a newer one); the others fill a film without a rating."""
    from moviechat_tui.films.normalize import normalize

    best: dict[object, tuple[tuple[int, date], _Row | None, Entry]] = {}
    for row, entry in entries:
        if entry.rating is None:
            continue
        key: object = entry.film_id or (normalize(entry.title), entry.year)
        taken: tuple[tuple[int, date], _Row | None, Entry]
        if row.target == "ratings":
            rank = (2, entry.date) if row.on is not None else (1, date.min)
            taken = (rank, row, entry)
        elif row.target == "diary" and entry.watched is not None:
            taken = ((0, entry.watched), None,
                     make_entry(entry.title, entry.year, entry.film_id, entry.watched,
                                rating=entry.rating))
        else:
            continue
        if key not in best or taken[0] >= best[key][0]:
            best[key] = taken
    return {key: (row, entry, rank[0] == 2) for key, (rank, row, entry) in best.items()}


def import_letterboxd(path: Path, store: MyFilmsStore, catalogue: Catalogue | None, *,
                      today: date | None = None) -> ImportSummary:
    """Read, match and apply (see the module docstring). Raises `LetterboxdError` for a
    path that cannot be imported and `MyFilmsError` when the lists cannot be written; in
    both cases nothing was written."""
    today = today or date.today()
    sources = find_sources(path)
    skipped: list[Skipped] = []
    rows: list[_Row] = []
    for source in sources:
        rows.extend(_rows(source, today, skipped))
    matches, note = _match(rows, catalogue)
    unmatched: list[Unmatched] = []
    entries: list[tuple[_Row, Entry]] = []
    matched = 0
    for row, match in zip(rows, matches, strict=True):
        film_id = row.film_id or (match.film.id if match and match.film else None)
        if film_id:
            matched += 1
        else:
            unmatched.append(Unmatched(row.file, row.line, row.title, row.year,
                                       _miss_reason(match, note)))
        entries.append((row, _entry(row, film_id, today)))
    ratings = _film_ratings(entries)
    added = dict.fromkeys(("watchlist", "diary", "ratings"), 0)
    updated = dict(added)
    unchanged = 0

    def apply(lists: dict[ListName, ListEditor]) -> None:
        nonlocal unchanged
        for row, entry in entries:
            if row.target == "ratings":
                continue
            outcome = lists[row.target].put(entry)
            if outcome is Outcome.ADDED:
                added[row.target] += 1
            elif outcome is Outcome.UPDATED:
                updated[row.target] += 1
            else:
                unchanged += 1
        for source, entry, dated in ratings.values():
            outcome = lists["ratings"].put(entry, rating_fills_only=not dated)
            if source is None:  # a rating taken from a diary row: not a row of its own
                continue
            if outcome is Outcome.ADDED:
                added["ratings"] += 1
            elif outcome is Outcome.UPDATED:
                updated["ratings"] += 1
            else:
                unchanged += 1
        unchanged += sum(row.target == "ratings" for row, _ in entries) - sum(
            row is not None for row, _, _ in ratings.values())

    if entries:
        store.change(["diary", "ratings", "watchlist"], apply)
    return ImportSummary(files=tuple(s.name for s in sources), rows=len(rows) + len(skipped),
                         matched=matched, unmatched=tuple(unmatched), skipped=tuple(skipped),
                         added=added, updated=updated, unchanged=unchanged,
                         catalogue_note=note)
