"""The spoiler shield's part of a request: the instruction, and the films that are safe.

While a conversation's shield is on (`Conversation.spoiler_shield`), its system message ends
with core/spoilers.py's `shield_prompt`: the model is asked to wrap whatever reveals a plot
beyond its premise in `<spoiler>` … `</spoiler>` (the chat keeps those passages closed), and
told which films the user has seen — from their diary and ratings (films/taste.py
`seen_titles`) — whose plots it may discuss openly.

A diary can hold thousands of films; the list sent is kept within SAFE_FILMS_BUDGET tokens:
first the seen films the conversation itself names (the ones whose plots come up), then the
most recently seen. The lists are read in a thread from the my-films store, which caches
each file while it is unchanged (a request after the first costs a few stats). Lists that
do not exist mean no safe films; a damaged one is moved aside and reported by the store
(`report`), and never keeps a question from being sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from moviechat_tui.core.context import PER_MESSAGE_OVERHEAD, estimate_tokens
from moviechat_tui.core.conversation import Conversation
from moviechat_tui.core.spoilers import shield_prompt

if TYPE_CHECKING:
    from moviechat_tui.films.my_lists import MyLists
    from moviechat_tui.films.my_store import MyFilmsStore

log = logging.getLogger(__name__)

SAFE_FILMS_BUDGET = 300
"""Tokens the "seen, safe to discuss" titles may take in the system message (about 40
titles): the instruction must fit small context windows too (the bundled model's)."""
RECENT_MESSAGES = 30
"""The newest messages searched for the names of seen films."""
LONGEST_NAME = 8
"""Titles of up to this many words are matched as word sequences of the conversation (a set
lookup each); longer ones by a search of its text."""


def _phrases(words: list[str], longest: int) -> set[str]:
    """Every run of 1 … `longest` consecutive words, joined by spaces."""
    found: set[str] = set()
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + longest) + 1):
            found.add(" ".join(words[start:end]))
    return found


def safe_films(lists: MyLists, conversation_texts: Iterable[str],
               budget: int = SAFE_FILMS_BUDGET) -> list[str]:
    """"Title (year)" of the films the user has seen, within `budget` tokens: those named in
    `conversation_texts` first, then the rest, most recently seen first."""
    from moviechat_tui.films.my_lists import title_key
    from moviechat_tui.films.normalize import normalize
    from moviechat_tui.films.taste import seen_titles

    seen = (*lists.diary, *lists.ratings)
    if not seen:
        return []
    text = normalize(" ".join(conversation_texts))
    phrases = _phrases(text.split(), LONGEST_NAME)
    spaced = f" {text} "
    named: list[str] = []
    for entry in seen:
        key = title_key(entry)[0]
        if not key:
            continue
        if key in phrases if key.count(" ") < LONGEST_NAME else f" {key} " in spaced:
            named.append(entry.label)
    ordered = seen_titles(lists, limit=len(seen))
    named_set = set(named)
    first = [label for label in ordered if label in named_set]
    chosen: list[str] = []
    used = 0
    for label in (*first, *(label for label in ordered if label not in named_set)):
        cost = estimate_tokens(label) - PER_MESSAGE_OVERHEAD + 1
        if used + cost > budget:
            break
        chosen.append(label)
        used += cost
    return chosen


class SpoilerShield:
    """The shield's instruction for a conversation, with the user's seen films."""

    def __init__(self, data_dir: Path, report: Callable[[str], None]) -> None:
        self._data_dir = data_dir
        self._report = report
        """Says a list's problem to the user (a damaged file moved aside)."""
        self._store: MyFilmsStore | None = None

    def _films(self, texts: list[str]) -> list[str]:
        if self._store is None:
            from moviechat_tui.films.my_store import MyFilmsStore

            self._store = MyFilmsStore.under(self._data_dir)
        return safe_films(self._store.load(), texts)

    async def instruction(self, conversation: Conversation) -> str:
        """`shield_prompt` with the seen films; without them if the lists can't be read."""
        texts = [m.content for m in conversation.messages[-RECENT_MESSAGES:]
                 if m.role in ("user", "assistant") and not m.hidden]
        try:
            films = await asyncio.to_thread(self._films, texts)
        except Exception as exc:  # the lists are a help here, never a reason to fail
            log.warning("spoiler shield: could not read my films: %s", exc)
            films = []
        if self._store is not None:
            for problem in self._store.take_problems():
                self._report(problem.message)
        return shield_prompt(films)
