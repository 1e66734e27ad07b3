"""`FilmLookup`: the film catalogue as the app's screens use it.

The UI never touches SQLite or files: it awaits these methods, and each runs its work in a
thread (`asyncio.to_thread`). The app creates one lookup when a screen first needs it, and
the catalogue module itself is imported and the file opened in that thread on first use —
nothing here is on the first frame's path (tests/e2e/test_startup.py checks it).

Having no catalogue is a normal state, not an error: a lookup then returns `NoCatalogue`,
whose `message` says in one line how to get one, and the app goes on exactly as without the
feature. `offer_once` says so unasked only once per data folder (remembered in state.toml).

    lookup = FilmLookup(settings.paths, controller.catalogue)
    found = await lookup.search("parasite 2019")      # list[FilmSummary] | NoCatalogue
    card = await lookup.film("tt6751668")             # FilmDetails | NoCatalogue | None
    marks = await lookup.mentions(message)            # list[Mention] | NoCatalogue

`mentions` is for a finished reply (never called while one streams); its results are kept
per message text, so a reply scrolled back into view is not recognised twice, and are
computed afresh after the catalogue file was replaced (a `films update` meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, TypeVar

from moviechat_tui.core.i18n import _
from moviechat_tui.core.records import Record
from moviechat_tui.core.spoilers import masked
from moviechat_tui.storage.errors import StoreError
from moviechat_tui.storage.preferences import load_preferences, update_preferences

if TYPE_CHECKING:
    from collections.abc import Callable

    from moviechat_tui.core.conversation import Message
    from moviechat_tui.films.catalogue import Catalogue
    from moviechat_tui.films.mentions import Mention
    from moviechat_tui.films.records import (
        CatalogueStatus,
        FilmDetails,
        FilmSummary,
        PersonDetails,
    )
    from moviechat_tui.session.catalogue_access import CatalogueAccess
    from moviechat_tui.settings.paths import Paths

T = TypeVar("T")

MENTIONS_KEPT = 200
"""Replies whose recognised films are kept in memory (a few hundred bytes each)."""


def offer_text() -> str:
    """How to get a catalogue, in one line (shown once under a reply, and in the film
    search while there is none)."""
    return _("No film catalogue yet: run `moviechat films update` (≈1.5 GB download, ~20 min) "
             "or `moviechat films import DIR`.")


class NoCatalogue(Record):
    """There is no catalogue to ask (`unreadable`: there is a file, but it can't be read)."""

    message: str
    unreadable: bool = False


class FilmLookup:
    """The catalogue under `paths.films_dir`, asked from the app (see the module docstring)."""

    def __init__(self, paths: Paths, access: CatalogueAccess | None = None) -> None:
        self._data_dir = paths.data_dir
        if access is None:
            from moviechat_tui.session.catalogue_access import CatalogueAccess

            access = CatalogueAccess.in_folder(paths.films_dir)
        self._access = access
        """The session's one catalogue (the film tools and facts use it too)."""
        self._offering = threading.Lock()
        self._keeping = threading.Lock()
        self._mentions: OrderedDict[tuple[str, int], tuple[object, list[Mention]]] = (
            OrderedDict())

    # -- the catalogue, in a thread -----------------------------------------------------------

    def _open(self) -> Catalogue:
        """The Catalogue (its module imported here, in the worker thread, on first use)."""
        return self._access.catalogue()

    async def _ask(self, work: Callable[[Catalogue], T]) -> T | NoCatalogue:
        def run() -> T | NoCatalogue:
            from moviechat_tui.films.errors import CatalogueMissing, FilmsError

            catalogue = self._open()
            try:
                return work(catalogue)
            except CatalogueMissing:
                return NoCatalogue(offer_text())
            except FilmsError as exc:  # CatalogueUnreadable: says how to build it again
                return NoCatalogue(exc.message, unreadable=True)

        return await asyncio.to_thread(run)

    async def available(self) -> bool:
        """True if there is a catalogue file (a stat; it may still turn out unreadable)."""
        return await asyncio.to_thread(lambda: self._open().exists())

    # -- lookups ---------------------------------------------------------------------------

    async def search(self, text: str, *, year: int | None = None,
                     limit: int = 20) -> list[FilmSummary] | NoCatalogue:
        """Films whose titles match `text`, best first (see Catalogue.search)."""
        return await self._ask(lambda c: c.search(text, year=year, limit=limit))

    async def film(self, film_id: str) -> FilmDetails | NoCatalogue | None:
        """A film card; None if the catalogue has no such film."""
        return await self._ask(lambda c: c.film(film_id))

    async def person(self, person_id: str) -> PersonDetails | NoCatalogue | None:
        return await self._ask(lambda c: c.person(person_id))

    async def status(self) -> CatalogueStatus | NoCatalogue:
        return await self._ask(lambda c: c.status())

    async def mentions(self, message: Message) -> list[Mention] | NoCatalogue:
        """The films a finished message names, with the claims the catalogue contradicts
        (films/mentions.py). Kept per message text and catalogue file. Not those named
        only in a reply's spoilers (core/spoilers.py): the films line can't be kept closed."""
        content = masked(message.content, "\n\n") if message.role == "assistant" \
            else message.content
        key = (message.id, hash(content))

        def work(catalogue: Catalogue) -> list[Mention]:
            from moviechat_tui.films.mentions import find_mentions

            try:
                st = os.stat(catalogue.path)
                identity: object = (st.st_ino, st.st_mtime_ns, st.st_size)
            except OSError:
                identity = None
            with self._keeping:
                kept = self._mentions.get(key)
                if kept is not None and kept[0] == identity:
                    self._mentions.move_to_end(key)
                    return kept[1]
            found = find_mentions(content, catalogue)
            with self._keeping:
                self._mentions[key] = (identity, found)
                while len(self._mentions) > MENTIONS_KEPT:
                    self._mentions.popitem(last=False)
            return found

        return await self._ask(work)

    # -- the offer -------------------------------------------------------------------------

    async def offer_once(self, reply: str | None = None) -> str | None:
        """The line saying how to get a catalogue — once per data folder, and only while
        there is none (and, given a `reply`, only if it names films the way a model does);
        None otherwise. Remembered in state.toml, so later starts stay quiet."""

        def decide() -> str | None:
            with self._offering:  # two replies ending together: one offer
                return offer()

        def offer() -> str | None:
            if self._open().exists():
                return None
            if load_preferences(self._data_dir).films_offered:
                return None
            if reply is not None:
                from moviechat_tui.films.mentions import names_films

                if not names_films(reply):
                    return None
            with contextlib.suppress(StoreError):  # else offered again: better than never
                update_preferences(self._data_dir, films_offered=True)
            return offer_text()

        return await asyncio.to_thread(decide)
