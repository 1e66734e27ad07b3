"""An append-only view of rendered Markdown blocks: each block is rendered once per width.

The Textual `Markdown` widget builds a widget per block (and per table cell) and re-lays them
all out on every update; a 4,000-token reply was 631 widgets and fell seconds behind a fast
model. This widget keeps rendered lines instead: appending a block renders that block only,
and the layout has one widget whose height is its line count. A new width (the terminal was
resized) or a new theme renders the blocks again, so text always wraps to the space it has.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    # Imported when the first block is rendered: rich.markdown, markdown-it and pygments
    # cost ~40 ms, which an empty chat's first frame should not wait for.
    from moviechat_tui.tui.widgets.markdown_render import BlockRenderer, Palette


@lru_cache(maxsize=4)
def renderer_for(palette: Palette) -> BlockRenderer:
    from moviechat_tui.tui.widgets.markdown_render import BlockRenderer

    return BlockRenderer(palette)


class RenderedMarkdown(Widget):
    DEFAULT_CSS = """
    RenderedMarkdown {
        height: auto;
    }
    """

    @dataclass
    class LinkClicked(Message):
        """A link was clicked: nothing is opened until the user confirms."""

        href: str

    def __init__(self, blocks: Iterable[str] = (), *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self._blocks = list(blocks)
        self._lines: list[Strip] = []
        self._rendered = 0
        """How many of the blocks are in `_lines`."""
        self._width = -1
        self._renderer: BlockRenderer | None = None
        self._theme = ""
        """The app theme the lines were rendered in."""
        self._style: Style | None = None
        """The widget's own colours (from its ancestors), applied under every line."""
        self._line_cache: dict[int, Strip] = {}
        """Lines ready to paint, for this width and style."""

    @property
    def blocks(self) -> tuple[str, ...]:
        return tuple(self._blocks)

    def rendered_text(self) -> list[str]:
        """The rendered lines as plain text, at the width last laid out (for tests)."""
        return [strip.text.rstrip() for strip in self._lines]

    def notify_style_update(self) -> None:
        # Focus (the message's background) or the theme changed the colours under the text.
        # (Not the theme signal: a subscription keeps a removed widget alive until the next
        # theme change, and pruned replies would pile up in memory.)
        super().notify_style_update()
        self._style = None
        self._line_cache.clear()
        if self._renderer is not None and self._theme != self.app.theme:
            self._renderer = None
            self._invalidate()

    # ------------------------------------------------------------------ content
    def set_blocks(self, blocks: Iterable[str]) -> None:
        self._blocks = list(blocks)
        self._invalidate()

    def append_blocks(self, blocks: Iterable[str]) -> None:
        """Add finished blocks; only they are rendered (now, if the width is known)."""
        self._blocks.extend(blocks)
        if self._width <= 0:
            self.refresh(layout=True)
            return
        before = len(self._lines)
        self._render_missing()
        # Only the new lines need painting; the layout grows by their number.
        self.refresh(Region(0, max(0, before - 1), self._width, len(self._lines) - before + 1),
                     layout=True)

    def _invalidate(self) -> None:
        self._width = -1
        self._lines = []
        self._rendered = 0
        self._line_cache.clear()
        self.refresh(layout=True)

    # ---------------------------------------------------------------- rendering
    def _get_renderer(self) -> BlockRenderer:
        if self._renderer is None:
            from moviechat_tui.tui.widgets.markdown_render import Palette

            app = self.app
            palette = Palette.from_variables(app.theme_variables or app.get_css_variables(),
                                             app.current_theme.dark)
            self._renderer = renderer_for(palette)
            self._theme = app.theme
        return self._renderer

    def _ensure_width(self, width: int) -> None:
        if width != self._width:
            self._width = width
            self._lines = []
            self._rendered = 0
            self._line_cache.clear()
        self._render_missing()

    def _render_missing(self) -> None:
        if self._rendered >= len(self._blocks):
            return
        renderer = self._get_renderer()
        for block in self._blocks[self._rendered:]:
            strips = renderer.render(block, self._width)
            if self._lines and strips:
                self._lines.append(Strip.blank(0))
            self._lines.extend(strips)
        self._rendered = len(self._blocks)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure_width(width)
        return len(self._lines)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._ensure_width(width)
        selection = self.text_selection
        cached = self._line_cache.get(y) if selection is None else None
        if cached is not None:
            return cached
        style = self._style
        if style is None:
            style = self._style = self.rich_style  # walks every ancestor: once, not per line
        if y >= len(self._lines):
            return Strip.blank(width, style)
        line = self._lines[y].crop_extend(0, width, style).apply_style(style)
        if selection is not None:
            return self._select(line, selection.get_span(y)).apply_offsets(0, y)
        line = self._line_cache[y] = line.apply_offsets(0, y)
        return line

    # ---------------------------------------------------------------- selection
    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The text under a mouse selection (as rendered: what the user sees)."""
        return selection.extract("\n".join(self.rendered_text())), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self._line_cache.clear()
        self.refresh()

    def _select(self, line: Strip, span: tuple[int, int] | None) -> Strip:
        if span is None:
            return line
        text = line.text
        start, end = span
        start_cell = cell_len(text[:start])
        end_cell = line.cell_length if end == -1 else cell_len(text[:end])
        highlight = self.screen.get_component_rich_style("screen--selection")
        selected = Segment.apply_style(line.crop(start_cell, end_cell), post_style=highlight)
        return Strip([*line.crop(0, start_cell), *selected, *line.crop(end_cell)],
                     line.cell_length)

    def action_open_link(self, href: str) -> None:
        self.post_message(self.LinkClicked(href))
