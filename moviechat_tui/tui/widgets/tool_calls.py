"""What a reply looked up: one line per tool call, and the catalogue facts that went along.

Mounted by the reply's view (`AssistantMessageView`) above its text, so the lines read in
the order things happened: the calls, then the answer streaming below them. Each call is a
`ToolCallLine` — one compact line ("🔎 searched films: Parasite 2019 → 3 results") that can
be focused (Tab, a click) and opened with Enter to show the raw arguments the model sent and
the result it got back. All of it is literal text (`Content`), never markup: arguments come
from the model and results from a catalogue or an MCP server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import getters
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from moviechat_tui.core.conversation import Message
from moviechat_tui.core.i18n import _
from moviechat_tui.core.tools import ToolCall

if TYPE_CHECKING:
    from moviechat_tui.tui.app import MovieChatApp


class ToolCallLine(Static, can_focus=True):
    """One call: its line, and (opened) the arguments and the result as sent."""

    if TYPE_CHECKING:
        app = getters.app(MovieChatApp)

    DEFAULT_CSS = """
    ToolCallLine {
        height: auto;
        color: $text-muted;
    }
    ToolCallLine.-failed {
        color: $warning;
    }
    ToolCallLine:focus {
        background: $boost;
        color: $text;
    }
    """

    BINDINGS = [
        Binding("enter,space", "open", _("Show the call"), id="toggle_tool_call"),
        Binding("enter,space", "close", _("Hide the call"), id="hide_tool_call"),
        Binding("escape", "screen.focus_prompt", _("Back to the prompt"), show=False),
    ]

    def __init__(self, call: ToolCall, line: str, *, running: bool) -> None:
        super().__init__()
        self.call = call
        self.line = line
        self.running = running
        self.expanded = False

    def on_mount(self) -> None:
        self._show()

    def update_call(self, call: ToolCall, line: str, *, running: bool) -> None:
        self.call, self.line, self.running = call, line, running
        self._show()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer names what Enter will do: show the call, or hide it again."""
        if action == "open":
            return not self.expanded
        if action == "close":
            return self.expanded
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        self.action_open_or_close()

    def action_close(self) -> None:
        self.action_open_or_close()

    def action_open_or_close(self) -> None:
        self.expanded = not self.expanded
        self._show()
        self.refresh_bindings()

    def on_click(self) -> None:
        self.focus()
        self.action_open_or_close()

    def _show(self) -> None:
        self.set_class(self.call.failed, "-failed")
        marker = "▾ " if self.expanded else "▸ "
        if not self.expanded:
            self.update(Content(marker + self.line))
            return
        parts = [marker + self.line, _("Arguments:"), self.call.arguments or "{}"]
        if not self.running:
            parts += [_("Result (what the model was sent):"), self.call.result]
        self.update(Content("\n".join(parts)))

    @property
    def shown_text(self) -> str:
        """What the line shows now (for tests and copying)."""
        return str(self.render())


class ToolActivity(Vertical):
    """The lines of one reply: the facts line first (when facts went along), then a line
    per call, in the order the calls were made."""

    DEFAULT_CSS = """
    ToolActivity {
        height: auto;
    }
    ToolActivity .facts-line {
        color: $text-muted;
    }
    """

    def __init__(self, message: Message) -> None:
        super().__init__(classes="tool-activity")
        self.message = message
        self._lines: dict[str, ToolCallLine] = {}
        self._facts: Static | None = None

    def compose(self) -> ComposeResult:
        if self.message.facts:
            self._facts = Static(Content(facts_text(self.message.facts)),
                                 classes="facts-line")
            yield self._facts
        for turn in self.message.tool_rounds:
            for call in turn.calls:
                line = ToolCallLine(call, self._describe(call, running=False), running=False)
                self._lines[call.id] = line
                yield line

    def _describe(self, call: ToolCall, *, running: bool) -> str:
        controller = getattr(self.app, "controller", None)
        if controller is None:
            from moviechat_tui.session.tools import generic_description

            return generic_description(call, running=running)
        return str(controller.grounding.describe(call, running=running))

    async def show_call(self, call: ToolCall, *, running: bool) -> None:
        """A call started (`running`) or ended: its line appears, or changes."""
        line = self._lines.get(call.id)
        text = self._describe(call, running=running)
        if line is None:
            line = self._lines[call.id] = ToolCallLine(call, text, running=running)
            await self.mount(line)
        else:
            line.update_call(call, text, running=running)

    async def show_facts(self) -> None:
        """The facts line (facts were added after the reply started)."""
        text = Content(facts_text(self.message.facts))
        if self._facts is None:
            self._facts = Static(text, classes="facts-line")
            await self.mount(self._facts, before=0 if self.children else None)
        else:
            self._facts.update(text)

    @property
    def lines(self) -> list[ToolCallLine]:
        return list(self.query(ToolCallLine))


def facts_text(facts: tuple[str, ...]) -> str:
    return "📚 " + _("Using catalogue facts: {films}").format(films=", ".join(facts))
