"""The `my_films` tool: the model reads the user's lists (never changes them).

For tool-capable models the session's tool registry offers this next to the catalogue's
tools; the registry owns the calling convention, this module only what the tool is:

    TOOL_NAME, TOOL_DESCRIPTION, TOOL_PARAMETERS     the function's OpenAI-style schema
    run_my_films(lists, arguments) -> str            the answer: compact JSON

The answer is compact JSON (no spaces, absent values left out) with, per list asked for,
`total` and the entries (newest first, at most `limit`), so the model knows when it sees
only part of a list. Arguments that do not fit the schema are not an error for the model to
trip over: a wrong list name reads all three, a bad limit the default, and `query` narrows
by title words as the My films screen does (my_lists.EntryFilter).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from moviechat_tui.films.my_lists import (
    LIST_NAMES,
    SORT_KEYS,
    Entry,
    EntryFilter,
    ListName,
    MyLists,
    SortKey,
    sort_entries,
)

TOOL_NAME = "my_films"
TOOL_DESCRIPTION = (
    "Read the user's own film lists: their watchlist (films they want to see), their diary "
    "(films they watched, with the date, their rating and whether it was a rewatch) and "
    "their ratings (0.5 to 5 stars). Use it before recommending films, to avoid films they "
    "have seen and to match their taste. Read-only.")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
TOOL_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "list": {"type": "string", "enum": [*LIST_NAMES, "all"],
                 "description": "Which list to read; all three by default."},
        "query": {"type": "string",
                  "description": "Only entries whose title, year or tags contain these words."},
        "sort": {"type": "string", "enum": ["date", "rating", "title", "year"],
                 "description": "Newest first by default; rating: highest first."},
        "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                  "description": f"Entries per list, {DEFAULT_LIMIT} by default."},
    },
    "additionalProperties": False,
}


def compact_entry(entry: Entry) -> dict[str, Any]:
    """An entry with only the keys that say something (the JSON of docs/scripting.md,
    shortened: the model pays for every character)."""
    data: dict[str, Any] = {"title": entry.title}
    if entry.year is not None:
        data["year"] = entry.year
    if entry.film_id:
        data["id"] = entry.film_id
    if entry.watched is not None:
        data["watched_date"] = entry.watched.isoformat()
    else:
        data["date"] = entry.date.isoformat()
    if entry.rating is not None:
        data["rating"] = entry.rating
    if entry.rewatch:
        data["rewatch"] = True
    if entry.tags:
        data["tags"] = list(entry.tags)
    if entry.note:
        data["note"] = entry.note[:300]
    return data


def run_my_films(lists: MyLists, arguments: Mapping[str, Any] | None = None) -> str:
    args = arguments or {}
    wanted = args.get("list")
    names: tuple[ListName, ...] = (wanted,) if wanted in LIST_NAMES else LIST_NAMES
    limit = args.get("limit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        limit = DEFAULT_LIMIT
    sort: SortKey = args["sort"] if args.get("sort") in SORT_KEYS else "date"
    query = args.get("query") if isinstance(args.get("query"), str) else ""
    answer: dict[str, Any] = {}
    for name in names:
        entries = list(lists.of(name))
        if query:
            entries = EntryFilter(entries).matching(query)
        ordered = sort_entries(name, entries, sort)
        answer[name] = {"total": len(ordered),
                        "entries": [compact_entry(e) for e in ordered[:limit]]}
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))
