"""The taste summary a recommender gets, and the `my_films` tool: what the model is told about
the user's films, within the budget, and that it must not recommend what they have seen."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from moviechat_tui.core.context import estimate_tokens
from moviechat_tui.films.my_films_tool import (
    TOOL_NAME,
    TOOL_PARAMETERS,
    run_my_films,
)
from moviechat_tui.films.my_lists import MyLists, make_entry
from moviechat_tui.films.taste import (
    INSTRUCTION,
    asks_for_recommendations,
    seen_titles,
    taste_summary,
)

DAY = date(2024, 1, 1)


def _lists() -> MyLists:
    return MyLists(
        watchlist=(make_entry("The Godfather", 1972, "tt0068646", DAY),
                   make_entry("Night Harbor", 2015, None, DAY + timedelta(3))),
        diary=(make_entry("Memories of Murder", 2003, None, DAY, watched=DAY, rating=4.5),
               make_entry("Parasite", 2019, "tt6751668", DAY, watched=DAY + timedelta(9),
                          rating=5, rewatch=True),
               make_entry("Spirited Away", 2001, None, DAY, watched=None)),
        ratings=(make_entry("Parasite", 2019, "tt6751668", DAY, rating=5),
                 make_entry("Memories of Murder", 2003, None, DAY, rating=4.5),
                 make_entry("Cats", 2019, None, DAY, rating=1),
                 make_entry("Coco", 2017, None, DAY, rating=3)))


def test_the_summary_names_the_favourites_the_recent_the_disliked_and_the_watchlist() -> None:
    text = taste_summary(_lists())
    lines = text.splitlines()
    assert lines[0] == INSTRUCTION and "Do not recommend a film the user has already seen" \
        in lines[0]
    assert lines[1] == "Rated highest: Parasite (2019) 5/5; Memories of Murder (2003) 4.5/5."
    assert lines[2] == "Rated lowest: Cats (2019) 1/5."
    assert lines[3] == "Watchlist: Night Harbor (2015); The Godfather (1972)."
    assert lines[4] == "Also seen: Spirited Away (2001); Coco (2017)."


def test_recent_viewings_of_films_not_already_named_are_listed_with_their_day() -> None:
    lists = MyLists(diary=(make_entry("Alien", 1979, None, DAY, watched=DAY, rating=3.5,
                                      rewatch=True),))
    assert "Watched lately: Alien (1979) on 2024-01-01, 3.5/5, rewatch." in taste_summary(lists)


def test_empty_lists_send_nothing() -> None:
    assert taste_summary(MyLists()) == ""
    assert taste_summary(_lists(), budget_tokens=20) == ""


def _big(count: int) -> MyLists:
    return MyLists(
        diary=tuple(make_entry(f"Film number {n}", 1950 + n % 70, None, DAY,
                               watched=DAY + timedelta(n), rating=(n % 10 + 1) / 2)
                    for n in range(count)),
        ratings=tuple(make_entry(f"Film number {n}", 1950 + n % 70, None, DAY + timedelta(n),
                                 rating=(n % 10 + 1) / 2) for n in range(count)),
        watchlist=tuple(make_entry(f"Wanted {n}", 2000, None, DAY + timedelta(n))
                        for n in range(count // 3)))


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=3000))
def test_the_summary_always_fits_its_budget(budget: int) -> None:
    text = taste_summary(_big(300), budget_tokens=budget)
    assert text == "" or estimate_tokens(text) <= budget


def test_ten_thousand_entries_give_the_best_and_newest_within_the_default_budget() -> None:
    text = taste_summary(_big(10_000))
    assert estimate_tokens(text) <= 600
    top = text.splitlines()[1]
    assert top.startswith("Rated highest: Film number 9999 (") and "5/5" in top
    assert "Watchlist: Wanted 3332 (2000)" in text


def test_recommendation_requests_are_recognised_in_english_and_korean() -> None:
    for text in ("Can you recommend a thriller?", "Films like Parasite?",
                 "What should I watch tonight", "비슷한 영화 추천해 줘", "오늘 뭐 볼까?"):
        assert asks_for_recommendations(text), text
    for text in ("Who directed Alien?", "Tell me about Parasite's ending"):
        assert not asks_for_recommendations(text), text


def test_seen_titles_are_the_films_in_the_diary_and_ratings_newest_first() -> None:
    assert seen_titles(_lists()) == ["Parasite (2019)", "Memories of Murder (2003)",
                                     "Spirited Away (2001)", "Cats (2019)", "Coco (2017)"]


# -- the my_films tool -----------------------------------------------------------------------

def test_the_tool_returns_compact_json_of_the_lists_newest_first() -> None:
    answer = run_my_films(_lists(), {})
    assert " " not in answer.replace("Memories of Murder", "").replace(
        "The Godfather", "").replace("Night Harbor", "").replace("Spirited Away", "")
    data = json.loads(answer)
    assert sorted(data) == ["diary", "ratings", "watchlist"]
    assert data["diary"]["total"] == 3
    assert data["diary"]["entries"][0] == {"title": "Parasite", "year": 2019,
                                           "id": "tt6751668", "watched_date": "2024-01-10",
                                           "rating": 5.0, "rewatch": True}
    assert data["watchlist"]["entries"][0] == {"title": "Night Harbor", "year": 2015,
                                               "date": "2024-01-04"}


def test_the_tool_takes_a_list_a_query_a_sort_and_a_limit() -> None:
    data = json.loads(run_my_films(_lists(), {"list": "ratings", "sort": "rating",
                                              "limit": 2}))
    assert list(data) == ["ratings"]
    assert data["ratings"]["total"] == 4
    assert [e["title"] for e in data["ratings"]["entries"]] == ["Parasite",
                                                                "Memories of Murder"]
    data = json.loads(run_my_films(_lists(), {"query": "memories"}))
    assert [data[n]["total"] for n in ("watchlist", "diary", "ratings")] == [0, 1, 1]


def test_arguments_outside_the_schema_fall_back_to_the_defaults() -> None:
    data = json.loads(run_my_films(_lists(), {"list": "favourites", "limit": "ten",
                                              "sort": "vibes", "query": 3}))
    assert sorted(data) == ["diary", "ratings", "watchlist"]
    assert TOOL_NAME == "my_films" and TOOL_PARAMETERS["additionalProperties"] is False
