"""The scrolling list of messages, kept at its newest message from the very first frame."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.layout import DockArrangeResult


class MessagePane(VerticalScroll):
    """Textual scrolls an anchored container to its end using the container's size, which it
    only learns after the container's first layout: in the first frame a conversation opened
    with `--continue` showed an empty pane (scrolled past its content) and its messages one
    frame — ~15 ms of rendering the whole screen — later. Until that size is known, the size
    the container is being arranged in (the same rows) stands in for it."""

    _arranged: Size | None = None

    def arrange(self, size: Size, optimal: bool = False) -> DockArrangeResult:
        self._arranged = size
        return super().arrange(size, optimal)

    @property
    def container_size(self) -> Size:
        size = self._container_size
        arranged = self._arranged
        if not size and arranged is not None:
            return Size(arranged.width, arranged.height + self.scrollbar_size_horizontal)
        return size

    @property
    def following(self) -> bool:
        """The pane keeps to its newest line as text arrives: anchored, and not scrolled away
        by the user since (Textual releases the anchor then, and takes it back at the end)."""
        return self.is_anchored and not self._anchor_released
