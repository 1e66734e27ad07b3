"""One message in the chat pane.

Untrusted text never goes through Textual markup: user text and notices are shown with
`Content(...)` (literal), assistant replies with `Markdown(open_links=False)`, whose text runs
are literal too. The controller already stripped control sequences before we get the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.widgets import Markdown, Static
from textual.widgets.markdown import MarkdownStream

from moviechat_tui.i18n import _
from moviechat_tui.keys import DEFAULT_KEYS
from moviechat_tui.models import (
    FINISH_CANCELLED,
    FINISH_ERROR,
    FINISH_STREAMING,
    FINISH_TRUNCATED,
    Message,
)


def _clock(moment: datetime) -> str:
    return moment.astimezone().strftime("%H:%M")


def finish_label(reason: str | None) -> str:
    """Words for how a reply ended, shown under it ("" for a normal end)."""
    return {
        FINISH_CANCELLED: _("stopped"),
        FINISH_ERROR: _("failed: incomplete"),
        FINISH_TRUNCATED: _("cut off: may be incomplete"),
        FINISH_STREAMING: _("interrupted: incomplete"),
        "length": _("hit the length limit"),
        "content_filter": _("stopped by the content filter"),
    }.get(reason or "", "")


class MessageView(Vertical, can_focus=True):
    """A focusable block so the user can move through messages by keyboard.

    Keys act on the focused message; the chat screen does the work (copying goes through the
    app, versions and edits through the controller), the view only says what was asked."""

    BINDINGS = [
        Binding(DEFAULT_KEYS["copy_message"], "copy", _("Copy"), id="copy_message"),
        Binding(DEFAULT_KEYS["branch_message"], "branch", _("Branch"), id="branch_message"),
        *[Binding(str(n), f"copy_code({n})", _("Copy code block {n}").format(n=n),
                  show=False) for n in range(1, 10)],
    ]

    @dataclass
    class CopyRequested(TextualMessage):
        view: MessageView
        code_block: int | None = None

    def __init__(self, message: Message) -> None:
        super().__init__(classes=f"message -{message.role}")
        self.message = message

    @dataclass
    class BranchRequested(TextualMessage):
        view: MessageView

    def action_branch(self) -> None:
        self.post_message(self.BranchRequested(self))

    def action_copy(self) -> None:
        self.post_message(self.CopyRequested(self))

    def action_copy_code(self, number: int) -> None:
        self.post_message(self.CopyRequested(self, number))


class UserMessage(MessageView):
    BINDINGS = [Binding(DEFAULT_KEYS["edit_message"], "edit", _("Edit and resend"),
                        id="edit_message")]

    @dataclass
    class EditRequested(TextualMessage):
        view: UserMessage

    def action_edit(self) -> None:
        self.post_message(self.EditRequested(self))

    def compose(self) -> ComposeResult:
        yield Static(
            Content(_("You") + " · " + _clock(self.message.created)), classes="message-meta"
        )
        yield Static(Content(self.message.content), classes="message-body")


class AssistantMessage(MessageView):
    BINDINGS = [
        Binding(DEFAULT_KEYS["older_version"], "version(-1)", _("Older version"),
                id="older_version"),
        Binding(DEFAULT_KEYS["newer_version"], "version(1)", _("Newer version"),
                id="newer_version"),
    ]

    @dataclass
    class VersionRequested(TextualMessage):
        view: AssistantMessage
        step: int

    def __init__(self, message: Message, persona_name: str,
                 version: tuple[int, int] = (1, 1)) -> None:
        super().__init__(message)
        self.persona_name = persona_name
        self.version = version
        self._stream: MarkdownStream | None = None

    def action_version(self, step: int) -> None:
        self.post_message(self.VersionRequested(self, step))

    def compose(self) -> ComposeResult:
        yield Static(Content(self._meta_text()), classes="message-meta")
        yield Markdown(self.message.content, open_links=False, classes="message-body")
        yield Static(Content(finish_label(self.message.finish_reason)), classes="message-status")

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

    def on_mount(self) -> None:
        self._refresh_status()

    def mark_live(self) -> None:
        """This reply is arriving now (not an interrupted one loaded from disk)."""
        self.add_class("-streaming")
        self._refresh_status()

    async def append(self, text: str) -> None:
        if self._stream is None:
            self._stream = Markdown.get_stream(self.query_one(Markdown))
            self.add_class("-streaming")
            self._refresh_status()
        await self._stream.write(text)

    async def finish(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        markdown = self.query_one(Markdown)
        if markdown.source != self.message.content:
            # A stream stopped mid-append can leave the view short of the saved text; the
            # saved text is the truth, so show exactly that.
            await markdown.update(self.message.content)
        self.remove_class("-streaming")
        self.query_one(".message-meta", Static).update(Content(self._meta_text()))
        self._refresh_status()

    def _refresh_status(self) -> None:
        status = self.query_one(".message-status", Static)
        # -streaming is set from the first moment a live reply is shown (mark_live/append)
        # until finish(); a saved reply still marked "streaming" was interrupted.
        streaming = self.has_class("-streaming")
        label = "…" if streaming else finish_label(self.message.finish_reason)
        status.update(Content(label))
        status.display = bool(label)


class NoticeLine(MessageView):
    """A persona divider or an error/notice line."""

    def __init__(self, message: Message, label: str | None = None) -> None:
        super().__init__(message)
        self.label = label
        """For a persona divider: the persona's name in the interface language."""

    def compose(self) -> ComposeResult:
        if self.message.finish_reason == "persona":
            self.add_class("-divider")
            name = self.label or self.message.content
            yield Static(Content("── " + _("Persona: {name}").format(name=name) + " ──"))
        elif self.message.finish_reason == "info":
            self.add_class("-info")
            yield Static(Content("ℹ " + self.message.content))
        else:
            self.add_class("-error")
            yield Static(Content("⚠ " + self.message.content))
