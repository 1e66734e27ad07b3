"""Fenced code blocks in a Markdown reply, for "copy code block N"."""

from __future__ import annotations

import re

from moviechat_tui.core.records import Record

_FENCE = re.compile(
    r"^(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[^\n`]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


class CodeBlock(Record):
    language: str
    code: str

    @property
    def line_count(self) -> int:
        return self.code.count("\n") + (0 if self.code.endswith("\n") else 1)


def code_blocks(markdown: str) -> list[CodeBlock]:
    return [CodeBlock(m.group("lang").strip(), m.group("body"))
            for m in _FENCE.finditer(markdown)]
