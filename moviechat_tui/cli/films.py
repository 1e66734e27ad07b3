"""`moviechat films update|import|search|show|status`: the film catalogue from a terminal.

Thin calls into `films/` (download, import, catalogue, the card's words in films/card.py);
this module reads flags, draws progress and prints. Where the catalogue lives comes from the
settings (`Paths.films_dir`, moved by `--data-dir`), what an import keeps from `[films]` in
config.toml. docs/scripting.md describes the output, the JSON shapes and the exit codes:

    0  done (search: something found)
    1  a runtime failure (a download or an import failed; the previous catalogue is
       unchanged), or search found nothing, or show an id the catalogue does not have
    2  usage or configuration — and no catalogue yet (the line says how to get one)
    130  ctrl+c (the previous catalogue is unchanged; an update resumes where it stopped)

Progress bars (`rich`, installed with Textual) go to standard error and only when it is a
terminal, and go away when their step ends (or is interrupted); what was done is printed on
standard output once it is done.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviechat_tui.cli import output
from moviechat_tui.cli.context import settings_from
from moviechat_tui.cli.parser import CommandError
from moviechat_tui.core.i18n import _

if TYPE_CHECKING:
    from moviechat_tui.cli.parser import Commands
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.download import DownloadReport
    from moviechat_tui.films.importer import ImportOptions, ImportReport
    from moviechat_tui.films.locations import FilmLocations
    from moviechat_tui.settings.config import Settings
    from moviechat_tui.settings.films import FilmOptions

INTERRUPTED = 130
"""128 + SIGINT, what a shell reports for a program ended by ctrl+c."""


def register(commands: Commands) -> None:
    films = commands.add(
        "films", summary=_("the film catalogue; your watchlist, diary and ratings"),
        description=_("Your own catalogue of films, built from IMDb's datasets on this "
                      "machine (see docs/films.md). It works without a model, a key or a "
                      "network once imported."),
        examples=[("moviechat films update", _("download IMDb's datasets and import them")),
                  ("moviechat films search parasite 2019", _("find a film by its title")),
                  ("moviechat films show tt6751668", _("everything the catalogue knows"))])
    actions = commands.group(films, title=_("commands"))

    update = actions.add(
        "update", summary=_("download IMDb's datasets and import them"),
        description=_("Downloads IMDb's six dataset files (about 1.5 GB) into the data "
                      "folder, then imports them (about 20 minutes). An interrupted "
                      "download is resumed by the next run, files that did not change are "
                      "not downloaded again, and until the import has finished the previous "
                      "catalogue answers as before."),
        examples=[("moviechat films update", _("from IMDb (or [films] source_url)")),
                  ("moviechat films update --source http://mirror.example/imdb/",
                   _("from another server holding the same *.tsv.gz files"))],
        handler=run_update)
    update.add_argument("--source", metavar="URL",
                        help=_("base URL of the *.tsv.gz files (default: [films] source_url "
                               "in config.toml, else IMDb's)"))

    importing = actions.add(
        "import", summary=_("import dataset files already on disk"),
        description=_("Imports IMDb's dataset files from a folder (.tsv.gz as published, or "
                      ".tsv), for a machine without internet. title.basics is required; a "
                      "missing file's facts are simply absent."),
        examples=[("moviechat films import ~/Downloads/imdb",
                   _("import the files copied from another machine"))],
        handler=run_import)
    importing.add_argument("folder", metavar="DIR", help=_("the folder holding the files"))

    search = actions.add(
        "search", summary=_("find films by title, in any language"),
        description=_("Finds films whose title (original or alternative, in any language) "
                      "matches TEXT, best match first, then the most voted. A year in TEXT "
                      "or --year narrows the results. Exit code 1 when nothing matches."),
        examples=[("moviechat films search parasite 2019", _("a title and its year")),
                  ("moviechat films search 기생충", _("a title in Korean")),
                  ("moviechat films search godfather --json | jq -r '.[0].id'",
                   _("the IMDb id of the best match"))],
        handler=run_search)
    search.add_argument("text", nargs="+", metavar="TEXT", help=_("the title to find"))
    search.add_argument("--year", type=int, metavar="YEAR", help=_("only films of this year"))
    search.add_argument("--json", action="store_true",
                        help=_("print JSON (the keys are in docs/scripting.md)"))

    show = actions.add(
        "show", summary=_("print everything the catalogue knows about a film"),
        description=_("Prints a film's card: titles, years, kind, runtime, genres, "
                      "directors, writers, cast with their characters, rating and votes, "
                      "alternative titles, and its IMDb id and link. Exit code 1 when the "
                      "catalogue does not have it."),
        examples=[("moviechat films show tt6751668", _("by IMDb id")),
                  ("moviechat films show https://www.imdb.com/title/tt6751668/",
                   _("by its IMDb link")),
                  ("moviechat films show tt6751668 --json | jq '.cast[0]'",
                   _("the first of the cast"))],
        handler=run_show)
    show.add_argument("id", metavar="ID", help=_("the film's IMDb id (tt…) or link"))
    show.add_argument("--json", action="store_true",
                      help=_("print JSON (the keys are in docs/scripting.md)"))

    status = actions.add(
        "status", summary=_("where the catalogue is, when it was imported, what it holds"),
        description=_("Prints the catalogue's file and size, where and when it was imported "
                      "from, how many films, titles and people it holds, and the malformed "
                      "rows the import skipped."),
        examples=[("moviechat films status", _("what is imported")),
                  ("moviechat films status --json | jq .counts.films",
                   _("the number of films"))],
        handler=run_status)
    status.add_argument("--json", action="store_true",
                        help=_("print JSON (the keys are in docs/scripting.md)"))

    # Your own lists live in the same group: `films mine`, `films letterboxd import|export`.
    from moviechat_tui.cli import my_films

    my_films.register_into(actions)


# -- context ------------------------------------------------------------------------------

def _where(args: argparse.Namespace) -> tuple[Settings, FilmLocations]:
    from moviechat_tui.films.locations import FilmLocations

    settings = settings_from(args)
    return settings, FilmLocations.in_folder(settings.paths.films_dir)


def import_options(films: FilmOptions) -> ImportOptions:
    """`[films]` as the importer takes it: an unset key keeps the importer's default."""
    from moviechat_tui.films.importer import ImportOptions

    default = ImportOptions()
    return ImportOptions(
        kinds=frozenset(films.kinds) if films.kinds is not None else default.kinds,
        short_min_votes=(films.short_min_votes if films.short_min_votes is not None
                         else default.short_min_votes),
        include_adult=(films.include_adult if films.include_adult is not None
                       else default.include_adult),
        aka_regions=(frozenset(films.aka_regions) if films.aka_regions is not None
                     else default.aka_regions))


