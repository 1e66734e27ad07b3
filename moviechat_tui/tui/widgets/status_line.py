"""The line above the prompt: what is going on for a while, and new text below the view.

Things that last (a retry's wait, the `--local` server starting) are not toasts: a toast
covers the messages or the prompt, cannot count down, and stays after the wait was
cancelled. This line shows them where nothing is covered — the message pane gives up a row
while it is there — counts a wait down every second, and is gone the moment the wait ends or
is cancelled. On its right, "↓ New text below" appears when a reply grows while the user has
scrolled up; a click (or ctrl+End) goes there.
"""

from __future__ import annotations

import math
import time

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message as TextualMessage
from textual.timer import Timer
from textual.widgets import Static

from moviechat_tui.core.i18n import _


class NewTextBelow(Static):
    """"↓ New text below": a click jumps to the end of the conversation."""

    class Clicked(TextualMessage):
        pass

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.post_message(self.Clicked())


class StatusLine(Horizontal):
    def __init__(self) -> None:
        super().__init__(id="status-line")
        self._progress: str | None = None
        self._retry: tuple[str, float, int, int] | None = None
        """(reason, when the wait ends on the monotonic clock, attempt, attempts)."""
        self._timer: Timer | None = None
        self._progress_timer: Timer | None = None
        self._new_below = False

    def compose(self) -> ComposeResult:
        yield Static(id="status-text")
        yield NewTextBelow(id="new-text-below")

    def on_mount(self) -> None:
        self._render_parts()

    # ------------------------------------------------------------------ the state
    @property
    def waiting_to_retry(self) -> bool:
        return self._retry is not None

    @property
    def text(self) -> str:
        """What the line says now (left part and the marker), for tests and snapshots."""
        parts = [self._left_text(), self._below_text()]
        return "  ".join(part for part in parts if part)

    def set_progress(self, text: str | None, *, linger: float = 0.0) -> None:
        """Show `text` until the next call; None clears the line, after `linger` seconds."""
        if self._progress_timer is not None:
            self._progress_timer.stop()
            self._progress_timer = None
        if text is None and linger > 0 and self._progress:
            self._progress_timer = self.set_timer(linger, lambda: self.set_progress(None),
                                                  name="progress")
            return
        self._progress = text
        self._render_parts()

    def retry(self, reason: str, delay: float, attempt: int, attempts: int) -> None:
        """A request failed and is tried again in `delay` seconds: count the wait down."""
        self._retry = (reason, time.monotonic() + delay, attempt, attempts)
        if self._timer is None:
            self._timer = self.set_interval(1.0, self._render_parts, name="retry countdown")
        self._render_parts()

    def retry_over(self) -> None:
        """The retried request answered, or the turn ended (or was cancelled)."""
        if self._retry is None:
            return
        self._retry = None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self._render_parts()

    def show_new_text_below(self, shown: bool) -> None:
        if shown != self._new_below:
            self._new_below = shown
            self._render_parts()

    # ------------------------------------------------------------------ drawing
    def _left_text(self) -> str:
        if self._retry is not None:
            reason, until, attempt, attempts = self._retry
            left = math.ceil(until - time.monotonic())
            if left > 0:
                return _("⟳ {reason}: trying again in {seconds} s (attempt {attempt} of "
                         "{total}). Esc cancels.").format(reason=reason, seconds=left,
                                                          attempt=attempt, total=attempts)
            return _("⟳ {reason}: trying again now (attempt {attempt} of {total}). Esc "
                     "cancels.").format(reason=reason, attempt=attempt, total=attempts)
        return self._progress or ""

    def _below_text(self) -> str:
        if not self._new_below:
            return ""
        return _("↓ New text below (ctrl+end)")

    def _render_parts(self) -> None:
        text = next(iter(self.query_children("#status-text").results(Static)), None)
        if text is None:  # not composed yet: on_mount draws what was set meanwhile
            return
        left, below = self._left_text(), self._below_text()
        text.update(Content(left))
        marker = self.query_one(NewTextBelow)
        marker.update(Content(below))
        marker.display = bool(below)
        self.display = bool(left or below)
