"""Render one Markdown block to lines of terminal cells, once, in the app theme's colours.

Rich's Markdown renderer does the work (headings, lists, tables, quotes, code blocks with
syntax highlighting); this module gives it a Rich theme built from the Textual theme, left-
aligned headings, and turns links into click actions: a rendered line never carries a terminal
hyperlink (OSC 8, whose target model output could disguise), only a `@click` that asks the
user first. Rich Markdown does not parse console markup: model text stays literal.

Rendering uses a private Console, so it touches no widget and could run in a thread.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import lru_cache
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import CodeBlock, Heading, ListItem, Markdown, TableElement
from rich.measure import Measurement
from rich.segment import Segment
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from rich.theme import Theme
from textual.color import Color
from textual.strip import Strip

from moviechat_tui.core.i18n import _
from moviechat_tui.core.markdown import parser
from moviechat_tui.core.records import Record
from moviechat_tui.tui.render.links import link_style


class Palette(Record):
    """The colours a rendered reply uses, resolved from the app theme's variables."""

    dark: bool
    heading: tuple[str, ...]
    heading_style: tuple[str, ...]
    accent: str
    link: str
    muted: str
    code: str
    code_background: str
    border: str

    @classmethod
    def from_variables(cls, variables: Mapping[str, str], dark: bool) -> Palette:
        background = Color.parse(variables.get("background", "#121212"))

        def colour(*names: str, default: str = "#E0E0E0") -> str:
            for name in names:
                value = variables.get(name, "")
                if not value:
                    continue  # (a failed Color.parse looks for suggestions: ~0.3 ms each)
                try:
                    return (background + Color.parse(value)).hex
                except Exception:  # "auto 60%" and the like: try the next name
                    continue
            return default

        headings = tuple(colour(f"markdown-h{n}-color", "primary") for n in range(1, 7))
        styles = tuple(variables.get(f"markdown-h{n}-text-style", "bold") or "bold"
                       for n in range(1, 7))
        return cls(
            dark=dark,
            heading=headings,
            heading_style=styles,
            accent=colour("accent"),
            link=colour("text-primary", "primary"),
            muted=colour("foreground-muted", "foreground"),
            code=colour("text-accent", "accent"),
            code_background=colour("surface", default="#1E1E1E"),
            border=colour("primary"),
        )


DEFAULT_PALETTE = Palette.from_variables({}, dark=True)


def _rich_theme(palette: Palette) -> Theme:
    styles = {
        "markdown.code": f"bold {palette.code}",
        "markdown.code_block": f"{palette.code} on {palette.code_background}",
        "markdown.block_quote": f"italic {palette.muted}",
        "markdown.list": palette.accent,
        "markdown.item.bullet": f"bold {palette.accent}",
        "markdown.item.number": f"bold {palette.accent}",
        "markdown.hr": palette.muted,
        "markdown.link": f"underline {palette.link}",
        "markdown.link_url": f"underline {palette.link}",
        "markdown.table.border": palette.border,
        "markdown.table.header": f"bold {palette.accent}",
        "markdown.kbd": f"bold {palette.accent}",
    }
    for level, (colour, style) in enumerate(zip(palette.heading, palette.heading_style,
                                                strict=True), start=1):
        text_style = " ".join(part for part in style.split() if part != "none")
        styles[f"markdown.h{level}"] = f"{text_style} {colour}".strip()
    styles["markdown.h1"] += " underline"
    return Theme(styles, inherit=True)


class _LeftHeading(Heading):
    """Headings start at the left edge (Rich centres h1): a reply reads top to bottom."""

    LEVEL_ALIGN: ClassVar = dict.fromkeys(("h1", "h2", "h3", "h4", "h5", "h6"), "left")


class _ThemedCodeBlock(CodeBlock):
    """A code block on the theme's surface colour instead of the Pygments theme's."""

    background = "#1E1E1E"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        yield Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True,
                     padding=(0, 1), background_color=self.background)


class _NumberedItem(ListItem):
    """"1." rather than Rich's bare "1", as the source and most renderers write it."""

    def render_number(self, console: Console, options: ConsoleOptions, number: int,
                      last_number: int) -> RenderResult:
        width = len(str(last_number)) + 3
        lines = console.render_lines(self.elements, options.update(width=options.max_width
                                                                     - width), style=self.style)
        number_style = console.get_style("markdown.item.number", default="none")
        numeral = Segment(f"{number}.".rjust(width - 1) + " ", number_style)
        padding = Segment(" " * width, number_style)
        for index, line in enumerate(lines):
            yield numeral if index == 0 else padding
            yield from line
            yield Segment.line()


_UNLIMITED = 100_000