def _open_catalogue(args: argparse.Namespace) -> Catalogue:
    """The catalogue, or exit 2 with how to get one (1 if the file cannot be read)."""
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.errors import CatalogueMissing

    _settings, where = _where(args)
    if not where.catalogue.is_file():
        raise CommandError(CatalogueMissing(where.catalogue).message, 2)
    return Catalogue(where.catalogue)


def _lookup(work: Any) -> Any:
    """Run a catalogue call; its errors become one line and an exit code."""
    from moviechat_tui.films.errors import CatalogueMissing, FilmsError

    try:
        return work()
    except CatalogueMissing as exc:  # removed between the check and the call
        raise CommandError(exc.message, 2) from None
    except FilmsError as exc:
        raise CommandError(exc.message, 1) from None


def _print_json(value: object) -> None:
    import json

    output.write_document(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# -- update and import ----------------------------------------------------------------------

def run_update(args: argparse.Namespace) -> int:
    from moviechat_tui.core.endpoint import base_url_problem
    from moviechat_tui.films.download import DEFAULT_SOURCE
    from moviechat_tui.films.errors import DownloadInterrupted, FilmsError, ImportInterrupted

    if args.source is not None:
        problem = base_url_problem(args.source)
        if problem:
            raise CommandError(f"--source: {problem}", 2)
    settings, where = _where(args)
    source = args.source or settings.films.source_url or DEFAULT_SOURCE
    try:
        report = _download(where, source)
        _print_download(report)
        from moviechat_tui.films.importer import needs_import

        if not needs_import(where.downloads_dir, where.catalogue):
            print(_("The catalogue is up to date: nothing changed since the last import."))
            return 0
        _import(where.downloads_dir, where.catalogue, source=report.base_url,
                options=import_options(settings.films))
    except (DownloadInterrupted, ImportInterrupted) as exc:
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return INTERRUPTED
    except FilmsError as exc:
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # between two steps
        print(_("moviechat: interrupted; the previous catalogue is unchanged."),
              file=sys.stderr)
        return INTERRUPTED
    return 0


def run_import(args: argparse.Namespace) -> int:
    from moviechat_tui.films.errors import FilmsError, ImportInterrupted

    folder = Path(args.folder).expanduser()
    if not folder.is_dir():
        raise CommandError(_("{folder} is not a folder").format(folder=folder), 2)
    settings, where = _where(args)
    try:
        _import(folder, where.catalogue, source=str(folder.resolve()),
                options=import_options(settings.films))
    except ImportInterrupted as exc:
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return INTERRUPTED
    except FilmsError as exc:
        print(f"moviechat: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(_("moviechat: interrupted; the previous catalogue is unchanged."),
              file=sys.stderr)
        return INTERRUPTED
    return 0


def _download(where: FilmLocations, source: str) -> DownloadReport:
    """The download, with a progress bar per file (bytes, rate, time left)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from moviechat_tui.core.endpoint import display_url
    from moviechat_tui.films.download import DownloadProgress, download_datasets

    console = Console(stderr=True)
    show = _stderr_is_terminal()
    if show:
        console.print(_("Downloading IMDb's datasets from {url} into {folder}").format(
            url=display_url(source), folder=where.downloads_dir), markup=False,
            highlight=False)
    tasks: dict[str, TaskID] = {}
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                  DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
                  console=console, disable=not show, transient=True) as progress:

        def on_progress(p: DownloadProgress) -> None:
            task = tasks.get(p.file)
            if task is None:
                task = tasks[p.file] = progress.add_task(p.file, total=p.total)
            progress.update(task, completed=p.done, total=p.total)

        return download_datasets(where.downloads_dir, base_url=source, on_progress=on_progress)


def _print_download(report: DownloadReport) -> None:
    from moviechat_tui.films.download import DOWNLOADED, RESUMED

    words = {DOWNLOADED: _("downloaded"), RESUMED: _("downloaded (resumed)")}
    for result in report.files:
        what = words.get(result.status, _("unchanged"))
        print(f"{result.name}: {what} ({_size(result.size)})")


def _size(size: int) -> str:
    """1234567 → '1.2 MB' (decimal units, as download tools and file managers give them)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} B"


