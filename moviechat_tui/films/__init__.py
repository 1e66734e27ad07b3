"""films: the film catalogue built from IMDb's non-commercial datasets, on the user's machine.

Nothing here is imported at start-up, and this `__init__` imports nothing (start-up cost).
The package imports only `core/` and `storage/`: no Textual, no openai. Bottom up:

    errors.py     the one-line errors every operation raises (FilmsError and subclasses)
    datasets.py   the six IMDb files: names, columns, a streaming tab-split reader
    normalize.py  how titles, names and queries are normalised (case, accents, CJK) —
                  shared by the importer, the search and the recognition of mentions
    idsets.py     compact sets and maps of IMDb ids for the import (bounded memory)
    schema.py     the catalogue's SQLite tables (one file, rebuilt whole by each import)
    download.py   `films update`: fetch the files from a base URL (resume, skip unchanged)
    importer.py   `films import`: files → a new catalogue file, swapped in atomically
    records.py    the values the catalogue returns, and their `--json` shapes
    search.py     how a title query is matched and ranked (used by catalogue.py)
    catalogue.py  `Catalogue`: a lazily opened, read-only catalogue (search, card, status)
    mentions.py   which films a finished reply mentions, and which claims do not hold
    locations.py  the catalogue's files inside its folder (settings' Paths.films_dir)

My films, the user's own lists (docs/storage-format.md, "My films"):

    my_lists.py   an entry, the three lists, the rules of a list (same film, same entry,
                  merging), filtering and sorting, the JSON shape
    my_format.py  one list's TOML file; my_toml.py reads the layout it writes, fast
    my_store.py   the files: atomic writes, a lock per change, quarantine, undo
    title_match.py  which catalogue film a title and a year mean
    letterboxd.py   importing a Letterboxd export; letterboxd_export.py writing one
    taste.py      the taste summary for recommendations; my_films_tool.py the `my_films`
                  tool's answer

A typical caller (the CLI directly; the TUI in a worker thread):

    from moviechat_tui.films.locations import FilmLocations
    from moviechat_tui.films.download import download_datasets
    from moviechat_tui.films.importer import import_catalogue, needs_import
    from moviechat_tui.films.catalogue import Catalogue

    where = FilmLocations.in_folder(paths.films_dir)          # settings/paths.py
    report = download_datasets(where.downloads_dir, on_progress=...)
    if needs_import(where.downloads_dir, where.catalogue):
        import_catalogue(where.downloads_dir, where.catalogue, source=report.base_url)
    catalogue = Catalogue(where.catalogue)
    catalogue.search("parasite 2019")

See docs/films.md for what is imported, the sizes and times measured, and IMDb's terms.
"""
