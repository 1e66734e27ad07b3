"""Where everything lives in the data folder — written down once.

    <data>/conversations/        one TOML file per conversation (+ <id>.d/ segments)
    <data>/trash/                deleted conversations, kept 30 days
    <data>/exports/              Markdown exports (ctrl+s)
    <data>/state.toml            what the app remembers (the palette's theme …)
    <data>/cache/library.sqlite3 the search index (disposable)
    <data>/cache/views/          the last screen kept at quit (disposable)
    <data>/films/                the film catalogue and its dataset files
    <data>/my-films/             the user's watchlist, diary and ratings

The settings' `Paths` (which data folder: platformdirs, --data-dir, MOVIECHAT_DATA_DIR) and
every reader below the settings (the library index, which knows only the store) ask this
layout, so a folder is named in one place.
"""

from __future__ import annotations

from pathlib import Path

from moviechat_tui.core.records import Record


class DataLayout(Record):
    root: Path

    @classmethod
    def of_conversations(cls, conversations_dir: Path) -> DataLayout:
        """The layout a store's conversations folder belongs to."""
        return cls(Path(conversations_dir).parent)

    @property
    def conversations(self) -> Path:
        return self.root / "conversations"

    @property
    def trash(self) -> Path:
        return self.root / "trash"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def state_file(self) -> Path:
        return self.root / "state.toml"

    @property
    def cache(self) -> Path:
        """Disposable files, rebuilt when missing or bad."""
        return self.root / "cache"

    @property
    def library_index(self) -> Path:
        return self.cache / "library.sqlite3"

    @property
    def views(self) -> Path:
        return self.cache / "views"

    @property
    def my_films(self) -> Path:
        """The user's watchlist, diary and ratings: their own data, kept apart from the
        catalogue, which can always be built again."""
        return self.root / "my-films"

    @property
    def films(self) -> Path:
        """The film catalogue and the dataset files it was imported from."""
        return self.root / "films"
