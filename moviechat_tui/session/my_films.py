"""`MyFilms`: the user's lists (watchlist, diary, ratings) as the app and the session use them.

The UI never touches the list files: it awaits these methods, and each does its work in a
thread (`asyncio.to_thread`) over one `MyFilmsStore` (films/my_store.py), made — and its
modules imported — in that thread the first time something asks. A change returns what it
did (the UI words the toast); a list that cannot be read or written is reported as a
`Notify` on the controller's channel and the method returns None, so a screen never has to
catch anything. Problems met while reading (a damaged file moved aside, a file from a newer
version) are reported the same way, once each.

    my_films = MyFilms(paths.my_films_dir, emit, share=settings.films.share_my_films)
    state = await my_films.state_of(ListFilm("Parasite", 2019, "tt6751668"))
    await my_films.rate(ref, 4.5)

The session's side — what goes along with a request — is here too, so one switch
(`[films] share_my_films`) governs it: `taste_for` (the summary of your taste for the
recommender persona, and for any persona when the question asks for recommendations) and
`tool` (the read-only `my_films` tool, films/my_films_tool.py). Each request says whether
your lists went along with a `ListsShared` event: the header's mark.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from moviechat_tui.core import events as ev
from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.persona import Persona
from moviechat_tui.core.records import Record

if TYPE_CHECKING:
    from moviechat_tui.films.letterboxd import ImportSummary
    from moviechat_tui.films.my_lists import Entry, ListName, MyLists, Outcome
    from moviechat_tui.films.my_store import MyFilmsStore, Removal
    from moviechat_tui.session.catalogue_access import CatalogueAccess
    from moviechat_tui.session.connection import Emit

log = logging.getLogger(__name__)

T = TypeVar("T")

RECOMMENDER = "recommender"
"""The persona whose every question gets the taste summary."""
TASTE_BUDGET = 600
"""Most tokens the taste summary takes in a system message (less for a small context
window: an eighth of it, at least 150)."""
TOOL_NAME = "my_films"
"""films/my_films_tool.py's TOOL_NAME, without importing it to offer the tool."""


class ListFilm(Record):
    """A film as a screen names it to the lists: the catalogue's id when known, and always
    the title and year (an entry keeps them, so it can be shown without a catalogue)."""

    title: str
    year: int | None
    film_id: str | None

    @property
    def label(self) -> str:
        return f"{self.title} ({self.year})" if self.year else self.title


class FilmState(Record):
    """One film in your lists, for the card: on the watchlist, how often and when last
    watched, the rating."""

    on_watchlist: bool = False
    viewings: int = 0
    """Diary entries with a day."""
    last_watched: date | None = None
    seen: bool = False
    """In the diary at all (also "seen, date unknown")."""
    rating: float | None = None

    @property
    def empty(self) -> bool:
        return not (self.on_watchlist or self.seen or self.rating is not None)


class ImportFailed(Record):
    """The import did not run (the path is not an export, a list cannot be written):
    `message` says why and what to do."""

    message: str


def film_state(lists: MyLists, ref: ListFilm) -> FilmState:
    """Where `ref` is in `lists` (the same-film rule of films/my_lists.py)."""
    from moviechat_tui.films.my_lists import make_entry, same_film

    probe = make_entry(ref.title, ref.year, ref.film_id, date.today())
    viewings = [e for e in lists.diary if same_film(e, probe)]
    days = [e.watched for e in viewings if e.watched is not None]
    rating = next((e.rating for e in lists.ratings if same_film(e, probe)), None)
    if rating is None:  # a diary rating of a film without a ratings entry
        rating = next((e.rating for e in sorted(viewings, key=_day, reverse=True)
                       if e.rating is not None), None)
    return FilmState(on_watchlist=any(same_film(e, probe) for e in lists.watchlist),
                     viewings=len(days), last_watched=max(days) if days else None,
                     seen=bool(viewings), rating=rating)


def _day(entry: Entry) -> date:
    return entry.watched or date.min


def expand_path(text: str) -> Path:
    """A path as typed or pasted: surrounding quotes (a terminal's drag and drop) dropped,
    `~` and environment variables expanded."""
    cleaned = text.strip()
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] and cleaned[0] in "'\"":
        cleaned = cleaned[1:-1]
    return Path(os.path.expandvars(os.path.expanduser(cleaned)))


