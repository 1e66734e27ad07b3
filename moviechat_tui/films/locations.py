"""Where the film catalogue's files live by default: under the data dir, in `films/`.

    <data_dir>/films/catalogue.sqlite3      the catalogue (rebuilt whole by each import)
    <data_dir>/films/downloads/             the dataset files `films update` keeps current

Every function of the package takes these paths as arguments; this is only the default the
settings layer (settings/paths.py) offers, kept here so the CLI and the TUI agree on it.
"""

from __future__ import annotations

from pathlib import Path

from moviechat_tui.core.records import Record


class FilmLocations(Record):
    catalogue: Path
    downloads_dir: Path

    @classmethod
    def under(cls, data_dir: Path) -> FilmLocations:
        films = Path(data_dir) / "films"
        return cls(catalogue=films / "catalogue.sqlite3", downloads_dir=films / "downloads")
