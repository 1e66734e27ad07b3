"""`[films]` in config.toml: read, typed, and refused with file:line:key when wrong — before
a gigabyte is downloaded or a twenty-minute import keeps the wrong films."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviechat_tui.films.locations import FilmLocations
from moviechat_tui.settings.config import ConfigError, load_settings
from moviechat_tui.settings.films import FilmOptions
from moviechat_tui.settings.paths import Paths


def _paths(tmp_path: Path, text: str) -> Paths:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    return Paths(tmp_path / "data", config, tmp_path / "logs")


def test_unset_films_keys_mean_the_catalogue_defaults(tmp_path: Path) -> None:
    settings = load_settings(_paths(tmp_path, ""), environ={})
    assert settings.films == FilmOptions()


def test_every_films_key_is_read(tmp_path: Path) -> None:
    text = ('[films]\nsource_url = "http://127.0.0.1:8766/data/"\n'
            'kinds = ["movie", "tvSeries", "movie"]\nshort_min_votes = 0\n'
            'include_adult = true\naka_regions = ["kr", "US"]\n')
    films = load_settings(_paths(tmp_path, text), environ={}).films
    assert films.source_url == "http://127.0.0.1:8766/data/"
    assert films.kinds == ("movie", "tvSeries")
    assert films.short_min_votes == 0
    assert films.include_adult is True
    assert films.aka_regions == ("KR", "US")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[films]\n\nsource_url = "datasets.imdbws.com"\n',
         "config.toml:3: films.source_url: 'datasets.imdbws.com' is not an http(s) URL"),
        ("[films]\nsource_url = 3\n", "config.toml:2: films.source_url must be a string"),
        ('[films]\nkinds = ["movie", "tvSerie"]\n',
         "config.toml:2: films.kinds must be a list of IMDb title kinds"),
        ("[films]\nkinds = []\n", "config.toml:2: films.kinds must be"),
        ('[films]\nkinds = "movie"\n', "config.toml:2: films.kinds must be"),
        ("[films]\nshort_min_votes = -1\n",
         "config.toml:2: films.short_min_votes must be a whole number from 0 to 10,000,000"),
        ("[films]\nshort_min_votes = 1.5\n", "films.short_min_votes must be"),
        ("[films]\nshort_min_votes = true\n", "films.short_min_votes must be"),
        ('[films]\ninclude_adult = "no"\n',
         "config.toml:2: films.include_adult must be true or false"),
        ('[films]\naka_regions = ["Korea!"]\n',
         "config.toml:2: films.aka_regions must be a list of region codes"),
        ('[films]\n\ngrounding = true\n', "config.toml:3: films.grounding must be one of"),
        ('[films]\n\ngrounding_mode = "facts"\n',
         "config.toml:3: unknown key films.grounding_mode"),
        ('films = "yes"\n', "config.toml:1: films must be a table ([films])"),
    ],
)
def test_a_bad_films_setting_is_one_line_naming_file_line_and_key(
        tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_paths(tmp_path, text), environ={})
    assert expected in info.value.message
    assert "\n" not in info.value.message


def test_the_cli_and_the_app_find_the_catalogue_in_the_same_place(tmp_path: Path) -> None:
    """One definition: the settings say where the films folder is (moved by --data-dir),
    the catalogue says what is inside it."""
    paths = Paths(tmp_path / "elsewhere", tmp_path / "c.toml", tmp_path / "logs")
    where = FilmLocations.in_folder(paths.films_dir)
    assert where.catalogue == tmp_path / "elsewhere" / "films" / "catalogue.sqlite3"
    assert where.downloads_dir == tmp_path / "elsewhere" / "films" / "downloads"
