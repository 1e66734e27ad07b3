"""Every file location the app uses, from platformdirs, overridable for tests and flags."""

from __future__ import annotations

import os
from pathlib import Path

from moviechat_tui import APP_NAME
from moviechat_tui.core.data_layout import DataLayout
from moviechat_tui.core.records import Record


class Paths(Record):
    data_dir: Path
    config_file: Path
    log_dir: Path

    @property
    def layout(self) -> DataLayout:
        """Every folder and file under the data dir (core/data_layout.py)."""
        return DataLayout(self.data_dir)

    @property
    def conversations_dir(self) -> Path:
        return self.layout.conversations

    @property
    def views_dir(self) -> Path:
        return self.layout.views

    @property
    def trash_dir(self) -> Path:
        return self.layout.trash

    @property
    def exports_dir(self) -> Path:
        return self.layout.exports

    @property
    def films_dir(self) -> Path:
        """The film catalogue and the dataset files it was imported from (what is inside:
        films/locations.py `FilmLocations.in_folder`)."""
        return self.layout.films

    @property
    def my_films_dir(self) -> Path:
        """Your watchlist, diary and ratings (films/my_store.py): your own data, apart from
        the catalogue, which can always be built again."""
        return self.layout.my_films

    @classmethod
    def default(cls, *, data_dir: str | os.PathLike[str] | None = None,
                config_file: str | os.PathLike[str] | None = None) -> Paths:
        import platformdirs

        env_data = os.environ.get("MOVIECHAT_DATA_DIR")
        env_config = os.environ.get("MOVIECHAT_CONFIG")
        return cls(
            data_dir=Path(data_dir or env_data or platformdirs.user_data_dir(APP_NAME)),
            config_file=Path(
                config_file
                or env_config
                or Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"
            ),
            log_dir=Path(os.environ.get("MOVIECHAT_LOG_DIR")
                         or platformdirs.user_log_dir(APP_NAME)),
        )
