"""One message in the chat pane.

Untrusted text never goes through Textual markup: user text and notices are shown with
`Content(...)` (literal), assistant replies as Markdown rendered by Rich (`RenderedMarkdown`),
whose text runs are literal too, and whose links only ask before opening. The controller
already stripped control sequences before we get the text.

A reply that is arriving is not re-rendered per chunk: the view reads the reply's text on its
own timer (at most every REPLY_REFRESH seconds; while the user types, right after a key's
echo has been painted, so that the repaint does not delay one), appends the blocks that are
finished — shown as plain text at once, then each rendered once (one per event-loop turn if
the user typed lately, and not while the user types) — and shows the block still arriving as
plain text.

The spoiler shield: the reply's text is cut by `ReplyBlocks` (render/reply_blocks.py), which
puts every hidden passage in a block of its own, drawn closed, and holds back a possible
start of a tag — for the rendered blocks and the plain tail alike, so a passage never shows
while it arrives, however the chunks cut its tags. `s` (or a click on the closed line) opens
the reply's passages one at a time, in order; when all are open, `s` closes them again.
Which ones are open is kept by the chat screen (`opened`, per message, for as long as the
app runs), so a view made again for the same message shows the same.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import TYPE_CHECKING

from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.strip import Strip
from textual.timer import Timer
from textual.widgets import Static

from moviechat_tui.core.conversation import (
    FINISH_STREAMING,
    Message,
    ending_label,
)
from moviechat_tui.core.i18n import _
from moviechat_tui.core.spoilers import has_markers
from moviechat_tui.settings.keys import DEFAULT_KEYS
from moviechat_tui.tui.render import highlighters
from moviechat_tui.tui.render.reply_blocks import (
    Block,
    ReplyBlocks,
    hidden_passages,
    opened_text,
    reply_blocks,
)
from moviechat_tui.tui.widgets.film_list_keys import film_list_binding
from moviechat_tui.tui.widgets.rendered_markdown import RenderedMarkdown

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp
    from moviechat_tui.tui.render.view_snapshot import Rendered
    from moviechat_tui.tui.widgets.tool_calls import ToolActivity

TYPING_PAUSE = 0.12
"""Seconds after a key press before finished blocks are rendered again (see
`_render_next_block`)."""
TYPED_RECENTLY = 2.0
"""Seconds after a key press during which waiting blocks are rendered one per event-loop
turn (a key may come), instead of all at once (one repaint: less CPU)."""
REPLY_REFRESH_WHILE_TYPING = 0.5
"""The reply's refresh interval while the user types: each refresh re-lays out and, as the
pane scrolls, repaints the whole screen (~15 ms), and a key pressed meanwhile waits for it.
(0.25 → 0.5 s: echo p95 over 5 repetitions 47 → 41 ms.)"""
REPLY_REFRESH = 0.1
"""Seconds between updates of a reply that is arriving (10 a second): each update costs
the size of the block still arriving, not of the reply."""


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


class MessageView(Vertical, can_focus=True):
    """A focusable block so the user can move through messages by keyboard.

    Keys act on the focused message; the chat screen does the work (copying goes through the
    app, versions and edits through the controller), the view only says what was asked.

    A message gets the focus only when the user asks for it: Up from an empty prompt, Up and
    Down between messages, Tab, or a click on it — not a click on a link in it (that only
    opens the link dialog). Esc goes back to the prompt, and so does any printable key that
    is not one of the message's own (the chat screen types it into the prompt)."""

    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)

    BINDINGS = [
        Binding(DEFAULT_KEYS["copy_message"], "copy", _("Copy"), id="copy_message"),
        Binding(DEFAULT_KEYS["branch_message"], "branch", _("Branch"), id="branch_message"),
        Binding(DEFAULT_KEYS["message_films"], "films", _("Films"), id="message_films"),
        *[Binding(str(n), f"copy_code({n})", _("Copy code block {n}").format(n=n),
                  show=False) for n in range(1, 10)],
        # Before the screen's Esc (stop the reply): leaving a message stops nothing.
        Binding("escape", "screen.focus_prompt", _("Back to the prompt"), show=False),
    ]

    def focus_on_click(self) -> bool:
        """Not when the click is on a link: that only asks to open it (see links.py)."""
        x, y = self.app.mouse_position
        try:
            style = self.screen.get_style_at(x, y)
        except Exception:  # no widget there any more: focus as usual
            return True
        return not (style.meta or {}).get("@click")

    class CopyRequested(TextualMessage):
        def __init__(self, view: MessageView, code_block: int | None = None) -> None:
            super().__init__()
            self.view = view
            self.code_block = code_block

    def __init__(self, message: Message) -> None:
        super().__init__(classes=f"message -{message.role}")
        self.message = message

    class BranchRequested(TextualMessage):
        def __init__(self, view: MessageView) -> None:
            super().__init__()
            self.view = view

    def action_branch(self) -> None:
        self.post_message(self.BranchRequested(self))

    def action_copy(self) -> None:
        self.post_message(self.CopyRequested(self))

    def action_copy_code(self, number: int) -> None:
        self.post_message(self.CopyRequested(self, number))

    class FilmsRequested(TextualMessage):
        """`f`: the films this message names (the app opens them: tui/app.py)."""

        def __init__(self, view: MessageView) -> None:
            super().__init__()
            self.view = view

    def action_films(self) -> None:
        self.post_message(self.FilmsRequested(self))


