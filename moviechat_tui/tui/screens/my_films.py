"""My films: your watchlist, diary and ratings — filtered as you type, sorted, changed.

    Watchlist (4)   Diary (8)   Ratings (5)             Tab / shift+Tab: the next list
    [Filter by title, year or tag…]                     typing filters at once
    2024-03-09  ★★★★★  Parasite (2019)  ↻               ↓ into the list
    …
    Parasite (2019) · tt0000001 · watched 2024-03-09 · ★★★★★ (5) · rewatch
    8 films · sorted by date, newest first

In the list: Enter opens the film's card (a film the catalogue did not match: the film search
with its title), `a` asks about it in the chat (a draft in the prompt is kept), `s` sorts by
date, title, year or rating, `x` (or Delete) removes it — ctrl+z puts it back —, `w`, `l`,
`d`, `r` put it in your lists as on a card, `i` imports a Letterboxd export. Any other key
typed in the list goes to the filter (`route_typed_key`, as the chat sends it to the prompt).

Fast with 10,000 entries: the lists are read in a thread (session/my_films.py, cached while
their files are unchanged), each list sorted once per sort order, the filter's index built
at its first key (films/my_lists.py EntryFilter), and only the rows in view are drawn
(widgets/entry_list.py). The app reads the lists ahead once the user is idle (app.py's
warm-up); a screen opened before that draws the list it shows from that file alone, then
reads the others (their tabs say "(…)" meanwhile). `python -m benchmarks.my_films
--screen-only` measures the opening.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events, getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static, Tab, Tabs

from moviechat_tui.core.i18n import _, ngettext
from moviechat_tui.core.text import one_line
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
from moviechat_tui.session.my_films import ListFilm
from moviechat_tui.tui.render.my_films_rows import entry_detail, list_title, sort_words
from moviechat_tui.tui.widgets.entry_list import EntryList
from moviechat_tui.tui.widgets.film_list_keys import film_list_binding
from moviechat_tui.tui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp


def _tab_id(name: ListName) -> str:
    return f"my-films-tab-{name}"


class MyFilmsScreen(ModalScreen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#my-films-filter"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    filter_input = getters.query_one("#my-films-filter", Input)
    entry_list = getters.query_one("#my-films-list", EntryList)
    tabs = getters.query_one("#my-films-tabs", Tabs)
    # priority: the filter (an Input) has the focus while typing and binds enter itself.
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Close"), id="close_my_films"),
        Binding("enter", "open", _("Card"), id="open_my_film", priority=True),
        Binding("tab", "next_list(1)", _("Next list"), id="next_my_list", priority=True),
        Binding("shift+tab", "next_list(-1)", _("Previous list"), id="previous_my_list",
                show=False, priority=True),
        Binding("ctrl+z", "undo", _("Undo"), id="undo_my_films_removal", priority=True),
        Binding("down", "focus_list", _("List"), id="to_my_films_list", show=False),
        # The list's own keys (live while it has the focus: check_action).
        Binding("a", "ask", _("Ask"), id="ask_about_my_film"),
        Binding("s", "sort", _("Sort"), id="sort_my_films"),
        Binding("x,delete", "remove", _("Remove"), id="remove_my_film"),
        film_list_binding("add_to_watchlist", show=False),
        film_list_binding("log_watched"),
        film_list_binding("log_watched_on", show=False),
        film_list_binding("rate_film"),
        Binding("i", "import_letterboxd", _("Import"), id="import_letterboxd"),
    ]
    LIST_ACTIONS = frozenset({"ask", "sort", "remove", "film", "import_letterboxd"})
    ENTRY_ACTIONS = frozenset({"open", "ask", "remove", "film"})

    def __init__(self, start: ListName | None = None) -> None:
        super().__init__()
        self.current: ListName = start or "watchlist"
        self._chosen = start is not None
        self.lists: MyLists | None = None
        self.complete = False
        """All three lists are read (before that, only the one shown first: F10 pressed
        before the app's idle warm-up read them, see `load`)."""
        self.sorting: dict[ListName, SortKey] = dict.fromkeys(LIST_NAMES, "date")
        self._sorted: dict[ListName, list[Entry]] = {}
        self._filters: dict[ListName, EntryFilter] = {}
        self.shown: list[Entry] = []
        """The current list as on screen: sorted, filtered."""

    def compose(self) -> ComposeResult:
        with Vertical(id="my-films-dialog") as dialog:
            dialog.border_title = _("My films")
            tabs = Tabs(*[Tab(list_title(name), id=_tab_id(name)) for name in LIST_NAMES],
                        id="my-films-tabs")
            tabs.can_focus = False
            yield tabs
            yield Input(id="my-films-filter", compact=True,
                        placeholder=_("Filter by title, year or tag…"))
            yield Static(id="my-films-empty")
            yield EntryList(id="my-films-list")
            yield Static(id="my-films-detail")
            yield Static(Content(_("Reading your lists…")), id="my-films-status")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#my-films-empty", Static).display = False
        self.tabs.active = _tab_id(self.current)
        self.load()

    def on_screen_resume(self) -> None:
        """Back from a card (where the film may have been rated) or a dialog: the lists as
        they are now (only changed files are read again)."""
        if self.complete:
            self.load()

    # -- the lists ----------------------------------------------------------------------------

    @work(exclusive=True, group="my-films-load")
    async def load(self) -> None:
        my_films = self.app.controller.my_films
        if not self.complete and not my_films.read_ahead:
            # Nothing read yet (F10 right after start, 10,000 entries: ~400 ms to read all):
            # the list shown first goes up as soon as its file alone is read.
            shown_first = await my_films.entries(self.current)
            if not self._standing():
                return
            if shown_first:
                self._take(MyLists(**{self.current: shown_first}), complete=False)
                # Drawn before the rest is read: that read holds the GIL most of the time.
                drawn = asyncio.Event()
                self.call_after_refresh(drawn.set)
                await drawn.wait()
        lists = await my_films.lists()
        if lists is None:  # unreadable: the notice said why
            lists = MyLists()
        if not self._standing():
            return
        self._take(lists)

    def _standing(self) -> bool:
        """The screen still has its widgets: a read that ends as the app closes (or the
        screen goes) finds them taken down, and has nothing left to show."""
        return self.is_attached and bool(self.query("#my-films-list"))

    def _take(self, lists: MyLists, *, complete: bool = True) -> None:
        """Show `lists` (`complete`: all three; else only the current one is read)."""
        keep = self.entry_list.current
        changed = (not self.complete or self.lists is None
                   or any(lists.of(n) is not self.lists.of(n) for n in LIST_NAMES))
        if not changed:
            return
        first = not self.complete
        for name in LIST_NAMES:
            if self.lists is None or lists.of(name) is not self.lists.of(name):
                self._sorted.pop(name, None)
                self._filters.pop(name, None)
        self.lists = lists
        if first and complete and not self._chosen and not lists.of(self.current):
            # Open on a list that has films (after an import, often only the diary).
            self._switch_to(next((n for n in LIST_NAMES if lists.of(n)), self.current),
                            show=False)
        for name in LIST_NAMES:
            count = (f"{len(lists.of(name)):,}" if complete or name == self.current
                     else "…")
            self.tabs.query_one(f"#{_tab_id(name)}", Tab).label = Content(
                f"{list_title(name)} ({count})")
        self.complete = complete
        self._show(keep=keep)
        if first and complete and not lists.of(self.current):
            self.entry_list.focus()  # nothing to filter: the list's keys (i imports)

    def _sorted_list(self, name: ListName) -> list[Entry]:
        found = self._sorted.get(name)
        if found is None:
            assert self.lists is not None
            found = self._sorted[name] = sort_entries(name, self.lists.of(name),
                                                      self.sorting[name])
        return found

    def _show(self, *, keep: Entry | None = None) -> None:
        """The current list, sorted and filtered, on screen (the cursor on `keep`)."""
        if self.lists is None:
            return
        name = self.current
        query = self.filter_input.value
        ordered = self._sorted_list(name)
        if query.strip():
            search = self._filters.get(name)
            if search is None:
                search = self._filters[name] = EntryFilter(ordered)
            self.shown = search.matching(query)
        else:
            self.shown = ordered
        self.entry_list.show(name, self.shown, keep=keep)
        self._say_status()
        if not ordered and self.complete:  # (not "empty" while the others are unread)
            self._show_empty()
        elif ordered and not self.shown:
            self._show_no_match(query)
        else:
            self.query_one("#my-films-empty", Static).display = False
        self._show_detail()
        self.refresh_bindings()

    def _say_status(self) -> None:
        total = len(self._sorted_list(self.current))
        shown = len(self.shown)
        count = (ngettext("{n} film", "{n} films", total).format(n=f"{total:,}")
                 if shown == total else
                 _("{shown} of {total}").format(shown=f"{shown:,}", total=f"{total:,}"))
        self.query_one("#my-films-status", Static).update(Content.styled(
            f"{count} · {sort_words(self.sorting[self.current])}", "$foreground-muted"))

    def _show_empty(self) -> None:
        """An empty list says how to fill it — and its keys work at once (the focus leaves
        an empty filter, where `i` would be typed)."""
        hint = self.query_one("#my-films-empty", Static)
        hint.display = True
        words = {
            "watchlist": _("Your watchlist is empty."),
            "diary": _("Your diary is empty."),
            "ratings": _("You have not rated any film yet."),
        }[self.current]
        hint.update(Content(words + " " + _(
            "Add films from a film card or a reply's films ({w} watchlist, {l} watched, "
            "{r} rate), or import your Letterboxd export: press {i}.").format(
                w=self.app.key_for("add_to_watchlist"), l=self.app.key_for("log_watched"),
                r=self.app.key_for("rate_film"), i="i")))
        if self.focused is self.filter_input and not self.filter_input.value:
            self.entry_list.focus()

    def _show_no_match(self, query: str) -> None:
        hint = self.query_one("#my-films-empty", Static)
        hint.display = True
        hint.update(Content(_("No film in your {list} matches “{text}”. Tab looks in the "
                              "next list.").format(list=list_title(self.current).lower(),
                                                   text=one_line(query.strip(), 40))))

    def _show_detail(self) -> None:
        entry = self.entry_list.current
        detail = self.query_one("#my-films-detail", Static)
        detail.display = entry is not None
        detail.update(Content(entry_detail(self.current, entry)) if entry else "")

    @on(EntryList.Moved)
    def moved(self) -> None:
        self._show_detail()

    @on(EntryList.AtTop)
    def leave_list(self) -> None:
        self.filter_input.focus()

    @on(Input.Changed, "#my-films-filter")
    def filter_changed(self) -> None:
        self._show()

    @on(Tabs.TabActivated, "#my-films-tabs")
    def tab_chosen(self, event: Tabs.TabActivated) -> None:
        name = str(event.tab.id or "").removeprefix("my-films-tab-")
        for known in LIST_NAMES:
            if known == name and known != self.current:
                self._switch_to(known)

    def _switch_to(self, name: ListName, *, show: bool = True) -> None:
        self.current = name
        self.tabs.active = _tab_id(name)
        if show:
            self._show()

    # -- keys ---------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The list's letters only while it has the focus (typing in the filter types);
        what acts on an entry only when one is highlighted."""
        if action in self.LIST_ACTIONS and self.focused is not self.entry_list:
            return False
        if action in self.ENTRY_ACTIONS and self.entry_list.current is None:
            return False
        if action == "undo":
            return self.app.controller.my_films.can_undo
        return True

    def route_typed_key(self, event: events.Key) -> None:
        """Called by the app for every key: a printable key that is not one of the list's
        goes to the filter (and the keys typed after it), as the chat does with its
        prompt."""
        if self.focused is self.filter_input or not event.is_printable or not event.character:
            return
        if event.key in self.active_bindings:
            return
        self.set_focus(self.filter_input, scroll_visible=False)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.refresh_bindings()

    def action_focus_list(self) -> None:
        self.entry_list.focus()

    def action_next_list(self, step: int) -> None:
        index = (LIST_NAMES.index(self.current) + step) % len(LIST_NAMES)
        self._switch_to(LIST_NAMES[index])

    def action_sort(self) -> None:
        name = self.current
        self.sorting[name] = SORT_KEYS[(SORT_KEYS.index(self.sorting[name]) + 1)
                                       % len(SORT_KEYS)]
        self._sorted.pop(name, None)
        self._filters.pop(name, None)
        self._show(keep=self.entry_list.current)

    def action_open(self) -> None:
        entry = self.entry_list.current
        if entry is None:
            return
        if entry.film_id:
            self.app.open_film_card(entry.film_id)
        else:
            self.app.action_look_up_film(entry.title)

    def action_ask(self) -> None:
        entry = self.entry_list.current
        if entry is not None:
            self.app.ask_about(entry.label, entry.label)

    def action_import_letterboxd(self) -> None:
        self.app.action_import_letterboxd()

    @work(group="my-films-change")
    async def action_remove(self) -> None:
        entry = self.entry_list.current
        if entry is None:
            return
        name = self.current
        removal = await self.app.controller.my_films.remove(name, [entry])
        if removal is None or not removal.entries:
            return
        self.notify(_("Removed {film} from your {list} — {key} undoes").format(
            film=entry.label, list=list_title(name).lower(), key="ctrl+z"), markup=False)
        cursor = self.entry_list.cursor
        await self._reload()
        self.entry_list.cursor = cursor

    @work(group="my-films-change")
    async def action_undo(self) -> None:
        removal = await self.app.controller.my_films.undo_removal()
        if removal is None or not removal.entries:
            return
        labels = ", ".join(e.label for e in removal.entries[:3])
        self.notify(_("Put {film} back in your {list}.").format(
            film=labels, list=list_title(removal.list).lower()), markup=False)
        if removal.list != self.current:
            self._switch_to(removal.list)
        await self._reload(keep=removal.entries[0])

    @work(group="my-films-change")
    async def action_film(self, action: str) -> None:
        entry = self.entry_list.current
        if entry is None:
            return
        film = ListFilm(entry.title, entry.year, entry.film_id)
        if await self.app.my_films_actions.run(action, film):
            await self._reload()

    async def _reload(self, keep: Entry | None = None) -> None:
        lists = await self.app.controller.my_films.lists()
        if lists is not None:
            self._take(lists)
            if keep is not None:
                self._show(keep=keep)
