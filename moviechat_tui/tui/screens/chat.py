"""The main screen: header, scrolling message pane, prompt, footer.

It renders controller events and turns keys into controller calls; it holds no conversation
state of its own beyond the widgets that show it.

Keys and focus: the prompt has the focus unless the user asked for a message (Up from an empty
prompt, Up/Down, Tab, a click on it). Opening a search result scrolls to the message and
highlights it, but leaves the focus in the prompt. While a message has the focus the prompt's
border says which keys act on it; Esc, or any printable key that is not one of them, goes
back to the prompt (the key typed there). PageUp/PageDown and ctrl+Home/End scroll the
conversation wherever the focus is. A branch (b) can be undone with ctrl+z.

Start-up: the screen is the app's default screen and composes in one pass what the first
frame shows — the header, the greeting (or the open conversation's newest messages) and the
prompt. The footer is mounted right after that first frame (`_mount_footer`), and Textual's
`Markdown` is only imported by the widgets that show a reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual import events, getters, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from moviechat_tui.core import events as ev
from moviechat_tui.core import versions
from moviechat_tui.core.codeblocks import code_blocks
from moviechat_tui.core.conversation import Conversation, Message
from moviechat_tui.core.i18n import _
from moviechat_tui.core.persona import Persona, find
from moviechat_tui.core.spoilers import visibly_marked
from moviechat_tui.settings.keys import DEFAULT_KEYS
from moviechat_tui.tui.runtime.gc_pause import (
    collect_when_idle,
    hold_full_collections,
    release_full_collections,
)
from moviechat_tui.tui.widgets.chat_header import ChatHeader
from moviechat_tui.tui.widgets.greeting import Greeting
from moviechat_tui.tui.widgets.loader import Loader
from moviechat_tui.tui.widgets.message_pane import MessagePane
from moviechat_tui.tui.widgets.message_view import (
    AssistantMessageView,
    MessageView,
    NoticeView,
    UserMessageView,
)
from moviechat_tui.tui.widgets.prompt_input import PromptInput
from moviechat_tui.tui.widgets.rendered_markdown import RenderedMarkdown
from moviechat_tui.tui.widgets.status_line import NewTextBelow, StatusLine

if TYPE_CHECKING:
    from collections.abc import Iterable

    from textual.strip import Strip

    from moviechat_tui.session.controller import ConversationController
    from moviechat_tui.tui.app import MovieChatApp
    from moviechat_tui.tui.render.view_snapshot import Rendered

MAX_MOUNTED_MESSAGES = 60
"""Widgets kept in the pane; older ones are pruned (the file keeps everything). Every update
re-lays out what is mounted, so fewer is faster: 60 is several screenfuls."""
INITIAL_WINDOW = 12
"""At most this many messages are mounted when a conversation opens — fewer if the newest
ones already fill the screen (`_newest_start`) — so a long conversation paints as
fast as a short one; the rest comes in through the loader lines."""
LOAD_BATCH = 30
"""Messages a "load earlier/later" press brings in: half of MAX_MOUNTED_MESSAGES, so what
was on screen is still there after one press."""


class ChatScreen(Screen[None]):
    # chat.tcss is read by MovieChatApp.CSS_PATH: a default screen's CSS_PATH is not loaded.
    AUTO_FOCUS = "#prompt"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    message_pane = getters.query_one("#messages", MessagePane)
    prompt = getters.query_one(PromptInput)
    header = getters.query_one(ChatHeader)

    BINDINGS = [
        Binding(DEFAULT_KEYS["stop"], "stop_reply", _("Stop"), id="stop"),
        # priority: the prompt (a TextArea) has the focus nearly always. None of these keys is
        # one of its editing keys (ctrl+a/e/k/u/w stay "start/end of line", "kill" …).
        Binding(DEFAULT_KEYS["regenerate"], "regenerate", _("Regenerate"), id="regenerate",
                priority=True),
        Binding(DEFAULT_KEYS["edit_last"], "edit_last", _("Edit last"), show=False,
                id="edit_last", priority=True),
        Binding(DEFAULT_KEYS["export"], "export", _("Export"), show=False, id="export",
                priority=True),
        Binding("ctrl+l", "focus_prompt", _("Prompt"), show=False, id="focus_prompt"),
        # The conversation scrolls with these wherever the focus is (the prompt would move its
        # cursor by a page, in a box of at most ten lines).
        Binding("pageup", "scroll_messages('page_up')", _("Scroll up"), show=False,
                priority=True),
        Binding("pagedown", "scroll_messages('page_down')", _("Scroll down"), show=False,
                priority=True),
        Binding("ctrl+home", "scroll_messages('home')", _("First message"), show=False,
                priority=True),
        Binding("ctrl+end", "scroll_messages('end')", _("Newest message"), show=False,
                priority=True),
        # Undoes a branch (see action_undo); otherwise the prompt's own undo.
        Binding("ctrl+z", "undo", _("Undo"), show=False, priority=True),
    ]

    def __init__(self, *, notices: Sequence[Message] = (), header_extra: str = "",
                 shown_before: dict[str, Rendered] | None = None) -> None:
        """`notices`: lines shown above the conversation at start (never saved);
        `header_extra`: a word for the right of the header ("offline"); `shown_before`:
        replies of the conversation opened at start as the last run showed them."""
        super().__init__()
        self._shown_before = dict(shown_before or {})
        self._views: dict[str, MessageView] = {}
        self._window = (0, 0)
        """[start, end) of the visible messages that are mounted."""
        self._notices = list(notices)
        self._header_extra = header_extra
        self._found: MessageView | None = None
        self._esc_offered = False
        """What the footer last said about Esc (see `_offer_esc`)."""
        """The message a search result opened at, highlighted until the next change."""
        self._branch_undo_depth: int | None = None
        """After a branch: the prompt's undo depth then. ctrl+z undoes the branch while the
        prompt has nothing newer to undo."""
        self._lists_shared_in: str | None = None
        """The conversation whose request the header's "♥ your lists" mark is about."""
        self._new_text_below = False
        self._opened: dict[str, set[int]] = {}
        """Per reply, the spoilers the user opened (for as long as the app runs: a view
        made again for the reply — scrolled back in, flipped to — shows them open)."""
        # Made here, not found by a query: controller events can arrive before the screen
        # is mounted (--local's progress), and reply text asks for them with every chunk.
        self._pane = MessagePane(id="messages")
        self._status = StatusLine()

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        """Everything the first frame shows, in one pass: the controller's current
        conversation (already opened with --continue/--open) or the greeting."""
        conversation = self.controller.conversation
        header = ChatHeader()
        header.set_state(title=conversation.title, tokens=conversation.tokens_used,
                         persona=self.controller.persona.display_name,
                         model=self.controller.model, extra=self._header_extra,
                         profile=self.controller.settings.endpoint.profile,
                         shield=conversation.spoiler_shield)
        yield header
        with self._pane:
            yield from (NoticeView(notice) for notice in self._notices)
            yield from self._window_widgets(conversation, None)
        yield self._status
        with Horizontal(id="prompt-row"):
            yield PromptInput(
                id="prompt",
                placeholder=_("Ask about a film…  (Enter sends, ctrl+j new line)"),
            )
        # Holds the footer's row until the footer itself is mounted after the first frame,
        # so nothing moves when it arrives.
        yield Static(id="footer-slot")

    @property
    def controller(self) -> ConversationController:
        return self.app.controller

    def on_mount(self) -> None:
        pane = self._pane
        if self._views:
            pane.anchor()  # a conversation: at its newest message
        # (An empty chat shows the notices and the greeting from the top: a first-run notice
        # must not scroll off the top of a small terminal.)
        self.watch(pane, "scroll_y", self._pane_scrolled, init=False)
        self.call_after_refresh(self._mount_footer)
        # A long conversation opened from its newest messages: the rest after the first frame.
        self.call_after_refresh(self.controller.load_history)

    async def _mount_footer(self) -> None:
        """The key bar, after the first frame: it rebuilds itself on every binding change
        while the screen settles, work the first frame need not wait for."""
        from moviechat_tui.tui.widgets.key_footer import KeyFooter

        if self.query_children(KeyFooter):
            return
        await self.mount(KeyFooter(compact=True))
        for slot in self.query_children("#footer-slot"):
            await slot.remove()
        self.refresh_bindings()  # the footer fills itself in when the bindings signal fires

    # ---------------------------------------------------------------- helpers
    def _persona_name(self, persona_id: str | None) -> str:
        persona: Persona | None = find(self.controller.personas, persona_id or "")
        return persona.display_name if persona else (persona_id or _("Assistant"))

    def _view_for(self, message: Message) -> MessageView:
        if message.role == "user":
            return UserMessageView(message)
        if message.role == "assistant":
            return AssistantMessageView(message, self._persona_name(message.persona),
                                        self.controller.version_position(message),
                                        self._shown_before.pop(message.id, None),
                                        self._opened.setdefault(message.id, set()))
        if message.notice == "persona":
            return NoticeView(message, self._persona_name(message.persona))
        return NoticeView(message)

    async def _add(self, message: Message) -> MessageView:
        existing = self._views.get(message.id)
        if existing is not None:
            # Already shown: a re-render (another window's messages merged in) ran between
            # the controller appending this message and this event being handled.
            return existing
        pane = self.message_pane
        self._unmark_found()
        greetings = list(pane.query_children(Greeting))  # direct children: no DOM-wide scan
        if greetings:
            await pane.remove_children(greetings)
            pane.anchor()  # the first message: from now on, follow the newest
        start, end = self._window
        if end < len(self._visible()) - 1:
            # The window shows older messages (a search jump): show the newest instead.
            await self.show_conversation(self.controller.conversation)
            existing = self._views.get(message.id)
            if existing is not None:
                return existing
        self._window = (start, self._window[1] + 1)
        view = self._view_for(message)
        self._views[message.id] = view
        await pane.mount(view)
        if await self._prune():
            await self._refresh_loaders()
        return view

    async def _prune(self, *, newest: bool = False) -> bool:
        """Keep at most MAX_MOUNTED_MESSAGES views: the excess goes at the oldest end (or the
        `newest`, after loading earlier messages); the file keeps them. True if any went."""
        pane = self.message_pane
        views = list(pane.query_children(MessageView))
        excess = len(views) - MAX_MOUNTED_MESSAGES
        if excess <= 0:
            return False
        drop = views[-excess:] if newest else views[:excess]
        for view in drop:
            self._views.pop(view.message.id, None)
        self._before_removing(drop)
        await pane.remove_children(drop)
        start, end = self._window
        self._window = (start, end - excess) if newest else (start + excess, end)
        return True

    def _visible(self) -> list[Message]:
        return [m for m in self.controller.conversation.messages if not m.hidden]

    def _window_widgets(self, conversation: Conversation,
                        scroll_to: str | None) -> list[Widget]:
        """The pane's content for `conversation`: the greeting if it is empty, else a window
        of INITIAL_WINDOW messages — the newest, or the ones around `scroll_to` — with a
        loader line at each end that has more. Sets the window and the id → view map."""
        self._views.clear()
        visible = [m for m in conversation.messages if not m.hidden]
        if not visible:
            self._window = (0, 0)
            return [Greeting(self.controller.persona.display_name)]
        ids = [m.id for m in visible]
        end = len(visible)
        if scroll_to in ids:
            target_index = ids.index(scroll_to)
            start = max(0, min(target_index - 10, len(visible) - INITIAL_WINDOW))
            end = min(len(visible), start + INITIAL_WINDOW)
        else:
            start = self._newest_start(visible)
        self._window = (start, end)
        widgets: list[Widget] = [Loader(-1, start)] if start > 0 else []
        for message in visible[start:end]:
            view = self._view_for(message)
            self._views[message.id] = view
            widgets.append(view)
        if end < len(visible):
            widgets.append(Loader(1, len(visible) - end))
        return widgets

    def _newest_start(self, visible: Sequence[Message]) -> int:
        """Where the opening window starts: the newest INITIAL_WINDOW messages, or fewer (at
        least 2) if those already fill the screen. Each message is rendered before
        the first frame, so mounting no more than can be seen is the cheapest open. Rows are
        estimated from the text (a table's borders and a list's indent not counted), which
        errs on the side of mounting a message more."""
        width = max(20, self.app.size.width - 8)
        wanted = self.app.size.height  # the pane is ~6 rows less: a margin for the estimate
        rows = 0
        start = len(visible)
        while start > 0 and len(visible) - start < INITIAL_WINDOW:
            start -= 1
            rows += 2 + sum(1 + cell_len(line) // width
                            for line in visible[start].content.split("\n"))
            if rows >= wanted and len(visible) - start >= 2:
                break
        return start

    def rendered_replies(self) -> list[tuple[Message, int, list[Strip]]]:
        """(message, width, lines) of the finished replies on screen (for view_snapshot)."""
        replies = []
        for view in self.message_pane.query_children(AssistantMessageView):
            rendered = view.rendered_lines()
            if rendered is not None:
                replies.append((view.message, *rendered))
        return replies

    async def show_conversation(self, conversation: Conversation,
                                scroll_to: str | None = None) -> None:
        """Replace the pane's content with `conversation` (see `_window_widgets`); loaders
        at the ends bring in more on demand."""
        pane = self.message_pane
        self._found = None
        # A new conversation on screen: the user's next move is typing, not the message keys
        # (the focus would otherwise go to whatever message is next in Textual's chain).
        self.prompt.focus(scroll_visible=False)
        await pane.remove_children()
        self._shown_before.clear()  # only for the conversation opened at start
        self.header.set_state(title=conversation.title, tokens=conversation.tokens_used,
                              shield=conversation.spoiler_shield)
        widgets = self._window_widgets(conversation, scroll_to)
        await pane.mount_all(widgets)
        self._show_new_text_below(False)
        if not self._views:
            pane.anchor(False)
            pane.scroll_home(animate=False)
            return
        target = self._views.get(scroll_to or "")
        if target is not None:
            # A search result (or the message a branch was made from): scrolled to and
            # highlighted; the focus stays in the prompt.
            pane.release_anchor()
            self.call_after_refresh(target.scroll_visible, top=True, animate=False)
            target.add_class("-found")
            self._found = target
        else:
            pane.anchor()

    def _unmark_found(self) -> None:
        if self._found is not None:
            self._found.remove_class("-found")
            self._found = None

    def _before_removing(self, widgets: Iterable[Widget]) -> None:
        """If the focus is in a widget about to be removed, put it in the prompt: Textual
        would move it to the neighbouring message, where typed keys are commands."""
        focused = self.focused
        if focused is None:
            return
        if any(focused is w or w in focused.ancestors for w in widgets):
            self.prompt.focus(scroll_visible=False)

    async def _refresh_loaders(self) -> None:
        pane = self.message_pane
        start, end = self._window
        total = len(self._visible())
        loaders = list(pane.query_children(Loader))
        self._before_removing(loaders)
        await pane.remove_children(loaders)
        if start > 0:
            await pane.mount(Loader(-1, start), before=0)
        if end < total:
            await pane.mount(Loader(1, total - end))

    @on(Loader.Activated)
    async def load_more(self, event: Loader.Activated) -> None:
        pane = self.message_pane
        visible = self._visible()
        start, end = self._window
        if event.direction < 0:
            new_start = max(0, start - LOAD_BATCH)
            views = [self._view_for(m) for m in visible[new_start:start]]
            first = next(iter(pane.query_children(MessageView)), None)
            if views:
                await pane.mount_all(views, before=first)
            self._window = (new_start, end)
            if views:
                self.call_after_refresh(views[-1].scroll_visible, top=True, animate=False)
        else:
            new_end = min(len(visible), end + LOAD_BATCH)
            views = [self._view_for(m) for m in visible[end:new_end]]
            await pane.mount_all(views, before=event.loader)
            self._window = (start, new_end)
        for view in views:
            self._views[view.message.id] = view
        # Stay bounded however far the user scrolls: drop views at the far end.
        await self._prune(newest=event.direction < 0)
        await self._refresh_loaders()

    # ------------------------------------------------------------- user input
    @on(PromptInput.Submitted)
    def submit(self, event: PromptInput.Submitted) -> None:
        if self.controller.send(event.text):
            event.input.clear()
            event.input.give_back_draft()  # what the sent text had replaced (an edit, …)
            self.message_pane.anchor()
            self._show_prompt_mode()

    @on(Greeting.ExampleChosen)
    def use_example(self, event: Greeting.ExampleChosen) -> None:
        self.prompt.fill(event.text)
        self._offer_esc()  # Esc now gives the replaced draft back

    @on(PromptInput.HistoryRequested)
    def focus_last_message(self) -> None:
        views = list(self.query(MessageView))
        if views:
            views[-1].focus()

    # ------------------------------------------------ focus and typed keys
    def route_typed_key(self, event: events.Key) -> None:
        """Called by the app for every key, before it goes to the focused widget: a
        printable key that is not a key of the focused widget (c, b, e, 1–9 … on a message)
        while the focus is not in the prompt (a message, the message area, an example list)
        moves the focus to the prompt first, so it — and every key queued after it — is
        typed there. It must happen here, where keys are handled one at a time: a widget
        that forwarded the key itself would move the focus only after the keys already
        queued behind it went to the message (the "b" of "about" lost, or run)."""
        prompt = self.prompt
        if self.focused is prompt or not event.is_printable or not event.character:
            return
        if event.key in self.active_bindings:
            return
        self.set_focus(prompt, scroll_visible=False)  # at once (Widget.focus is deferred)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._show_prompt_mode()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self._show_prompt_mode()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Esc is offered in the footer only when it does something: a reply is arriving, an
        edit is on, or a replaced draft waits to come back."""
        if action == "stop_reply":
            return self._esc_does_something()
        return True

    def _esc_does_something(self) -> bool:
        return bool(self.controller.busy or self.controller.editing
                    or self.prompt.has_stashed_draft)

    def _offer_esc(self) -> None:
        """The footer again, if whether Esc does something changed (each time rebuilds its
        keys: not on every focus change, which Textual already refreshes for)."""
        offered = self._esc_does_something()
        if offered != self._esc_offered:
            self._esc_offered = offered
            self.refresh_bindings()

    def _show_prompt_mode(self) -> None:
        """The prompt's border: the keys of the focused message, or that an edit is on."""
        self._offer_esc()
        prompt = self.prompt
        focused = self.focused
        if isinstance(focused, MessageView):
            prompt.show_mode(self._message_keys(focused),
                             _("Esc or typing: back to the prompt"))
        elif self.controller.editing:
            prompt.show_mode(_("✎ Editing your last question"),
                             _("Enter resends it · Esc cancels"))
        else:
            prompt.show_mode()

    def _message_keys(self, view: MessageView) -> str:
        """"Message: c copy · b branch …": the keys that act on `view`, as remapped."""
        def key(binding_id: str) -> str:  # the first of an action's keys, as a glyph if any
            first = self.app.key_for(binding_id).split(" / ")[0]
            return {"left": "←", "right": "→"}.get(first, first)

        keys = [f"{key('copy_message')} " + _("copy")]
        message = view.message
        conversation = self.controller.conversation
        if code_blocks(message.content):
            keys.append("1–9 " + _("copy code"))
        if isinstance(view, AssistantMessageView) and view.version[1] > 1:
            keys.append(f"{key('older_version')} {key('newer_version')} " + _("versions"))
        if message is versions.last_user(conversation):
            keys.append(f"{key('edit_message')} " + _("edit"))
        if any(m is message for m in conversation.messages):  # not a start-up notice
            keys.append(f"{key('branch_message')} " + _("branch"))
        if isinstance(view, AssistantMessageView):
            keys.append(f"{key('message_films')} " + _("films"))
            if view.has_spoilers:
                keys.append(f"{key('open_spoiler')} " + _("spoiler"))
            if view.knows_films:
                keys.append(f"{key('add_to_watchlist')} " + _("watchlist"))
                keys.append(f"{key('rate_film')} " + _("rate"))
        return _("Message: {keys}").format(keys=" · ".join(keys))

    @on(RenderedMarkdown.LinkClicked)
    def ask_to_open_link(self, event: RenderedMarkdown.LinkClicked) -> None:
        # A click on a link in a reply only asks (the dialog shows the real address).
        event.stop()
        self.app.open_link(event.href)

    def action_stop_reply(self) -> None:
        """Esc: stop the reply; else cancel an edit; else give back a draft that an example
        question replaced. The draft an edit replaced comes back with the cancel."""
        if self.controller.cancel():
            return
        prompt = self.prompt
        if self.controller.cancel_edit():
            if not prompt.give_back_draft():
                prompt.clear()
        else:
            prompt.give_back_draft()
        prompt.focus()
        self._show_prompt_mode()

    def action_regenerate(self) -> None:
        if self.controller.regenerate():
            self.message_pane.anchor()

    def action_edit_last(self) -> None:
        if self.controller.refuse_if_busy():
            return
        text = self.controller.start_edit()
        if text is None:
            self.notify(_("There is no question to edit yet."), markup=False)
            return
        # The draft in the prompt is kept: Esc (or sending the edit) gives it back.
        self.prompt.fill(text)
        self._show_prompt_mode()

    @on(UserMessageView.EditRequested)
    def edit_message(self, event: UserMessageView.EditRequested) -> None:
        last = self.controller.start_edit()
        if last is None or event.view.message is not versions.last_user(
                self.controller.conversation):
            self.controller.cancel_edit()
            self.notify(_("Only the last question can be edited."), markup=False)
            return
        self.action_edit_last()

    @on(MessageView.BranchRequested)
    async def branch(self, event: MessageView.BranchRequested) -> None:
        """b on a message. Not asked first: a branch is a copy and the original stays as it
        was, so ctrl+z undoing it is enough — and a question whose button has the focus
        would be answered by the next keys of someone who was typing."""
        if await self.app.library.branch_from(event.view.message):
            history = self.prompt.history
            history.checkpoint()
            self._branch_undo_depth = len(history.undo_stack)

    async def action_undo(self) -> None:
        """ctrl+z: the prompt's undo — or, right after a branch and before anything newer
        in the prompt to undo, the branch (back to the original, the branch to the trash)."""
        prompt = self.prompt
        depth = self._branch_undo_depth
        if depth is not None and (self.focused is not prompt
                                  or len(prompt.history.undo_stack) <= depth):
            self._branch_undo_depth = None
            if await self.app.library.undo_branch():
                return
        if self.focused is prompt:
            prompt.undo()

    async def action_export(self) -> None:
        path = await self.app.library.export_current()
        if path is not None and self.app.is_web:
            # In a browser tab (`moviechat serve`) the file is also offered as a download:
            # the folder it was written to may be on another machine.
            self.app.deliver_text(path, mime_type="text/markdown", encoding="utf-8")
            self.notify(_("Sent to your browser as a download: {name}").format(
                name=path.name), markup=False)

    @on(AssistantMessageView.VersionRequested)
    def flip_version(self, event: AssistantMessageView.VersionRequested) -> None:
        if not self.controller.show_version(event.view.message, event.step):
            self.notify(_("No other version that way. {key} makes a new one.").format(
                key=self.app.key_for("regenerate")), markup=False)

    @on(MessageView.CopyRequested)
    def copy_message(self, event: MessageView.CopyRequested) -> None:
        message = event.view.message
        # A reply's spoilers go along, marked: the clipboard is the user's own.
        content = (visibly_marked(message.content) if message.role == "assistant"
                   else message.content)
        if event.code_block is None:
            self.app.copy_to_clipboard(content)
            self.notify(_("Copied the message ({n} characters).").format(n=len(content)),
                        markup=False)
            return
        blocks = code_blocks(content)
        if not 1 <= event.code_block <= len(blocks):
            self.notify(_("This message has no code block {n}.").format(n=event.code_block),
                        markup=False)
            return
        block = blocks[event.code_block - 1]
        self.app.copy_to_clipboard(block.code)
        self.notify(_("Copied code block {n} of {total} ({language}, {lines} lines).").format(
            n=event.code_block, total=len(blocks), language=block.language or _("text"),
            lines=block.line_count), markup=False)

    def action_focus_prompt(self) -> None:
        self.prompt.focus()

    def action_scroll_messages(self, where: str) -> None:
        pane = self.message_pane
        if where == "page_up":
            pane.scroll_page_up(animate=False)
        elif where == "page_down":
            pane.scroll_page_down(animate=False)
        elif where == "home":
            pane.scroll_home(animate=False)
        else:
            pane.anchor()  # to the newest text, and follow it again

    @on(NewTextBelow.Clicked)
    def jump_to_new_text(self) -> None:
        self.action_scroll_messages("end")

    def _pane_scrolled(self, scroll_y: float) -> None:
        pane = self._pane
        if self._new_text_below and (pane.following or scroll_y >= pane.max_scroll_y):
            self._show_new_text_below(False)

    def _show_new_text_below(self, shown: bool) -> None:
        self._new_text_below = shown
        self._status.show_new_text_below(shown)

    def key_up(self) -> None:
        self._step_through_messages(-1)

    def key_down(self) -> None:
        self._step_through_messages(1)

    def _step_through_messages(self, step: int) -> None:
        focused = self.focused
        if not isinstance(focused, MessageView):
            return
        views = list(self.query(MessageView))
        index = views.index(focused) + step
        if index >= len(views):
            self.prompt.focus()
        elif index >= 0:
            views[index].focus()
            views[index].scroll_visible(animate=False)

    # ------------------------------------------------------ controller events
    def reply_text_arrived(self, message: Message) -> None:
        """The reply being streamed has more text: its view shows it on its own timer.

        Called for every chunk straight from the controller, not through the App's message
        queue (which carries key presses too), so typing never waits behind reply text."""
        view = self._views.get(message.id)
        if isinstance(view, AssistantMessageView) and view.is_mounted:
            view.text_arrived()
            if not self._new_text_below and not self._pane.following:
                self._show_new_text_below(True)  # the user scrolled up: say more is coming
        if self._status.waiting_to_retry:
            self._status.retry_over()  # the retry answered

    def _ask_approval(self, request: ev.ToolApprovalRequested) -> None:
        """A tool that may change things wants to run: ask (screens/tool_approval.py). The
        answer goes to the session's future; a reply stopped first cancels the future, and
        the dialog closes by itself."""
        from moviechat_tui.tui.screens.tool_approval import ToolApprovalScreen

        answer = request.answer
        if answer.done():
            return
        dialog = ToolApprovalScreen(request.server, request.tool, request.arguments)

        def answered(choice: ev.Approval | None) -> None:
            if not answer.done():
                answer.set_result(choice or ev.Approval.DENY)

        def withdrawn(_future: object) -> None:
            if answer.cancelled() and dialog.is_attached and dialog.is_active:
                dialog.dismiss(ev.Approval.DENY)  # `answered` does nothing then

        answer.add_done_callback(withdrawn)
        self.app.push_screen(dialog, answered)

    async def handle_event(self, event: ev.ControllerEvent) -> None:
        header = self.header
        match event:
            case ev.ConversationOpened(conversation=conversation, scroll_to=scroll_to):
                if conversation.id != self._lists_shared_in:
                    header.show_lists_shared(False)  # the mark was another conversation's
                await self.show_conversation(conversation, scroll_to)
                # An edit of the conversation shown until now is over (its text stays in the
                # prompt, as a draft; a draft it replaced still comes back on Esc).
                self._show_prompt_mode()
                self.call_after_refresh(self.controller.load_history)
            case ev.HistoryLoaded(conversation=conversation, earlier=earlier):
                # Older messages were put before the shown ones (same objects): shift the
                # window so the loader line counts them.
                if conversation is self.controller.conversation:
                    added = sum(1 for m in conversation.messages[:earlier] if not m.hidden)
                    start, end = self._window
                    self._window = (start + added, end + added)
                    await self._refresh_loaders()
            case ev.MessageAdded(message=message):
                await self._add(message)
            case ev.MessagesHidden(messages=hidden):
                removed = 0
                for message in hidden:
                    gone = self._views.pop(message.id, None)
                    if gone is not None:
                        removed += 1
                        self._before_removing([gone])
                        await gone.remove()
                start, end = self._window
                self._window = (start, end - removed)
            case ev.VersionShown(replaced=old, shown=new, index=index, count=count):
                previous = self._views.pop(old.id, None)
                flipped = AssistantMessageView(new, self._persona_name(new.persona),
                                               (index, count),
                                               opened=self._opened.setdefault(new.id, set()))
                self._views[new.id] = flipped
                pane = self.message_pane
                if previous is not None:
                    await pane.mount(flipped, after=previous)
                    if self.focused is previous:
                        # Before the old one goes: Textual would focus (and scroll to) the
                        # message before it.
                        flipped.focus(scroll_visible=False)
                    await previous.remove()
                else:
                    await pane.mount(flipped)
                # Versions differ in length: keep the reply's top, with its ‹ i/n ›, in view.
                self.call_after_refresh(self._show_top_of, flipped)
            case ev.ReplyStarted(message=message):
                hold_full_collections()
                started = await self._add(message)
                if isinstance(started, AssistantMessageView):
                    started.mark_live()
            case ev.ReplyDelta(message=message):
                self.reply_text_arrived(message)
            case ev.ToolCallStarted(message=message, call=call) | ev.ToolCallEnded(
                    message=message, call=call):
                view = self._views.get(message.id)
                if isinstance(view, AssistantMessageView):
                    activity = await view.tool_activity()
                    await activity.show_call(call,
                                             running=isinstance(event, ev.ToolCallStarted))
            case ev.FactsUsed(message=message):
                view = self._views.get(message.id)
                if isinstance(view, AssistantMessageView):
                    await (await view.tool_activity()).show_facts()
            case ev.ToolApprovalRequested():
                self._ask_approval(event)
            case ev.ReplyEnded(message=message):
                # The full collection held back during the stream runs once the user is
                # idle (see gc_pause).
                release_full_collections()
                collect_when_idle(self.app.keystrokes, self.app.set_timer)
                header.set_state(tokens=self.controller.conversation.tokens_used)
                view = self._views.get(message.id)
                if isinstance(view, AssistantMessageView):
                    if message in self.controller.conversation.messages:
                        await view.finish()
                    else:
                        self._views.pop(message.id, None)
                        self._before_removing([view])
                        await view.remove()
                self._status.retry_over()
            case ev.RetryScheduled(attempt=attempt, max_attempts=total, delay=delay,
                                   reason=reason):
                # Above the prompt, counting down, gone when the wait ends or is cancelled.
                self._status.retry(reason, delay, attempt, total)
            case ev.Progress(text=text, linger=linger):
                self._status.set_progress(text, linger=linger)
            case ev.PersonaChanged(persona=persona):
                header.set_state(persona=persona.display_name)
                for greeting in self.query(Greeting):
                    greeting.set_persona(persona.display_name)
            case ev.ModelChanged(model=model, announce=announce):
                header.set_state(model=model,
                                 profile=self.controller.settings.endpoint.profile)
                if announce:
                    self.notify(_("Model: {model} (from the next reply on)").format(
                        model=model), markup=False)
            case ev.BusyChanged(busy=busy):
                header.set_state(busy=busy, model=self.controller.model)
                self._offer_esc()
                if not busy:
                    self._status.retry_over()
            case ev.TitleChanged(title=title):
                header.set_state(title=title)
            case ev.SpoilerShieldChanged(on=on):
                header.set_state(shield=on)
                self.notify(_("Spoiler shield on: from the next reply, plot revelations stay "
                              "closed until you open them ({key} on the reply).").format(
                                  key=self.app.key_for("open_spoiler")) if on else
                            _("Spoiler shield off: the model is no longer asked to mark "
                              "spoilers (passages it still marks stay closed)."),
                            markup=False)
            case ev.Notify(text=text, severity=severity):
                self.notify(text, severity=severity.value, markup=False)
            case ev.ListsShared(shared=shared):
                header.show_lists_shared(shared)
                self._lists_shared_in = self.controller.conversation.id

    def _show_top_of(self, view: Widget) -> None:
        """Scroll so that `view`'s first line is in the pane, if it is not."""
        if not view.is_attached:
            return
        pane = self.message_pane
        top = view.virtual_region.y
        if not pane.scroll_y <= top < pane.scroll_y + pane.scrollable_content_region.height:
            pane.scroll_to(y=top, animate=False)
