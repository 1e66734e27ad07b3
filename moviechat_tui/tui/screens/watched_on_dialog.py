"""Log a film as watched on a day: the day typed as 2024-03-09, today's date already there.

A day that is not a date, is in the future or is before films existed is refused with a
line saying why, and the dialog stays open. Dismisses with the day, or None on Esc.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import one_line

EARLIEST = date(1870, 1, 1)


def parse_day(text: str, today: date) -> date | str:
    """The day typed (YYYY-MM-DD; also with / or . between), or why it is not one."""
    cleaned = text.strip().replace("/", "-").replace(".", "-")
    try:
        day = date.fromisoformat(cleaned)
    except ValueError:
        parts = cleaned.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            try:  # 2024-3-9
                day = date(int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError:
                return _("{text} is not a day of the calendar.").format(text=one_line(text, 20))
        else:
            return _("Write the day as {example}.").format(example=today.isoformat())
    if day > today:
        return _("That day has not come yet.")
    if day < EARLIEST:
        return _("That is before the first films.")
    return day


class WatchedOnDialog(ModalScreen[date | None]):
    CSS_PATH = Path(__file__).with_name("dialogs.tcss")
    AUTO_FOCUS = "#watched-on"
    BINDINGS = [Binding("escape", "dismiss(None)", _("Cancel"), id="cancel_watched_on")]

    def __init__(self, label: str, today: date | None = None) -> None:
        super().__init__()
        self.label = label
        self.today = today or date.today()

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content(_("When did you watch {film}?").format(
                film=one_line(self.label, 80))), classes="dialog-title")
            yield Input(value=self.today.isoformat(), id="watched-on",
                        placeholder=self.today.isoformat())
            yield Static(classes="dialog-problem", id="watched-on-problem")
            yield Static(Content(_("YYYY-MM-DD · Enter logs it · Esc cancels")),
                         classes="dialog-hint")

    @on(Input.Submitted)
    def submitted(self, event: Input.Submitted) -> None:
        day = parse_day(event.value, self.today)
        if isinstance(day, str):
            self.query_one("#watched-on-problem", Static).update(Content(day))
            return
        self.dismiss(day)