def _phase_text(phase: str) -> str:
    return {
        "ranking": _("ranking the films by votes"),
        "titles": _("copying the titles in"),
        "indexes": _("building the search indexes"),
    }.get(phase) or _("reading {file}").format(file=phase)


def _import(folder: Path, catalogue: Path, *, source: str,
            options: ImportOptions) -> ImportReport:
    """The import, with a progress bar over the input's bytes and one for the indexes."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskID,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from moviechat_tui.films.importer import ImportProgress, import_catalogue

    console = Console(stderr=True)
    show = _stderr_is_terminal()
    if show:
        console.print(_("Importing {folder} into {catalogue}").format(
            folder=folder, catalogue=catalogue), markup=False, highlight=False)
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(),
                  TaskProgressColumn(), TextColumn("{task.fields[rows]}", markup=False),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console,
                  disable=not show, transient=True) as progress:
        reading = progress.add_task(_("reading the files"), total=None, rows="")
        indexes: TaskID | None = None

        def on_progress(p: ImportProgress) -> None:
            nonlocal indexes
            rows = _("{n} rows").format(n=f"{p.rows:,}")
            if p.phase == "indexes":
                progress.update(reading, completed=p.total, total=p.total or 1, rows=rows,
                                description=_("read the files"))
                if indexes is None:
                    indexes = progress.add_task(_phase_text(p.phase), total=p.steps or 1,
                                                rows="")
                progress.update(indexes, completed=p.step, total=p.steps or 1)
                return
            progress.update(reading, completed=p.done, total=p.total or None, rows=rows,
                            description=_phase_text(p.phase))

        report = import_catalogue(folder, catalogue, source=source, options=options,
                                  on_progress=on_progress)
    _print_import(report)
    return report


def _print_import(report: ImportReport) -> None:
    counts = report.counts
    print(_("Imported {films} films, {titles} titles and {people} people in {seconds:.0f} s "
            "into {path}").format(films=f"{counts.get('films', 0):,}",
                                  titles=f"{counts.get('titles', 0):,}",
                                  people=f"{counts.get('people', 0):,}",
                                  seconds=report.seconds, path=report.catalogue))
    if report.missing:
        print(_("Not found, so their facts are absent: {files}").format(
            files=", ".join(report.missing)))
    skipped = sum(report.malformed.values())
    if skipped:
        print(_("Skipped {n} malformed rows, e.g.:").format(n=f"{skipped:,}"))
        for example in report.malformed_examples[:5]:
            print(f"  {example}")


# -- lookups --------------------------------------------------------------------------------

def run_search(args: argparse.Namespace) -> int:
    from moviechat_tui.core.text import one_line
    from moviechat_tui.films.card import summary_line
    from moviechat_tui.films.records import film_json

    catalogue = _open_catalogue(args)
    films = _lookup(lambda: catalogue.search(" ".join(args.text), year=args.year))
    if args.json:
        _print_json([film_json(f) for f in films])
        return 0 if films else 1
    for film in films:
        title = one_line(film.title, 120)
        if film.original_title and film.original_title != film.title:
            title += f" ({one_line(film.original_title, 120)})"
        if film.matched_title:
            title += f" — {one_line(film.matched_title, 120)}"
        print(f"{film.id}  {title}  {summary_line(film)}")
    return 0 if films else 1


def run_show(args: argparse.Namespace) -> int:
    from moviechat_tui.films.card import card_facts
    from moviechat_tui.films.records import ATTRIBUTION, details_json, parse_imdb_id

    if parse_imdb_id(args.id, "tt") is None:
        raise CommandError(_("{id} is not an IMDb title id such as tt6751668 (or its "
                             "link)").format(id=args.id), 2)
    catalogue = _open_catalogue(args)
    details = _lookup(lambda: catalogue.film(args.id))
    if details is None:
        print(_("moviechat: the catalogue has no film {id}").format(id=args.id),
              file=sys.stderr)
        return 1
    if args.json:
        _print_json(details_json(details))
        return 0
    facts = card_facts(details)
    width = max(output.cells(label) for label, _values in facts) + 2
    for label, values in facts:
        for index, value in enumerate(values):
            print(output.pad(f"{label}:" if index == 0 else "", width) + value)
    print()
    print(ATTRIBUTION)
    return 0


def _local_time(iso: str) -> str:
    """'2026-12-06T12:14:12+00:00' → '2026-12-06 21:14' in the local time zone."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def run_status(args: argparse.Namespace) -> int:
    from moviechat_tui.films.card import kind_label
    from moviechat_tui.films.records import ATTRIBUTION, status_json

    catalogue = _open_catalogue(args)
    status = _lookup(catalogue.status)
    if args.json:
        _print_json(status_json(status))
        return 0
    counts = status.counts
    kinds = sorted(((key.split(".", 1)[1], n) for key, n in counts.items()
                    if key.startswith("films.")), key=lambda kv: -kv[1])
    by_kind = ", ".join(f"{kind_label(kind)} {n:,}" for kind, n in kinds)
    rows = [
        (_("Catalogue"), f"{status.path} ({_size(status.size_bytes)})"),
        (_("Imported"), _("{when} from {source}").format(when=_local_time(status.imported_at),
                                                        source=status.source)),
        (_("Films"), f"{counts.get('films', 0):,}" + (f" ({by_kind})" if by_kind else "")),
        (_("Titles"), _("{n} (alternative titles included)").format(
            n=f"{counts.get('titles', 0):,}")),
        (_("People"), f"{counts.get('people', 0):,}"),
        (_("Credits"), f"{counts.get('credits', 0):,}"),
    ]
    if status.malformed:
        rows.append((_("Malformed rows skipped"), ", ".join(
            f"{name} {n:,}" for name, n in sorted(status.malformed.items()))))
    width = max(output.cells(label) for label, _value in rows) + 2
    for label, value in rows:
        print(output.pad(f"{label}:", width) + value)
    print(ATTRIBUTION)
    return 0
