"""`moviechat films letterboxd import|export` and `moviechat films mine`: your lists, for
scripts and for moving them in and out of Letterboxd.

`register_into(films)` adds the commands to the `films` group (cli/films.py builds it with
the catalogue's commands). Each handler is a thin call into films/ (letterboxd.py,
letterboxd_export.py, my_store.py); this module reads flags and prints. docs/scripting.md
describes the output and the exit codes: 0 done, 1 a path or a list that cannot be read or
written, 2 a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviechat_tui.cli import output
from moviechat_tui.cli.context import paths_from
from moviechat_tui.core.i18n import _, ngettext

if TYPE_CHECKING:
    from moviechat_tui.cli.parser import Commands
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.letterboxd import ImportSummary
    from moviechat_tui.films.my_lists import Entry, ListName
    from moviechat_tui.films.my_store import MyFilmsStore
    from moviechat_tui.settings.paths import Paths

SHOWN = 50
"""Unmatched and skipped rows listed by `import` without --json (the rest are counted)."""
LISTS: tuple[ListName, ...] = ("watchlist", "diary", "ratings")


def register_into(films: Commands) -> None:
    """Your lists' commands, in the `films` group (cli/films.py calls this)."""
    letterboxd = films.add(
        "letterboxd", summary=_("import a Letterboxd export; export your lists for Letterboxd"),
        description=_("Moves your lists between moviechat and Letterboxd."),
        examples=[("moviechat films letterboxd import letterboxd-name-2026-01-21.zip",
                   _("import the export as Letterboxd hands it out")),
                  ("moviechat films letterboxd export films.csv",
                   _("write the films you watched and rated for Letterboxd's importer"))])
    actions = films.group(letterboxd, title=_("commands"))
    importing = actions.add(
        "import", summary=_("add a Letterboxd export to your lists"),
        description=_(
            "Reads a Letterboxd account export — the ZIP, the folder it unzips to, or one of "
            "its CSV files — and adds its diary, ratings, watched films and watchlist to "
            "your lists, matching each film to the catalogue by title and year. Films the "
            "catalogue does not have are kept with their title and year. Importing the same "
            "export again adds nothing. Prints what was read, matched, kept unmatched and "
            "skipped, and why."),
        examples=[("moviechat films letterboxd import ~/Downloads/letterboxd-name.zip",
                   _("the whole export")),
                  ("moviechat films letterboxd import diary.csv",
                   _("one of its files")),
                  ("moviechat films letterboxd import export.zip --json | jq '.unmatched'",
                   _("the rows no catalogue film matched"))],
        handler=run_import)
    importing.add_argument("path", metavar="PATH",
                           help=_("the export's ZIP, its folder or one of its CSV files"))
    importing.add_argument("--json", action="store_true",
                           help=_("print the summary as JSON (the keys are in "
                                  "docs/scripting.md)"))
    exporting = actions.add(
        "export", summary=_("write your lists as a CSV Letterboxd's importer takes"),
        description=_(
            "Writes the films you watched (each diary entry with its date, rating, rewatch, "
            "tags and note) and your ratings as a CSV in Letterboxd's import format, with "
            "the IMDb id of every film the catalogue matched so Letterboxd finds it exactly. "
            "Letterboxd imports a watchlist separately: write it with --watchlist. PATH - "
            "writes to standard output."),
        examples=[("moviechat films letterboxd export films.csv",
                   _("then import films.csv at letterboxd.com/import")),
                  ("moviechat films letterboxd export --watchlist watchlist.csv",
                   _("the watchlist, for Letterboxd's watchlist import"))],
        handler=run_export)
    exporting.add_argument("path", metavar="PATH", help=_("the CSV file to write, or -"))
    exporting.add_argument("--watchlist", action="store_true",
                           help=_("write the watchlist instead of the films you watched"))
    mine = films.add(
        "mine", summary=_("print your watchlist, diary or ratings"),
        description=_("Prints your lists, or one of them: one line per entry, or JSON."),
        examples=[("moviechat films mine", _("all three lists")),
                  ("moviechat films mine diary --sort rating", _("your diary, best first")),
                  ("moviechat films mine ratings --json | jq -r '.[] | select(.rating >= 4.5) "
                   "| .title'", _("the films you rated highest"))],
        handler=run_mine)
    mine.add_argument("list", nargs="?", choices=LISTS, metavar="LIST",
                      help=_("watchlist, diary or ratings (default: all three)"))
    mine.add_argument("--sort", choices=("date", "title", "year", "rating"), default="date",
                      help=_("order: date (newest first, the default), title, year or "
                             "rating (highest first)"))
    mine.add_argument("--json", action="store_true",
                      help=_("print JSON (the keys are in docs/scripting.md)"))


# -- helpers --------------------------------------------------------------------------------

def _store(paths: Paths) -> MyFilmsStore:
    from moviechat_tui.films.my_store import MyFilmsStore

    return MyFilmsStore(paths.my_films_dir)


