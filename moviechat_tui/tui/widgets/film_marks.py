"""The films a reply names, on one line under it — and which of its claims do not hold.

    Films: Parasite (2019) · ✗ The Kingkrapers (2018) not in the catalogue ·
           ⚠ Memories of Murder (2001 → 2003)          (one line on screen)

A film the catalogue recognises is named as the catalogue has it; a title it has never heard
of is marked ✗ in the error colour, a year that disagrees with it ⚠ in the warning colour
with both years. One line whatever the width: when it does not fit, recognised films go
first (from the end, counted as "+N"), so a made-up title or a wrong year is never the part
that is cut; what still does not fit ends in "…". The whole list is one key away (`f` on
the message: screens/message_films.py).

`FilmMarker` decides which replies get a line and when: a reply that has just finished, and
replies shown from disk once they are on screen (the pane's visible part, checked again as
it scrolls) — each recognised in a worker thread by the app's FilmLookup, never while a
reply streams. Without a catalogue nothing is shown, except once, under the first finished
reply that names films, the line saying how to get one (session/films.py `offer_once`).

Titles are the catalogue's or the reply's: shown as literal text (Content), never markup.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from textual.app import RenderResult
from textual.content import Content
from textual.widget import Widget

from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import one_line
from moviechat_tui.films.mentions import UNKNOWN, YEAR_DIFFERS, Mention

if TYPE_CHECKING:
    from textual.timer import Timer
    from textual.worker import Worker

    from moviechat_tui.core.conversation import Message
    from moviechat_tui.films.records import FilmRef
    from moviechat_tui.tui.app import MovieChatApp
    from moviechat_tui.tui.widgets.message_view import AssistantMessageView

SEPARATOR = " · "
SCROLL_SETTLE = 0.2
"""Seconds the conversation must stay still before the replies that scrolled into view are
checked (a fast scroll checks none of the replies it passes)."""


def _item(mention: Mention, *, short: bool = False) -> tuple[Content, bool]:
    """One mention's words, and whether it is a problem (kept when space is short).
    `short`: a made-up title without the words that explain its mark."""
    film = mention.film
    if mention.verdict == UNKNOWN:
        claimed = f" ({mention.year})" if mention.year else ""
        title = one_line(mention.text, 80) + claimed
        text = ("✗ " + title if short
                else _("✗ {title} not in the catalogue").format(title=title))
        return Content.styled(text, "$text-error"), True
    if mention.verdict == YEAR_DIFFERS and film is not None:
        text = "⚠ " + _("{title} ({claimed} → {year})").format(
            title=one_line(film.title, 80), claimed=mention.year, year=film.year or "?")
        return Content.styled(text, "$text-warning"), True
    title = one_line(film.title if film is not None else mention.text, 80)
    known = film.year if film is not None else mention.year
    return Content(f"{title} ({known})" if known else title), False


def marks_line(mentions: list[Mention], width: int) -> Content:
    """The line for `mentions`, at most `width` cells (see the module docstring)."""
    head = Content.styled(_("Films:") + " ", "$foreground-muted")
    items = [_item(m) for m in mentions]
    shown = list(range(len(items)))
    shortened = False

    def build(indices: list[int], hidden: int) -> Content:
        parts = [items[i][0] for i in indices]
        line = head + Content(SEPARATOR).join(parts)
        if hidden:
            line += Content.styled(f"{SEPARATOR}+{hidden}", "$foreground-muted")
        return line

    line = build(shown, 0)
    while line.cell_length > width:
        ordinary = [i for i in shown if not items[i][1]]
        if ordinary and len(shown) > 1:
            shown.remove(ordinary[-1])
        elif not shortened:  # only problems left: their marks without the explanation
            items = [_item(m, short=True) for m in mentions]
            shortened = True
        else:
            break
        line = build(shown, len(items) - len(shown))
    if line.cell_length > width:
        line = line.truncate(max(1, width), ellipsis=True)
    return line


def known_films(mentions: list[Mention]) -> list[FilmRef]:
    """The catalogue's films among `mentions` (a wrong year still names a real film; a
    made-up title names none), each once."""
    films: dict[str, FilmRef] = {}
    for mention in mentions:
        if mention.film is not None and mention.verdict != UNKNOWN:
            films.setdefault(mention.film.id, mention.film)
    return list(films.values())


def list_keys_hint(app: MovieChatApp) -> str:
    """The second line under a recommendation: how to keep the films it names."""
    return _("On the reply (↑): {w} watchlist · {r} rate · {f} every film").format(
        w=app.key_for("add_to_watchlist"), r=app.key_for("rate_film"),
        f=app.key_for("message_films"))


def offer_line(text: str, width: int) -> Content:
    return Content.styled(text, "$foreground-muted").truncate(max(1, width), ellipsis=True)


class FilmMarks(Widget):
    """The line under a reply: its films with marks, or the one-time offer of a catalogue."""

    DEFAULT_CSS = """
    FilmMarks {
        height: 1;
        width: 1fr;
        padding: 0 1;
    }
    FilmMarks.-offer {
        height: auto;
    }
    FilmMarks.-hint {
        height: 2;
    }
    """

    def __init__(self, mentions: list[Mention] | None = None, offer: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(classes="film-marks" + (" -offer" if offer is not None else "")
                         + (" -hint" if hint else ""))
        self.mentions = list(mentions or [])
        self.offer = offer
        self.hint = hint
        """A second line with the keys that put these films in your lists (under a
        recommendation: "w adds to your watchlist …")."""

    @property
    def known_films(self) -> list[FilmRef]:
        """The films the catalogue has, in the order the reply names them (what w, l, d, r
        on the reply act on)."""
        return known_films(self.mentions)

    def render(self) -> RenderResult:
        if self.offer is not None:  # the one-time offer: whole, wrapped if need be
            return Content.styled(self.offer, "$foreground-muted")
        width = self.content_region.width or self.size.width
        line = marks_line(self.mentions, width)
        if self.hint:
            line = Content.assemble(line, "\n", offer_line(self.hint, width))
        return line

    @property
    def plain(self) -> str:
        """The line as text, at any width (for tests and screen readers)."""
        if self.offer is not None:
            return self.offer
        line = marks_line(self.mentions, 10_000).plain
        return f"{line}\n{self.hint}" if self.hint else line


class FilmMarker:
    """Which replies get a line, and when (see the module docstring). One per app, made
    when first needed (after the first frame)."""

    def __init__(self, app: MovieChatApp) -> None:
        self.app = app
        self._done: weakref.WeakSet[AssistantMessageView] = weakref.WeakSet()
        """Views already checked or being checked. (A reply scrolled away and back is a new
        view: it is checked again, from FilmLookup's memory.)"""
        self._scroll_timer: Timer | None = None

    def reply_finished(self, view: AssistantMessageView) -> None:
        """A reply has just ended: recognise its films (and maybe offer a catalogue)."""
        message = view.message
        if not message.content.strip():
            return
        self._done.add(view)
        self._run(view, finished=True)

    def check_on_screen(self) -> None:
        """Recognise the films of the finished replies now on screen, not checked yet."""
        from textual.css.query import NoMatches

        from moviechat_tui.tui.widgets.message_view import AssistantMessageView

        chat = self.app.chat_screen
        if not chat.is_mounted:
            return
        try:
            pane = chat.message_pane
        except NoMatches:  # the app is closing: its widgets are being removed
            return
        top = pane.scroll_y
        bottom = top + pane.scrollable_content_region.height
        for view in pane.query_children(AssistantMessageView):
            message = view.message
            if view.has_class("-streaming") or not message.content.strip():
                continue
            if view in self._done:
                continue
            region = view.virtual_region
            if region.bottom < top or region.y > bottom:
                continue
            self._done.add(view)
            self._run(view, finished=False)

    def scrolled(self) -> None:
        """The conversation moved: check what came into view once it settles."""
        if self._scroll_timer is not None:
            self._scroll_timer.stop()
        self._scroll_timer = self.app.set_timer(SCROLL_SETTLE, self.check_on_screen,
                                                name="film marks")

    def _run(self, view: AssistantMessageView, *, finished: bool) -> Worker[None]:
        async def mark() -> None:
            await self._mark(view, finished=finished)

        # A coroutine function, not a coroutine: a worker the closing app never starts leaves
        # nothing un-awaited behind.
        return self.app.run_worker(mark, group="film-marks", exit_on_error=False)

    async def _mark(self, view: AssistantMessageView, *, finished: bool) -> None:
        from moviechat_tui.session.films import NoCatalogue

        lookup = self.app.films
        message = view.message
        mentions = await lookup.mentions(message)
        widget: FilmMarks | None = None
        if isinstance(mentions, NoCatalogue):
            if finished and not mentions.unreadable:
                offer = await lookup.offer_once(message.content)
                if offer is not None:
                    widget = FilmMarks(offer=offer)
        elif mentions:
            hint = None
            if known_films(mentions) and self._recommends(message):
                hint = list_keys_hint(self.app)
            widget = FilmMarks(mentions, hint=hint)
        if widget is None or not view.is_attached:
            return
        for old in view.query_children(FilmMarks):
            await old.remove()
        await view.mount(widget)
        if view.has_focus:  # its keys (w, l, r …) are live now
            view.screen.refresh_bindings()

    def _recommends(self, message: Message) -> bool:
        from moviechat_tui.session.my_films import recommends

        return recommends(self.app.controller.conversation, message)
