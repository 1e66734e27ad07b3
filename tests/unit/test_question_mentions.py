"""Films and people named in a plain question (films/question_mentions.py), against the
fixture catalogue: no year, no emphasis, often no capitals — and common words that happen
to be titles must not crowd out the film the user means."""

from __future__ import annotations

import pytest

from moviechat_tui.core.context import estimate_tokens
from moviechat_tui.films.catalogue import Catalogue
from moviechat_tui.films.question_mentions import named_in
from moviechat_tui.session.grounding import facts_for
from tests.support.imdb_fixtures import install_catalogue


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    path = install_catalogue(tmp_path_factory.mktemp("films"))
    return Catalogue(path)


def films(question: str, catalogue: Catalogue, *earlier: str) -> list[str]:
    named = named_in(question, catalogue, earlier=earlier)
    return [f"{f.title} ({f.year})" for f in named.films]


@pytest.mark.parametrize(("question", "expected"), [
    ("Who directed Parasite and when was it released?", ["Parasite (2019)"]),
    ("who directed parasite", ["Parasite (2019)"]),
    ("What about memories of murder?", ["Memories of Murder (2003)"]),
    ("Tell me about the 1982 Parasite", ["Parasite (2019)"]),
    ("is Parasite 1982 any good", ["Parasite (1982)"]),
    ("Tell me about Coco (2017)", ["Coco (2017)"]),
    ("Is The Godfather better than Blade Runner 2049?",
     ["The Godfather (1972)", "Blade Runner 2049 (2017)"]),
    ("\"Amelie\" or spirited away tonight?", ["Amélie (2001)", "Spirited Away (2001)"]),
    ("기생충은 누가 감독했어?", ["Parasite (2019)"]),
    ("살인의추억 어때?", ["Memories of Murder (2003)"]),
    ("Who is the director of the film?", []),
    ("I liked Memories", []),  # a namesake with 40 votes is not worth the room
    ("", []),
])
def test_films_named_in_a_question(catalogue: Catalogue, question: str,
                                   expected: list[str]) -> None:
    assert sorted(films(question, catalogue)) == sorted(expected)


def test_a_longer_title_hides_the_titles_inside_it(catalogue: Catalogue) -> None:
    # "Memories" and "Blade Runner" are films too, but not the ones named here.
    assert films("memories of murder and blade runner 2049", catalogue) == [
        "Memories of Murder (2003)", "Blade Runner 2049 (2017)"]


def test_a_follow_up_question_finds_the_film_of_the_turn_before(catalogue: Catalogue) -> None:
    assert films("When was it released?", catalogue, "Who directed Spirited Away?") == [
        "Spirited Away (2001)"]
    # The question itself comes first.
    assert films("And Coco?", catalogue, "Who directed Spirited Away?") == [
        "Coco (2017)", "Spirited Away (2001)"]


def test_people_named_in_a_question(catalogue: Catalogue) -> None:
    named = named_in("what else has bong joon ho directed?", catalogue)
    assert [p.name for p in named.people] == ["Bong Joon Ho"] and named.films == ()
    named = named_in("Films with Song Kang-ho and Marlon Brando", catalogue)
    assert [p.name for p in named.people] == ["Song Kang-ho", "Marlon Brando"]


def test_the_facts_block_within_its_budget(catalogue: Catalogue) -> None:
    block, labels = facts_for("Compare Parasite with The Godfather and Coco 2017", [],
                              catalogue, 400)
    assert labels == ("Parasite (2019)", "The Godfather (1972)", "Coco (2017)")
    assert "Directed by: Francis Ford Coppola" in block
    # A smaller budget cuts the last lines of a film, then leaves the next films out.
    small, few = facts_for("Compare Parasite with The Godfather and Coco 2017", [],
                           catalogue, 90)
    assert few == ("Parasite (2019)", "The Godfather (1972)")
    assert small.endswith("Title: The Godfather (1972)\nDirected by: Francis Ford Coppola")
    assert estimate_tokens(small) <= 90
    assert facts_for("Hello there!", [], catalogue, 400) == ("", ())
