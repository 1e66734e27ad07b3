"""The main screen: header, scrolling message pane, prompt, footer.

It renders controller events and turns keys into controller calls; it holds no conversation
state of its own beyond the widgets that show it.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Markdown

from moviechat_tui import events as ev
from moviechat_tui.i18n import _
from moviechat_tui.models import Conversation, Message
from moviechat_tui.personas import Persona, find
from moviechat_tui.tui.widgets.chat_header import ChatHeader
from moviechat_tui.tui.widgets.greeting import Greeting
from moviechat_tui.tui.widgets.message_view import (
    AssistantMessage,
    MessageView,
    NoticeLine,
    UserMessage,
)
from moviechat_tui.tui.widgets.prompt_input import PromptInput

MAX_MOUNTED_MESSAGES = 200
"""Widgets kept in the pane; older ones are pruned (the file keeps everything)."""


class ChatScreen(Screen[None]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#prompt"

    BINDINGS = [
        Binding("escape", "stop_reply", _("Stop"), id="stop"),
        Binding("ctrl+l", "focus_prompt", _("Prompt"), show=False, id="focus_prompt"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._views: dict[str, MessageView] = {}

    # ----------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield ChatHeader()
        with VerticalScroll(id="messages"):
            pass
        with Horizontal(id="prompt-row"):
            yield PromptInput(
                id="prompt",
                placeholder=_("Ask about a film…  (Enter sends, ctrl+j new line)"),
            )
        yield Footer()

    @property
    def controller(self):  # type: ignore[no-untyped-def]
        return self.app.controller  # type: ignore[attr-defined]

    def on_mount(self) -> None:
        self.query_one("#messages", VerticalScroll).anchor()

    # ---------------------------------------------------------------- helpers
    def _persona_name(self, persona_id: str | None) -> str:
        persona: Persona | None = find(self.controller.personas, persona_id or "")
        return persona.display_name if persona else (persona_id or _("Assistant"))

    def _view_for(self, message: Message) -> MessageView:
        if message.role == "user":
            return UserMessage(message)
        if message.role == "assistant":
            return AssistantMessage(message, self._persona_name(message.persona))
        return NoticeLine(message)

    async def _add(self, message: Message) -> MessageView:
        pane = self.query_one("#messages", VerticalScroll)
        for greeting in self.query(Greeting):
            await greeting.remove()
        view = self._view_for(message)
        self._views[message.id] = view
        await pane.mount(view)
        await self._prune()
        return view

    async def _prune(self) -> None:
        views = list(self.query(MessageView))
        excess = len(views) - MAX_MOUNTED_MESSAGES
        if excess > 0:
            for view in views[:excess]:
                self._views.pop(view.message.id, None)
            await self.remove_children(views[:excess])

    async def show_conversation(self, conversation: Conversation,
                                scroll_to: str | None = None) -> None:
        pane = self.query_one("#messages", VerticalScroll)
        await pane.remove_children()
        self._views.clear()
        header = self.query_one(ChatHeader)
        header.set_state(title=conversation.title)
        if not conversation.messages:
            await pane.mount(Greeting(self.controller.persona.display_name))
            return
        recent = conversation.messages[-MAX_MOUNTED_MESSAGES:]
        views = [self._view_for(m) for m in recent]
        for view in views:
            self._views[view.message.id] = view
        await pane.mount_all(views)
        target = self._views.get(scroll_to or "")
        if target is not None:
            pane.release_anchor()
            target.scroll_visible(top=True, animate=False)
        else:
            pane.anchor()

    # ------------------------------------------------------------- user input
    @on(PromptInput.Submitted)
    def submit(self, event: PromptInput.Submitted) -> None:
        if self.controller.send(event.text):
            event.input.clear()
            self.query_one("#messages", VerticalScroll).anchor()

    @on(Greeting.ExampleChosen)
    def use_example(self, event: Greeting.ExampleChosen) -> None:
        prompt = self.query_one(PromptInput)
        prompt.text = event.text
        prompt.focus()
        prompt.move_cursor(prompt.document.end)

    @on(PromptInput.HistoryRequested)
    def focus_last_message(self) -> None:
        views = list(self.query(MessageView))
        if views:
            views[-1].focus()

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        event.stop()
        self.app.open_link(event.href)  # type: ignore[attr-defined]

    def action_stop_reply(self) -> None:
        if not self.controller.cancel():
            self.query_one(PromptInput).focus()

    def action_focus_prompt(self) -> None:
        self.query_one(PromptInput).focus()

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
            self.query_one(PromptInput).focus()
        elif index >= 0:
            views[index].focus()
            views[index].scroll_visible(animate=False)

    # ------------------------------------------------------ controller events
    async def handle_event(self, event: ev.ControllerEvent) -> None:
        header = self.query_one(ChatHeader)
        match event:
            case ev.ConversationOpened(conversation=conversation, scroll_to=scroll_to):
                await self.show_conversation(conversation, scroll_to)
            case ev.MessageAdded(message=message):
                await self._add(message)
            case ev.ReplyStarted(message=message):
                started = await self._add(message)
                if isinstance(started, AssistantMessage):
                    started.mark_live()
            case ev.ReplyDelta(message=message, text=text):
                view = self._views.get(message.id)
                if isinstance(view, AssistantMessage):
                    await view.append(text)
            case ev.ReplyEnded(message=message):
                view = self._views.get(message.id)
                if isinstance(view, AssistantMessage):
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
                    greeting.persona_name = persona.display_name
                    await greeting.recompose()
            case ev.BusyChanged(busy=busy):
                header.set_state(busy=busy, model=self.controller.model)
            case ev.TitleChanged(title=title):
                header.set_state(title=title)
            case ev.Notify(text=text, severity=severity):
                self.notify(text, severity=severity.value, markup=False)
