"""Asks the user before a tool that may change things runs (an MCP server's tool that its
server does not mark read-only): which server, which tool, with which arguments — allow it
once, always (remembered in state.toml for this tool of this server), or deny it.

The session asks through a `ToolApprovalRequested` event carrying a future (session/mcp/
servers.py); the chat screen pushes this dialog and sets the future from its answer. The
server's and tool's names and the arguments come from the model and the server: they are
shown as literal text, never as markup. When the reply is stopped first, the future is
cancelled and the dialog closes by itself.
"""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from moviechat_tui.core.events import Approval
from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import one_line


class ToolApprovalScreen(ModalScreen[Approval]):
    """Dismisses with the user's Approval (Esc: deny)."""

    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#approve-deny"
    BINDINGS = [
        Binding("escape,n", "choose('deny')", _("Deny"), id="deny_tool"),
        Binding("y", "choose('once')", _("Allow once"), id="allow_tool_once"),
        Binding("a", "choose('always')", _("Always allow"), id="allow_tool_always"),
    ]

    def __init__(self, server: str, tool: str, arguments: str) -> None:
        super().__init__()
        self.server = server
        self.tool = tool
        self.arguments = arguments

    def compose(self) -> ComposeResult:
        with Vertical(id="approval-dialog"):
            yield Static(Content(_("Run a tool that may change things?")),
                         id="approval-title")
            yield Static(Content(_("Server: {server}").format(
                server=one_line(self.server, 80))), id="approval-server")
            yield Static(Content(_("Tool: {tool}").format(tool=one_line(self.tool, 120))),
                         id="approval-tool")
            yield Static(Content(_("Arguments:")), classes="approval-label")
            with VerticalScroll(id="approval-arguments"):
                yield Static(Content(self.arguments or "{}"), id="approval-arguments-text")
            with Horizontal(id="approval-buttons"):
                yield Button(_("Allow once (y)"), id="approve-once", variant="primary")
                yield Button(_("Always allow this tool (a)"), id="approve-always")
                yield Button(_("Deny (n)"), id="approve-deny", variant="error")

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        choice = {"approve-once": Approval.ONCE, "approve-always": Approval.ALWAYS}.get(
            event.button.id or "", Approval.DENY)
        self.dismiss(choice)

    def action_choose(self, choice: str) -> None:
        self.dismiss(Approval(choice))
