"""The main screen: header, scrolling message pane, prompt, footer.

It renders controller events and turns keys into controller calls; it holds no conversation
state of its own beyond the widgets that show it.

Start-up: the screen is the app's default screen and composes in one pass what the first
frame shows — the header, the greeting (or the open conversation's newest messages) and the
prompt. The footer is mounted right after that first frame (`_mount_footer`), and Textual's
`Markdown` is only imported by the widgets that show a reply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from textual import getters, on
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

if TYPE_CHECKING:
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
        # priority: the prompt (a TextArea) has focus nearly always and binds ctrl+e itself.
        Binding(DEFAULT_KEYS["regenerate"], "regenerate", _("Regenerate"), id="regenerate",
                priority=True),
        Binding(DEFAULT_KEYS["edit_last"], "edit_last", _("Edit last"), show=False,
                id="edit_last", priority=True),
        Binding(DEFAULT_KEYS["export"], "export", _("Export"), show=False, id="export",
                priority=True),
        Binding("ctrl+l", "focus_prompt", _("Prompt"), show=False, id="focus_prompt"),
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

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        """Everything the first frame shows, in one pass: the controller's current
        conversation (already opened with --continue/--open) or the greeting."""
        conversation = self.controller.conversation
        header = ChatHeader()
        header.set_state(title=conversation.title, tokens=conversation.tokens_used,
                         persona=self.controller.persona.display_name,
                         model=self.controller.model, extra=self._header_extra)
        yield header
        with MessagePane(id="messages"):
            yield from (NoticeView(notice) for notice in self._notices)
            yield from self._window_widgets(conversation, None)
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
        self.message_pane.anchor()
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
                                    self._shown_before.pop(message.id, None))
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
        for greeting in pane.query_children(Greeting):  # direct children: no DOM-wide scan
            await greeting.remove()
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
        await pane.remove_children()
        self._shown_before.clear()  # only for the conversation opened at start
        self.header.set_state(title=conversation.title, tokens=conversation.tokens_used)
        widgets = self._window_widgets(conversation, scroll_to)
        await pane.mount_all(widgets)
        if not self._views:
            return
        target = self._views.get(scroll_to or "")
        if target is not None:
            pane.release_anchor()
            self.call_after_refresh(target.scroll_visible, top=True, animate=False)
            target.focus()
        else:
            pane.anchor()

    async def _refresh_loaders(self) -> None:
        pane = self.message_pane
        start, end = self._window
        total = len(self._visible())
        for loader in list(pane.query_children(Loader)):
            await loader.remove()
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
            self.message_pane.anchor()

    def _fill_prompt(self, text: str) -> None:
        """Put `text` in the prompt, ready to change and send (the cursor at its end)."""
        prompt = self.prompt
        prompt.text = text
        prompt.focus()
        prompt.move_cursor(prompt.document.end)

    @on(Greeting.ExampleChosen)
    def use_example(self, event: Greeting.ExampleChosen) -> None:
        self._fill_prompt(event.text)

    @on(PromptInput.HistoryRequested)
    def focus_last_message(self) -> None:
        views = list(self.query(MessageView))
        if views:
            views[-1].focus()

    @on(RenderedMarkdown.LinkClicked)
    def ask_to_open_link(self, event: RenderedMarkdown.LinkClicked) -> None:
        # A click on a link in a reply only asks (the dialog shows the real address).
        event.stop()
        self.app.open_link(event.href)

    def action_stop_reply(self) -> None:
        if self.controller.cancel():
            return
        prompt = self.prompt
        if self.controller.cancel_edit():
            prompt.clear()
            self.notify(_("Edit cancelled."), markup=False)
        prompt.focus()

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
        self._fill_prompt(text)
        self.notify(_("Editing your last question: Enter resends it (the old turn is kept "
                      "in the file), Esc cancels."), markup=False)

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
        await self.app.library.branch_from(event.view.message)

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
        content = event.view.message.content
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

    async def handle_event(self, event: ev.ControllerEvent) -> None:
        header = self.header
        match event:
            case ev.ConversationOpened(conversation=conversation, scroll_to=scroll_to):
                await self.show_conversation(conversation, scroll_to)
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
                        await gone.remove()
                start, end = self._window
                self._window = (start, end - removed)
            case ev.VersionShown(replaced=old, shown=new, index=index, count=count):
                previous = self._views.pop(old.id, None)
                flipped = AssistantMessageView(new, self._persona_name(new.persona),
                                           (index, count))
                self._views[new.id] = flipped
                pane = self.message_pane
                if previous is not None:
                    await pane.mount(flipped, after=previous)
                    await previous.remove()
                else:
                    await pane.mount(flipped)
                flipped.focus()
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
                        await view.remove()
            case ev.RetryScheduled(attempt=attempt, max_attempts=total, delay=delay,
                                   reason=reason):
                self.notify(
                    _("{reason}: retrying in {delay:.0f} s (attempt {attempt} of {total}). "
                      "Esc cancels.").format(reason=reason, delay=delay, attempt=attempt,
                                             total=total),
                    severity="warning", markup=False, timeout=max(3.0, delay),
                )
            case ev.PersonaChanged(persona=persona):
                header.set_state(persona=persona.display_name)
                for greeting in self.query(Greeting):
                    greeting.set_persona(persona.display_name)
            case ev.ModelChanged(model=model):
                header.set_state(model=model)
                self.notify(_("Model: {model} (from the next reply on)").format(model=model),
                            markup=False)
            case ev.BusyChanged(busy=busy):
                header.set_state(busy=busy, model=self.controller.model)
            case ev.TitleChanged(title=title):
                header.set_state(title=title)
            case ev.Notify(text=text, severity=severity):
                self.notify(text, severity=severity.value, markup=False)
