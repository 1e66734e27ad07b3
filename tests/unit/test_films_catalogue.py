"""Looking films up as a person expects: ranking, case and accents, Hangul and Japanese,
a year in the query, prefixes; the film card, people, status, the JSON shapes; and a
catalogue that is missing, damaged or never opened."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moviechat_tui.films.catalogue import Catalogue
from moviechat_tui.films.errors import CatalogueMissing, CatalogueUnreadable
from moviechat_tui.films.importer import import_catalogue
from moviechat_tui.films.records import (
    ATTRIBUTION,
    details_json,
    film_json,
    person_json,
    status_json,
)
from tests.support.imdb_fixtures import write_datasets


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    root = tmp_path_factory.mktemp("films")
    path = root / "catalogue.sqlite3"
    import_catalogue(write_datasets(root / "imdb"), path, source="https://example.test/")
    return Catalogue(path)


def _found(catalogue: Catalogue, query: str, **kwargs: int) -> list[tuple[str, int | None]]:
    return [(f.title, f.year) for f in catalogue.search(query, **kwargs)]


def test_exact_title_comes_first_then_more_votes(catalogue: Catalogue) -> None:
    assert _found(catalogue, "parasite") == [("Parasite", 2019), ("Parasite", 1982)]


def test_exact_beats_prefix_beats_words_whatever_the_votes(catalogue: Catalogue) -> None:
    # "Memories" (40 votes) is exactly what was typed; "Memories of Murder" (210,000 votes)
    # only starts with it
    assert _found(catalogue, "memories") == [("Memories", 2015), ("Memories of Murder", 2003)]
    # a title starting with the words beats one merely containing them, however popular
    assert _found(catalogue, "parasit") == [("Parasite", 2019), ("Parasite", 1982),
                                            ("Parasitic Hearts", 2021)]
    assert _found(catalogue, "runner") == [("Blade Runner", 1982), ("Blade Runner 2049", 2017)]


def test_a_leading_article_does_not_count(catalogue: Catalogue) -> None:
    assert _found(catalogue, "godfather") == [("The Godfather", 1972), ("Godfather", 2007)]


def test_case_and_accents_do_not_matter(catalogue: Catalogue) -> None:
    for query in ("AMÉLIE", "amelie", "Amelie", "le fabuleux destin d amelie"):
        assert _found(catalogue, query) == [("Amélie", 2001)], query


def test_found_by_any_title_in_any_script(catalogue: Catalogue) -> None:
    for query, title in (("기생충", "기생충"), ("パラサイト", "パラサイト 半地下の家族"),
                         ("паразиты", "Паразиты"), ("gisaengchung", None),
                         ("крестный отец", "Крёстный отец")):
        results = catalogue.search(query)
        assert results, query
        assert results[0].matched_title == title, query


def test_hangul_and_japanese_match_inside_words_and_without_spaces(
        catalogue: Catalogue) -> None:
    assert _found(catalogue, "기생") == [("Parasite", 2019)]  # a prefix of the word
    assert _found(catalogue, "살인의추억") == [("Memories of Murder", 2003)]  # no space
    assert _found(catalogue, "치히로") == [("Spirited Away", 2001)]  # inside 센과 치히로의
    assert _found(catalogue, "神隠し") == [("Spirited Away", 2001)]  # the end of 千と千尋の神隠し
    assert _found(catalogue, "隠神") == []  # the characters must stand together


def test_a_year_in_the_query_or_given_narrows_the_results(catalogue: Catalogue) -> None:
    assert _found(catalogue, "parasite 2019") == [("Parasite", 2019)]
    assert _found(catalogue, "Parasite (1982)") == [("Parasite", 1982)]
    assert _found(catalogue, "parasite", year=1982) == [("Parasite", 1982)]
    assert _found(catalogue, "parasite 1999") == []


def test_a_year_that_is_part_of_the_title_still_matches(catalogue: Catalogue) -> None:
    assert _found(catalogue, "blade runner 2049")[0] == ("Blade Runner 2049", 2017)


def test_typing_a_prefix_finds_the_film(catalogue: Catalogue) -> None:
    assert _found(catalogue, "memories of mur") == [("Memories of Murder", 2003)]
    assert ("Spirited Away", 2001) in _found(catalogue, "spiri")


def test_two_films_sharing_a_title_and_a_year_are_both_found(catalogue: Catalogue) -> None:
    coco = catalogue.search("coco 2017")
    assert [(f.id, f.year) for f in coco] == [("tt0000004", 2017), ("tt0000005", 2017)]
    assert coco[0].directors == ("Lee Unkrich",) and coco[1].directors == ()


def test_raw_quotes_in_titles_are_kept_and_searchable(catalogue: Catalogue) -> None:
    assert _found(catalogue, '"lost" reel') == [('The "Lost" Reel', 1999)]


def test_query_syntax_is_never_interpreted(catalogue: Catalogue) -> None:
    for query in ('"', "*", "parasite OR godfather", "NEAR(a b)", "-", "a:b", "((("):
        catalogue.search(query)  # no exception: words only
    assert _found(catalogue, "parasite AND") == []


def test_the_film_card_has_every_fact(catalogue: Catalogue) -> None:
    card = catalogue.film("tt0000001")
    assert card is not None
    film = card.film
    assert (film.title, film.original_title, film.year, film.kind, film.runtime_minutes) == (
        "Parasite", "Gisaengchung", 2019, "movie", 132)
    assert film.genres == ("Drama", "Thriller")
    assert (film.rating, film.votes) == (8.5, 950000)
    assert film.directors == ("Bong Joon Ho",)
    assert card.writers == ("Bong Joon Ho", "Han Jin-won")
    assert [(c.name, c.characters) for c in card.cast] == [
        ("Song Kang-ho", ("Kim Ki-taek",)), ("Choi Woo-shik", ("Kim Ki-woo",)),
        ("Park So-dam", ("Kim Ki-jung", "Jessica"))]
    assert [(c.name, c.role) for c in card.crew] == [("Jung Jae-il", "composer")]
    assert card.url == "https://www.imdb.com/title/tt0000001/"
    assert catalogue.film("https://www.imdb.com/title/tt0000001/") == card


def test_characters_with_quotes_and_writers_with_jobs(catalogue: Catalogue) -> None:
    spirited = catalogue.film("tt0000007")
    host = catalogue.film("tt0000014")
    assert spirited is not None and host is not None
    assert spirited.cast[0].characters == ('Chihiro "Sen" Ogino',)
    assert host.cast[0].characters == ('Himself - "The Host"',)
    assert host.cast[0].name == "Émile Dupont"


def test_unknown_ids_are_none(catalogue: Catalogue) -> None:
    assert catalogue.film("tt9999999") is None
    assert catalogue.film("not an id") is None
    assert catalogue.film("tt0000010") is None  # an episode: not kept
    assert catalogue.person("nm9999999") is None


def test_people_by_name_with_their_films(catalogue: Catalogue) -> None:
    (bong,) = catalogue.search_people("bong joon")
    assert bong.name == "Bong Joon Ho" and bong.birth_year == 1969
    assert [f.title for f in bong.known_for] == ["Parasite", "Memories of Murder"]
    assert [p.name for p in catalogue.search_people("emile")] == ["Émile Dupont"]
    details = catalogue.person(bong.id)
    assert details is not None
    assert [(c.film.title, c.role) for c in details.credits] == [
        ("Parasite", "director"), ("Parasite", "writer"),
        ("Memories of Murder", "director"), ("Memories of Murder", "writer")]


def test_json_shapes(catalogue: Catalogue) -> None:
    (first, *_) = catalogue.search("parasite 2019")
    data = film_json(first)
    assert {k: data[k] for k in ("id", "title", "original_title", "year", "kind",
                                 "runtime_minutes", "genres", "directors", "rating",
                                 "votes")} == {
        "id": "tt0000001", "title": "Parasite", "original_title": "Gisaengchung",
        "year": 2019, "kind": "movie", "runtime_minutes": 132,
        "genres": ["Drama", "Thriller"], "directors": ["Bong Joon Ho"], "rating": 8.5,
        "votes": 950000}
    orchard = catalogue.film("tt0000013")
    assert orchard is not None
    shown = json.loads(json.dumps(details_json(orchard)))
    assert shown["year"] is None and shown["rating"] is None and shown["genres"] == []
    assert shown["original_title"] == "The Quiet Orchard"
    details = details_json(catalogue.film("tt0000001"))  # type: ignore[arg-type]
    assert details["writers"] == ["Bong Joon Ho", "Han Jin-won"]
    assert details["cast"][2] == {"id": "nm0000005", "name": "Park So-dam",
                                  "characters": ["Kim Ki-jung", "Jessica"]}
    assert details["akas"][0] == {"title": "기생충", "region": "KR", "language": "ko"}
    assert details["attribution"] == ATTRIBUTION
    (bong,) = catalogue.search_people("bong")
    assert person_json(bong)["known_for"][0]["id"] == "tt0000001"
    status = status_json(catalogue.status())
    assert status["source"] == "https://example.test/"
    assert status["counts"]["films"] == 17
    assert isinstance(status["size_bytes"], int)


def test_no_catalogue_says_how_to_get_one(tmp_path: Path) -> None:
    catalogue = Catalogue(tmp_path / "none.sqlite3")
    assert not catalogue.exists()
    with pytest.raises(CatalogueMissing) as missing:
        catalogue.search("parasite")
    assert "moviechat films update" in missing.value.message
    assert "moviechat films import" in missing.value.message


def test_a_damaged_file_is_reported_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogueUnreadable) as damaged:
        Catalogue(path).search("parasite")
    assert str(path) in damaged.value.message
    assert "\n" not in damaged.value.message


def test_opening_is_lazy_and_sqlite_stays_unloaded_until_used(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from moviechat_tui.films.catalogue import Catalogue\n"
        "Catalogue(Path(sys.argv[1]))\n"
        "print('sqlite3' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "missing.sqlite3")],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