class _FittingTable(TableElement):
    """A table drawn by Rich when every column can have its longest word; otherwise one
    record per row, a "Column: value" line per cell, so that no cell is lost.

    Rich squeezes a table that does not fit by giving columns less than their content, down
    to nothing: at 80 columns a 20-column table showed "r…", a 25-column one only "…", and
    one of 40 columns nothing but its rule — while the saved text was intact. Records read
    top to bottom at any width and wrap on words like a paragraph."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for table in super().__rich_console__(console, options):
            # Measured without a limit: Rich clamps a measurement to the width it is given.
            unlimited = options.update_width(_UNLIMITED)
            if (not isinstance(table, Table)
                    or Measurement.get(console, unlimited, table).minimum <= options.max_width):
                yield table
            else:
                yield from self._records()

    def _records(self) -> RenderResult:
        headings = ([cell.content for cell in self.header.row.cells]
                    if self.header is not None and self.header.row is not None else [])
        rows = self.body.rows if self.body is not None else []
        if not rows:  # a heading row alone: its cells, one after the other
            line = Text(" · ").join(heading.copy() for heading in headings)
            line.stylize("markdown.table.header")
            yield line
            return
        for number, row in enumerate(rows):
            if number:
                yield Text()
            for index, cell in enumerate(row.cells):
                heading = headings[index].copy() if index < len(headings) else Text()
                if not heading.plain.strip():
                    heading = Text(_("Column {number}").format(number=index + 1))
                heading.append(":")
                heading.stylize("markdown.table.header")
                line = Text.assemble(heading, " ", cell.content)
                line.rstrip()
                yield line


class ChatMarkdown(Markdown):
    elements: ClassVar = {**Markdown.elements, "heading_open": _LeftHeading,
                          "list_item_open": _NumberedItem, "table_open": _FittingTable}

    def __init__(self, markup: str, code_theme: str = "monokai",
                 hyperlinks: bool = True) -> None:
        # Rich's __init__ minus building a parser: Rich builds a new `MarkdownIt` per
        # `Markdown` (~0.3 ms, as much as parsing a short block), which adds up over the
        # dozens of blocks of a reopened conversation. The one parser replies are read with
        # (core.markdown) instead: all rendering is on one thread. The same attributes.
        self.markup = markup
        self.parsed = parser().parse(markup)
        self.code_theme = code_theme
        self.justify = None
        self.style = "none"
        self.hyperlinks = hyperlinks
        self.inline_code_lexer = None
        self.inline_code_theme = code_theme


@lru_cache(maxsize=8)
def _markdown_class(code_background: str) -> type[ChatMarkdown]:
    code_block = type("CodeBlock", (_ThemedCodeBlock,), {"background": code_background})
    return type("ThemedMarkdown", (ChatMarkdown,), {
        "elements": {**ChatMarkdown.elements, "fence": code_block, "code_block": code_block},
    })


class BlockRenderer:
    """Renders blocks at one width in one palette (one private Console, reused)."""

    def __init__(self, palette: Palette = DEFAULT_PALETTE) -> None:
        self.palette = palette
        self._console = Console(
            file=io.StringIO(), width=80, color_system="truecolor", force_terminal=True,
            legacy_windows=False, theme=_rich_theme(palette), markup=False, emoji=False,
            highlight=False,
        )
        self._markdown = _markdown_class(palette.code_background)
        self._code_theme = "monokai" if palette.dark else "friendly"

    def render(self, block: str, width: int) -> list[Strip]:
        width = max(1, width)
        markdown = self._markdown(block.replace("\r\n", "\n"), code_theme=self._code_theme,
                                  hyperlinks=True)
        options = self._console.options.update(width=width, max_width=width)
        lines = self._console.render_lines(markdown, options, pad=False, new_lines=False)
        # Blocks are joined by one blank line: drop the blank edges some renderables add
        # (a table's top and bottom rule rows) so the spacing is the same everywhere.
        while lines and _is_blank(lines[-1]):
            lines.pop()
        first = 0
        while first < len(lines) and _is_blank(lines[first]):
            first += 1
        return [Strip(_clickable_links(line), Segment.get_line_length(line))
                for line in lines[first:]]


def _is_blank(line: list[Segment]) -> bool:
    return all(not text.strip() and (style is None or style.bgcolor is None)
               for text, style, _control in line)


def _clickable_links(line: list[Segment]) -> list[Segment]:
    """Replace hyperlinks (terminal OSC 8) by a click action that asks before opening."""
    if not any(segment.style is not None and segment.style.link for segment in line):
        return line
    out: list[Segment] = []
    for text, style, control in line:
        if style is not None and style.link:
            style = style.update_link(None) + link_style(style.link)
        out.append(Segment(text, style, control))
    return out