def _catalogue(paths: Paths) -> Catalogue:
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.locations import FilmLocations

    return Catalogue(FilmLocations.in_folder(paths.films_dir).catalogue)


def _problems(store: MyFilmsStore) -> None:
    for problem in store.take_problems():
        print(f"moviechat: {problem.message}", file=sys.stderr)


def _fail(message: str) -> int:
    print(f"moviechat: {message}", file=sys.stderr)
    return 1


def _print_json(value: object) -> None:
    import json

    output.write_document(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


# -- import ---------------------------------------------------------------------------------

def run_import(args: argparse.Namespace) -> int:
    from moviechat_tui.films.letterboxd import LetterboxdError, import_letterboxd, summary_lines
    from moviechat_tui.films.my_store import MyFilmsError

    paths = paths_from(args)
    store = _store(paths)
    try:
        summary = import_letterboxd(Path(args.path), store, _catalogue(paths))
    except (LetterboxdError, MyFilmsError) as err:
        _problems(store)
        return _fail(err.message)
    _problems(store)
    if args.json:
        _print_json(summary_json(summary))
    else:
        for line in summary_lines(summary, shown=SHOWN, more=_(
                "… and {count} more (all of them with --json)")):
            print(line)
    return 0


def summary_json(summary: ImportSummary) -> dict[str, Any]:
    return {
        "files": list(summary.files),
        "rows": summary.rows,
        "matched": summary.matched,
        "added": dict(summary.added),
        "updated": dict(summary.updated),
        "unchanged": summary.unchanged,
        "unmatched": [{"file": u.file, "line": u.line, "title": u.title, "year": u.year,
                       "reason": u.reason} for u in summary.unmatched],
        "skipped": [{"file": s.file, "line": s.line, "reason": s.reason}
                    for s in summary.skipped],
        "catalogue_note": summary.catalogue_note,
    }


# -- export ---------------------------------------------------------------------------------

def run_export(args: argparse.Namespace) -> int:
    from moviechat_tui.films.letterboxd_export import films_csv, watchlist_csv
    from moviechat_tui.storage.errors import StoreWriteError
    from moviechat_tui.storage.files import write_atomically

    store = _store(paths_from(args))
    lists = store.load()
    _problems(store)
    text = watchlist_csv(lists) if args.watchlist else films_csv(lists)
    rows = text.count("\r\n") - 1  # records end in CRLF; a note's own line breaks are LF
    if args.path == "-":
        output.write_document(text)
    else:
        target = Path(args.path)
        try:
            write_atomically(target, text.encode("utf-8"))
        except StoreWriteError as err:
            return _fail(err.message)
        print(ngettext("Wrote {count} row to {path}.", "Wrote {count} rows to {path}.",
                       rows).format(count=rows, path=target), file=sys.stderr)
    if not args.watchlist and lists.watchlist:
        print(ngettext(
            "Your watchlist ({count} film) is not in this file: Letterboxd imports a "
            "watchlist separately; write it with --watchlist.",
            "Your watchlist ({count} films) is not in this file: Letterboxd imports a "
            "watchlist separately; write it with --watchlist.",
            len(lists.watchlist)).format(count=len(lists.watchlist)), file=sys.stderr)
    return 0


# -- mine -----------------------------------------------------------------------------------

def run_mine(args: argparse.Namespace) -> int:
    from moviechat_tui.films.my_lists import entry_json, sort_entries

    store = _store(paths_from(args))
    lists = store.load()
    _problems(store)
    names: list[ListName] = [args.list] if args.list else list(LISTS)
    chosen = {name: sort_entries(name, lists.of(name), args.sort) for name in names}
    if args.json:
        if args.list:
            _print_json([entry_json(args.list, e) for e in chosen[args.list]])
        else:
            _print_json({name: [entry_json(name, e) for e in entries]
                         for name, entries in chosen.items()})
        return 0
    headings = {"watchlist": _("Watchlist ({count})"), "diary": _("Diary ({count})"),
                "ratings": _("Ratings ({count})")}
    for number, (name, entries) in enumerate(chosen.items()):
        if not args.list:
            if number:
                print()
            print(headings[name].format(count=len(entries)))
        for entry in entries:
            print(entry_line(name, entry))
    return 0


def entry_line(name: ListName, entry: Entry) -> str:
    """`2024-03-09  5.0  Parasite (2019)  tt0000001  rewatch  #cinema`"""
    from moviechat_tui.core.text import one_line

    day = entry.watched if name == "diary" and entry.watched else entry.date
    when = day.isoformat() if name != "diary" or entry.watched else _("unknown day")
    parts = [f"{when:<10}"]
    if name != "watchlist":
        parts.append(f"{entry.rating:.1f}" if entry.rating is not None else "   ")
    parts.append(one_line(entry.label, 80))
    if entry.film_id:
        parts.append(entry.film_id)
    if entry.rewatch:
        parts.append(_("rewatch"))
    if entry.tags:
        parts.append(" ".join(f"#{one_line(tag, 40)}" for tag in entry.tags))
    return "  ".join(parts)
