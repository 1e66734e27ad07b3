"""An append-only view of rendered Markdown blocks: each block is rendered once per width.

The Textual `Markdown` widget builds a widget per block (and per table cell) and re-lays them
all out on every update; a 4,000-token reply was 631 widgets and fell seconds behind a fast
model. This widget keeps rendered lines instead: appending a block renders that block only,
and the layout has one widget whose height is its line count. A new width (the terminal was
resized) or a new theme renders the blocks again, so text always wraps to the space it has.

Blocks can also arrive *plain*: shown at once as wrapped plain text (cheap: only the new
block is wrapped) and rendered later, one at a time, with `render_next` — so a reply that
arrives while the user types costs each refresh the size of what arrived, not of the reply.

A block can also be a hidden passage of the spoiler shield (`Spoiler`, render/reply_blocks.py):
drawn as one closed line ("▌ Spoiler — press s to show") whose click posts `SpoilerClicked`,
until the view that owns the widget opens it (`set_opened`, with the passage's text) — then
its text is rendered like the rest, behind the closed line's bar (in the accent colour). The
widget is never given the text of a passage that is closed: it cannot draw what it does not
have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.geometry import Region, Size
from textual.message import Message as TextualMessage
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from moviechat_tui.core.i18n import _
from moviechat_tui.tui.render.block_splitter import split_blocks
from moviechat_tui.tui.render.renderers import renderer_for
from moviechat_tui.tui.render.reply_blocks import Block, Spoiler

if TYPE_CHECKING:
    # Imported when the first block is rendered (see renderers).
    from moviechat_tui.tui.render.markdown_render import BlockRenderer
    from moviechat_tui.tui.render.view_snapshot import Rendered


class RenderedMarkdown(Widget):
    DEFAULT_CSS = """
    RenderedMarkdown {
        height: auto;
    }
    """

    class LinkClicked(TextualMessage):
        """A link was clicked: nothing is opened until the user confirms."""

        def __init__(self, href: str) -> None:
            super().__init__()
            self.href = href

    class SpoilerClicked(TextualMessage):
        """A closed spoiler was clicked: the view that owns the widget opens it."""

        def __init__(self, number: int) -> None:
            super().__init__()
            self.number = number

    spoiler_key = "s"
    """The key that opens a spoiler, as the closed line names it (the view sets it)."""

    def __init__(self, blocks: Iterable[Block] = (), *, classes: str | None = None,
                 shown_before: Rendered | None = None,
                 opened: Mapping[int, str] | None = None) -> None:
        """`shown_before`: these blocks' lines as a previous run showed them (see
        view_snapshot); used instead of rendering if the width and theme still match.
        `opened`: the text of each hidden passage that is open, by number."""
        super().__init__(classes=classes)
        self._shown_before = shown_before
        self._opened: dict[int, str] = dict(opened or {})
        self._blocks: list[Block] = list(blocks)
        self._settled = len(self._blocks)
        """Blocks before this index are rendered (at the next layout); the rest are plain."""
        self._lines: list[Strip] = []
        """The rendered lines of the first `_rendered` blocks."""
        self._rendered = 0
        self._plain: dict[int, list[Strip]] = {}
        """Wrapped plain lines of unsettled blocks, by block index, at this width."""
        self._shown: list[Strip] = []
        """What is painted: `_lines`, then the plain blocks."""
        self._width = -1
        self._renderer: BlockRenderer | None = None
        self._theme = ""
        """The app theme the lines were rendered in ("" before any)."""
        self._style: Style | None = None
        """The widget's own colours (from its ancestors), applied under every line."""
        self._line_cache: dict[int, Strip] = {}
        """Lines ready to paint, for this width and style."""

    @property
    def blocks(self) -> tuple[Block, ...]:
        """Every block, rendered or still plain."""
        return tuple(self._blocks)

    @property
    def rendered_blocks(self) -> tuple[Block, ...]:
        """The blocks shown as rendered Markdown (the rest are plain text for now)."""
        return tuple(self._blocks[:self._settled])

    @property
    def has_plain_blocks(self) -> bool:
        return self._settled < len(self._blocks)

    @property
    def next_plain_block(self) -> str:
        """The Markdown `render_next` renders ("" if none: no block, or a spoiler)."""
        if not self.has_plain_blocks:
            return ""
        block = self._blocks[self._settled]
        return block if isinstance(block, str) else self._opened.get(block.number, "")

    @property
    def opened(self) -> dict[int, str]:
        """The open spoilers' text, by number."""
        return dict(self._opened)

    def rendered_lines(self) -> tuple[int, list[Strip]] | None:
        """(width, lines) if every block is rendered and laid out, else None."""
        if self.has_plain_blocks or self._width <= 0 or self._rendered < self._settled:
            return None
        return self._width, list(self._lines)

    def rendered_text(self) -> list[str]:
        """The lines as plain text, at the width last laid out (for tests)."""
        return [strip.text.rstrip() for strip in self._shown]

    def notify_style_update(self) -> None:
        # Focus (the message's background) or the theme changed the colours under the text.
        # (Not the theme signal: a subscription keeps a removed widget alive until the next
        # theme change, and pruned replies would pile up in memory.)
        super().notify_style_update()
        self._style = None
        self._line_cache.clear()
        if self._theme and self._theme != self.app.theme:
            self._renderer = None
            self._theme = ""
            self._invalidate()

    # ------------------------------------------------------------------ content
    def set_opened(self, opened: Mapping[int, str]) -> None:
        """Show these hidden passages open (their text by number), the others closed."""
        if dict(opened) == self._opened:
            return
        self._opened = dict(opened)
        self._shown_before = None
        self._invalidate()

    def set_blocks(self, blocks: Iterable[Block]) -> None:
        self._blocks = list(blocks)
        self._settled = len(self._blocks)
        self._invalidate()

    def append_blocks(self, blocks: Iterable[Block], *, plain: bool = False) -> None:
        """Add finished blocks. Rendered now (if the width is known), or with `plain` shown
        as plain text until `render_next` reaches them. Appending rendered blocks renders
        any plain ones before them too."""
        first_changed = len(self._shown)
        self._blocks.extend(blocks)
        if not plain:
            if self._settled < len(self._blocks):
                first_changed = len(self._lines)
            self._settled = len(self._blocks)
        self._changed_from(first_changed)

    def render_next(self) -> bool:
        """Render the first plain block; True if more are waiting."""
        if self._settled < len(self._blocks):
            self._settled += 1
            self._changed_from(len(self._lines))
        return self._settled < len(self._blocks)

    def _changed_from(self, first_line: int) -> None:
        """Lines from `first_line` on are new or changed: update them and repaint them."""
        if self._width <= 0:
            self.refresh(layout=True)
            return
        before = len(self._shown)
        self._update_lines()
        for y in [y for y in self._line_cache if y >= first_line]:
            del self._line_cache[y]
        # Only those lines need painting; the layout changes by their number.
        start = max(0, first_line - 1)
        self.refresh(Region(0, start, self._width, max(before, len(self._shown)) - start + 1),
                     layout=True)

    def _invalidate(self) -> None:
        self._width = -1
        self._lines = []
        self._shown = []
        self._plain.clear()
        self._rendered = 0
        self._line_cache.clear()
        self.refresh(layout=True)

    # ---------------------------------------------------------------- rendering
    def _get_renderer(self) -> BlockRenderer:
        if self._renderer is None:
            app = self.app
            self._renderer = renderer_for(app.theme_variables or app.get_css_variables(),
                                          app.current_theme.dark)
            self._theme = app.theme
        return self._renderer

    def _ensure_width(self, width: int) -> None:
        if width != self._width:
            self._width = width
            self._lines = []
            self._plain.clear()
            self._rendered = 0
            self._line_cache.clear()
            self._take_shown_before()
            self._update_lines()
        elif self._rendered < self._settled:
            self._update_lines()

    def _take_shown_before(self) -> None:
        """Use the lines a previous run showed, if they fit this width and theme (once: a
        later width or theme is rendered)."""
        before, self._shown_before = self._shown_before, None
        if (before is not None and before.width == self._width
                and before.theme == self.app.theme and self._settled == len(self._blocks)):
            self._lines = list(before.lines)
            self._rendered = self._settled
            self._theme = before.theme

    def _update_lines(self) -> None:
        """Render the settled blocks not rendered yet, wrap the plain ones not wrapped yet,
        and lay both out one blank line apart."""
        if self._rendered < self._settled:
            renderer = self._get_renderer()
            for index in range(self._rendered, self._settled):
                block = self._blocks[index]
                strips = (renderer.render(block, self._width) if isinstance(block, str)
                          else self._spoiler_lines(block, renderer))
                if self._lines and strips:
                    self._lines.append(Strip.blank(0))
                self._lines.extend(strips)
                self._plain.pop(index, None)
            self._rendered = self._settled
        shown = self._lines
        if self._settled < len(self._blocks):
            shown = list(shown)
            for index in range(self._settled, len(self._blocks)):
                lines = self._plain.get(index)
                if lines is None:
                    block = self._blocks[index]
                    lines = self._plain[index] = (
                        _wrap_plain(block, self._width) if isinstance(block, str)
                        else self._spoiler_lines(block, None))
                if shown and lines:
                    shown.append(Strip.blank(0))
                shown.extend(lines)
        self._shown = shown

    def _spoiler_lines(self, spoiler: Spoiler, renderer: BlockRenderer | None) -> list[Strip]:
        """A hidden passage: one closed line, or its text (rendered, or as plain text while
        the blocks around it are) behind a bar."""
        accent = Style(color=renderer.palette.accent) if renderer else Style()
        text = self._opened.get(spoiler.number)
        if text is None:
            muted = Style(color=renderer.palette.muted, italic=True) if renderer else Style()
            click = Style.from_meta({"@click": f"open_spoiler({spoiler.number})"})
            label = _("Spoiler — press {key} to show, or click").format(key=self.spoiler_key)
            line = Content(label).truncate(max(1, self._width - 2), ellipsis=True)
            segments = [Segment("▌ ", accent + click),
                        *(Segment(seg.text, (seg.style or Style()) + muted + click)
                          for seg in line.render_segments())]
            return [Strip(segments)]
        inner = max(1, self._width - 2)
        lines: list[Strip] = []
        for block in split_blocks(text):
            if lines:
                lines.append(Strip.blank(0))
            lines += (renderer.render(block, inner) if renderer is not None
                      else _wrap_plain(block, inner))
        bar = Segment("▌ ", accent)
        return [Strip([bar, *line], line.cell_length + 2) for line in lines]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._ensure_width(width)
        return len(self._shown)

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
        if y >= len(self._shown):
            return Strip.blank(width, style)
        line = self._shown[y].crop_extend(0, width, style).apply_style(style)
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

    def action_open_spoiler(self, number: int) -> None:
        self.post_message(self.SpoilerClicked(number))


def _wrap_plain(text: str, width: int) -> list[Strip]:
    """`text` word-wrapped to `width` as unstyled lines (literal: no markup is parsed)."""
    lines = Content(text).wrap(max(1, width))
    return [Strip(line.render_segments(), line.cell_length) for line in lines]