def last_question(conversation: Conversation, before: Message | None = None) -> str:
    """The user's newest question (before `before`, if given), or ""."""
    messages = conversation.messages
    end = len(messages)
    if before is not None:
        end = next((i for i, m in enumerate(messages) if m is before), end)
    for message in reversed(messages[:end]):
        if message.role == "user" and not message.hidden:
            return message.content
    return ""


def recommends(conversation: Conversation, reply: Message) -> bool:
    """Whether `reply` answers a request for recommendations: the recommender wrote it, or
    the question before it asked for some. (Its films line then shows the watchlist key.)"""
    from moviechat_tui.films.taste import asks_for_recommendations

    if reply.persona == RECOMMENDER:
        return True
    return asks_for_recommendations(last_question(conversation, reply))


class MyFilms:
    """The lists under `folder` (see the module docstring). `emit` carries problems and
    `ListsShared`; `share` is `[films] share_my_films`."""

    def __init__(self, folder: Path, emit: Emit, *, share: bool = True) -> None:
        self.folder = Path(folder)
        self.share = share
        self._emit = emit
        self._store: MyFilmsStore | None = None
        self._making = threading.Lock()
        self.read_ahead = False
        """`warm_up` has read the lists (the next screen finds them parsed)."""

    # -- the store, in a thread -------------------------------------------------------------

    def _open(self) -> MyFilmsStore:
        """The store (its modules imported here, in the worker thread, on first use)."""
        with self._making:
            if self._store is None:
                from moviechat_tui.films.my_store import MyFilmsStore

                self._store = MyFilmsStore(self.folder)
            return self._store

    def _report_problems(self, store: MyFilmsStore) -> None:
        for problem in store.take_problems():
            self._emit(ev.Notify(problem.message, ev.Severity.WARNING))

    async def _run(self, work: Callable[[MyFilmsStore], T]) -> T | None:
        """`work` on the store in a thread; a MyFilmsError becomes a notice and None."""
        def run() -> tuple[T | None, str | None]:
            from moviechat_tui.films.my_store import MyFilmsError

            store = self._open()
            try:
                return work(store), None
            except MyFilmsError as exc:
                return None, exc.message
            finally:
                self._report_problems(store)

        result, problem = await asyncio.to_thread(run)
        if problem is not None:
            self._emit(ev.Notify(problem, ev.Severity.ERROR))
        return result

    def warm_up(self) -> None:
        """Read the lists now (call in a thread): the My films screen and the first
        recommendation then find them parsed (~20 ms a thousand entries; the app calls it
        once the user has been idle for a second, with the backend's warm-up)."""
        if self.has_lists():
            store = self._open()
            store.load()
            self._report_problems(store)
        self.read_ahead = True

    def has_lists(self) -> bool:
        """Any list file exists (a few `stat`s, safe on the event loop)."""
        return any((self.folder / f"{name}.toml").exists()
                   for name in ("watchlist", "diary", "ratings"))

    # -- reading ----------------------------------------------------------------------------

    async def lists(self) -> MyLists | None:
        return await self._run(lambda store: store.load())

    async def entries(self, name: ListName) -> tuple[Entry, ...] | None:
        """One list, in its file's order (only that file is read)."""
        return await self._run(lambda store: store.load_list(name))

    async def state_of(self, ref: ListFilm) -> FilmState | None:
        return await self._run(lambda store: film_state(store.load(), ref))

    # -- changing ---------------------------------------------------------------------------

    async def add_to_watchlist(self, ref: ListFilm) -> Outcome | None:
        return await self._run(lambda store: store.add_to_watchlist(
            ref.title, ref.year, ref.film_id))

    async def log_watched(self, ref: ListFilm, day: date | None = None) -> Outcome | None:
        """A viewing on `day` (today by default); as on Letterboxd, it leaves the
        watchlist."""
        return await self._run(lambda store: store.log_watched(
            ref.title, ref.year, ref.film_id, watched=day))

    async def rate(self, ref: ListFilm, rating: float) -> Outcome | None:
        return await self._run(lambda store: store.rate(ref.title, ref.year, ref.film_id,
                                                        rating))

    async def remove(self, name: ListName, entries: Iterable[Entry]) -> Removal | None:
        chosen = tuple(entries)
        return await self._run(lambda store: store.remove(name, chosen))

    @property
    def can_undo(self) -> bool:
        """A removal made in this run can still be put back."""
        return self._store is not None and self._store.last_removal is not None

    async def undo_removal(self) -> Removal | None:
        return await self._run(lambda store: store.undo_removal())

    async def import_letterboxd(self, path_text: str, catalogue: CatalogueAccess | None
                                ) -> ImportSummary | ImportFailed:
        """Import a Letterboxd export (ZIP, folder or CSV; `~` expanded), matching films to
        the catalogue when there is one."""
        path = expand_path(path_text)

        def run() -> ImportSummary | ImportFailed:
            from moviechat_tui.films.letterboxd import LetterboxdError, import_letterboxd
            from moviechat_tui.films.my_store import MyFilmsError

            store = self._open()
            try:
                found = catalogue.catalogue() if catalogue and catalogue.available() else None
                return import_letterboxd(path, store, found)
            except (LetterboxdError, MyFilmsError) as exc:
                return ImportFailed(exc.message)
            finally:
                self._report_problems(store)

        return await asyncio.to_thread(run)

    # -- what goes along with a request -------------------------------------------------------

    def wants_taste(self, conversation: Conversation, persona: Persona) -> bool:
        """The summary goes along for the recommender, and for any persona when the
        question asks for recommendations — unless the config keeps the lists out."""
        if not self.share:
            return False
        if persona.id == RECOMMENDER:
            return True
        from moviechat_tui.films.taste import asks_for_recommendations

        return asks_for_recommendations(last_question(conversation))

    async def taste_for(self, conversation: Conversation, persona: Persona, *,
                        context_window: int) -> str:
        """The taste summary for this question's system message, or "" (not asked for, no
        lists, the switch off). Says whether the lists went along (`ListsShared`)."""
        block = ""
        if self.wants_taste(conversation, persona) and self.has_lists():
            budget = min(TASTE_BUDGET, max(150, context_window // 8))

            def build(store: MyFilmsStore) -> str:
                from moviechat_tui.films.taste import taste_summary

                return taste_summary(store.load(), budget_tokens=budget)

            block = await self._run(build) or ""
        self._emit(ev.ListsShared(bool(block)))
        return block

    def offers_tool(self) -> bool:
        """The `my_films` tool is offered (with the film tools) while the lists may go
        along and there are any."""
        return self.share and self.has_lists()

    tool_name = TOOL_NAME

    def tool(self) -> MyFilmsTool:
        return MyFilmsTool(self)

    async def _read_for_tool(self, arguments: Mapping[str, Any]) -> str:
        def read(store: MyFilmsStore) -> str:
            from moviechat_tui.films.my_films_tool import run_my_films

            return run_my_films(store.load(), arguments)

        result = await self._run(read)
        if result is None:
            from moviechat_tui.session.tools import ToolError

            raise ToolError("The user's lists could not be read.")
        self._emit(ev.ListsShared(True))
        return result


class MyFilmsTool:
    """The read-only `my_films` tool (films/my_films_tool.py) for the session's registry."""

    read_only = True

    def __init__(self, my_films: MyFilms) -> None:
        from moviechat_tui.films.my_films_tool import TOOL_DESCRIPTION, TOOL_PARAMETERS

        self._my_films = my_films
        self.name: str = TOOL_NAME
        self.description: str = TOOL_DESCRIPTION
        self.parameters: dict[str, Any] = TOOL_PARAMETERS

    async def run(self, arguments: dict[str, Any]) -> str:
        if not self._my_films.share:  # switched off since it was offered
            from moviechat_tui.session.tools import ToolError

            raise ToolError("The user keeps their lists private.")
        return await self._my_films._read_for_tool(arguments)

    def describe(self, arguments: Mapping[str, Any], result: str | None,
                 failed: bool) -> str:
        if result is None:
            return _("♥ reading your lists …")
        if failed:
            return _("♥ read your lists → failed")
        import json

        try:
            data = json.loads(result)
        except ValueError:
            data = {}
        total = sum(part.get("total", 0) for part in data.values()
                    if isinstance(part, dict)) if isinstance(data, dict) else 0
        return _("♥ read your lists") + " → " + ngettext(
            "{n} film", "{n} films", total).format(n=total)
