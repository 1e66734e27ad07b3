"""Where this session gets the film catalogue from: one lazily made `Catalogue`.

The film tools and the facts for models without tools both ask this object, and nothing
else of the session opens the catalogue, so there is one place to point at another source
(a shared service that also serves the film search screen). Nothing is opened until a
lookup needs it: `available()` is one `stat`, and `Catalogue` opens its file on first use.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moviechat_tui.films.catalogue import Catalogue


class CatalogueAccess:
    """The catalogue file at `path` (by default `<data dir>/films/catalogue.sqlite3`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._catalogue: Catalogue | None = None
        self._made = threading.Lock()

    @classmethod
    def in_folder(cls, films_dir: Path) -> CatalogueAccess:
        """The catalogue in the settings' films folder (`Paths.films_dir`)."""
        from moviechat_tui.films.locations import FilmLocations

        return cls(FilmLocations.in_folder(films_dir).catalogue)

    def available(self) -> bool:
        """A catalogue has been imported (a stat; opening may still fail later)."""
        return self.path.is_file()

    def catalogue(self) -> Catalogue:
        """The catalogue, made on first use (its file opens on the first lookup). Safe from
        any thread: the film search screen and a question's facts may ask at once."""
        with self._made:
            if self._catalogue is None:
                from moviechat_tui.films.catalogue import Catalogue

                self._catalogue = Catalogue(self.path)
            return self._catalogue

    def warm_up(self) -> None:
        """Do now, in a thread, what the first lookup would otherwise wait for (~15–25 ms:
        sqlite3's import, opening the file, the search module's import and the tables
        `normalize` builds on first use for accented and Hangul text). Errors are left for
        the lookup to report."""
        from moviechat_tui.films.errors import FilmsError

        with contextlib.suppress(FilmsError):
            self.catalogue().search("Amélie 기생충", limit=1)

    def close(self) -> None:
        if self._catalogue is not None:
            self._catalogue.close()
