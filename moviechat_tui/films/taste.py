"""A compact summary of the user's taste, for the model: what they rated highest, what they
watched lately, what they want to see — within a token budget.

    text = taste_summary(store.load(), budget_tokens=600)   # "" when the lists are empty

The session adds it to the system message of the recommender persona, and of any persona
when the user asks for recommendations (`asks_for_recommendations`), unless the config keeps
the lists out of requests. It is written for the model, in English (like the personas'
prompts): the model answers in the user's language whatever the prompt's.

What goes in, in this order, each part as far as the budget allows:

1. the instruction: not to recommend what the user has seen unless asked, and that the
   watchlist is what they want to see;
2. rated highest (4 and up), best first, newer ratings first among equals;
3. watched lately (the diary, newest first, one line a film);
4. rated lowest (2 and under): what they did not like says as much;
5. the watchlist, newest first;
6. every other film they have seen, newest first, until the budget is spent — so a film
   they saw is not recommended to them even when it is not among the ones above.

Tokens are estimated as everywhere else (core/context.py). Built in one pass over the lists
with partial sorts: ≤ 20 ms at 10,000 entries (benchmarks/my_films.py).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Iterator
from datetime import date

from moviechat_tui.core.context import PER_MESSAGE_OVERHEAD, estimate_tokens
from moviechat_tui.films.my_lists import Entry, MyLists, title_key

DEFAULT_BUDGET = 600
"""Tokens the summary may take in the system message (about 2,400 characters of Latin
text): room for ~100 films, small beside any context window."""
SECTION_LIMITS = {"top": 20, "recent": 12, "low": 6, "watchlist": 20}

INSTRUCTION = (
    "The user keeps lists of films in this app; here is a summary of their taste. Use it when "
    "recommending films. Do not recommend a film the user has already seen (any film below "
    "with a rating or under \"watched\" or \"also seen\") unless they ask for it; films on "
    "their watchlist are ones they already want to see, so suggest others, or say which of "
    "those fits when that is what they ask.")

_RECOMMEND = re.compile(
    r"\b(recommend\w*|suggest\w*|what (?:should|could|can) i watch|something to watch|"
    r"films? like|movies? like|similar to)\b|추천|볼만한|볼 만한|뭐 볼까|뭘 볼까|비슷한 영화",
    re.IGNORECASE)


def asks_for_recommendations(text: str) -> bool:
    """True when a message asks for recommendations ("recommend me…", "films like…",
    "추천해 줘"): then any persona gets the summary, not only the recommender."""
    return _RECOMMEND.search(text) is not None


def _stars(rating: float) -> str:
    return f"{rating:g}/5"


def _label(entry: Entry) -> str:
    return entry.label


def _unique(entries: Iterable[Entry], seen: set[object]) -> Iterator[Entry]:
    for entry in entries:
        key = entry.film_id or title_key(entry)
        if key not in seen:
            seen.add(key)
            yield entry


def taste_summary(lists: MyLists, *, budget_tokens: int = DEFAULT_BUDGET) -> str:
    """The summary (see the module docstring), at most `budget_tokens` by
    `estimate_tokens`; "" when there is nothing in the lists or no room for any film."""
    if not lists.total:
        return ""
    budget = budget_tokens - PER_MESSAGE_OVERHEAD
    used = _cost(INSTRUCTION) + 1
    if used >= budget:
        return ""
    parts: list[str] = [INSTRUCTION]
    mentioned: set[object] = set()

    def section(heading: str, items: Iterable[str], limit: int | None) -> None:
        nonlocal used
        line: list[str] = []
        cost = _cost(heading) + 1
        for count, item in enumerate(items):
            if limit is not None and count >= limit:
                break
            more = _cost(item) + 1
            if used + cost + more > budget:
                break
            line.append(item)
            cost += more
        if line:
            parts.append(heading + " " + "; ".join(line) + ".")
            used += cost

    rated = lists.ratings
    top = heapq.nlargest(SECTION_LIMITS["top"] * 2, (e for e in rated if (e.rating or 0) >= 4),
                         key=lambda e: (e.rating or 0, e.date))
    section("Rated highest:", (f"{_label(e)} {_stars(e.rating or 0)}"
                               for e in _unique(top, mentioned)), SECTION_LIMITS["top"])
    dated = [e for e in lists.diary if e.watched is not None]
    recent = heapq.nlargest(SECTION_LIMITS["recent"] * 3, dated,
                            key=lambda e: (e.watched or date.min, e.date))
    section("Watched lately:", (
        f"{_label(e)} on {e.watched}" + (f", {_stars(e.rating)}" if e.rating else "")
        + (", rewatch" if e.rewatch else "") for e in _unique(recent, mentioned)),
        SECTION_LIMITS["recent"])
    low = heapq.nsmallest(SECTION_LIMITS["low"] * 2, (e for e in rated if (e.rating or 5) <= 2),
                          key=lambda e: (e.rating or 0, -e.date.toordinal()))
    section("Rated lowest:", (f"{_label(e)} {_stars(e.rating or 0)}"
                              for e in _unique(low, mentioned)), SECTION_LIMITS["low"])
    wanted = sorted(lists.watchlist, key=lambda e: e.date, reverse=True)
    section("Watchlist:", (_label(e) for e in _unique(wanted, set())),
            SECTION_LIMITS["watchlist"])
    others = sorted((*lists.diary, *rated), key=lambda e: e.watched or e.date, reverse=True)
    section("Also seen:", (_label(e) for e in _unique(others, mentioned)), None)
    return "\n".join(parts) if len(parts) > 1 else ""


def _cost(text: str) -> int:
    return estimate_tokens(text) - PER_MESSAGE_OVERHEAD


def seen_titles(lists: MyLists, limit: int = 200) -> list[str]:
    """"Title (year)" of the films the user has seen (diary and ratings), most recent first:
    for the spoiler shield's "safe to discuss" list (core/spoilers.py)."""
    ordered = sorted((*lists.diary, *lists.ratings), key=lambda e: e.watched or e.date,
                     reverse=True)
    return [e.label for e in _unique(ordered, set())][:limit]
