"""The films a reply mentions: recognised ones with their catalogue id, made-up ones marked
unknown, wrong years marked — and no marks on what is not a film claim."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from moviechat_tui.films.catalogue import Catalogue
from moviechat_tui.films.importer import import_catalogue
from moviechat_tui.films.mentions import (
    RECOGNISED,
    UNKNOWN,
    YEAR_DIFFERS,
    Mention,
    find_mentions,
)
from moviechat_tui.films.records import FilmRef
from tests.support.imdb_fixtures import write_datasets


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Catalogue:
    root = tmp_path_factory.mktemp("films")
    import_catalogue(write_datasets(root / "imdb"), root / "catalogue.sqlite3")
    return Catalogue(root / "catalogue.sqlite3")


def _verdicts(mentions: list[Mention]) -> list[tuple[str, int | None, str, str | None]]:
    return [(m.text, m.year, m.verdict, m.film.id if m.film else None) for m in mentions]


def test_a_made_up_film_and_a_wrong_year_are_marked(catalogue: Catalogue) -> None:
    reply = ("Three Korean thrillers worth your evening:\n\n"
             "1. *Parasite* (2019) — a family cons its way into a rich household.\n"
             "2. **The Kingkrapers** (2018) — a heist that goes wrong.\n"
             "3. *Memories of Murder* (2004) — two detectives and a serial killer.\n")

    assert _verdicts(find_mentions(reply, catalogue)) == [
        ("Parasite", 2019, RECOGNISED, "tt0000001"),
        ("The Kingkrapers", 2018, UNKNOWN, None),
        ("Memories of Murder", 2004, YEAR_DIFFERS, "tt0000003"),
    ]


def test_year_differs_carries_the_catalogue_year(catalogue: Catalogue) -> None:
    (mention,) = find_mentions("I rewatched *Parasite* (2017) last night.", catalogue)
    assert mention.verdict == YEAR_DIFFERS
    assert mention.film is not None and mention.film.year == 2019
    assert [f.year for f in mention.others] == [1982]


def test_offsets_point_at_the_title_in_the_reply(catalogue: Catalogue) -> None:
    reply = "Try **Coco** (2017) or *Spirited Away* (2001)."
    for mention in find_mentions(reply, catalogue):
        assert reply[mention.start:mention.end] == mention.text


def test_list_items_and_table_rows_are_read(catalogue: Catalogue) -> None:
    reply = ("- Blade Runner (1982): the original.\n"
             "- Shop of the Year 2024 (2026): a comedy.\n\n"
             "| Film | Director | Year |\n"
             "|------|----------|------|\n"
             "| The Godfather | Francis Ford Coppola | 1972 |\n"
             "| Dirty Minute | Nobody | 2022 |\n")

    assert _verdicts(find_mentions(reply, catalogue)) == [
        ("Blade Runner", 1982, RECOGNISED, "tt0000017"),
        ("Shop of the Year 2024", 2026, UNKNOWN, None),
        ("The Godfather", 1972, RECOGNISED, "tt0000018"),
        ("Dirty Minute", 2022, UNKNOWN, None),
    ]


def test_titles_in_korean_quotes_and_other_scripts(catalogue: Catalogue) -> None:
    reply = "봉준호 감독의 《기생충》(2019)과 『千と千尋の神隠し』(2001)을 추천해요."
    assert _verdicts(find_mentions(reply, catalogue)) == [
        ("기생충", 2019, RECOGNISED, "tt0000001"),
        ("千と千尋の神隠し", 2001, RECOGNISED, "tt0000007"),
    ]


def test_accents_and_case_are_ignored_when_matching(catalogue: Catalogue) -> None:
    (mention,) = find_mentions("You will love *AMELIE* (2001).", catalogue)
    assert (mention.verdict, mention.film and mention.film.id) == (RECOGNISED, "tt0000006")


def test_two_films_sharing_title_and_year_are_recognised_with_the_other_noted(
        catalogue: Catalogue) -> None:
    (coco,) = find_mentions("*Coco* (2017) is about family.", catalogue)
    assert coco.verdict == RECOGNISED
    assert coco.film is not None and coco.film.id == "tt0000004"  # the most-voted
    assert [f.id for f in coco.others] == ["tt0000005"]


def test_plain_text_with_a_year_is_recognised_but_never_called_unknown(
        catalogue: Catalogue) -> None:
    reply = ("I loved Parasite (2019). It won the Palme d'Or (2019), and In 2019 Bong Joon "
             "Ho said (2019) many things.")
    assert _verdicts(find_mentions(reply, catalogue)) == [
        ("Parasite", 2019, RECOGNISED, "tt0000001")]


def test_plain_text_with_a_wrong_year_is_marked_when_the_film_is_notable(
        catalogue: Catalogue) -> None:
    reply = "Everyone remembers Parasite (2017), while Memories (2003) is obscure."
    assert _verdicts(find_mentions(reply, catalogue)) == [
        ("Parasite", 2017, YEAR_DIFFERS, "tt0000001")]


def test_headings_code_and_bold_names_are_not_film_claims(catalogue: Catalogue) -> None:
    reply = ("## Parasite (2017)\n\n"
             "Directed by **Bong Joon Ho**, with **Song Kang-ho**.\n\n"
             "```\n*Dirty Minute* (2022)\n```\n"
             "Use `*Coco* (1999)` in code. **Bong Joon Ho** (1969) was born in Daegu; "
             "*really* good.\n")
    assert find_mentions(reply, catalogue) == []


def test_italic_titles_without_a_year_are_recognised_only_when_notable(
        catalogue: Catalogue) -> None:
    reply = "Watch *Spirited Away*, then *Memories*, then *Whatever Else*."
    assert _verdicts(find_mentions(reply, catalogue)) == [
        ("Spirited Away", None, RECOGNISED, "tt0000007")]


def test_each_film_is_reported_once(catalogue: Catalogue) -> None:
    reply = "*Parasite* (2019). Later, *Parasite* (2019) again, and *parasite* (2019)."
    assert len(find_mentions(reply, catalogue)) == 1


class _CountingLookup:
    """A catalogue stand-in that counts its queries: recognition must batch them."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.calls = 0

    def titled(self, norms: Iterable[str],
               with_years: Iterable[tuple[str, int]] = ()) -> dict[str, list[FilmRef]]:
        self.calls += 1
        return self.catalogue.titled(norms, with_years)

    def people_named(self, norms: Iterable[str]) -> set[str]:
        self.calls += 1
        return self.catalogue.people_named(norms)


def test_a_long_reply_costs_two_lookups(catalogue: Catalogue) -> None:
    lines = [f"{i}. *Film Number {i}* ({1950 + i % 70}) — **Someone {i}** directed it."
             for i in range(200)]
    lookup = _CountingLookup(catalogue)
    mentions = find_mentions("\n".join(lines), lookup)
    assert len(mentions) == 200 and {m.verdict for m in mentions} == {UNKNOWN}
    assert lookup.calls <= 2
