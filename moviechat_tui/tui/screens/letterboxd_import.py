"""Import a Letterboxd export from the app: the path asked for, the import in a worker, then
what it did — rows read, matched to the catalogue, kept unmatched, skipped, and the first
rows that did not match, with why.

The path may be the ZIP Letterboxd hands out, the folder it unzips to or one of its CSV
files; `~` is expanded and quotes a terminal adds when a file is dropped on it are dropped
(session/my_films.py `expand_path`). The import itself is films/letterboxd.py's, the same as
`moviechat films letterboxd import`: importing the same export again adds nothing.
Dismisses with True when it ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, LoadingIndicator, Static

from moviechat_tui.core.i18n import _
from moviechat_tui.session.my_films import ImportFailed

if TYPE_CHECKING:
    from moviechat_tui.films.letterboxd import ImportSummary
    from moviechat_tui.tui.app import MovieChatApp

SHOWN = 5
"""Unmatched and skipped rows listed by name (the rest are counted)."""


class LetterboxdImportScreen(ModalScreen[bool]):
    CSS_PATH = Path(__file__).with_suffix(".tcss")
    AUTO_FOCUS = "#letterboxd-path"
    if TYPE_CHECKING:  # (app.py imports this module: no import of it at run time)
        app = getters.app(MovieChatApp)
    path_input = getters.query_one("#letterboxd-path", Input)
    BINDINGS = [Binding("escape", "close", _("Close"), id="close_letterboxd_import")]

    def __init__(self) -> None:
        super().__init__()
        self.summary: ImportSummary | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical(id="letterboxd-dialog") as dialog:
            dialog.border_title = _("Import from Letterboxd")
            yield Static(Content(_(
                "On letterboxd.com: Settings → Data → Export your data. Give the ZIP it "
                "downloads, the folder it unzips to, or one of its CSV files.")),
                id="letterboxd-about")
            yield Input(id="letterboxd-path",
                        placeholder="~/Downloads/letterboxd-name-2026-01-21.zip")
            yield Static(id="letterboxd-problem")
            yield LoadingIndicator(id="letterboxd-running")
            yield VerticalScroll(Static(id="letterboxd-summary"), id="letterboxd-result")
            yield Static(Content(_("Enter imports · Esc closes")), id="letterboxd-hint")

    def on_mount(self) -> None:
        self.query_one("#letterboxd-running").display = False
        self.query_one("#letterboxd-result").display = False

    @on(Input.Submitted, "#letterboxd-path")
    def submitted(self, event: Input.Submitted) -> None:
        if self.summary is not None:  # done: Enter closes
            self.dismiss(True)
        elif event.value.strip() and not self.running:
            self.run_import(event.value)

    @work(exclusive=True, group="letterboxd-import")
    async def run_import(self, path: str) -> None:
        problem = self.query_one("#letterboxd-problem", Static)
        problem.update("")
        self.running = True
        self.path_input.disabled = True
        self.query_one("#letterboxd-running").display = True
        self.query_one("#letterboxd-hint", Static).update(Content(_(
            "Importing… (matching every film to the catalogue)")))
        controller = self.app.controller
        try:
            result = await controller.my_films.import_letterboxd(path, controller.catalogue)
        finally:
            self.running = False
            self.query_one("#letterboxd-running").display = False
        if isinstance(result, ImportFailed):
            problem.update(Content(result.message))
            self.path_input.disabled = False
            self.path_input.focus()
            self.query_one("#letterboxd-hint", Static).update(Content(_(
                "Enter imports · Esc closes")))
            return
        # Here, not at the top: the module is imported at start-up, the CSV reader is not.
        from moviechat_tui.films.letterboxd import summary_lines

        self.summary = result
        self.query_one("#letterboxd-summary", Static).update(
            Content("\n".join(summary_lines(
                result, shown=SHOWN, more=_("… and {count} more"), spaced=True))))
        self.query_one("#letterboxd-result").display = True
        self.query_one("#letterboxd-hint", Static).update(Content(_(
            "Done: Esc closes (the films are in My films)")))
        self.path_input.display = False
        self.query_one("#letterboxd-about").display = False
        self.query_one("#letterboxd-result").focus()

    def action_close(self) -> None:
        if not self.running:  # the import writes once, at its end: let it finish
            self.dismiss(self.summary is not None)