class UserMessageView(MessageView):
    BINDINGS = [Binding(DEFAULT_KEYS["edit_message"], "edit", _("Edit and resend"),
                        id="edit_message")]

    class EditRequested(TextualMessage):
        def __init__(self, view: UserMessageView) -> None:
            super().__init__()
            self.view = view

    def action_edit(self) -> None:
        self.post_message(self.EditRequested(self))

    def compose(self) -> ComposeResult:
        yield Static(
            Content(_("You") + " · " + _clock(self.message.created)), classes="message-meta"
        )
        yield Static(Content(self.message.content), classes="message-body")


class AssistantMessageView(MessageView):
    BINDINGS = [
        Binding(DEFAULT_KEYS["older_version"], "version(-1)", _("Older version"),
                id="older_version"),
        Binding(DEFAULT_KEYS["newer_version"], "version(1)", _("Newer version"),
                id="newer_version"),
        Binding(DEFAULT_KEYS["open_spoiler"], "open_spoiler", _("Spoiler"),
                id="open_spoiler"),
        # A reply's films into your lists (its line of films must know one): the app does it.
        film_list_binding("add_to_watchlist"),
        film_list_binding("log_watched"),
        film_list_binding("log_watched_on", show=False),
        film_list_binding("rate_film"),
    ]

    body = getters.query_one(RenderedMarkdown)
    """The reply's rendered Markdown."""

    class VersionRequested(TextualMessage):
        def __init__(self, view: AssistantMessageView, step: int) -> None:
            super().__init__()
            self.view = view
            self.step = step

    def __init__(self, message: Message, persona_name: str,
                 version: tuple[int, int] = (1, 1), shown_before: Rendered | None = None,
                 opened: set[int] | None = None) -> None:
        super().__init__(message)
        self.persona_name = persona_name
        self.version = version
        self._shown_before = shown_before
        """The reply's lines from the previous run (see view_snapshot), if kept."""
        self.opened: set[int] = opened if opened is not None else set()
        """The numbers of the reply's hidden passages the user opened (the chat screen's
        set for this message: it outlives the view)."""
        self._splitter: ReplyBlocks | None = None
        """Set while the reply is arriving: cuts the text into finished blocks."""
        self._fed = ""
        """The reply's text as far as the view has taken it in."""
        self._refresh_timer: Timer | None = None
        self._waiting_for_echo = False
        """A refresh is due and waits for a key's echo to be painted (see _refresh_due)."""
        self._last_take = 0.0
        self._render_scheduled = False
        self._tail_widget: Static | None = None
        self._status_widget: Static | None = None

    def action_version(self, step: int) -> None:
        self.post_message(self.VersionRequested(self, step))

    class FilmActionRequested(TextualMessage):
        """w, l, d, r on a reply whose films line knows films (the app does it)."""

        def __init__(self, view: AssistantMessageView, action: str) -> None:
            super().__init__()
            self.view = view
            self.action = action

    def action_film(self, action: str) -> None:
        self.post_message(self.FilmActionRequested(self, action))

    @property
    def knows_films(self) -> bool:
        """Its line of films (widgets/film_marks.py) names a film the catalogue has."""
        return any(getattr(child, "known_films", None) for child in self.children)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """← and → (and their footer entries) only on a reply that has other versions; `s`
        only on one with a spoiler (elsewhere it is typed into the prompt); the keys of My films
        only once its line of films knows one."""
        if action == "version":
            return self.version[1] > 1
        if action == "open_spoiler":
            return self.has_spoilers
        if action == "film":
            return self.knows_films
        return True

    @property
    def has_spoilers(self) -> bool:
        """The reply has a hidden passage (not just a stray closing tag, which hides
        nothing)."""
        content = self.message.content
        return has_markers(content) and bool(
            hidden_passages(content, finished=not self.has_class("-streaming")))

    def _opened_texts(self) -> dict[int, str]:
        """The text of each opened passage, by number."""
        if not self.opened:
            return {}
        hidden = hidden_passages(self.message.content,
                                 finished=not self.has_class("-streaming"))
        return {n: opened_text(hidden[n]) for n in sorted(self.opened) if n < len(hidden)}

    def action_open_spoiler(self, number: int | None = None) -> None:
        """Open the passage `number` (a click), or the first closed one (`s`); with every
        one open, `s` closes them all again. A passage still arriving can't be opened yet."""
        streaming = self.has_class("-streaming")
        hidden = hidden_passages(self.message.content, finished=not streaming)
        complete = [n for n, p in enumerate(hidden) if p.closed or not streaming]
        if number is None:
            closed = [n for n in complete if n not in self.opened]
            if closed:
                number = closed[0]
            elif len(complete) == len(hidden) and self.opened:
                self.opened.clear()
                self.body.set_opened({})
                return
            else:
                self.app.notify(_("This spoiler is still arriving: it can be opened once "
                                  "it is complete."), markup=False)
                return
        if number not in complete:
            if number < len(hidden):
                self.app.notify(_("This spoiler is still arriving: it can be opened once "
                                  "it is complete."), markup=False)
            return
        self.opened.add(number)
        self.body.set_opened(self._opened_texts())

    def on_rendered_markdown_spoiler_clicked(
            self, event: RenderedMarkdown.SpoilerClicked) -> None:
        event.stop()
        self.action_open_spoiler(event.number)

    def compose(self) -> ComposeResult:
        yield Static(Content(self._meta_text()), classes="message-meta")
        if self.message.tool_rounds or self.message.facts:
            from moviechat_tui.tui.widgets.tool_calls import ToolActivity

            yield ToolActivity(self.message)  # what it looked up, above what it said
        self._fed = self.message.content
        body = RenderedMarkdown(reply_blocks(self._fed), classes="message-body",
                                shown_before=self._shown_before,
                                opened=self._opened_texts())
        body.spoiler_key = self.app.key_for("open_spoiler").split(" / ")[0]
        yield body
        self._shown_before = None
        # The tail (the block still arriving) and the status line ("stopped", …) are only
        # mounted when there is something to show: a stored reply is two widgets, not four,
        # which a conversation's first frame feels.
        label = ending_label(self.message.finish_reason)
        if label:
            yield Static(Content(label), classes="message-status")

    @property
    def shown_text(self) -> str:
        """The reply's text as far as it is on screen (rendered blocks and the tail)."""
        return self._fed

    async def tool_activity(self) -> ToolActivity:
        """The lines of the reply's tool calls and facts (mounted above its text when the
        first one comes)."""
        from moviechat_tui.tui.widgets.tool_calls import ToolActivity

        found = next(iter(self.query_children(ToolActivity).results()), None)
        if found is None:
            found = ToolActivity(self.message)
            await self.mount(found, before=self.body)
        return found

    def _meta_text(self) -> str:
        parts = [self.persona_name]
        if self.message.model:
            parts.append(self.message.model)
        parts.append(_clock(self.message.created))
        if self.message.completion_tokens is not None:
            parts.append(_("{n} tokens").format(n=self.message.completion_tokens))
        index, count = self.version
        if count > 1:
            parts.append(f"‹ {index}/{count} ›")
        return " · ".join(parts)

    def _tail(self) -> Static:
        """The block still arriving, as plain text (mounted with the first text)."""
        tail = self._tail_widget
        if tail is None:
            tail = self._tail_widget = Static(classes="message-tail")
            tail.display = False
            self.mount(tail, after=self.body)
        return tail

    def _typing(self) -> bool:
        return self.app.keystrokes.seconds_since_key < TYPING_PAUSE

    def mark_live(self) -> None:
        """This reply is arriving now (not an interrupted one loaded from disk)."""
        if self._splitter is None:
            self._splitter = ReplyBlocks()
            self._fed = ""
            self.body.set_blocks(())
        self.add_class("-streaming")
        self._refresh_status()
        if self.message.content:  # text came before the view did
            self.text_arrived()

    def text_arrived(self) -> None:
        """More of the reply is in `message.content`: show it at the next refresh (cheap:
        called for every chunk, outside the App's message queue)."""
        if self._splitter is None:
            if self.message.finish_reason == FINISH_STREAMING:  # shown before it went live
                self.mark_live()
            return
        if self._refresh_timer is None and not self._waiting_for_echo and self.is_attached:
            # The first words show at once; after that at most every REPLY_REFRESH seconds.
            every = REPLY_REFRESH_WHILE_TYPING if self._typing() else REPLY_REFRESH
            wait = every - (time.monotonic() - self._last_take)
            self._refresh_timer = self.set_timer(max(0.001, wait), self._refresh_due)

    def _refresh_due(self) -> None:
        """Time to show what arrived — unless a key was just pressed. Then the refresh
        waits for the next key's echo to be painted and runs right after it (or after
        TYPING_PAUSE, if the user stopped): the repaint it causes (~15 ms as the pane
        scrolls) then falls in the gap between two keys instead of on one."""
        self._refresh_timer = None
        if self._typing():
            self._waiting_for_echo = True
            self.app.keystrokes.after_next_echo(self._take_after_echo)
            self._refresh_timer = self.set_timer(TYPING_PAUSE, self._take_after_echo)
            return
        self._take_text()

    def _take_after_echo(self) -> None:
        if not self._waiting_for_echo or not self.is_attached:  # the other one came first
            return
        self._take_text()

    def _cancel_pending_refresh(self) -> None:
        """The text is taken now (or the reply ended): the refresh scheduled, and any wait
        for a key's echo, are moot."""
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
            self._refresh_timer = None
        if self._waiting_for_echo:
            self._waiting_for_echo = False
            self.app.keystrokes.forget_echo_wait(self._take_after_echo)

    def on_unmount(self) -> None:
        self._cancel_pending_refresh()

    def _take_text(self) -> None:
        self._cancel_pending_refresh()
        self._last_take = time.monotonic()
        splitter = self._splitter
        if splitter is None:
            return
        content = self.message.content
        body = self.body
        if content == self._fed:
            return
        self._fed = content
        finished = splitter.feed(content)
        if finished is None:
            # Not a continuation (an empty spoiler closed, or the text was replaced): start
            # over.
            splitter = self._splitter = ReplyBlocks()
            body.set_blocks(())
            finished = splitter.feed(content) or []
        if finished:
            if not self._render_scheduled and self._may_render_now(finished[0]):
                # The usual case: render the first finished block right away (it would only
                # be wrapped as plain text to be replaced at once).
                body.append_blocks(finished[:1])
                finished = finished[1:]
            body.append_blocks(finished, plain=True)
            if not self._render_scheduled:
                self._render_next_block()
        self._show_tail(splitter.pending)

    def _show_tail(self, pending: str) -> None:
        """The block still arriving, as plain text."""
        if not pending.strip() and self._tail_widget is None:
            return
        tail = self._tail()
        tail.update(Content(pending))
        tail.display = bool(pending.strip())

    def rendered_lines(self) -> tuple[int, list[Strip]] | None:
        """(width, lines) of a finished, fully rendered reply (for the view snapshot)."""
        if self.has_class("-streaming"):
            return None
        return self.body.rendered_lines()

    @property
    def rendering(self) -> bool:
        """True while finished blocks are still waiting to be rendered."""
        return self.body.has_plain_blocks

    def _may_render_now(self, block: Block) -> bool:
        """Rendering `block` now delays nothing: no key was just pressed, and no lexer has
        to be compiled for it."""
        return not self._typing() and (not isinstance(block, str) or highlighters.ready(block))

    def _render_next_block(self) -> None:
        """Render one finished block, then give the event loop a turn before the next one:
        a table or a first code block takes Rich tens of ms, and a key pressed meanwhile
        should not wait for the whole batch. (A worker thread was tried: it made the reply
        lag more, the GIL handing the event loop back only every 5 ms.)"""
        self._render_scheduled = False
        if not self.is_attached:
            return
        body = self.body
        if not body.has_plain_blocks:
            return
        since_key = self.app.keystrokes.seconds_since_key
        if since_key < TYPING_PAUSE:
            # The user is typing: a block render (tens of ms for a table) would delay the
            # echo of the next key. The block stays plain text meanwhile.
            self._render_scheduled = True
            self.set_timer(TYPING_PAUSE - since_key, self._render_next_block)
            return
        block = body.next_plain_block
        if not highlighters.ready(block):
            # A code block in a language not highlighted yet in this session: its lexer is
            # compiled in a thread first (see highlighters).
            self._render_scheduled = True
            self.run_worker(self._prepare_then_render(block), group="highlighters",
                            exit_on_error=False)
            return
        if since_key > TYPED_RECENTLY:
            # Nobody is typing: render what waits in one go, one repaint for all of it.
            while body.render_next() and highlighters.ready(body.next_plain_block):
                pass
            if body.has_plain_blocks:  # a code block whose lexer must be prepared first
                self._render_next_block()
            return
        if body.render_next():
            self._render_scheduled = True
            # One block per turn of the event loop, so a key pressed meanwhile goes first.
            # (Not `call_later`: a widget's message queue is drained without yielding, and
            # chained call_laters rendered every waiting block in one go — 84 ms seen.)
            asyncio.get_running_loop().call_soon(self._render_next_block)

    async def _prepare_then_render(self, block: str) -> None:
        try:
            await asyncio.to_thread(highlighters.prepare, block)
        finally:
            self._render_next_block()

    async def finish(self) -> None:
        self._cancel_pending_refresh()
        body = self.body
        splitter = self._splitter
        if splitter is not None:
            self._take_text()
            self._splitter = None
            # The last blocks are rendered like the others: one per turn, not while typing
            # (a reply that ended while the user typed may have dozens waiting). Finished,
            # a held-back end that never became a tag is shown, and a passage that was never
            # closed stays closed.
            last = splitter.finish(self.message.content)
            if last is None:
                body.set_blocks(reply_blocks(self.message.content))
            else:
                body.append_blocks(last, plain=True)
            if not self._render_scheduled:
                self._render_next_block()
        elif self._fed != self.message.content:
            body.set_blocks(reply_blocks(self.message.content))
        self._fed = self.message.content
        if self._tail_widget is not None:
            self._tail_widget.update(Content(""))
            self._tail_widget.display = False
        self.remove_class("-streaming")
        self.query_one(".message-meta", Static).update(Content(self._meta_text()))
        self._refresh_status()

    def _refresh_status(self) -> None:
        # -streaming is set from the first moment a live reply is shown (mark_live/append)
        # until finish(); a saved reply still marked "streaming" was interrupted.
        streaming = self.has_class("-streaming")
        label = "…" if streaming else ending_label(self.message.finish_reason)
        status = self._status_widget
        if status is None:
            status = next(iter(self.query_children(".message-status").results(Static)), None)
        if status is None:
            if not label:
                return
            status = Static(classes="message-status")
            self.mount(status)
        self._status_widget = status
        status.update(Content(label))
        status.display = bool(label)


class NoticeView(MessageView):
    """A persona divider or an error/notice line."""

    def __init__(self, message: Message, label: str | None = None) -> None:
        super().__init__(message)
        self.label = label
        """For a persona divider: the persona's name in the interface language."""

    def compose(self) -> ComposeResult:
        if self.message.notice == "persona":
            self.add_class("-divider")
            name = self.label or self.message.content
            yield Static(Content("── " + _("Persona: {name}").format(name=name) + " ──"))
        elif self.message.notice == "info":
            self.add_class("-info")
            yield Static(Content("ℹ " + self.message.content))
        else:
            self.add_class("-error")
            yield Static(Content("⚠ " + self.message.content))
