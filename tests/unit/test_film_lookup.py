"""FilmLookup (session/films.py): what the app's screens get from the catalogue.

No catalogue is a normal state with one line saying how to get one; the import is offered
unasked only once per data folder, and only after a reply that names films; the marks of a
reply are computed afresh after an update replaced the catalogue.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from moviechat_tui.core.conversation import Message
from moviechat_tui.films.importer import import_catalogue
from moviechat_tui.films.locations import FilmLocations
from moviechat_tui.films.mentions import RECOGNISED, UNKNOWN, YEAR_DIFFERS
from moviechat_tui.session.films import FilmLookup, NoCatalogue
from moviechat_tui.settings.paths import Paths
from moviechat_tui.storage.preferences import load_preferences, update_preferences
from tests.support.imdb_fixtures import write_datasets

REPLY = ("Three Korean thrillers:\n\n1. *Parasite* (2017) — a family cons a rich one.\n"
         "2. *The Kingkrapers* (2018) — a heist.\n3. *Memories of Murder* (2003).\n")


def _paths(tmp_path: Path) -> Paths:
    return Paths(tmp_path / "data", tmp_path / "config.toml", tmp_path / "logs")


def _import(tmp_path: Path, paths: Paths) -> None:
    folder = write_datasets(tmp_path / "imdb")
    import_catalogue(folder, FilmLocations.in_folder(paths.films_dir).catalogue)


async def test_without_a_catalogue_lookups_say_how_to_get_one(tmp_path: Path) -> None:
    lookup = FilmLookup(_paths(tmp_path))
    assert not await lookup.available()
    for answer in (await lookup.search("parasite"), await lookup.film("tt0000001"),
                   await lookup.status(),
                   await lookup.mentions(Message(role="assistant", content=REPLY))):
        assert isinstance(answer, NoCatalogue) and not answer.unreadable
        assert "moviechat films update" in answer.message
        assert "moviechat films import DIR" in answer.message


async def test_the_import_is_offered_once_and_only_after_films_were_named(
        tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    lookup = FilmLookup(paths)
    assert await lookup.offer_once("Hello! How can I help?") is None
    assert not load_preferences(paths.data_dir).films_offered
    offer = await lookup.offer_once(REPLY)
    assert offer is not None and "moviechat films update" in offer
    assert await lookup.offer_once(REPLY) is None
    assert await FilmLookup(paths).offer_once(REPLY) is None  # the next start too


async def test_no_offer_when_there_is_a_catalogue(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _import(tmp_path, paths)
    assert await FilmLookup(paths).offer_once(REPLY) is None


def test_remembering_a_theme_keeps_the_offer_remembered(tmp_path: Path) -> None:
    update_preferences(tmp_path, films_offered=True)
    update_preferences(tmp_path, theme="nord")
    prefs = load_preferences(tmp_path)
    assert prefs.theme == "nord" and prefs.films_offered


async def test_search_card_and_the_marks_of_a_reply(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    _import(tmp_path, paths)
    lookup = FilmLookup(paths)
    found = await lookup.search("살인의 추억")
    assert isinstance(found, list) and found[0].title == "Memories of Murder"
    card = await lookup.film("tt0000001")
    assert card is not None and not isinstance(card, NoCatalogue)
    assert card.writers == ("Bong Joon Ho", "Han Jin-won")
    marks = await lookup.mentions(Message(role="assistant", content=REPLY))
    assert isinstance(marks, list)
    assert [(m.text, m.verdict) for m in marks] == [
        ("Parasite", YEAR_DIFFERS), ("The Kingkrapers", UNKNOWN),
        ("Memories of Murder", RECOGNISED)]
    assert marks[0].film is not None and marks[0].film.year == 2019


async def test_marks_are_computed_again_after_the_catalogue_was_replaced(
        tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    lookup = FilmLookup(paths)
    message = Message(role="assistant", content="I loved *The Kingkrapers* (2018).")
    assert isinstance(await lookup.mentions(message), NoCatalogue)
    folder = write_datasets(tmp_path / "imdb", extra={"title.basics": [
        ("tt0000099", "movie", "The Kingkrapers", "The Kingkrapers", "0", "2018", "\\N",
         "99", "Crime")]})
    import_catalogue(folder, FilmLocations.in_folder(paths.films_dir).catalogue)
    marks = await lookup.mentions(message)
    assert isinstance(marks, list) and marks[0].verdict == RECOGNISED
    import_catalogue(write_datasets(tmp_path / "imdb2"),
                     FilmLocations.in_folder(paths.films_dir).catalogue)
    marks = await lookup.mentions(message)
    assert isinstance(marks, list) and marks[0].verdict == UNKNOWN


async def test_an_unreadable_catalogue_is_reported_not_raised(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    catalogue = FilmLocations.in_folder(paths.films_dir).catalogue
    catalogue.parent.mkdir(parents=True)
    catalogue.write_bytes(b"not a database at all" * 100)
    answer = await FilmLookup(paths).search("parasite")
    assert isinstance(answer, NoCatalogue) and answer.unreadable
    assert "cannot be read" in answer.message


@pytest.mark.parametrize("module", ["sqlite3", "moviechat_tui.films.catalogue"])
def test_creating_the_lookup_opens_nothing(tmp_path: Path, module: str) -> None:
    """The app may create it early: the catalogue's module and SQLite wait for a lookup."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from moviechat_tui.session.films import FilmLookup
        from moviechat_tui.settings.paths import Paths
        FilmLookup(Paths(Path({str(tmp_path)!r}), Path("c"), Path("l")))
        print({module!r} in sys.modules)
        """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
