"""The film tools and their registry, against the fixture catalogue: what the model gets
back for a call (compact JSON with the catalogue's fields and ids), what a bad call gets,
and the one line the chat shows for each call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from moviechat_tui.core.tools import ToolCall
from moviechat_tui.session.catalogue_access import CatalogueAccess
from moviechat_tui.session.film_tools import film_tools
from moviechat_tui.session.tools import (
    RESULT_LIMIT,
    ToolOutcome,
    ToolRegistry,
    cap,
    check_arguments,
)
from tests.support.imdb_fixtures import install_catalogue


@pytest.fixture
def registry(tmp_path: Path) -> ToolRegistry:
    install_catalogue(tmp_path)
    return ToolRegistry(film_tools(CatalogueAccess.in_folder(tmp_path / "films")))


async def call(registry: ToolRegistry, tool: str, **arguments: Any) -> Any:
    outcome = await registry.call(tool, json.dumps(arguments))
    assert not outcome.failed, outcome.result
    return json.loads(outcome.result)


def test_every_tool_is_offered_with_a_description_and_a_schema(registry: ToolRegistry) -> None:
    specs = {spec["function"]["name"]: spec for spec in registry.specs()}
    assert list(specs) == ["search_films", "film_details", "person_films"]
    for spec in specs.values():
        function = spec["function"]
        assert spec["type"] == "function" and len(function["description"]) > 100
        assert function["parameters"]["type"] == "object"
        assert function["parameters"]["additionalProperties"] is False
    assert "before you recommend" in specs["search_films"]["function"]["description"]


async def test_search_films_gives_ids_and_the_catalogue_fields(registry: ToolRegistry) -> None:
    found = (await call(registry, "search_films", query="parasite"))["results"]
    assert [(f["id"], f["year"]) for f in found[:2]] == [("tt0000001", 2019), ("tt0000002", 1982)]
    best = found[0]
    assert best == {"id": "tt0000001", "title": "Parasite", "original_title": "Gisaengchung",
                    "year": 2019, "kind": "movie", "runtime_minutes": 132,
                    "genres": ["Drama", "Thriller"], "directors": ["Bong Joon Ho"],
                    "rating": 8.5, "votes": 950000}
    korean = (await call(registry, "search_films", query="기생충"))["results"]
    assert korean[0]["id"] == "tt0000001" and korean[0]["matched_title"] == "기생충"
    by_year = (await call(registry, "search_films", query="coco", year=2017))["results"]
    assert {f["id"] for f in by_year} == {"tt0000004", "tt0000005"}
    series = (await call(registry, "search_films", query="night harbor", kind="series"))
    assert [f["kind"] for f in series["results"]] == ["tvSeries"]
    none = await call(registry, "search_films", query="the kingkrapers")
    assert none["results"] == [] and "Try another spelling" in none["note"]


async def test_film_details_is_the_card(registry: ToolRegistry) -> None:
    card = await call(registry, "film_details", id="tt0000001")
    assert card["writers"] == ["Bong Joon Ho", "Han Jin-won"]
    assert card["cast"][0] == {"name": "Song Kang-ho", "characters": ["Kim Ki-taek"]}
    assert {"name": "Jung Jae-il", "role": "composer"} in card["crew"]
    assert "기생충 / KR" in card["akas"]
    assert "url" not in card and "attribution" not in card


async def test_person_films_lists_credits_by_role(registry: ToolRegistry) -> None:
    found = await call(registry, "person_films", name="bong joon ho")
    assert found["person"]["name"] == "Bong Joon Ho" and found["person"]["birth_year"] == 1969
    assert [(f["title"], f["roles"]) for f in found["films"]] == [
        ("Parasite", ["director", "writer"]), ("Memories of Murder", ["director", "writer"])]
    acting = await call(registry, "person_films", name="Song Kang-ho", role="actor")
    assert [(f["title"], f["characters"]) for f in acting["films"]] == [
        ("Parasite", ["Kim Ki-taek"]), ("Memories of Murder", ["Detective Park Doo-man"])]
    nobody = await call(registry, "person_films", name="Nobody Atall")
    assert nobody["person"] is None and nobody["films"] == []


async def test_without_a_catalogue_the_call_says_so(tmp_path: Path) -> None:
    registry = ToolRegistry(film_tools(CatalogueAccess.in_folder(tmp_path / "films")))
    outcome = await registry.call("search_films", '{"query": "Parasite"}')
    assert outcome.failed and "moviechat films" in outcome.result


@pytest.mark.parametrize(("arguments", "problem"), [
    ("", "“query” is required"),
    ("[1]", "must be a JSON object"),
    ('{"query": 5}', "“query” should be string"),
    ('{"query": ""}', "“query” should have at least 1 characters"),
    ('{"query": "x", "year": 1500}', "“year” should be at least 1870"),
    ('{"query": "x", "year": true}', "“year” should be integer"),
    ('{"query": "x", "kind": "opera"}', '“kind” should be one of "film", "series"'),
])
async def test_arguments_are_checked_against_the_schema(
        registry: ToolRegistry, arguments: str, problem: str) -> None:
    outcome = await registry.call("search_films", arguments)
    assert outcome.failed and problem in outcome.result


def test_the_schema_check_covers_nested_values() -> None:
    schema = {"type": "object", "properties": {
        "ids": {"type": "array", "items": {"type": "string"}},
        "limit": {"type": ["integer", "null"]}}}
    assert check_arguments(schema, {"ids": ["a", "b"], "limit": None}) is None
    assert check_arguments(schema, {"ids": ["a", 2]}) == "“ids”[1] should be string"
    assert check_arguments(schema, {"limit": 2.0}) is None  # 2.0 is an integer in JSON
    assert check_arguments(schema, {"limit": 2.5}) == "“limit” should be integer or null"
    assert check_arguments(schema, {"other": 1}) is None  # extra keys unless forbidden


def test_results_are_sanitised_and_capped() -> None:
    assert cap("ok\x1b]52;c;ZXZpbA==\x07 done\x9b") == "ok done"
    long = cap("é" * (RESULT_LIMIT + 10))
    assert long.startswith("é" * RESULT_LIMIT) and long.endswith("[cut: 10 more characters]")


def lines(registry: ToolRegistry, name: str, arguments: dict[str, Any],
          outcome: ToolOutcome) -> tuple[str, str]:
    call = ToolCall("c1", name, json.dumps(arguments), outcome.result, outcome.failed)
    return registry.describe(call, running=True), registry.describe(call)


async def test_each_call_has_one_line_for_the_chat(registry: ToolRegistry) -> None:
    arguments = {"query": "Parasite", "year": 2019}
    outcome = await registry.call("search_films", json.dumps(arguments))
    assert lines(registry, "search_films", arguments, outcome) == (
        "🔎 searching films: Parasite 2019 …", "🔎 searched films: Parasite 2019 → 1 result")
    outcome = await registry.call("search_films", '{"query": "coco"}')
    assert lines(registry, "search_films", {"query": "coco"}, outcome)[1] == \
        "🔎 searched films: coco → 2 results"
    outcome = await registry.call("film_details", '{"id": "tt0000001"}')
    assert lines(registry, "film_details", {"id": "tt0000001"}, outcome)[1] == \
        "🎬 looked up a film: Parasite (2019)"
    arguments = {"name": "Bong Joon Ho", "role": "director"}
    outcome = await registry.call("person_films", json.dumps(arguments))
    assert lines(registry, "person_films", arguments, outcome)[1] == \
        "👤 looked up the films of Bong Joon Ho (director) → 2 films"
    failed = ToolOutcome("There is no tool named “x”.", failed=True)
    assert lines(registry, "x", {"a": 1}, failed)[1] == \
        '🔧 x({"a": 1}) → failed: There is no tool named “x”.'
    bad = ToolCall("c2", "search_films", "{oops", "not valid JSON", True)
    assert registry.describe(bad) == "🔧 search_films({oops) → failed: not valid JSON"
