"""Rate a film: 0.5 to 5 stars in half steps, as Letterboxd rates, in two or three keys.

    r 4 Enter        ★★★★      (a digit sets whole stars)
    r 4 . Enter      ★★★★½     (. — or ½, or "4.5" typed — adds the half)
    ← →              half a star down or up

Opens on the film's current rating when it has one (otherwise nothing is chosen and Enter
waits for a digit). Dismisses with the rating, or None on Esc.
"""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from moviechat_tui.core.i18n import _
from moviechat_tui.core.text import one_line
from moviechat_tui.tui.render.my_films_rows import stars


class RatingDialog(ModalScreen[float | None]):
    CSS_PATH = Path(__file__).with_name("dialogs.tcss")
    BINDINGS = [
        Binding("escape", "dismiss(None)", _("Cancel"), id="cancel_rating"),
        Binding("enter", "confirm", _("Rate"), id="confirm_rating"),
        Binding("left,minus", "step(-0.5)", _("½ less"), id="rating_down"),
        Binding("right,plus", "step(0.5)", _("½ more"), id="rating_up"),
    ]

    def __init__(self, label: str, current: float | None = None) -> None:
        super().__init__()
        self.label = label
        self.rating: float | None = current
        self._after_dot = False
        """The last key was "." after a digit: a "5" now is the half of "4.5", not 5."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="rating-dialog"):
            yield Static(Content(_("Rate {film}").format(film=one_line(self.label, 80))),
                         classes="dialog-title")
            yield Static(id="rating-stars")
            yield Static(Content(_("1–5: stars · . adds a half · ← → half a star · "
                                   "Enter rates · Esc cancels")), classes="dialog-hint")

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        if not self.rating:
            shown = Content.styled("☆☆☆☆☆  " + _("press 1 to 5"), "$foreground-muted")
        else:
            full = stars(self.rating)
            shown = Content.assemble(Content.styled(full, "bold $accent"),
                                     Content.styled("☆" * (5 - len(full)) + "  ",
                                                    "$foreground-muted"),
                                     Content(f"{self.rating:g} / 5"))
        self.query_one("#rating-stars", Static).update(shown)

    def on_key(self, event: events.Key) -> None:
        char = event.character or ""
        if char and char in "12345":
            event.stop()
            number = int(char)
            if self._after_dot and number == 5 and self.rating is not None:
                self._after_dot = False  # "4.5": the half is already there
                return
            self.rating = float(number)
            self._after_dot = False
            self._show()
        elif char in (".", ",", "½") and self.rating is not None:
            event.stop()
            self.rating = min(5.0, int(self.rating) + 0.5) if self.rating < 5 else 5.0
            self._after_dot = True
            self._show()
        elif char == "0":  # "4.0" keeps 4; "0" then "." is half a star
            event.stop()
            self.rating = float(int(self.rating or 0)) if self._after_dot else 0.0
            self._after_dot = False
            self._show()

    def action_step(self, step: float) -> None:
        current = self.rating if self.rating is not None else (3.0 if step > 0 else 3.5)
        self.rating = min(5.0, max(0.5, current + step))
        self._after_dot = False
        self._show()

    def action_confirm(self) -> None:
        if not self.rating:  # None, or the 0 of "0.5" without its half
            self.notify(_("Press 1 to 5 for the stars first."), markup=False)
            return
        self.dismiss(self.rating)
