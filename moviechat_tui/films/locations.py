"""The catalogue's files inside its folder.

    <films folder>/catalogue.sqlite3      the catalogue (rebuilt whole by each import)
    <films folder>/downloads/             the dataset files `films update` keeps current

Where the folder is, is the settings' business (`Paths.films_dir`: `<data dir>/films`, moved
by `--data-dir` and MOVIECHAT_DATA_DIR); what it holds is the catalogue's, here. The CLI and
the TUI both ask `FilmLocations.in_folder(paths.films_dir)`, so they never disagree. Every
function of the package takes these paths as arguments.
"""

from __future__ import annotations

from pathlib import Path

from moviechat_tui.core.records import Record

CATALOGUE_FILE = "catalogue.sqlite3"
DOWNLOADS_DIR = "downloads"


class FilmLocations(Record):
    catalogue: Path
    downloads_dir: Path

    @classmethod
    def in_folder(cls, films_dir: Path) -> FilmLocations:
        folder = Path(films_dir)
        return cls(catalogue=folder / CATALOGUE_FILE, downloads_dir=folder / DOWNLOADS_DIR)
