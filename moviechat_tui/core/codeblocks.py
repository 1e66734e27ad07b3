"""The fenced code blocks of a Markdown reply, for "copy code block N": wherever they are (in
a list item, a quote), in the order the screen shows them — read with the same parser the
reply is rendered with (core.markdown). Indented code (no fence) is not counted."""

from __future__ import annotations

from moviechat_tui.core.records import Record


class CodeBlock(Record):
    language: str
    """The fence's language word ("" if none)."""
    code: str
    """The code as written, without the fences and the indentation of what holds it."""

    @property
    def line_count(self) -> int:
        return self.code.count("\n") + (0 if self.code.endswith("\n") else 1)


def code_blocks(markdown: str) -> list[CodeBlock]:
    from moviechat_tui.core.markdown import parser

    return [CodeBlock((token.info.split() or [""])[0], token.content)
            for token in parser().parse(markdown) if token.type == "fence"]
